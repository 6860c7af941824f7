//! Entry point: parse the command line, set up logging, run the subcommand, map the
//! outcome to an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use careerbot::cli::{self, Args, CliError, Cmd, LogFormat, Verdict};

/// Exit codes, grep-style: 0 answered, 1 nothing found or content errors (or warnings, for
/// `check --strict`), 2 failure.
const EXIT_OK: u8 = 0;
const EXIT_NO_ANSWER: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    careerbot::semantic::prepare_process();
    let matches = Args::command().get_matches();
    let explicit_config =
        matches.value_source("config") == Some(clap::parser::ValueSource::CommandLine);
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    init_tracing(&args);

    let result = cli::load_config(&args.config, explicit_config)
        .map_err(CliError::from)
        .and_then(|config| match &args.command {
            Cmd::Ask { json, page, words } => cli::ask(&config, words, *page, *json),
            Cmd::Check { dir, json, strict } => cli::check(&config, dir.as_deref(), *json, *strict),
            Cmd::Index { force } => cli::index(&config, *force),
            Cmd::Serve => careerbot::bot::run_blocking(config)
                .map(|()| Verdict::Ok)
                .map_err(CliError::from),
            Cmd::Http { listen } => careerbot::http::run_blocking(config, *listen)
                .map(|()| Verdict::Ok)
                .map_err(CliError::from),
            Cmd::Gaps {
                days,
                limit,
                format,
            } => cli::gaps(&config, *days, *limit, *format),
            Cmd::Model { command } => cli::model(&config, command),
        });
    match result {
        Ok(Verdict::Ok) => ExitCode::from(EXIT_OK),
        Ok(Verdict::NoAnswer) => ExitCode::from(EXIT_NO_ANSWER),
        Err(CliError::User(e)) => {
            eprintln!("careerbot: {e}");
            ExitCode::from(EXIT_ERROR)
        }
        Err(CliError::Content(report)) => {
            eprintln!("{report}");
            ExitCode::from(EXIT_ERROR)
        }
        Err(e) => {
            // `{:#}` prints anyhow's context chain on one line.
            match e {
                CliError::Other(e) => eprintln!("careerbot: {e:#}"),
                e => eprintln!("careerbot: {e}"),
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_tracing(args: &Args) {
    // Terminal commands stay quiet unless something is wrong; services report their work.
    let default = match args.command {
        Cmd::Serve | Cmd::Http { .. } => "careerbot=info,warn",
        _ => "careerbot=warn,warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
