//! all-MiniLM-L6-v2's forward pass (a BERT encoder) for our one use: f32 inference on the CPU,
//! token types all zero, a mean-pooled vector out. It computes what candle-transformers'
//! `BertModel` computes, from the same weights, with less work per layer:
//! - the query, key and value projections are one matmul, the attention scale is folded into
//!   the query weights, and every weight is stored in the layout gemm reads without repacking;
//! - softmax runs in place over each row's real tokens (padding gets weight 0, as the additive
//!   `f32::MIN` mask gives), instead of five ops and a mask tensor;
//! - biases are added in place, and GELU with them, using a branch-free erf the compiler
//!   vectorises and rayon splits (candle's scalar `libm::erff` took ~19 % of a passage);
//! - mean pooling is one small matmul, so only 384 floats per text leave the tensor.

use std::collections::HashMap;

use candle_core::{CpuStorage, Device, InplaceOp1, Layout, Tensor};
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

/// The weights, arranged for [`Encoder::forward`].
pub(super) struct Encoder {
    word_embeddings: Tensor,
    /// Position embeddings with the token-type-0 row added: every token has type 0.
    positions: Tensor,
    embeddings_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    device: Device,
}

struct Layer {
    /// Query (pre-scaled by 1/√head size), key and value, side by side.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// `x · w + b`, with `w` stored (in, out) row-major: the layout gemm packs for free.
struct Linear {
    weight: Tensor,
    bias: Vec<f32>,
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Encoder {
    /// Arranges the safetensors weights (keys as in the sentence-transformers file, no `bert.`
    /// prefix). Fails on a missing or misshapen tensor, or a config this code does not compute.
    pub(super) fn new(
        mut tensors: HashMap<String, Tensor>,
        config: &Config,
    ) -> candle_core::Result<Encoder> {
        if config.hidden_act != HiddenAct::Gelu
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            candle_core::bail!("unsupported config: {config:?}");
        }
        let t = &mut tensors;
        let eps = config.layer_norm_eps as f32;
        let word_embeddings = take(t, "embeddings.word_embeddings.weight")?;
        let token_type = take(t, "embeddings.token_type_embeddings.weight")?.get(0)?;
        let positions = take(t, "embeddings.position_embeddings.weight")?
            .broadcast_add(&token_type)?
            .contiguous()?;
        let embeddings_norm = Norm::take(t, "embeddings", eps)?;
        let head_size = config.hidden_size / config.num_attention_heads;
        let scale = 1.0 / (head_size as f64).sqrt();
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let attention = format!("{p}.attention.self");
            let part = |t: &mut HashMap<String, Tensor>, name: &str| {
                take(t, &format!("{attention}.{name}"))
            };
            let weight = Tensor::cat(
                &[
                    (part(t, "query.weight")? * scale)?,
                    part(t, "key.weight")?,
                    part(t, "value.weight")?,
                ],
                0,
            )?;
            let bias = Tensor::cat(
                &[
                    (part(t, "query.bias")? * scale)?,
                    part(t, "key.bias")?,
                    part(t, "value.bias")?,
                ],
                0,
            )?;
            layers.push(Layer {
                qkv: Linear::new(&weight, &bias)?,
                attention_out: Linear::take(t, &format!("{p}.attention.output.dense"))?,
                attention_norm: Norm::take(t, &format!("{p}.attention.output"), eps)?,
                intermediate: Linear::take(t, &format!("{p}.intermediate.dense"))?,
                output: Linear::take(t, &format!("{p}.output.dense"))?,
                output_norm: Norm::take(t, &format!("{p}.output"), eps)?,
            });
        }
        Ok(Encoder {
            device: word_embeddings.device().clone(),
            word_embeddings,
            positions,
            embeddings_norm,
            layers,
            heads: config.num_attention_heads,
        })
    }

    /// Mean-pooled last hidden states, one row per text: `ids` holds the texts' token ids
    /// back to back, each padded to `width`; `lens` their real lengths (each ≥ 1).
    pub(super) fn forward(
        &self,
        ids: Vec<u32>,
        lens: &[usize],
        width: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let texts = lens.len();
        let ids = Tensor::from_vec(ids, texts * width, &self.device)?;
        let x = self
            .word_embeddings
            .index_select(&ids, 0)?
            .reshape((texts, width, ()))?
            .broadcast_add(&self.positions.narrow(0, 0, width)?)?
            .reshape((texts * width, ()))?;
        let mut x = self.embeddings_norm.forward(&x)?;
        for layer in &self.layers {
            x = layer.forward(&x, lens, width, self.heads)?;
        }
        // Row i of `weights` holds 1/len over text i's real tokens, 0 over its padding.
        let mut weights = vec![0f32; texts * width];
        for (row, &len) in weights.chunks_mut(width).zip(lens) {
            row[..len].fill(1.0 / len as f32);
        }
        let weights = Tensor::from_vec(weights, (texts, 1, width), &self.device)?;
        weights
            .matmul(&x.reshape((texts, width, ()))?)?
            .squeeze(1)?
            .to_vec2()
    }
}

impl Layer {
    fn forward(
        &self,
        x: &Tensor,
        lens: &[usize],
        width: usize,
        heads: usize,
    ) -> candle_core::Result<Tensor> {
        let (rows, hidden) = x.dims2()?;
        let texts = lens.len();
        let head_size = hidden / heads;
        // (texts·width, 3·hidden) → (3, texts, heads, width, head size) in one copy.
        let qkv = self
            .qkv
            .forward(x, false)?
            .reshape((texts, width, 3, heads, head_size))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let scores = q.matmul(&k.t()?)?;
        scores.inplace_op1(&MaskedSoftmax { lens, heads })?;
        let context = scores
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((rows, hidden))?;
        let attended = (self.attention_out.forward(&context, false)? + x)?;
        let attended = self.attention_norm.forward(&attended)?;
        let inner = self.intermediate.forward(&attended, true)?;
        let out = (self.output.forward(&inner, false)? + &attended)?;
        self.output_norm.forward(&out)
    }
}

impl Linear {
    /// From a PyTorch (out, in) weight.
    fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Linear> {
        Ok(Linear {
            weight: weight.t()?.contiguous()?,
            bias: bias.to_vec1()?,
        })
    }

    fn take(tensors: &mut HashMap<String, Tensor>, prefix: &str) -> candle_core::Result<Linear> {
        Linear::new(
            &take(tensors, &format!("{prefix}.weight"))?,
            &take(tensors, &format!("{prefix}.bias"))?,
        )
    }

    fn forward(&self, x: &Tensor, gelu: bool) -> candle_core::Result<Tensor> {
        let y = x.matmul(&self.weight)?;
        y.inplace_op1(&AddBias {
            bias: &self.bias,
            gelu,
        })?;
        Ok(y)
    }
}

impl Norm {
    fn take(
        tensors: &mut HashMap<String, Tensor>,
        prefix: &str,
        eps: f32,
    ) -> candle_core::Result<Norm> {
        Ok(Norm {
            weight: take(tensors, &format!("{prefix}.LayerNorm.weight"))?,
            bias: take(tensors, &format!("{prefix}.LayerNorm.bias"))?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

fn take(tensors: &mut HashMap<String, Tensor>, name: &str) -> candle_core::Result<Tensor> {
    tensors
        .remove(name)
        .ok_or_else(|| candle_core::Error::Msg(format!("no tensor {name}")))
}

/// The contiguous f32 data of a tensor just produced by a matmul.
fn data<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> candle_core::Result<&'a mut [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("f32 expected");
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&mut data[start..end]),
        None => candle_core::bail!("contiguous tensor expected"),
    }
}

/// Elements per rayon task: below this, splitting costs more than it saves.
const CHUNK: usize = 1 << 14;

/// Adds a bias to each row (the last dimension), then GELU if asked.
struct AddBias<'a> {
    bias: &'a [f32],
    gelu: bool,
}

impl InplaceOp1 for AddBias<'_> {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let data = data(storage, layout)?;
        let n = self.bias.len();
        let rows_per_task = (CHUNK / n).max(1);
        data.par_chunks_mut(rows_per_task * n).for_each(|rows| {
            for row in rows.chunks_exact_mut(n) {
                for (x, b) in row.iter_mut().zip(self.bias) {
                    *x += b;
                }
                if self.gelu {
                    for x in row.iter_mut() {
                        *x = gelu(*x);
                    }
                }
            }
        });
        Ok(())
    }
}

/// Softmax over the last dimension of (texts, heads, width, width) attention scores, over the
/// first `lens[text]` keys only; padded keys get 0.
struct MaskedSoftmax<'a> {
    lens: &'a [usize],
    heads: usize,
}

impl InplaceOp1 for MaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let data = data(storage, layout)?;
        let width = *layout.dims().last().unwrap_or(&1);
        let per_text = self.heads * width * width;
        if data.len() != per_text * self.lens.len() {
            candle_core::bail!(
                "scores of {:?} for {} texts",
                layout.dims(),
                self.lens.len()
            );
        }
        data.par_chunks_mut(per_text)
            .zip(self.lens)
            .for_each(|(scores, &len)| {
                for row in scores.chunks_exact_mut(width) {
                    let (real, padding) = row.split_at_mut(len);
                    let max = real.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for x in real.iter_mut() {
                        *x = exp_non_positive(*x - max);
                        sum += *x;
                    }
                    let scale = 1.0 / sum;
                    real.iter_mut().for_each(|x| *x *= scale);
                    padding.fill(0.0);
                }
            });
        Ok(())
    }
}

/// e^x for x ≤ 0 (softmax after subtracting the row's maximum), within 2 ulp of `f32::exp`
/// down to e^-87 (below, it returns that instead of a subnormal or 0: far under f32's
/// resolution next to the row's maximum, which contributes 1). Branch-free (x = n·ln 2 + r,
/// Cephes' polynomial for e^r, 2^n built in the exponent bits), so the loop vectorises where
/// libm's `expf` is called once per element.
#[inline(always)]
fn exp_non_positive(x: f32) -> f32 {
    // 1.5·2^23: adding it rounds to an integer, left in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 0.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    // ln 2 in two parts, so n·ln 2 is exact enough.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p * r + c;
    }
    let e_r = p * r * r + r + 1.0;
    // 2^n: n + 127 in the exponent field (the high bits of `t` shift out).
    let two_n = f32::from_bits(t.to_bits().wrapping_add(127) << 23);
    e_r * two_n
}

/// GELU with the exact (erf) form, as BERT's `"gelu"`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf for f32 as a rational function of x² on [-4, 4] (beyond which erf rounds to ±1 in f32),
/// with the coefficients Eigen and XLA use; within a few ulp of `libm::erff`, but branch-free,
/// so loops over it vectorise.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_600_1e-3,
        -1.609_603_3e-2,
    ] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5_f32;
    for c in [
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329_2e-3,
        -1.426_473_9e-2,
    ] {
        q = q * x2 + c;
    }
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64: exact enough on [-5, 5] to judge an f32 erf.
    fn erf_reference(x: f64) -> f64 {
        if x.abs() > 5.0 {
            return x.signum();
        }
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_is_accurate_to_f32() {
        let mut worst = 0f64;
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            worst = worst.max((erf(x) as f64 - erf_reference(x as f64)).abs());
        }
        assert!(worst < 5e-7, "max |error| {worst}");
        assert!((erf_reference(1.0) - 0.842_700_792_949_715).abs() < 1e-12);
    }

    #[test]
    fn exp_is_accurate_to_f32() {
        let mut worst = 0f32;
        for i in 0..=870_000 {
            let x = -(i as f32) / 10_000.0;
            let (got, want) = (exp_non_positive(x), x.exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "max relative error {worst}");
        assert_eq!(exp_non_positive(0.0), 1.0);
        assert!(exp_non_positive(-1000.0) < 1e-37);
    }

    #[test]
    fn masked_softmax_ignores_padding() {
        let scores = Tensor::new(
            &[[[[1f32, 2.0, 9.0], [0.0, 0.0, 9.0], [5.0, 5.0, 5.0]]]],
            &Device::Cpu,
        )
        .unwrap();
        scores
            .inplace_op1(&MaskedSoftmax {
                lens: &[2],
                heads: 1,
            })
            .unwrap();
        let rows: Vec<Vec<f32>> = scores
            .squeeze(0)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        let e = 1f32.exp();
        assert!((rows[0][0] - 1.0 / (1.0 + e)).abs() < 1e-6);
        assert!((rows[0][1] - e / (1.0 + e)).abs() < 1e-6);
        assert_eq!(rows[0][2], 0.0);
        assert_eq!(rows[1][..], [0.5, 0.5, 0.0]);
        assert_eq!(rows[2][..], [0.5, 0.5, 0.0]);
    }
}
