//! all-MiniLM-L6-v2's forward pass (a BERT encoder) for our one use: f32 inference on the CPU,
//! token types all zero, a mean-pooled vector out. It computes what candle-transformers'
//! `BertModel` computes, from the same weights, with less work per layer:
//! - the query, key and value projections are one matmul, the attention scale is folded into
//!   the query weights, and every weight is stored in the layout gemm reads without repacking;
//! - attention is one op per text ([`Attention`]): single-threaded gemm calls per head over
//!   the real tokens only, straight on the projection rows, with softmax in place between
//!   them, instead of permuted copies, a score tensor, a mask and a fork-join per head;
//! - biases are added in place, and GELU with them, using a branch-free erf the compiler
//!   vectorises and rayon splits (candle's scalar `libm::erff` took ~19 % of a passage);
//! - bias, residual and LayerNorm are one pass over each matmul's output (candle's
//!   `layer_norm` sums serially, and the adds cost two more tensors);
//! - these element-wise loops are compiled for AVX2 and AVX-512 too and picked at run time
//!   (`simd!`);
//! - mean pooling is one small matmul, so only 384 floats per text leave the tensor.
//!
//! The attention op, the fused add & norm and the wide kernels took this module from 23 to 43
//! passages/s, and a question from 5.1 to 4.4 ms (p50), on two cores
//! (`cargo bench --bench embed`).

use std::collections::HashMap;

use candle_core::{CpuStorage, CustomOp1, Device, InplaceOp1, InplaceOp2, Layout, Shape, Tensor};
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
    weight: Vec<f32>,
    bias: Vec<f32>,
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
        // A fresh tensor (index_select copies), so normalising it in place touches no weight.
        let mut x = self.word_embeddings.index_select(&ids, 0)?;
        x.inplace_op2(
            &self.positions.narrow(0, 0, width)?,
            &AddNorm {
                bias: &[],
                norm: &self.embeddings_norm,
            },
        )?;
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
        let context =
            self.qkv
                .forward(x, false)?
                .apply_op1_no_bwd(&Attention { lens, width, heads })?;
        let attended = self
            .attention_out
            .forward_add_norm(&context, x, &self.attention_norm)?;
        let inner = self.intermediate.forward(&attended, true)?;
        self.output
            .forward_add_norm(&inner, &attended, &self.output_norm)
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

    /// x · w + b, then GELU if asked.
    fn forward(&self, x: &Tensor, gelu: bool) -> candle_core::Result<Tensor> {
        let y = x.matmul(&self.weight)?;
        y.inplace_op1(&AddBias {
            bias: &self.bias,
            gelu,
        })?;
        Ok(y)
    }

    /// LayerNorm(x · w + b + residual): BERT's add & norm, in one pass over the matmul's output.
    fn forward_add_norm(
        &self,
        x: &Tensor,
        residual: &Tensor,
        norm: &Norm,
    ) -> candle_core::Result<Tensor> {
        let y = x.matmul(&self.weight)?;
        y.inplace_op2(
            residual,
            &AddNorm {
                bias: &self.bias,
                norm,
            },
        )?;
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
            weight: take(tensors, &format!("{prefix}.LayerNorm.weight"))?.to_vec1()?,
            bias: take(tensors, &format!("{prefix}.LayerNorm.bias"))?.to_vec1()?,
            eps,
        })
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

/// Runs `f(first_row, rows)` over `data` in tasks of whole `n`-long rows, about [`CHUNK`]
/// elements each: on the calling thread when one task holds it all (a question: handing it to
/// rayon's pool would only add two thread switches), else split across the pool.
fn for_each_rows(data: &mut [f32], n: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows_per_task = (CHUNK / n).max(1);
    if data.len() <= rows_per_task * n {
        f(0, data);
    } else {
        data.par_chunks_mut(rows_per_task * n)
            .enumerate()
            .for_each(|(task, rows)| f(task * rows_per_task, rows));
    }
}

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
        for_each_rows(data, self.bias.len(), |_, rows| {
            if self.gelu {
                add_bias_gelu(rows, self.bias);
            } else {
                add_bias(rows, self.bias);
            }
        });
        Ok(())
    }
}

/// Self-attention from the fused projections: (texts·width, 3·hidden) rows of query, key and
/// value → (texts·width, hidden) context. Each text is one rayon task that runs its heads with
/// single-threaded gemm calls straight on the projection rows: over its real tokens only
/// (padded keys would get weight 0; a padded query's row reaches no real token, since every
/// other op works row by row, and mean pooling weighs it 0; it is left 0, finite, so 0 × it
/// stays 0), with no (texts, heads, width, width) score tensor, no permuted copies, and no
/// fork-join per head — candle's batched matmul joined both threads for each of the texts ×
/// heads small products, ~15 % of a passage's time in the scheduler. One text alone (a
/// question) runs on the calling thread.
struct Attention<'a> {
    lens: &'a [usize],
    width: usize,
    heads: usize,
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(qkv), Some((start, end)), &[rows, three_hidden]) =
            (storage, layout.contiguous_offsets(), layout.dims())
        else {
            candle_core::bail!("attention: contiguous f32 (rows, 3·hidden) expected");
        };
        let qkv = &qkv[start..end];
        let hidden = three_hidden / 3;
        let (width, heads) = (self.width, self.heads);
        if rows != width * self.lens.len()
            || three_hidden % 3 != 0
            || !hidden.is_multiple_of(heads)
            || self.lens.iter().any(|&len| len == 0 || len > width)
        {
            candle_core::bail!(
                "attention: {:?} for {} texts of width {width}",
                layout.dims(),
                self.lens.len()
            );
        }
        let head_size = hidden / heads;
        let mut context = vec![0f32; rows * hidden];
        let attend = |((out, text), &len): ((&mut [f32], &[f32]), &usize)| {
            let mut scores = vec![0f32; len * len];
            for h in 0..heads {
                let q = &text[h * head_size..];
                let k = &text[hidden + h * head_size..];
                let v = &text[2 * hidden + h * head_size..];
                // SAFETY: every access stays inside its slice: q, k and v rows are
                // `three_hidden` apart and `len` ≤ `width` of them exist past each start
                // with `head_size` columns; `scores` is len × len; `out` holds `width`
                // rows of `hidden`, and this head writes columns h·head_size.. of `len`.
                unsafe {
                    // scores = q · kᵀ (the scale is folded into q's weights): kᵀ's rows are
                    // k's columns.
                    matmul_into(
                        (len, len, head_size),
                        (scores.as_mut_ptr(), len),
                        (q.as_ptr(), three_hidden, 1),
                        (k.as_ptr(), 1, three_hidden),
                    );
                }
                softmax_rows(&mut scores, len, len);
                // SAFETY: as above.
                unsafe {
                    // out[.., head] = scores · v.
                    matmul_into(
                        (len, head_size, len),
                        (out[h * head_size..].as_mut_ptr(), hidden),
                        (scores.as_ptr(), len, 1),
                        (v.as_ptr(), three_hidden, 1),
                    );
                }
            }
        };
        if self.lens.len() == 1 {
            // One text (a question): run it here, as in `AddBias`.
            attend(((&mut context, qkv), &self.lens[0]));
        } else {
            context
                .par_chunks_mut(width * hidden)
                .zip(qkv.par_chunks(width * three_hidden))
                .zip(self.lens)
                .for_each(attend);
        }
        Ok((CpuStorage::F32(context), Shape::from((rows, hidden))))
    }
}

/// `dst = lhs · rhs` on one thread, for an (m, n, k) product: `dst` is m rows `dst_rs`
/// apart with unit column stride; `lhs` (m × k) and `rhs` (k × n) are each given as
/// (pointer, row stride, column stride), so a transpose is a swap of strides.
///
/// # Safety
/// Every element the strides reach, (m, k) of `lhs`, (k, n) of `rhs` and (m, n) of `dst`,
/// must lie in one live allocation each, and `dst` must not overlap `lhs` or `rhs`.
unsafe fn matmul_into(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (*mut f32, usize),
    (lhs, lhs_rs, lhs_cs): (*const f32, usize, usize),
    (rhs, rhs_rs, rhs_cs): (*const f32, usize, usize),
) {
    // SAFETY: the caller's contract. gemm computes dst = alpha·dst + beta·lhs·rhs; with
    // alpha 0 and `read_dst` false it never reads dst.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            false,
            lhs,
            lhs_cs as isize,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// LayerNorm(x + bias + residual) over the last dimension, in place in x. `residual` has x's
/// rows or fewer, repeating (the position embeddings, one row per position, under every
/// text's tokens); an empty `bias` adds none.
struct AddNorm<'a> {
    bias: &'a [f32],
    norm: &'a Norm,
}

impl InplaceOp2 for AddNorm<'_> {
    fn name(&self) -> &'static str {
        "add-norm"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> candle_core::Result<()> {
        let data = data(storage, layout)?;
        let (CpuStorage::F32(residual), Some((start, end))) =
            (residual, residual_layout.contiguous_offsets())
        else {
            candle_core::bail!("contiguous f32 residual expected");
        };
        let residual = &residual[start..end];
        let n = self.norm.weight.len();
        if residual.is_empty()
            || !residual.len().is_multiple_of(n)
            || !data.len().is_multiple_of(residual.len())
            || !(self.bias.is_empty() || self.bias.len() == n)
        {
            candle_core::bail!(
                "add-norm of {:?} with {:?}",
                layout.dims(),
                residual_layout.dims()
            );
        }
        for_each_rows(data, n, |first_row, rows| {
            add_norm_rows(rows, first_row, residual, self.bias, self.norm)
        });
        Ok(())
    }
}

// The element-wise kernels. Each loop is written so the compiler vectorises it (independent
// lanes for sums, branch-free maths); `simd!` compiles it again for AVX2 and AVX-512 and picks
// at run time, because x86-64's baseline (SSE2) gives it 4 lanes where these CPUs have 8 or 16:
// at SSE width these loops were ~20 % of a passage's time next to gemm's AVX-512 matmuls.
// The results do not depend on the width: no fused multiply-add is introduced, and the lane
// sums add in the same order at every width.

/// `fn name(args)` calling `generic(args)` compiled for the widest vector unit the CPU has.
macro_rules! simd {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) => $generic:ident;)*) => {$(
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
    )*};
}

simd! {
    fn add_bias(rows: &mut [f32], bias: &[f32]) => add_bias_generic;
    fn add_bias_gelu(rows: &mut [f32], bias: &[f32]) => add_bias_gelu_generic;
    fn softmax_rows(scores: &mut [f32], width: usize, len: usize) => softmax_rows_generic;
    fn add_norm_rows(
        rows: &mut [f32],
        first_row: usize,
        residual: &[f32],
        bias: &[f32],
        norm: &Norm
    ) => add_norm_rows_generic;
}

#[inline(always)]
fn add_bias_generic(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += b;
        }
    }
}

#[inline(always)]
fn add_bias_gelu_generic(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x = gelu(*x + b);
        }
    }
}

/// Softmax of each `width`-long row over its first `len` entries; the rest (padded keys) get 0.
#[inline(always)]
fn softmax_rows_generic(scores: &mut [f32], width: usize, len: usize) {
    for row in scores.chunks_exact_mut(width) {
        let (real, padding) = row.split_at_mut(len);
        let max = max_lanes(real);
        for x in real.iter_mut() {
            *x = exp_non_positive(*x - max);
        }
        let scale = 1.0 / sum_lanes(real);
        for x in real.iter_mut() {
            *x *= scale;
        }
        padding.fill(0.0);
    }
}

/// [`AddNorm`] over whole rows; `first_row` is the index of `rows`' first row in the tensor.
#[inline(always)]
fn add_norm_rows_generic(
    rows: &mut [f32],
    first_row: usize,
    residual: &[f32],
    bias: &[f32],
    norm: &Norm,
) {
    let n = norm.weight.len();
    let residual_rows = residual.len() / n;
    for (i, row) in rows.chunks_exact_mut(n).enumerate() {
        let r = (first_row + i) % residual_rows;
        let residual = &residual[r * n..][..n];
        if bias.is_empty() {
            for (x, r) in row.iter_mut().zip(residual) {
                *x += r;
            }
        } else {
            for ((x, b), r) in row.iter_mut().zip(bias).zip(residual) {
                *x = *x + b + r;
            }
        }
        let mean = sum_lanes(row) / n as f32;
        for x in row.iter_mut() {
            *x -= mean;
        }
        let variance = sum_squares_lanes(row) / n as f32;
        let scale = 1.0 / (variance + norm.eps).sqrt();
        for ((x, w), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
            *x = *x * scale * w + b;
        }
    }
}

/// Sums are taken over this many independent lanes, so they vectorise (a plain iterator sum is
/// one serial chain of additions the compiler may not reorder).
const LANES: usize = 16;

#[inline(always)]
fn sum_lanes(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += x;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[inline(always)]
fn sum_squares_lanes(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|x| x * x).sum();
    for chunk in chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += x * x;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[inline(always)]
fn max_lanes(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane = if x > *lane { x } else { *lane };
        }
    }
    lanes.iter().fold(tail, |m, &x| if x > m { x } else { m })
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

    /// Deterministic values in [-scale, scale].
    fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    #[test]
    fn wide_kernels_give_the_generic_results_bit_for_bit() {
        let (n, rows) = (384, 7);
        let bias = values(n, 1, 0.5);
        let x = values(n * rows, 2, 4.0);
        for gelu in [false, true] {
            let (mut wide, mut generic) = (x.clone(), x.clone());
            if gelu {
                add_bias_gelu(&mut wide, &bias);
                add_bias_gelu_generic(&mut generic, &bias);
            } else {
                add_bias(&mut wide, &bias);
                add_bias_generic(&mut generic, &bias);
            }
            assert_eq!(wide, generic);
        }
        let (width, len) = (37, 29);
        let (mut wide, mut generic) = (values(width * 5, 3, 8.0), values(width * 5, 3, 8.0));
        softmax_rows(&mut wide, width, len);
        softmax_rows_generic(&mut generic, width, len);
        assert_eq!(wide, generic);
        let norm = Norm {
            weight: values(n, 4, 1.0),
            bias: values(n, 5, 0.2),
            eps: 1e-12,
        };
        let residual = values(n * 3, 6, 2.0);
        let (mut wide, mut generic) = (x.clone(), x.clone());
        add_norm_rows(&mut wide, 1, &residual, &bias, &norm);
        add_norm_rows_generic(&mut generic, 1, &residual, &bias, &norm);
        assert_eq!(wide, generic);
    }

    #[test]
    fn add_norm_matches_candles_layer_norm() {
        let (rows, n) = (6, 384);
        let device = Device::Cpu;
        let x = Tensor::from_vec(values(rows * n, 7, 3.0), (rows, n), &device).unwrap();
        // Three residual rows, repeating under the six rows, as positions under two texts.
        let residual = Tensor::from_vec(values(3 * n, 8, 1.0), (3, n), &device).unwrap();
        let bias = values(n, 9, 0.5);
        let norm = Norm {
            weight: values(n, 10, 1.0),
            bias: values(n, 11, 0.3),
            eps: 1e-12,
        };
        let want = candle_nn::ops::layer_norm(
            &x.broadcast_add(&Tensor::new(bias.as_slice(), &device).unwrap())
                .unwrap()
                .reshape((2, 3, n))
                .unwrap()
                .broadcast_add(&residual)
                .unwrap()
                .reshape((rows, n))
                .unwrap(),
            &Tensor::new(norm.weight.as_slice(), &device).unwrap(),
            &Tensor::new(norm.bias.as_slice(), &device).unwrap(),
            norm.eps,
        )
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
        let got = x.copy().unwrap();
        got.inplace_op2(
            &residual,
            &AddNorm {
                bias: &bias,
                norm: &norm,
            },
        )
        .unwrap();
        for (got, want) in got.to_vec2::<f32>().unwrap().iter().zip(&want) {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-4, "{g} vs {w}");
            }
        }
    }

    #[test]
    fn softmax_ignores_padding() {
        let mut rows = vec![1f32, 2.0, 9.0, 0.0, 0.0, 9.0, 5.0, 5.0, 5.0];
        softmax_rows(&mut rows, 3, 2);
        let e = 1f32.exp();
        assert!((rows[0] - 1.0 / (1.0 + e)).abs() < 1e-6);
        assert!((rows[1] - e / (1.0 + e)).abs() < 1e-6);
        assert_eq!(rows[2], 0.0);
        assert_eq!(rows[3..6], [0.5, 0.5, 0.0]);
        assert_eq!(rows[6..], [0.5, 0.5, 0.0]);
    }

    /// Attention computed the plain way, one real query row at a time.
    fn attention_reference(
        qkv: &[f32],
        lens: &[usize],
        width: usize,
        heads: usize,
        hidden: usize,
    ) -> Vec<f32> {
        let head_size = hidden / heads;
        let at =
            |text: usize, token: usize, col: usize| qkv[(text * width + token) * 3 * hidden + col];
        let mut out = vec![0f32; lens.len() * width * hidden];
        for (t, &len) in lens.iter().enumerate() {
            for h in 0..heads {
                for i in 0..len {
                    let scores: Vec<f32> = (0..len)
                        .map(|j| {
                            (0..head_size)
                                .map(|d| {
                                    at(t, i, h * head_size + d)
                                        * at(t, j, hidden + h * head_size + d)
                                })
                                .sum()
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                    let sum: f32 = exp.iter().sum();
                    for d in 0..head_size {
                        out[(t * width + i) * hidden + h * head_size + d] = (0..len)
                            .map(|j| exp[j] / sum * at(t, j, 2 * hidden + h * head_size + d))
                            .sum();
                    }
                }
            }
        }
        out
    }

    #[test]
    fn attention_matches_the_plain_computation_over_real_tokens() {
        let (width, heads, hidden) = (5, 2, 6);
        // Several texts (one rayon task each), the last filling its width: the last head's
        // value columns of its last row are the op's furthest read. Then one text alone,
        // which runs on the calling thread.
        for lens in [&[2, 3, 5][..], &[3]] {
            let rows = width * lens.len();
            let qkv = values(rows * 3 * hidden, 12, 1.5);
            let got = Tensor::from_vec(qkv.clone(), (rows, 3 * hidden), &Device::Cpu)
                .unwrap()
                .apply_op1_no_bwd(&Attention { lens, width, heads })
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let want = attention_reference(&qkv, lens, width, heads, hidden);
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!((g - w).abs() < 1e-5, "{lens:?}, element {i}: {g} vs {w}");
            }
            // Padded query rows are left 0 (the first text's rows after its real tokens).
            assert!(got[lens[0] * hidden..width * hidden]
                .iter()
                .all(|&x| x == 0.0));
        }
    }
}
