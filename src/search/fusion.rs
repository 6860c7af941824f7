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
    /// Cosine of its embedding with the question's; `None` while the passage waits for its
    /// vector (new or changed, just after a reload).
    pub cosine: Option<f32>,
    /// A weak word match (below [`strong_matches`]' share of the best): it sets the
    /// blend's scale, so two close results are not stretched to 1 and 0, but is left out of
    /// the order, keeping its place by words after it.
    pub weak: bool,
}

/// How many of the lexical results, best first, are strong matches meaning may reorder: at
/// most `most`, and only those scoring at least `share` of the best. Always the best one.
pub fn strong_matches(scores: impl IntoIterator<Item = f32>, most: usize, share: f32) -> usize {
    let mut scores = scores.into_iter().peekable();
    let Some(&best) = scores.peek() else {
        return 0;
    };
    let floor = share * best;
    scores.take(most).take_while(|&s| s >= floor).count().max(1)
}

/// The candidates that are not weak, best first, each with its fused score. Ties keep the
/// lexical order, then the order given.
pub fn fuse<T: Copy>(
    candidates: &[Candidate<T>],
    how: Fusion,
    meaning_weight: f32,
) -> Vec<(T, f32)> {
    let n = candidates.len();
    let cosines = stand_ins(candidates);
    let scores: Vec<f32> = match how {
        Fusion::Rerank => cosines.clone(),
        Fusion::Rrf => {
            let lexical_rank = ranks(n, |i| candidates[i].lexical);
            let meaning_rank = ranks(n, |i| Some(cosines[i]));
            (0..n)
                .map(|i| {
                    let part = |r: Option<usize>| r.map_or(0.0, |r| 1.0 / (RRF_K + r as f32 + 1.0));
                    part(lexical_rank[i]) + part(meaning_rank[i])
                })
                .collect()
        }
        Fusion::Blend => {
            let lexical = scaled(candidates.iter().map(|c| c.lexical.unwrap_or(0.0)));
            let meaning = scaled(cosines.iter().copied());
            (0..n)
                .map(|i| meaning_weight * meaning[i] + (1.0 - meaning_weight) * lexical[i])
                .collect()
        }
    };
    let mut order: Vec<usize> = (0..n).filter(|&i| !candidates[i].weak).collect();
    // Stable: equal scores keep the lexical order the candidates arrive in.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
        .into_iter()
        .map(|i| (candidates[i].item, scores[i]))
        .collect()
}

/// Each candidate's cosine; one still waiting for its vector gets the cosine at its lexical
/// rank among the known ones (the best for the lexical first, and so on): meaning is taken
/// to agree with words, so it ranks by words alone, neither helped nor held back.
fn stand_ins<T>(candidates: &[Candidate<T>]) -> Vec<f32> {
    let mut known: Vec<f32> = candidates.iter().filter_map(|c| c.cosine).collect();
    known.sort_by(|a, b| b.total_cmp(a));
    let lexical_rank = ranks(candidates.len(), |i| candidates[i].lexical);
    candidates
        .iter()
        .zip(lexical_rank)
        .map(|(c, rank)| {
            c.cosine.unwrap_or_else(|| {
                let at = rank
                    .unwrap_or(usize::MAX)
                    .min(known.len().saturating_sub(1));
                known.get(at).copied().unwrap_or(0.0)
            })
        })
        .collect()
}

/// The 0-based rank of each of `n` candidates by `key(i)`, best first; `None` for candidates
/// without one.
fn ranks(n: usize, key: impl Fn(usize) -> Option<f32>) -> Vec<Option<usize>> {
    let mut keyed: Vec<(usize, f32)> = (0..n).filter_map(|i| key(i).map(|k| (i, k))).collect();
    keyed.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = vec![None; n];
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
            cosine: Some(cosine),
            weak: false,
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

    #[test]
    fn a_passage_waiting_for_its_vector_ranks_by_its_words() {
        let waiting = |item, lexical| Candidate {
            item,
            lexical: Some(lexical),
            cosine: None,
            weak: false,
        };
        // `w` is first by words: it takes the best known cosine, `v` (third) the third best.
        let cands = [
            waiting('w', 9.0),
            c('a', Some(5.0), 0.2),
            waiting('v', 4.0),
            c('b', Some(3.0), 0.6),
            c('x', None, 0.4),
        ];
        for how in [Fusion::Rerank, Fusion::Rrf, Fusion::Blend] {
            let fused = fuse(&cands, how, 0.5);
            assert_eq!(fused[0].0, 'w', "{how:?}: {fused:?}");
        }
        assert_eq!(stand_ins(&cands), vec![0.6, 0.2, 0.2, 0.6, 0.4]);
        // With no known cosine at all, nothing to lean on: zero.
        assert_eq!(stand_ins(&[waiting('w', 1.0)]), vec![0.0]);
    }

    #[test]
    fn strong_matches_are_the_top_within_a_share_of_the_best() {
        let scores = [10.0, 8.0, 4.0, 3.9, 1.0];
        assert_eq!(strong_matches(scores, 40, 0.4), 3);
        assert_eq!(strong_matches(scores, 2, 0.4), 2);
        assert_eq!(strong_matches(scores, 40, 0.0), 5);
        // The best is always one, whatever the share or the cap.
        assert_eq!(strong_matches(scores, 0, 1.0), 1);
        assert_eq!(strong_matches([0.0, 0.0], 40, 0.4), 2);
        assert_eq!(strong_matches([], 40, 0.4), 0);
    }

    #[test]
    fn weak_word_matches_set_the_scale_but_are_not_reordered() {
        let strong = [c('a', Some(10.0), 0.2), c('b', Some(9.0), 0.6)];
        let weak = Candidate {
            weak: true,
            ..c('w', Some(1.0), 0.9)
        };
        let with_weak = fuse(&[strong[0], strong[1], weak], Fusion::Blend, 0.5);
        // The weak match has the best cosine, yet is not in the order.
        assert_eq!(order(&with_weak), "ba");
        // Alone, the two strong ones scale to 1 and 0 on each side and tie. With the weak one
        // setting the scale, their one point apart in words weighs little and meaning decides.
        let alone = fuse(&strong, Fusion::Blend, 0.5);
        assert_eq!(alone[0].1, alone[1].1);
        assert!(with_weak[0].1 > with_weak[1].1);
    }
}
