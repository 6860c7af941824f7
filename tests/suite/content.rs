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

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn doc_paths(report: &content::LoadReport) -> Vec<&str> {
    report
        .content
        .documents
        .iter()
        .map(|d| d.path.as_str())
        .collect()
}

#[test]
fn handbook_inlines_its_partial_where_it_is_used() {
    let case = fixtures().join("content/valid/handbook");
    let report = load(&case);
    assert!(!report.has_errors(), "{:#?}", report.diagnostics);
    assert!(!report.diagnostics.is_empty(), "the handbook has warnings");
    // The partial's headings join each importer, under its `## Recommended courses`, and
    // point at the `<Courses />` line; the partial itself is no document. Inlined in three
    // guides, its passages are kept once, under the first guide in path order, so that no
    // answer lists the same text three times.
    let from_partial: Vec<(&str, usize)> = report
        .content
        .passages()
        .filter(|p| p.title == "Mock interview club")
        .map(|p| (p.doc_id.as_str(), p.line))
        .collect();
    assert_eq!(from_partial, vec![("docs/behavioral/stories", 15)]);
    assert!(!doc_paths(&report).iter().any(|p| p.starts_with("_courses")));
    let stories = report
        .content
        .passages()
        .find(|p| p.doc_id == "docs/behavioral/stories" && p.title == "Structured practice track")
        .unwrap();
    assert_eq!(
        stories.breadcrumb,
        vec![
            "Behavioral stories",
            "Recommended courses",
            "Structured practice track"
        ]
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_loops_reported_once_files_indexed_once() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("guides/a.md"), "# A\n\nText.\n");
    write(&data.join("z-real/b.md"), "# B\n\nText.\n");
    // A folder linked to the folder above it: a loop.
    symlink("..", data.join("guides/loop")).unwrap();
    // The same file through two more links, and a folder through another.
    symlink("guides/a.md", data.join("linked.md")).unwrap();
    symlink("../guides/a.md", data.join("z-real/again.md")).unwrap();
    symlink("z-real", data.join("mirror")).unwrap();
    // A link to itself, and one to nothing.
    symlink("self.md", data.join("self.md")).unwrap();
    symlink("gone.md", data.join("dangling.md")).unwrap();

    let report = load(dir.path());
    assert!(!report.has_errors(), "{:#?}", report.diagnostics);
    // Each file once, at its first path in sorted order (`mirror` < `z-real`).
    assert_eq!(doc_paths(&report), vec!["guides/a.md", "mirror/b.md"]);
    assert_eq!(report.files, 2);
    let warnings: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| {
            let path = d.path.strip_prefix(&data).unwrap().display();
            format!("{path}: {}", d.message)
        })
        .collect();
    assert_eq!(
        warnings,
        vec![
            "dangling.md: broken symbolic link; skipped",
            "guides/loop: symbolic link loop; not followed",
            "self.md: symbolic link loop; not followed",
        ]
    );
}

#[test]
fn hidden_folders_node_modules_partials_and_drafts_are_not_documents() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for skipped in [
        ".git/notes.md",
        ".docusaurus/cache.md",
        ".hidden.md",
        "node_modules/pkg/README.md",
        "docs/node_modules/x/README.md",
        "_partials/shared.md",
        "docs/_snippet.mdx",
        // Docs tools' own folders: never pages, imported or not.
        "_includes/footer.md",
        "book/_build/jupyter_execute/intro.md",
    ] {
        write(&data.join(skipped), "# Not a guide\n\nText.\n");
    }
    write(&data.join("_drafts/idea.md"), "# Idea\n\nLater.\n");
    write(
        &data.join("guide.md"),
        "import Shared from './_partials/shared.md'\n\n# Guide\n\nText.\n\n<Shared />\n",
    );
    write(
        &data.join("docs/_index.md"),
        "import Snippet from './_snippet.mdx'\n\n# Section\n\nText.\n\n<Snippet />\n",
    );
    write(&data.join("_posts/2024-01-01-post.md"), "# Post\n\nText.\n");
    // Nothing imports it: a page kept in a `_` folder, as Jupyter Book and Jekyll
    // collections do.
    write(
        &data.join("_posters/2025/readme.md"),
        "# Poster\n\nBoard size.\n",
    );

    let report = load(dir.path());
    assert_eq!(
        doc_paths(&report),
        vec![
            "_posters/2025/readme.md",
            "_posts/2024-01-01-post.md",
            "docs/_index.md",
            "guide.md"
        ]
    );
    let messages: Vec<&str> = report
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages, vec!["draft; skipped"]);
}

#[test]
fn content_version_changes_with_any_loaded_file_partials_included() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(
        &data.join("guide.md"),
        "# Guide\n\nimport P from './_p.md'\n\n## Part\n\n<P />\n",
    );
    write(&data.join("_p.md"), "Shared text.\n");
    let first = load(dir.path());
    assert!(!first.has_errors(), "{:#?}", first.diagnostics);
    assert_eq!(
        first.content.passages().next().unwrap().text,
        "Shared text."
    );
    assert_eq!(load(dir.path()).content.version, first.content.version);

    write(&data.join("_p.md"), "Edited text.\n");
    let edited = load(dir.path());
    assert_eq!(
        edited.content.passages().next().unwrap().text,
        "Edited text."
    );
    assert_ne!(edited.content.version, first.content.version);
}

#[test]
fn partials_resolve_nested_and_report_in_the_right_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(
        &data.join("docs/guide.mdx"),
        "---\ntitle: Guide\n---\n\nimport Outer from '../_parts/Outer.md';\nimport Missing from './_missing.md';\n\n## Steps\n\n<Outer />\n\n<Unimported />\n",
    );
    write(
        &data.join("_parts/Outer.md"),
        "---\ntitle: ignored\n---\nOuter text.\n\nimport Inner from './nested/_Inner.mdx'\n\n<Inner/>\n",
    );
    write(
        &data.join("_parts/nested/_Inner.mdx"),
        "### Inner\n\nInner text.\n",
    );
    let report = load(dir.path());
    assert!(!report.has_errors(), "{:#?}", report.diagnostics);
    let passages: Vec<(String, &str, usize)> = report
        .content
        .passages()
        .map(|p| (p.breadcrumb.join(" › "), p.text.as_str(), p.line))
        .collect();
    assert_eq!(
        passages,
        vec![
            ("Guide › Steps".to_string(), "Outer text.", 8),
            ("Guide › Steps › Inner".to_string(), "Inner text.", 10),
        ]
    );

    // A partial that is used but missing is an error at its import line.
    write(
        &data.join("docs/guide.mdx"),
        "# Guide\n\nimport Missing from './_missing.md';\n\n<Missing />\n",
    );
    let report = load(dir.path());
    let errors: Vec<String> = report
        .errors()
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect();
    assert_eq!(errors, vec!["3: partial `./_missing.md` does not exist"]);
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
            text in "(\\+\\+\\+\n|---\n|# |## |\\{#|[a-z=,]{0,8}|\\}|\n|:::|<[A-Za-z]+>|```|- |\\*\\*|\\{(note|toctree|figure|cite:p|doc)\\}|`|:class: |\\(x\\)=|% |é|[ -~]{0,12}){0,40}"
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
