//! Passage embeddings of one index generation: unit vectors of the texts embedded for each
//! passage (its chunks), in passage order, saved beside the tantivy files and keyed by
//! (embedded text, model), so that the next generation embeds only what is new or changed.
//!
//! Vectors are kept as 8-bit integers with one scale each: the nearest-neighbour scan reads
//! every vector for every question, and at 100k passages 150 MB of floats made it memory-bound
//! (18 ms a question, measured); a quarter of the bytes scans in a fraction of that. The
//! rounding moves a cosine by about 0.001, far below what separates answers.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::DIMENSIONS;

/// The file in a generation folder.
pub const FILE: &str = "embeddings.bin";
/// Bumped whenever the layout changes: an old file is then ignored and rebuilt.
const MAGIC: &[u8; 8] = b"CBVEC002";

/// Identifies what a vector was computed from: the text and the model.
pub type Key = [u8; 16];

/// The cache key of `text` embedded by `model_id`.
pub fn key(model_id: &str, text: &str) -> Key {
    let mut h = Sha256::new();
    h.update(model_id.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Words of a passage's text embedded together, at most (a sentence longer than this is
/// one text of its own). With the breadcrumb, about the 128 tokens the model was trained
/// on; one vector for a whole long passage blurs the one sentence a question is about.
pub const CHUNK_WORDS: usize = 60;

/// What is embedded for a passage: its text in chunks of whole sentences, at most
/// [`CHUNK_WORDS`] words each, every one after the breadcrumb ([`passage_text`]). A passage
/// is as close to a question as its closest chunk (the "MaxP" of Dai & Callan, 2019): on the
/// quality set's dev questions, rank 1 went from 52 to 55 of 96 against one vector per
/// passage. A passage that fits one chunk is embedded exactly as before.
pub fn passage_texts(breadcrumb: &[&str], body: &str) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut chunk = String::new();
    let mut words = 0;
    let sentences = body
        .lines()
        .flat_map(|line| line.split_inclusive(". "))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    for sentence in sentences {
        let n = sentence.split_whitespace().count();
        if words > 0 && words + n > CHUNK_WORDS {
            chunks.push(std::mem::take(&mut chunk));
            words = 0;
        }
        if words > 0 {
            chunk.push(' ');
        }
        chunk.push_str(sentence);
        words += n;
    }
    if words > 0 || chunks.is_empty() {
        chunks.push(chunk);
    }
    match chunks.as_slice() {
        // One chunk: the passage as a whole, its line breaks kept as they always were.
        [_] => vec![passage_text(breadcrumb, body)],
        _ => chunks.iter().map(|c| passage_text(breadcrumb, c)).collect(),
    }
}

/// One text embedded for a passage: where it sits, then what it says. The headings carry the
/// topic a short passage often leaves implicit ("Base pay" under "Salary › India").
pub fn passage_text(breadcrumb: &[&str], body: &str) -> String {
    let mut text = breadcrumb.join(" > ");
    if !body.is_empty() {
        if !text.is_empty() {
            text.push_str(". ");
        }
        text.push_str(body);
    }
    text
}

/// One vector per embedded text, in order (the search's `Dense` knows which passage each
/// belongs to).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassageVectors {
    keys: Vec<Key>,
    /// Per passage: the float one step of its integers stands for.
    scales: Vec<f32>,
    /// `keys.len() × DIMENSIONS` integers, row by row.
    data: Vec<i8>,
}

impl PassageVectors {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Cosine of passage `i`'s vector with `query` (a unit vector).
    pub fn cosine(&self, i: usize, query: &[f32]) -> f32 {
        self.scales[i] * dot(&self.data[i * DIMENSIONS..(i + 1) * DIMENSIONS], query)
    }

    /// Vectors for `keys`: taken from `cache` where it has the key, computed by `embed` for
    /// the rest (in chunks, reporting `(done, to_embed)` after each). Returns the vectors and
    /// how many were computed.
    pub fn assemble<E>(
        keys: Vec<Key>,
        cache: Option<&PassageVectors>,
        text_of: impl Fn(usize) -> Result<String, E>,
        embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>, E>,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(PassageVectors, usize), E> {
        let (mut out, missing) = PassageVectors::from_cache(keys, cache);
        out.fill(&missing, text_of, embed, progress)?;
        Ok((out, missing.len()))
    }

    /// Vectors for `keys` taken from `cache` where it has the key, zero for the rest; returns
    /// them and the passages still to embed (see [`PassageVectors::fill`]).
    pub fn from_cache(
        keys: Vec<Key>,
        cache: Option<&PassageVectors>,
    ) -> (PassageVectors, Vec<usize>) {
        let cached: std::collections::HashMap<&Key, usize> = cache
            .map(|c| c.keys.iter().enumerate().map(|(i, k)| (k, i)).collect())
            .unwrap_or_default();
        let mut out = PassageVectors {
            scales: vec![0.0; keys.len()],
            data: vec![0; keys.len() * DIMENSIONS],
            keys: Vec::new(),
        };
        let mut missing = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match (cache, cached.get(k)) {
                (Some(c), Some(&j)) => {
                    out.scales[i] = c.scales[j];
                    out.data[i * DIMENSIONS..(i + 1) * DIMENSIONS]
                        .copy_from_slice(&c.data[j * DIMENSIONS..(j + 1) * DIMENSIONS]);
                }
                _ => missing.push(i),
            }
        }
        out.keys = keys;
        (out, missing)
    }

    /// Computes the vectors of passages `missing` with `embed`, in chunks, reporting
    /// `(done, to_embed)` after each.
    pub fn fill<E>(
        &mut self,
        missing: &[usize],
        text_of: impl Fn(usize) -> Result<String, E>,
        mut embed: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>, E>,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(), E> {
        /// Texts per call: small enough for steady progress, large enough to batch well.
        const CHUNK: usize = 64;
        let mut done = 0;
        for chunk in missing.chunks(CHUNK) {
            let texts: Vec<String> = chunk
                .iter()
                .map(|&i| text_of(i))
                .collect::<Result<_, E>>()?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            for (&i, v) in chunk.iter().zip(embed(&refs)?) {
                let (scale, row) = quantize(&v);
                self.scales[i] = scale;
                self.data[i * DIMENSIONS..(i + 1) * DIMENSIONS].copy_from_slice(&row);
            }
            done += chunk.len();
            progress(done, missing.len());
        }
        Ok(())
    }

    /// The `m` groups of vectors (the chunks of one passage) whose closest vector is most
    /// similar to `query`, among those `allow`ed, best first, each once with that cosine.
    /// `group` maps a vector to its group. A brute-force scan: 100k passages take a few
    /// milliseconds (measured in `benches/search.rs`), far below what an approximate index
    /// would save.
    pub fn nearest(
        &self,
        query: &[f32],
        m: usize,
        group: impl Fn(usize) -> usize,
        allow: impl Fn(usize) -> bool,
    ) -> Vec<(usize, f32)> {
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(m + 1);
        if m == 0 {
            return best;
        }
        let dot = dot_fn();
        let rows = self.data.chunks_exact(DIMENSIONS).zip(&self.scales);
        for (i, (row, scale)) in rows.enumerate() {
            let cos = scale * dot(row, query);
            if best.len() == m && cos <= best[m - 1].1 {
                continue;
            }
            let g = group(i);
            if let Some(at) = best.iter().position(|&(b, _)| b == g) {
                if best[at].1 >= cos {
                    continue;
                }
                best.remove(at);
            } else if !allow(g) {
                continue;
            }
            let at = best.partition_point(|&(_, c)| c >= cos);
            best.insert(at, (g, cos));
            best.truncate(m);
        }
        best
    }

    /// Reads a file written by [`PassageVectors::write`] for `model_id`; `None` when there is
    /// none, or it is for another model, another layout, or damaged (the caller re-embeds).
    pub fn read(path: &Path, model_id: &str) -> Option<PassageVectors> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .ok()?;
        let parsed = parse(&bytes, model_id);
        if parsed.is_none() {
            tracing::warn!(path = %path.display(), "stored embeddings do not match this model or are damaged; embedding again");
        }
        parsed
    }

    /// Writes the vectors for `model_id` to `path`, atomically (temporary file, then rename).
    pub fn write(&self, path: &Path, model_id: &str) -> std::io::Result<()> {
        let mut out =
            Vec::with_capacity(32 + model_id.len() + self.data.len() + self.keys.len() * 20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(DIMENSIONS as u32).to_le_bytes());
        out.extend_from_slice(&(self.keys.len() as u64).to_le_bytes());
        out.extend_from_slice(&(model_id.len() as u32).to_le_bytes());
        out.extend_from_slice(model_id.as_bytes());
        for k in &self.keys {
            out.extend_from_slice(k);
        }
        for x in &self.scales {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend(self.data.iter().map(|&x| x as u8));
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&out)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn parse(bytes: &[u8], model_id: &str) -> Option<PassageVectors> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
        rest = tail;
        Some(head)
    };
    let dims = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let count = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
    let id_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    if dims != DIMENSIONS || take(id_len)? != model_id.as_bytes() {
        return None;
    }
    let keys: Vec<Key> = take(count.checked_mul(16)?)?
        .chunks_exact(16)
        .map(|k| k.try_into().expect("16-byte chunks"))
        .collect();
    let scales: Vec<f32> = take(count.checked_mul(4)?)?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4-byte chunks")))
        .collect();
    let data: Vec<i8> = take(count.checked_mul(DIMENSIONS)?)?
        .iter()
        .map(|&b| b as i8)
        .collect();
    take(1)
        .is_none()
        .then_some(PassageVectors { keys, scales, data })
}

/// A vector as integers in -127..=127 and the scale that maps them back.
fn quantize(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    (scale, v.iter().map(|x| (x / scale).round() as i8).collect())
}

/// Dot product of integers with floats, with the fastest code this CPU runs.
fn dot(a: &[i8], b: &[f32]) -> f32 {
    dot_fn()(a, b)
}

/// The dot product to use for a whole scan. x86-64's baseline (SSE2) has no instruction to
/// widen bytes to floats; AVX2 widens and multiplies eight at a time, measured ~2× faster on
/// a 100k-passage scan. Chosen at run time, so one binary runs on every x86-64 machine.
fn dot_fn() -> fn(&[i8], &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        return |a, b| {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { dot_avx2(a, b) }
        };
    }
    dot_lanes
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[i8], b: &[f32]) -> f32 {
    // The same loop, compiled for AVX2 once inlined here.
    dot_lanes(a, b)
}

/// Sixteen independent lanes, which the compiler turns into SIMD (a plain iterator sum is
/// one serial chain of additions it may not reorder).
#[inline(always)]
fn dot_lanes(a: &[i8], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, y)| x as f32 * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            lanes[l] += x[l] as f32 * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize) -> Vec<f32> {
        let mut v = vec![0f32; DIMENSIONS];
        v[i] = 1.0;
        v
    }

    fn vectors(rows: &[Vec<f32>]) -> PassageVectors {
        let keys: Vec<Key> = (0..rows.len()).map(|i| key("m", &i.to_string())).collect();
        let (v, computed) = PassageVectors::assemble(
            keys,
            None,
            |i| Ok(i.to_string()),
            |texts: &[&str]| -> Result<_, ()> {
                Ok(texts
                    .iter()
                    .map(|t| rows[t.parse::<usize>().unwrap()].clone())
                    .collect())
            },
            &|_, _| {},
        )
        .unwrap();
        assert_eq!(computed, rows.len());
        v
    }

    #[test]
    fn nearest_is_best_first_within_the_allowed() {
        let mut mixed = unit(0);
        mixed[1] = 1.0;
        let rows = vec![unit(1), unit(0), mixed, unit(2)];
        let v = vectors(&rows);
        let got = v.nearest(&unit(0), 2, |i| i, |_| true);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 2]);
        assert!((got[0].1 - 1.0).abs() < 1e-6);
        let got = v.nearest(&unit(0), 2, |i| i, |i| i != 1);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [2, 0]);
        assert!(v.nearest(&unit(0), 0, |i| i, |_| true).is_empty());
    }

    #[test]
    fn only_new_texts_are_embedded_and_files_round_trip() {
        let old = vectors(&[unit(0), unit(1)]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        old.write(&path, "m").unwrap();
        let read = PassageVectors::read(&path, "m").unwrap();
        assert_eq!(read, old);
        assert!(PassageVectors::read(&path, "other model").is_none());

        // Passage 1 unchanged, a new one before it.
        let keys = vec![key("m", "new"), old.keys()[1]];
        let embedded = std::cell::RefCell::new(Vec::new());
        let (new, computed) = PassageVectors::assemble(
            keys,
            Some(&read),
            |i| Ok(format!("text {i}")),
            |texts: &[&str]| -> Result<_, ()> {
                embedded
                    .borrow_mut()
                    .extend(texts.iter().map(|t| t.to_string()));
                Ok(texts.iter().map(|_| unit(5)).collect())
            },
            &|_, _| {},
        )
        .unwrap();
        assert_eq!(computed, 1);
        assert_eq!(*embedded.borrow(), ["text 0"]);
        assert!((new.cosine(0, &unit(5)) - 1.0).abs() < 1e-6);
        assert!((new.cosine(1, &unit(1)) - 1.0).abs() < 1e-6);
        assert!(new.cosine(1, &unit(5)).abs() < 1e-6);
    }

    #[test]
    fn damaged_files_are_ignored() {
        let v = vectors(&[unit(0)]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        v.write(&path, "m").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(PassageVectors::read(&path, "m").is_none(), "truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        std::fs::write(&path, longer).unwrap();
        assert!(PassageVectors::read(&path, "m").is_none(), "trailing bytes");
    }

    #[test]
    fn quantized_cosines_stay_within_a_thousandth() {
        let unit = |f: &dyn Fn(usize) -> f32| {
            let v: Vec<f32> = (0..DIMENSIONS).map(f).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let a = unit(&|i| (i as f32).sin());
        let b = unit(&|i| (i as f32 * 0.7).cos() + 0.3);
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let (scale, q) = quantize(&a);
        let approx = scale * dot(&q, &b);
        assert!((approx - exact).abs() < 1e-3, "{approx} vs {exact}");
        assert!(
            (dot_lanes(&q, &b) - dot(&q, &b)).abs() < 1e-5,
            "every variant agrees"
        );
        assert_eq!(quantize(&[0.0; 4]), (0.0, vec![0; 4]));
    }

    #[test]
    fn long_passages_are_embedded_in_chunks_of_whole_sentences() {
        let sentence = |i: usize| format!("Sentence {i} has exactly seven words here. ");
        // Nine sentences of seven words: 63 words, over the limit by one sentence.
        let body: String = (0..9).map(sentence).collect::<String>();
        let texts = passage_texts(&["Guide", "Part"], body.trim());
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].starts_with("Guide > Part. Sentence 0 "));
        assert!(texts[0].ends_with("Sentence 7 has exactly seven words here."));
        assert_eq!(
            texts[1],
            "Guide > Part. Sentence 8 has exactly seven words here."
        );
        // Lines are sentences too; a passage that fits one chunk is one text, as it was.
        let short = "First line.\nSecond line.";
        assert_eq!(
            passage_texts(&["A"], short),
            vec![passage_text(&["A"], short)]
        );
        assert_eq!(passage_texts(&["Only"], ""), vec!["Only".to_string()]);
        // A sentence longer than a chunk is a chunk of its own, whole.
        let long = format!("{}. Short one.", "word ".repeat(80).trim());
        let texts = passage_texts(&[], &long);
        assert_eq!(texts.len(), 2);
        assert_eq!(texts[1], "Short one.");
    }

    #[test]
    fn nearest_groups_report_each_group_once_at_its_best() {
        // Rows 0–2 belong to group 0, rows 3–4 to group 1, row 5 to group 2.
        let v = vectors(&[unit(0), unit(1), unit(2), unit(1), unit(3), unit(4)]);
        let group = |i: usize| [0, 0, 0, 1, 1, 2][i];
        let q = unit(1);
        let best = v.nearest(&q, 2, group, |_| true);
        assert_eq!(best.iter().map(|b| b.0).collect::<Vec<_>>(), vec![0, 1]);
        assert!(best.iter().all(|b| (b.1 - 1.0).abs() < 0.01), "{best:?}");
        // A group not allowed is skipped whatever its rows.
        let best = v.nearest(&q, 2, group, |g| g != 0);
        assert_eq!(best[0].0, 1);
        assert_eq!(best.len(), 2);
    }

    #[test]
    fn passage_text_puts_headings_first() {
        assert_eq!(
            passage_text(&["Salary", "India"], "Base pay is …"),
            "Salary > India. Base pay is …"
        );
        assert_eq!(passage_text(&[], "Body"), "Body");
        assert_eq!(passage_text(&["Only"], ""), "Only");
    }
}
