//! The `careerbot` binary as a user runs it: answers, JSON, exit codes, `check` and `index`.

use std::path::Path;
use std::process::{Command, Output};

use super::util::{fixtures, root};

/// A config like the shipped one, with its index in a temp folder.
fn temp_config(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("config.toml"))
        .unwrap()
        .replace(
            "data_dir = \"data\"",
            &format!("data_dir = {:?}", root().join("data")),
        )
        .replace("index_dir = \"index\"", "index_dir = \"idx\"");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn ask_prints_the_answer_for_people() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    let o = run(&config, &["ask", "/salary", "senior", "india"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("**Salary · Senior · India**\n"), "{out}");
    assert!(out.contains("₹50–100 LPA"), "{out}");
    assert!(
        out.contains("Salaries › Senior ML engineers in India"),
        "{out}"
    );
    assert!(
        out.contains("Source: ML Engineer Career Path 2025"),
        "{out}"
    );
    // Paths in the config are relative to it: the index went next to it.
    assert!(dir.path().join("idx/CURRENT").exists());

    let o = run(&config, &["ask", "/certs", "google", "cloud"]);
    assert!(stdout(&o).contains("Google Professional ML Engineer"));
}

#[test]
fn ask_json_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    let o = run(
        &config,
        &[
            "ask", "--json", "/ask", "what", "mlops", "tools", "should", "I", "learn", "first",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for key in ["title", "breadcrumb", "text", "snippet", "source", "score"] {
        assert!(results[0].get(key).is_some(), "missing {key}");
    }
    assert!(results[0]["text"].as_str().unwrap().contains("MLflow"));
    assert_eq!(v["outcome"], "found");
    // Words matched in the passage's text are bold in the snippet.
    let o = run(
        &config,
        &["ask", "--json", "/ask", "experiment", "tracking", "tools"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let snippet = v["results"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("**experiment tracking**")
            || snippet.contains("**experiment** **tracking**"),
        "{snippet}"
    );
}

#[test]
fn ask_options_may_come_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    // After the question, as in every clap program: not part of the question.
    let o = run(&config, &["ask", "/certs", "gcp", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["heading"], "Certifications · Google Cloud");
    let o = run(&config, &["ask", "/faq", "--page", "2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["page"], 2, "{v}");
    // `--` ends the options: what follows is words, dashes and all.
    let o = run(
        &config,
        &["ask", "--json", "--", "/ask", "--page", "mlflow"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["heading"], "--page mlflow");
}

#[test]
fn exit_codes_tell_found_from_not_found_from_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    assert_eq!(
        run(&config, &["ask", "/salary", "junior", "us"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&config, &["ask", "/ask", "blockchain"]).status.code(),
        Some(1)
    );
    let o = run(&config, &["ask", "/salry", "senior"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `/salary`?"),
        "{}",
        stderr(&o)
    );
    let o = run(&config, &["ask", "/ask"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unknown_config_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "data_dir = \"data\"\n[answers]\nresult = 3\n").unwrap();
    let o = run(&config, &["ask", "/help"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("unknown field `result`"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    // A config given explicitly must exist.
    let o = run(&dir.path().join("missing.toml"), &["ask", "/help"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn check_reports_every_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    let case = fixtures().join("content/invalid/many-errors/data");
    let o = run(&config, &["check", case.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert_eq!(out.matches(": error: ").count(), 4, "{out}");
    assert!(
        out.contains("one.md:2:1: error: unknown front-matter key `topics`"),
        "{out}"
    );
    assert!(out.contains("checked 2 file(s)"), "{out}");

    let o = run(&config, &["check", "--json", case.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["errors"], 4);
    assert_eq!(v["diagnostics"][0]["line"], 2);

    let o = run(&config, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn check_strict_fails_on_warnings_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    let case = fixtures().join("content/valid/empty-section/data");
    let o = run(&config, &["check", case.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("0 error(s), 1 warning(s)"),
        "{}",
        stdout(&o)
    );
    let o = run(&config, &["check", "--strict", case.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    // Clean content passes either way.
    let o = run(&config, &["check", "--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn index_builds_then_reports_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    let o = run(&config, &["index"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("index built:"), "{}", stdout(&o));
    let o = run(&config, &["index"]);
    assert!(
        stdout(&o).starts_with("index up to date:"),
        "{}",
        stdout(&o)
    );
    let o = run(&config, &["index", "--force"]);
    assert!(stdout(&o).starts_with("index built:"), "{}", stdout(&o));
}

#[test]
fn serve_without_a_token_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = temp_config(dir.path());
    let o = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("DISCORD_TOKEN")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("DISCORD_TOKEN"), "{}", stderr(&o));
}
