//! Content fixtures: each invalid case reports exactly its expected diagnostics (file, line,
//! column, message, hint), all at once; each valid case loads, with its passages snapshotted.

use std::path::Path;

use careerbot::app;
use careerbot::content::{self, Diagnostic};

use super::util::{config_with, fixtures, root};

fn cases(kind: &str) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures().join("content").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    dirs
}

fn load(case: &Path) -> content::LoadReport {
    let config = config_with(&case.join("data"), &case.join("unused-index"));
    content::load_dir(&config.data_dir, &app::vocabulary(&config))
}

/// Diagnostics as `check` prints them, paths relative to the case folder.
fn render(case: &Path, diags: &[Diagnostic]) -> String {
    let prefix = format!("{}/", case.display());
    diags
        .iter()
        .map(|d| d.to_string().replace(&prefix, "") + "\n")
        .collect()
}

#[test]
fn invalid_cases_report_their_expected_messages() {
    for case in cases("invalid") {
        let report = load(&case);
        assert!(report.has_errors(), "{}: no error reported", case.display());
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        assert_eq!(
            render(&case, &report.diagnostics),
            expected,
            "case {}",
            case.display()
        );
    }
}

#[test]
fn one_bad_file_does_not_hide_the_good_ones() {
    let report = load(&fixtures().join("content/invalid/duplicate-id"));
    // a.md loaded; b.md is the duplicate.
    assert_eq!(report.content.documents.len(), 1);
    assert_eq!(report.content.documents[0].path, "a.md");
}

#[test]
fn valid_cases_load_with_other_tools_syntax_kept_out() {
    for case in cases("valid") {
        let report = load(&case);
        assert!(
            !report.has_errors(),
            "{}: {:#?}",
            case.display(),
            report.diagnostics
        );
        let mut out = render(&case, &report.diagnostics);
        for p in report.content.passages() {
            out.push_str(&format!(
                "\n[{}] {}\n  line {} · topic {:?} · regions {:?} · aliases {:?}\n  {}\n",
                p.id,
                p.breadcrumb.join(" › "),
                p.line,
                p.facets.topic,
                p.facets.regions,
                p.aliases,
                p.text.replace('\n', "\n  ")
            ));
        }
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("valid_{name}"), out);
    }
}

#[test]
fn shipped_content_is_clean() {
    let config = config_with(&root().join("data"), &root().join("unused-index"));
    let report = content::load_dir(&config.data_dir, &app::vocabulary(&config));
    assert_eq!(
        report.diagnostics,
        vec![],
        "data/ must load without warnings"
    );
    assert!(report.content.passages().count() >= 25);
}

#[test]
fn missing_folder_is_one_error_not_a_panic() {
    let report = load(Path::new("/nonexistent/careerbot"));
    assert_eq!(report.errors().count(), 1);
    assert!(report.diagnostics[0]
        .message
        .contains("cannot read the content folder"));
}

#[test]
fn huge_files_are_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let f = std::fs::File::create(data.join("huge.md")).unwrap();
    f.set_len(content::MAX_FILE_BYTES + 1).unwrap();
    std::fs::write(data.join("ok.md"), "# Fine\n\nText.\n").unwrap();
    let report = load(dir.path());
    assert_eq!(report.errors().count(), 1);
    assert!(report.diagnostics[0].message.contains("the limit is 4 MiB"));
    assert_eq!(report.content.documents.len(), 1);
}

mod properties {
    use careerbot::content::{load_file, Vocabulary};
    use proptest::prelude::*;
    use std::path::Path;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn loading_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = load_file(Path::new("x.md"), "x.md", &bytes, &Vocabulary::default());
        }

        #[test]
        fn loading_never_panics_on_markdownish_text(
            text in "(\\+\\+\\+\n|---\n|# |## |\\{#|[a-z=,]{0,8}|\\}|\n|:::|<[A-Za-z]+>|```|- |\\*\\*|[ -~]{0,12}){0,40}"
        ) {
            let (doc, diags) = load_file(Path::new("x.md"), "x.md", text.as_bytes(), &Vocabulary::default());
            // Either a document or a reason, never silence about a failure.
            prop_assert!(doc.is_some() || !diags.is_empty());
            for d in diags {
                prop_assert!(d.line <= text.lines().count() + 1);
            }
        }
    }
}
