//! Semantic ranking's foundation: the pinned sentence-embedding model (all-MiniLM-L6-v2), its
//! files on disk (`files`), installing them (`install`) and embedding text in process with
//! candle (`embedder`), the process-wide loaded model with its question cache (`model`) and
//! the passage vectors stored with each index generation (`vectors`). Nothing here touches
//! the network at answer time.

mod embedder;
mod encoder;
mod files;
mod install;
mod model;
pub mod vectors;

pub use embedder::{EmbedError, Embedder, MAX_TOKENS};
pub use files::{verify, ModelError, VerifiedModel, CONFIG, FILES, MANIFEST, TOKENIZER, WEIGHTS};
pub use install::{install, InstallError, Installed, Source};
pub use model::{shared, Model, Off};

/// The upstream model, as named on the Hugging Face hub.
pub const MODEL_NAME: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The hub revision `careerbot model install` downloads. Pinned so an upstream change can never
/// alter rankings behind our back; the sha256 sums in [`files`] are checked whatever the source.
pub const REVISION: &str = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";

/// Where the hub serves files from; `careerbot model install --hub-url` (or
/// `CAREERBOT_MODEL_BASE_URL`) points elsewhere, e.g. a mirror or a test server.
pub const HUB_URL: &str = "https://huggingface.co";

/// Length of every embedding.
pub const DIMENSIONS: usize = 384;

/// Identifies the model an embedding came from, for caches keyed by (text, model): the
/// upstream name and a prefix of the weights' sha256 (the tokenizer is pinned alongside).
pub fn model_id() -> String {
    format!("{MODEL_NAME}@{}", &files::WEIGHTS_SHA256[..12])
}

/// Makes glibc keep freed memory for reuse instead of returning it to the OS: call once at
/// process start, before threads start (a no-op off glibc).
///
/// Every candle op returns a fresh buffer, up to ~25 MB for a batch of passages. By default
/// glibc serves blocks that large with `mmap` and unmaps them on free, so each op page-faults its
/// output in anew, and trims the heap top back to the OS as soon as 128 KB are free there. With
/// both thresholds raised, the same memory is reused from op to op. It stays in the process
/// (peak RSS is what one batch needs, see `BATCH_TOKENS` in the embedder), which is the point.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; glibc documents these two options.
    unsafe {
        // 32 MB is glibc's ceiling for the mmap threshold on 64-bit.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// Process set-up for the model, first thing in `main`, before any thread starts: the
/// allocator thresholds of [`tune_allocator`], and `RAYON_NUM_THREADS` when it is unset —
/// candle reads it on every matmul and, without it, counts the CPUs by reading /proc/cpuinfo
/// each time (1.3 ms of a 6 ms question, measured). Only environment variables set it.
pub fn prepare_process() {
    tune_allocator();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // No other thread exists yet to read the environment concurrently.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}

/// Cosine similarity of two embeddings; both are unit length, so it is their dot product.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
