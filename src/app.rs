//! Start-up shared by every entry point: load the content, then open the cached index or
//! build one; when the content has errors, keep serving the last good index if there is one.

use crate::config::Config;
use crate::content::{self, LoadReport, Vocabulary};
use crate::search::{Engine, SearchError};

/// A ready engine and how it came to be.
pub struct Loaded {
    pub engine: Engine,
    pub report: LoadReport,
    /// The content has errors and `engine` is the last good index, not the current files.
    pub stale: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the content has {} error(s) and there is no earlier index to fall back on", .0.errors().count())]
    Content(LoadReport),
    #[error(transparent)]
    Search(#[from] SearchError),
}

/// The shipped `config.toml` and `data/`, words only, in an in-memory engine: what the
/// unit tests answer from.
#[cfg(test)]
pub(crate) fn shipped() -> (Config, Vocabulary, Engine) {
    let mut config =
        Config::from_file(std::path::Path::new("config.toml")).expect("the shipped config");
    config.search.semantic.enabled = false;
    let vocabulary = vocabulary(&config);
    let content = content::load_dir(&config.data_dir, &vocabulary).content;
    let engine = Engine::build_in_memory(&config, &content).expect("the shipped content indexes");
    (config, vocabulary, engine)
}

pub fn vocabulary(config: &Config) -> Vocabulary {
    Vocabulary::from_config(&config.facets, &config.search)
}

/// Loads `config.data_dir` and returns an engine for it (see module docs).
pub fn load(config: &Config) -> Result<Loaded, StartError> {
    load_with(config, false)
}

/// [`load`]; with `defer`, passages without a saved vector are left to embed after start
/// (see [`Engine::open_or_build_deferring`]).
fn load_with(config: &Config, defer: bool) -> Result<Loaded, StartError> {
    let report = content::load_dir(&config.data_dir, &vocabulary(config));
    if report.has_errors() {
        return match Engine::open_last_good(config)? {
            Some(engine) => {
                tracing::warn!(
                    errors = report.errors().count(),
                    serving = %engine.manifest().content_version,
                    "content has errors; answering from the last good index"
                );
                Ok(Loaded {
                    engine,
                    report,
                    stale: true,
                })
            }
            None => Err(StartError::Content(report)),
        };
    }
    let engine = if defer {
        Engine::open_or_build_deferring(config, &report.content)?
    } else {
        Engine::open_or_build(config, &report.content)?
    };
    Ok(Loaded {
        engine,
        report,
        stale: false,
    })
}

/// [`load`] for the long-running modes: content errors with no index to fall back on are
/// reported in full (every `path:line:col`), as `check` would.
/// The service answers at once; passages without a saved vector (a first start with the
/// model, content changed while stopped) are embedded after, while it serves.
pub fn load_for_service(config: &Config) -> anyhow::Result<Loaded> {
    load_with(config, true).map_err(|e| match e {
        StartError::Content(ref report) => {
            let lines: Vec<String> = report.errors().map(|d| d.to_string()).collect();
            anyhow::anyhow!("{}\n{e}", lines.join("\n"))
        }
        e => anyhow::Error::new(e),
    })
}
