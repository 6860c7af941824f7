//! Sentence embeddings in process: WordPiece tokens → the BERT encoder (candle, see
//! [`super::encoder`]) → mean of the last hidden states over the real tokens → unit length, as
//! sentence-transformers computes them for all-MiniLM-L6-v2 (so cosines match the published
//! model).

use std::cmp::Reverse;
use std::path::Path;

use candle_core::Device;
use candle_transformers::models::bert::Config as BertConfig;
use tokenizers::{Tokenizer, TruncationParams};

use super::encoder::Encoder;
use super::files::{self, ModelError, CONFIG, TOKENIZER, WEIGHTS};
use super::DIMENSIONS;

/// Longer texts are cut to this many tokens (special tokens included), sentence-transformers'
/// `max_seq_length` for this model: it was trained on no more.
pub const MAX_TOKENS: usize = 256;

/// A batch holds at most this many tokens, padding included: memory grows with it (eight
/// 256-token passages peak near 155 MB of process RSS with the model loaded, measured by
/// `cargo bench --bench embed`) and on two cores larger batches are no faster.
const BATCH_TOKENS: usize = 8 * MAX_TOKENS;
/// Short texts still go at most this many at a time.
const BATCH_TEXTS: usize = 64;

/// The loaded model. Immutable once loaded, so one instance can serve every thread.
pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tokenizer,
    id: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("id", &self.id).finish()
    }
}

/// Why texts could not be embedded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
    #[error("the model failed: {0}")]
    Model(#[from] candle_core::Error),
}

impl Embedder {
    /// Verifies the model folder (see [`files::verify`]) and loads it.
    pub fn load(dir: &Path) -> Result<Embedder, ModelError> {
        files::verify(dir)?;
        let load_error = |message: String| ModelError::Load {
            dir: dir.to_path_buf(),
            message,
        };
        let config_path = dir.join(CONFIG);
        let config_text = std::fs::read(&config_path).map_err(|source| ModelError::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: BertConfig = serde_json::from_slice(&config_text)
            .map_err(|e| load_error(format!("{CONFIG}: {e}")))?;

        let mut tokenizer = Tokenizer::from_file(dir.join(TOKENIZER))
            .map_err(|e| load_error(format!("{TOKENIZER}: {e}")))?;
        // The shipped tokenizer.json truncates at 128 and pads every text to 128 tokens: wrong
        // for passages (the model takes 256) and wasteful for questions. Padding is done per
        // batch below.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| load_error(format!("{TOKENIZER}: {e}")))?;
        tokenizer.with_padding(None);

        let tensors = candle_core::safetensors::load(dir.join(WEIGHTS), &Device::Cpu)
            .map_err(|e| load_error(format!("{WEIGHTS}: {e}")))?;
        let encoder =
            Encoder::new(tensors, &config).map_err(|e| load_error(format!("{WEIGHTS}: {e}")))?;
        Ok(Embedder {
            encoder,
            tokenizer,
            id: super::model_id(),
        })
    }

    /// The model id to key cached embeddings by (see [`super::model_id`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Token ids as the model sees them: `[CLS] … [SEP]`, cut at [`MAX_TOKENS`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// One unit-length vector of [`DIMENSIONS`] floats per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids: Vec<Vec<u32>> = match texts {
            [] => return Ok(Vec::new()),
            // `encode_batch` fans out to rayon: not worth it for a question.
            [one] => vec![self.token_ids(one)?],
            _ => self
                .tokenizer
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| EmbedError::Tokenize(e.to_string()))?
                .iter()
                .map(|e| e.get_ids().to_vec())
                .collect(),
        };
        // Longest first, so each batch pads its texts to a similar length.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| Reverse(ids[i].len()));
        let mut out = vec![Vec::new(); ids.len()];
        for batch in batches(&order, |i| ids[i].len()) {
            let texts: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            for (&i, vector) in batch.iter().zip(self.forward(&texts)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// Embeds one batch, padded to its longest text.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Every encoding holds at least [CLS] and [SEP]; an empty one would still get a token.
        let lens: Vec<usize> = batch.iter().map(|ids| ids.len().max(1)).collect();
        let width = lens.iter().copied().max().unwrap_or(1);
        let mut input = Vec::with_capacity(batch.len() * width);
        for ids in batch {
            input.extend_from_slice(ids);
            input.resize(input.len() + width - ids.len(), 0);
        }
        let pooled = self.encoder.forward(input, &lens, width)?;
        Ok(pooled.into_iter().map(normalised).collect())
    }
}

/// Splits `order` (longest first) into runs whose padded size stays within the batch budget.
fn batches(order: &[usize], len: impl Fn(usize) -> usize) -> Vec<&[usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let width = len(order[start]).max(1);
        let fits = (BATCH_TOKENS / width).clamp(1, BATCH_TEXTS);
        let end = (start + fits).min(order.len());
        out.push(&order[start..end]);
        start = end;
    }
    out
}

/// L2-normalised, with torch's `normalize` eps, so an all-zero vector stays zero instead of
/// becoming NaN.
fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    debug_assert_eq!(v.len(), DIMENSIONS);
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let scale = 1.0 / norm.max(1e-12);
    v.iter_mut().for_each(|x| *x *= scale);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_bound_padded_tokens() {
        let lens = [256, 256, 200, 100, 14, 14, 3];
        let order: Vec<usize> = (0..lens.len()).collect();
        let got = batches(&order, |i| lens[i]);
        for batch in &got {
            let width = lens[batch[0]];
            assert!(batch.len() * width <= BATCH_TOKENS || batch.len() == 1);
            assert!(batch.len() <= BATCH_TEXTS);
        }
        let flat: Vec<usize> = got.concat();
        assert_eq!(flat, order, "every text once, in order");
        // Eight 256-token passages per batch, the rest together.
        assert_eq!(got.len(), 1);
        let long: Vec<usize> = vec![0; 20];
        assert_eq!(
            batches(&long, |_| 256)
                .iter()
                .map(|b| b.len())
                .collect::<Vec<_>>(),
            [8, 8, 4]
        );
    }

    #[test]
    fn normalising_keeps_zero_at_zero() {
        let mut v = vec![0f32; DIMENSIONS];
        v[0] = 3.0;
        v[1] = 4.0;
        let v = normalised(v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!(v[2..].iter().all(|&x| x == 0.0));
        assert!(normalised(vec![0f32; DIMENSIONS]).iter().all(|&x| x == 0.0));
    }
}
