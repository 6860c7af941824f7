//! Helpers shared by every test module.

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

/// The shipped config with the index in `index_dir` (tests never touch the repo's `index/`).
pub fn config_with(data_dir: &Path, index_dir: &Path) -> Config {
    let mut config = Config::from_file(&root().join("config.toml")).expect("shipped config parses");
    config.data_dir = data_dir.to_path_buf();
    config.index_dir = index_dir.to_path_buf();
    config
}

pub struct Shipped {
    pub config: Config,
    pub vocabulary: Vocabulary,
    pub engine: Engine,
    _index: tempfile::TempDir,
}

/// An engine over the shipped `data/`, built once per test process.
pub fn shipped() -> &'static Shipped {
    static SHIPPED: OnceLock<Shipped> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let index = tempfile::tempdir().unwrap();
        let config = config_with(&root().join("data"), index.path());
        let vocabulary = app::vocabulary(&config);
        let report = content::load_dir(&config.data_dir, &vocabulary);
        assert!(
            !report.has_errors(),
            "shipped content has errors: {:#?}",
            report.diagnostics
        );
        let engine = Engine::build(&config, &report.content).unwrap();
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
