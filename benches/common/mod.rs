//! Shared by the benchmarks: a deterministic synthetic corpus of guide-like Markdown, and
//! percentile helpers. Not part of the product.
#![allow(
    dead_code,
    reason = "shared by several bench binaries, each using part of it"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use careerbot::config::{Config, SemanticConfig};

/// A runtime of two workers: the machine's two cores, as a service would run.
pub fn two_core_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The shipped config, reading `data` and keeping its index in `index`; cooldowns off, as
/// benchmarks send many questions from few users.
pub fn config(data: PathBuf, index: PathBuf) -> Config {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::from_file(&root.join("config.toml")).unwrap();
    config.data_dir = data;
    config.index_dir = index;
    config.discord.cooldown_seconds = 0;
    config.ops.listen = None;
    config.feedback.enabled = false;
    // Lexical unless asked (`CAREERBOT_BENCH_SEMANTIC=1`, with the model in the checkout or
    // `CAREERBOT_MODEL_DIR`): an installed model must not change the word-ranking figures.
    config.search.semantic.enabled = std::env::var_os("CAREERBOT_BENCH_SEMANTIC").is_some();
    if let Some(dir) = std::env::var_os("CAREERBOT_MODEL_DIR") {
        config.search.semantic.model_dir = PathBuf::from(dir);
    }
    config
}

/// The embedding model: `CAREERBOT_MODEL_DIR`, or the checkout's default model folder.
pub fn model() -> Option<std::sync::Arc<careerbot::semantic::Model>> {
    let model_dir = std::env::var_os("CAREERBOT_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(SemanticConfig::default().model_dir)
        });
    let config = SemanticConfig {
        model_dir,
        ..Default::default()
    };
    careerbot::semantic::shared(&config).ok()
}

/// A unit vector derived from `text` (deterministic), standing in for a passage embedding.
pub fn random_unit(text: &str) -> Vec<f32> {
    let mut rng = Rng::new(text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    }));
    let v: Vec<f32> = (0..careerbot::semantic::DIMENSIONS)
        .map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

/// Loads `config.data_dir`, builds its index and wraps it for serving.
pub fn serving(config: Config) -> std::sync::Arc<careerbot::bot::core::Shared> {
    let report =
        careerbot::content::load_dir(&config.data_dir, &careerbot::app::vocabulary(&config));
    assert!(!report.has_errors(), "{:?}", report.diagnostics.first());
    let engine = careerbot::search::Engine::build(&config, &report.content).unwrap();
    careerbot::bot::core::Shared::new(config, engine)
}

/// Corpus sizes from the command line (`cargo bench --bench x -- 10000`), else `default`.
pub fn sizes(default: &[usize]) -> Vec<usize> {
    let given: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if given.is_empty() {
        default.to_vec()
    } else {
        given
    }
}

/// The shipped content folder.
pub fn shipped_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// xorshift64*: deterministic, dependency-free, good enough to pick words.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Zipf-like: low indexes are much more likely, as in real text.
    pub fn zipf(&mut self, n: usize) -> usize {
        ((n as f64 + 1.0).powf(self.f64()) - 1.0) as usize % n
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Career-guide words first (they are the frequent ones), then a long tail of made-up
/// terms so the dictionary grows with the corpus as a real one does.
pub fn vocabulary() -> Vec<String> {
    const COMMON: &str = "model models pipeline pipelines production engineer engineers learning \
        machine data training deployment monitoring serving latency feature features team teams \
        company companies salary pay compensation senior junior staff principal level levels \
        career role roles experience skills python docker kubernetes mlflow kubeflow metaflow \
        feast tecton aws gcp azure vertex sagemaker certification course specialization llm llms \
        genai rag fine tuning prompt evaluation metrics business product research papers startup \
        infrastructure platform scale quality testing tests unit integration drift retraining \
        notebook notebooks api apis fastapi flask statistics probability algebra gradients matrix \
        interview resume portfolio mentor mentoring lead leads design designs system systems \
        standards forums india united states europe remote hiring market demand growth stock \
        equity bonus offer negotiation manager management tracking experiment experiments";
    let mut words: Vec<String> = COMMON.split_whitespace().map(str::to_string).collect();
    let syllables = [
        "ka", "to", "mi", "ra", "ne", "lo", "su", "vi", "de", "an", "or", "el", "us", "ix", "ter",
        "pol", "gen", "tra",
    ];
    let mut rng = Rng::new(7);
    while words.len() < 6000 {
        let n = 2 + rng.below(3);
        let w: String = (0..n).map(|_| *rng.pick(&syllables)).collect();
        words.push(w);
    }
    words
}

const TOPICS: &[&str] = &[
    "overview",
    "levels",
    "salary",
    "certs",
    "transitions",
    "mistakes",
    "faq",
    "tools",
    "llm",
    "skills",
];
pub const LEVELS: &[&str] = &["junior", "mid", "senior", "staff", "principal"];
pub const REGIONS: &[&str] = &["india", "us", "uk", "europe", "canada", "singapore"];
const PROVIDERS: &[&str] = &[
    "aws",
    "gcp",
    "azure",
    "coursera",
    "deeplearning-ai",
    "hugging-face",
];
pub const PASSAGES_PER_FILE: usize = 20;

fn sentence(rng: &mut Rng, words: &[String], len: usize) -> String {
    let mut s: Vec<&str> = (0..len)
        .map(|_| words[rng.zipf(words.len())].as_str())
        .collect();
    if rng.below(3) == 0 {
        s.insert(rng.below(s.len()), "the");
    }
    let mut out = s.join(" ");
    if let Some(first) = out.get(..1) {
        out = first.to_uppercase() + &out[1..];
    }
    out + "."
}

/// Writes `passages` passages as Markdown files (20 sections each) under `dir`.
pub fn write_corpus(dir: &Path, passages: usize, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let words = vocabulary();
    let mut rng = Rng::new(seed);
    let files = passages.div_ceil(PASSAGES_PER_FILE);
    for f in 0..files {
        let topic = rng.pick(TOPICS);
        let level = rng.pick(LEVELS);
        let region = rng.pick(REGIONS);
        let provider = rng.pick(PROVIDERS);
        let mut md = format!(
            "+++\ntitle = \"Guide {f}\"\ntopic = \"{topic}\"\nlevels = [\"{level}\"]\nregions = [\"{region}\"]\nproviders = [\"{provider}\"]\n+++\n\n# Guide {f}\n\n"
        );
        let count = PASSAGES_PER_FILE.min(passages - f * PASSAGES_PER_FILE);
        for s in 0..count {
            let len = 3 + rng.below(4);
            let title = sentence(&mut rng, &words, len);
            let title = title.trim_end_matches('.');
            // Some sections carry their own facets, as real guides do.
            let attrs = if rng.below(4) == 0 {
                format!(" {{#s{s} levels={}}}", rng.pick(LEVELS))
            } else {
                format!(" {{#s{s}}}")
            };
            md.push_str(&format!("## {title}{attrs}\n\n"));
            let sentences = 3 + rng.below(6);
            for _ in 0..sentences {
                let len = 6 + rng.below(12);
                md.push_str(&sentence(&mut rng, &words, len));
                md.push(' ');
            }
            md.push_str("\n\n");
            if rng.below(3) == 0 {
                for _ in 0..3 {
                    let len = 4 + rng.below(5);
                    md.push_str(&format!("- {}\n", sentence(&mut rng, &words, len)));
                }
                md.push('\n');
            }
        }
        std::fs::write(dir.join(format!("guide-{f:05}.md")), md).unwrap();
    }
}

/// A question as members type them: a few frequent words, a stop word, sometimes a typo.
pub fn question(rng: &mut Rng, words: &[String]) -> String {
    let n = 2 + rng.below(5);
    let mut q: Vec<String> = (0..n)
        .map(|_| words[rng.zipf(300.min(words.len()))].clone())
        .collect();
    if rng.below(2) == 0 {
        q.insert(0, "what".into());
    }
    if rng.below(10) == 0 {
        // Swap two letters of one longer word.
        if let Some(w) = q.iter_mut().find(|w| w.len() >= 6) {
            let mut b = w.clone().into_bytes();
            b.swap(2, 3);
            *w = String::from_utf8(b).unwrap();
        }
    }
    q.join(" ")
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// p50 and p99 of the samples, in microseconds.
pub fn p50_p99(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    (us(percentile(samples, 0.50)), us(percentile(samples, 0.99)))
}
