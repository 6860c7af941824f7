//! The `index/` folder is a cache: reused when current, rebuilt when the content, schema or
//! binary changed, and never trusted when corrupt, foreign or half-written.

use careerbot::app;
use careerbot::content;
use careerbot::search::{store, Engine, Origin};

use super::util::{config_with, copy_dir, root};

struct Setup {
    tmp: tempfile::TempDir,
    config: careerbot::config::Config,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("data"), &tmp.path().join("data"));
    let config = config_with(&tmp.path().join("data"), &tmp.path().join("index"));
    Setup { tmp, config }
}

fn open(config: &careerbot::config::Config) -> Engine {
    let report = content::load_dir(&config.data_dir, &app::vocabulary(config));
    Engine::open_or_build(config, &report.content).unwrap()
}

#[test]
fn reused_when_current_rebuilt_when_content_changes() {
    let s = setup();
    let first = open(&s.config);
    assert_eq!(first.origin(), &Origin::Built);
    assert!(s.config.index_dir.join(store::CURRENT).exists());

    let again = open(&s.config);
    assert_eq!(again.origin(), &Origin::Cache);
    assert_eq!(again.manifest(), first.manifest());

    std::fs::write(s.config.data_dir.join("extra.md"), "# Extra\n\nNew text.\n").unwrap();
    let changed = open(&s.config);
    assert_eq!(changed.origin(), &Origin::Built);
    assert_eq!(changed.passage_count(), first.passage_count() + 1);
    assert_ne!(
        changed.manifest().content_version,
        first.manifest().content_version
    );
}

#[test]
fn corrupt_index_files_are_rebuilt_not_trusted() {
    let s = setup();
    let built = open(&s.config);
    let dir = built.dir().unwrap().to_path_buf();
    drop(built);
    // Scribble over every tantivy file.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != store::MANIFEST {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let engine = open(&s.config);
    assert_eq!(engine.origin(), &Origin::Built);
    assert!(engine.passage_count() > 0);
}

#[test]
fn foreign_index_is_rebuilt() {
    let s = setup();
    let built = open(&s.config);
    let dir = built.dir().unwrap().to_path_buf();
    drop(built);
    let mut manifest = store::read_manifest(&dir).unwrap();
    manifest.crate_version = "0.0.0-elsewhere".into();
    std::fs::write(
        dir.join(store::MANIFEST),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    assert_eq!(open(&s.config).origin(), &Origin::Built);
    // And an index folder someone filled with unrelated files.
    std::fs::write(s.config.index_dir.join(store::CURRENT), "gen-not-ours\n").unwrap();
    std::fs::create_dir_all(s.config.index_dir.join("gen-not-ours")).unwrap();
    std::fs::write(s.config.index_dir.join("gen-not-ours/meta.json"), "{}").unwrap();
    assert_eq!(open(&s.config).origin(), &Origin::Built);
}

/// Indexes the content, then adds a guide: returns the indexed content version.
fn indexed_then_edited(s: &Setup) -> String {
    let version = open(&s.config).manifest().content_version.clone();
    std::fs::write(s.config.data_dir.join("extra.md"), "# Extra\n\nNew text.\n").unwrap();
    version
}

/// The generation folders in `index/`, loadable or not.
fn generations(s: &Setup) -> usize {
    std::fs::read_dir(&s.config.index_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count()
}

#[test]
fn an_interrupted_rebuild_leaves_the_previous_index_loadable() {
    let s = setup();
    let version = indexed_then_edited(&s);
    let report = content::load_dir(&s.config.data_dir, &app::vocabulary(&s.config));
    // The "crash": the build stops after writing its files, before publishing them.
    let err = Engine::build_with(&s.config, &report.content, |_| {
        Err(std::io::Error::other("simulated crash"))
    });
    assert!(err.is_err());

    let last = Engine::open_last_good(&s.config)
        .unwrap()
        .expect("previous index loads");
    assert_eq!(last.manifest().content_version, version);
    assert_eq!(last.origin(), &Origin::Cache);
    // No half-built generation was left where it could be loaded.
    assert_eq!(generations(&s), 1);
}

/// A real crash, not an error that runs cleanup: `careerbot index` aborts between renaming
/// the new generation into place and pointing `CURRENT` at it.
#[test]
fn a_crash_between_rename_and_current_leaves_the_previous_index_current() {
    let s = setup();
    let version = indexed_then_edited(&s);
    let config_file = s.tmp.path().join("config.toml");
    // The shipped config: `data/` and `index/` beside it, as `setup` made them.
    std::fs::copy(root().join("config.toml"), &config_file).unwrap();

    let index = |crash: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_careerbot"));
        command
            .arg("--config")
            .arg(&config_file)
            .args(["index", "--force"])
            .env_remove("RUST_LOG")
            .env_remove(store::CRASH_AT);
        if let Some(point) = crash {
            command.env(store::CRASH_AT, point);
        }
        command.output().unwrap()
    };
    let crashed = index(Some("publish:renamed"));
    assert!(!crashed.status.success(), "the crash point was not reached");
    assert!(
        String::from_utf8_lossy(&crashed.stderr).contains("aborting here"),
        "{}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    // The new generation is in place, but CURRENT still names the previous one.
    assert_eq!(generations(&s), 2);
    let last = Engine::open_last_good(&s.config)
        .unwrap()
        .expect("previous index loads");
    assert_eq!(last.manifest().content_version, version);
    drop(last);

    // The next run builds and publishes normally.
    assert!(index(None).status.success());
    let now = Engine::open_last_good(&s.config).unwrap().unwrap();
    assert_ne!(now.manifest().content_version, version);
}

#[test]
fn content_errors_fall_back_to_the_last_good_index() {
    let s = setup();
    let good = open(&s.config);
    let version = good.manifest().content_version.clone();
    drop(good);
    std::fs::write(
        s.config.data_dir.join("broken.md"),
        "+++\nlevel = \"senior\"\n+++\n# B\n\nx\n",
    )
    .unwrap();
    let loaded = app::load(&s.config).unwrap();
    assert!(loaded.stale);
    assert!(loaded.report.has_errors());
    assert_eq!(loaded.engine.manifest().content_version, version);

    // Without an earlier index there is nothing to serve: the errors are the answer.
    std::fs::remove_dir_all(&s.config.index_dir).unwrap();
    assert!(matches!(
        app::load(&s.config),
        Err(app::StartError::Content(_))
    ));
}

#[test]
fn unwritable_index_folder_builds_in_memory() {
    let mut s = setup();
    // A file where the folder should be: no user, root included, can create the folder.
    let blocker = s.config.data_dir.parent().unwrap().join("index-is-a-file");
    std::fs::write(&blocker, b"x").unwrap();
    s.config.index_dir = blocker.join("index");
    let engine = open(&s.config);
    assert_eq!(engine.origin(), &Origin::Memory);
    assert!(engine.passage_count() > 0);
}
