//! Sentence embeddings in process: WordPiece tokens → candle's BERT → mean of the last hidden
//! states over the real tokens → unit length, as sentence-transformers computes them for
//! all-MiniLM-L6-v2 (so cosines match the published model).

use std::cmp::Reverse;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use tokenizers::{Tokenizer, TruncationParams};

use super::files::{self, ModelError, CONFIG, TOKENIZER, WEIGHTS};
use super::DIMENSIONS;

/// Longer texts are cut to this many tokens (special tokens included), sentence-transformers'
/// `max_seq_length` for this model: it was trained on no more.
pub const MAX_TOKENS: usize = 256;

/// A batch holds at most this many tokens, padding included: memory grows with it (eight
/// 256-token passages peak near 220 MB, 64 near 1 GB) and on two cores larger batches are no
/// faster.
const BATCH_TOKENS: usize = 8 * MAX_TOKENS;
/// Short texts still go at most this many at a time.
const BATCH_TEXTS: usize = 64;

/// The loaded model. Immutable once loaded, so one instance can serve every thread.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
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

        let device = Device::Cpu;
        let mut tensors = candle_core::safetensors::load(dir.join(WEIGHTS), &device)
            .map_err(|e| load_error(format!("{WEIGHTS}: {e}")))?;
        // gemm repacks a row-major Linear weight on every call, most of a short question's
        // time; stored column-major once here, `weight.t()` in Linear is already the layout
        // gemm wants. Embedding tables stay row-major: they are indexed by row.
        for (name, tensor) in tensors.iter_mut() {
            if name.starts_with("encoder.") && tensor.rank() == 2 {
                *tensor = tensor
                    .t()
                    .and_then(|t| t.contiguous())
                    .and_then(|t| t.t())
                    .map_err(|e| load_error(format!("{WEIGHTS}: {name}: {e}")))?;
            }
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model =
            BertModel::load(vb, &config).map_err(|e| load_error(format!("{WEIGHTS}: {e}")))?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
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
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut input = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for ids in batch {
            input.extend_from_slice(ids);
            input.resize(input.len() + width - ids.len(), 0);
            mask.resize(mask.len() + ids.len(), 1u32);
            mask.resize(mask.len() + width - ids.len(), 0);
        }
        let shape = (batch.len(), width);
        let input = Tensor::from_vec(input, shape, &self.device)?;
        let token_types = input.zeros_like()?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let hidden = self
            .model
            .forward(&input, &token_types, Some(&mask))?
            .to_vec3::<f32>()?;
        Ok(batch
            .iter()
            .zip(hidden)
            .map(|(ids, states)| mean_pool_normalised(&states[..ids.len()]))
            .collect())
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

/// Mean over the real tokens' states, then L2-normalised (torch's `normalize` eps, so an
/// all-zero vector stays zero instead of becoming NaN).
fn mean_pool_normalised(states: &[Vec<f32>]) -> Vec<f32> {
    let mut sum = vec![0f32; DIMENSIONS];
    for state in states {
        for (s, x) in sum.iter_mut().zip(state) {
            *s += x;
        }
    }
    let n = states.len().max(1) as f32;
    let norm = sum.iter().map(|x| (x / n) * (x / n)).sum::<f32>().sqrt();
    let scale = 1.0 / (n * norm.max(1e-12));
    sum.iter().map(|x| x * scale).collect()
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
    fn pooling_averages_then_normalises() {
        let mut a = vec![0f32; DIMENSIONS];
        let mut b = vec![0f32; DIMENSIONS];
        a[0] = 3.0;
        b[1] = 4.0;
        let v = mean_pool_normalised(&[a, b]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!(v[2..].iter().all(|&x| x == 0.0));
        let zero = mean_pool_normalised(&[vec![0f32; DIMENSIONS]]);
        assert!(zero.iter().all(|&x| x == 0.0));
    }
}
