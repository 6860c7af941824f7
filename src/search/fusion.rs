//! One ranking from two: the lexical order (words) and the cosine with the question
//! (meaning), combined as `search.semantic.fusion` says. Pure, so every rule is unit-tested.

use crate::config::Fusion;

/// Reciprocal rank fusion's constant, as in the original paper (Cormack et al., 2009).
const RRF_K: f32 = 60.0;

/// A passage considered for the answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate<T> {
    pub item: T,
    /// Its lexical score, when words matched it.
    pub lexical: Option<f32>,
    /// Cosine of its embedding with the question's.
    pub cosine: f32,
}

/// The candidates, best first, each with its fused score. Ties keep the lexical order, then
/// the order given.
pub fn fuse<T: Copy>(
    candidates: &[Candidate<T>],
    how: Fusion,
    meaning_weight: f32,
) -> Vec<(T, f32)> {
    let n = candidates.len();
    let scores: Vec<f32> = match how {
        Fusion::Rerank => candidates.iter().map(|c| c.cosine).collect(),
        Fusion::Rrf => {
            let lexical_rank = ranks(candidates, |c| c.lexical);
            let meaning_rank = ranks(candidates, |c| Some(c.cosine));
            (0..n)
                .map(|i| {
                    let part = |r: Option<usize>| r.map_or(0.0, |r| 1.0 / (RRF_K + r as f32 + 1.0));
                    part(lexical_rank[i]) + part(meaning_rank[i])
                })
                .collect()
        }
        Fusion::Blend => {
            let lexical = scaled(candidates.iter().map(|c| c.lexical.unwrap_or(0.0)));
            let meaning = scaled(candidates.iter().map(|c| c.cosine));
            (0..n)
                .map(|i| meaning_weight * meaning[i] + (1.0 - meaning_weight) * lexical[i])
                .collect()
        }
    };
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal scores keep the lexical order the candidates arrive in.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
        .into_iter()
        .map(|i| (candidates[i].item, scores[i]))
        .collect()
}

/// Each candidate's 0-based rank by `key`, best first; `None` for candidates without one.
fn ranks<T>(
    candidates: &[Candidate<T>],
    key: impl Fn(&Candidate<T>) -> Option<f32>,
) -> Vec<Option<usize>> {
    let mut keyed: Vec<(usize, f32)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| key(c).map(|k| (i, k)))
        .collect();
    keyed.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = vec![None; candidates.len()];
    for (rank, (i, _)) in keyed.into_iter().enumerate() {
        out[i] = Some(rank);
    }
    out
}

/// Min–max scaling to 0..1; all equal values scale to 1 (nothing tells them apart).
fn scaled(values: impl Iterator<Item = f32>) -> Vec<f32> {
    let values: Vec<f32> = values.collect();
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if hi - lo <= f32::EPSILON {
        return vec![1.0; values.len()];
    }
    values.iter().map(|v| (v - lo) / (hi - lo)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(item: char, lexical: Option<f32>, cosine: f32) -> Candidate<char> {
        Candidate {
            item,
            lexical,
            cosine,
        }
    }

    fn order(fused: &[(char, f32)]) -> String {
        fused.iter().map(|(i, _)| i).collect()
    }

    #[test]
    fn rerank_orders_by_meaning_alone() {
        let cands = [
            c('a', Some(9.0), 0.2),
            c('b', Some(5.0), 0.7),
            c('x', None, 0.5),
        ];
        assert_eq!(order(&fuse(&cands, Fusion::Rerank, 0.5)), "bxa");
    }

    #[test]
    fn rrf_rewards_agreement_and_counts_a_missing_rank_as_nothing() {
        let cands = [
            c('a', Some(9.0), 0.1),
            c('b', Some(5.0), 0.7),
            c('x', None, 0.6),
        ];
        // a: lexical 1st, meaning 3rd; b: lexical 2nd, meaning 1st; x: meaning 2nd only.
        let fused = fuse(&cands, Fusion::Rrf, 0.5);
        assert_eq!(order(&fused), "bax");
        assert!((fused[2].1 - 1.0 / 62.0).abs() < 1e-6);
    }

    #[test]
    fn blend_weighs_scaled_scores() {
        let cands = [
            c('a', Some(10.0), 0.2),
            c('b', Some(6.0), 0.6),
            c('x', None, 0.4),
        ];
        assert_eq!(
            order(&fuse(&cands, Fusion::Blend, 0.0)),
            "abx",
            "words only"
        );
        assert_eq!(
            order(&fuse(&cands, Fusion::Blend, 1.0)),
            "bxa",
            "meaning only"
        );
        // b: 0.5·0.6 + 0.5·1 = 0.8 beats a: 0.5·1 + 0 = 0.5.
        let fused = fuse(&cands, Fusion::Blend, 0.5);
        assert_eq!(order(&fused), "bax");
        assert!((fused[0].1 - 0.8).abs() < 1e-6);
    }

    #[test]
    fn ties_keep_the_lexical_order() {
        let cands = [c('a', Some(1.0), 0.5), c('b', Some(1.0), 0.5)];
        for how in [Fusion::Rerank, Fusion::Rrf, Fusion::Blend] {
            assert_eq!(order(&fuse(&cands, how, 0.5)), "ab", "{how:?}");
        }
        assert!(fuse::<char>(&[], Fusion::Blend, 0.5).is_empty());
    }
}
