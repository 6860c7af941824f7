//! Finds the Markdown files under the content folder, in a stable order, each file once,
//! and sorts them into documents, partials and drafts by the conventions of docs tools.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::diagnostic::Diagnostic;

/// Extensions read as Markdown.
pub const EXTENSIONS: &[&str] = &["md", "markdown", "mdx"];

/// What a Markdown file is to us, from where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A guide or FAQ: loaded and indexed.
    Document,
    /// Under a `_` name: text other files import (`_courses/Courses.md`). One that nothing
    /// imports is loaded as a document (Jupyter Book and Jekyll collections keep pages in `_`
    /// folders), unless it sits in a docs tool's own folder ([`in_tool_folder`]).
    Partial,
    /// Under Jekyll's `_drafts/`: skipped, as Jekyll does without `--drafts`.
    Draft,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the content folder, `/`-separated, as first reached.
    pub rel_path: String,
    /// The content folder joined with `rel_path`, as diagnostics show it.
    pub path: PathBuf,
    pub role: Role,
}

#[derive(Debug, Default)]
pub struct Walk {
    /// Sorted by path, components compared one by one.
    pub files: Vec<File>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Walks `root`, following symbolic links. Hidden entries and `node_modules` are skipped;
/// `.gitignore` files are not read, so nothing on the machine (a global ignore, a parent
/// folder's rules) can drop content silently. A link back to a folder being walked is
/// reported once and not followed; a file or folder reached again through another link is
/// taken once, at the first path in sorted order.
///
/// `Err` when the folder itself cannot be read.
pub fn walk(root: &Path) -> Result<Walk, Diagnostic> {
    let mut out = Walk::default();
    let canonical_root = std::fs::canonicalize(root).map_err(|e| {
        Diagnostic::error(root, 0, 0, format!("cannot read the content folder: {e}"))
            .with_hint("check `data_dir` in config.toml")
    })?;
    if !canonical_root.is_dir() {
        return Err(
            Diagnostic::error(root, 0, 0, "cannot read the content folder: not a folder")
                .with_hint("check `data_dir` in config.toml"),
        );
    }
    let mut seen_dirs: HashSet<PathBuf> = HashSet::from([canonical_root]);
    let mut seen_files: HashSet<PathBuf> = HashSet::new();
    // Links already reported as loops, by where the link itself lives.
    let mut loops: HashSet<PathBuf> = HashSet::new();

    let mut entries = WalkDir::new(root)
        .follow_links(true)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !name.starts_with('.') && name != "node_modules"
        });
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                out.diagnostics.extend(walk_error(&e, root, &mut loops));
                continue;
            }
        };
        let path = entry.path();
        if entry.file_type().is_dir() {
            let first_time = std::fs::canonicalize(path).map_or(true, |c| seen_dirs.insert(c));
            if !first_time {
                tracing::debug!(path = %path.display(), "folder already walked through another path");
                entries.skip_current_dir();
            }
            continue;
        }
        let markdown = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !markdown {
            continue;
        }
        if let Ok(canonical) = std::fs::canonicalize(path) {
            if !seen_files.insert(canonical) {
                tracing::debug!(path = %path.display(), "file already found through another path");
                continue;
            }
        }
        let rel = path.strip_prefix(root).unwrap_or(path);
        let rel_path = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        out.files.push(File {
            role: role(&rel_path),
            rel_path,
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// What a walk error means for the moderator: a link loop (reported once per link, by
/// where the link lives), a broken link, or a file or folder that cannot be read.
fn walk_error(e: &walkdir::Error, root: &Path, loops: &mut HashSet<PathBuf>) -> Option<Diagnostic> {
    let path = e.path().unwrap_or(root).to_path_buf();
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
    if e.loop_ancestor().is_some() || (is_link && link_chain_cycles(&path)) {
        let hint = match e.loop_ancestor() {
            Some(target) => format!("it leads back to {}, which contains it", target.display()),
            None => "the link leads back to itself".to_string(),
        };
        return loops.insert(link_location(&path)).then(|| {
            Diagnostic::warning(&path, 0, 0, "symbolic link loop; not followed").with_hint(hint)
        });
    }
    let missing = e
        .io_error()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound);
    Some(if is_link && missing {
        // Nothing is there to index: the same as a file never dropped in.
        Diagnostic::warning(&path, 0, 0, "broken symbolic link; skipped")
            .with_hint("point the link at an existing file, or delete it")
    } else {
        Diagnostic::error(&path, 0, 0, format!("cannot read: {}", io_message(e)))
    })
}

/// Docusaurus and Jekyll conventions: a name starting with `_` is a partial, not a page,
/// except Hugo's `_index.md` section pages and Jekyll's `_posts/`; `_drafts/` are drafts.
pub fn role(rel_path: &str) -> Role {
    let parts: Vec<&str> = rel_path.split('/').collect();
    let (file, folders) = parts.split_last().expect("split yields at least one part");
    if folders.contains(&"_drafts") {
        return Role::Draft;
    }
    let partial_folder = folders.iter().any(|f| f.starts_with('_') && *f != "_posts");
    let stem = file.rsplit_once('.').map_or(*file, |(stem, _)| stem);
    if partial_folder || (file.starts_with('_') && stem != "_index") {
        Role::Partial
    } else {
        Role::Document
    }
}

/// Folders docs tools keep for themselves (templates, includes, build output, data), never
/// pages: Jekyll's `_includes`, `_layouts`, `_data`, `_sass`, `_site`; Sphinx and Jupyter
/// Book's `_build`, `_static`, `_templates`.
const TOOL_FOLDERS: &[&str] = &[
    "_build",
    "_data",
    "_includes",
    "_layouts",
    "_sass",
    "_site",
    "_static",
    "_templates",
];

/// Whether `rel_path` sits in a folder of [`TOOL_FOLDERS`]: a partial there is never a page.
pub fn in_tool_folder(rel_path: &str) -> bool {
    rel_path
        .rsplit_once('/')
        .is_some_and(|(folders, _)| folders.split('/').any(|f| TOOL_FOLDERS.contains(&f)))
}

/// Where a link lives, whichever path reached it, so a loop is reported once.
fn link_location(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .unwrap_or_else(|_| parent.to_path_buf())
            .join(name),
        _ => path.to_path_buf(),
    }
}

/// True when following `path` link by link comes back to a link already passed (`a -> b`,
/// `b -> a`), which the operating system reports only as "too many levels of links".
fn link_chain_cycles(path: &Path) -> bool {
    let mut seen = HashSet::new();
    let mut current = path.to_path_buf();
    while let Ok(target) = std::fs::read_link(&current) {
        if !seen.insert(link_location(&current)) {
            return true;
        }
        current = match current.parent() {
            Some(parent) => parent.join(target),
            None => target,
        };
    }
    false
}

fn io_message(e: &walkdir::Error) -> String {
    e.io_error()
        .map_or_else(|| e.to_string(), |io| io.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_docs_tools_conventions() {
        assert_eq!(role("guide.md"), Role::Document);
        assert_eq!(role("docs/_index.md"), Role::Document);
        assert_eq!(role("_index.md"), Role::Document);
        assert_eq!(role("_posts/2024-01-01-tips.markdown"), Role::Document);
        assert_eq!(role("blog/_posts/x.md"), Role::Document);
        assert_eq!(role("_courses/Courses.md"), Role::Partial);
        assert_eq!(role("docs/_snippet.mdx"), Role::Partial);
        assert_eq!(role("docs/_shared/deep/x.md"), Role::Partial);
        assert_eq!(role("_partials/_index.md"), Role::Partial);
        assert_eq!(role("_drafts/idea.md"), Role::Draft);
    }

    #[test]
    fn tool_folders_are_told_from_content_folders() {
        assert!(in_tool_folder("_includes/footer.md"));
        assert!(in_tool_folder("book/_build/jupyter_execute/intro.md"));
        assert!(!in_tool_folder("_posters/2025/readme.md"));
        assert!(!in_tool_folder("_build.md"));
        assert!(!in_tool_folder("guide.md"));
    }
}
