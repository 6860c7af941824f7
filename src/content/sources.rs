//! Reads content files, each once, within the size limit, and hashes everything read into
//! the content version, so a change to any loaded file (partials too) changes the version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::diagnostic::Diagnostic;

/// Files larger than this are refused: a guide this big is a mistake (or not a guide).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The files of one content folder, by path relative to it.
#[derive(Debug)]
pub struct Sources {
    root: PathBuf,
    files: BTreeMap<String, Result<Arc<[u8]>, Diagnostic>>,
    /// Files some loaded file imported as a partial.
    imported: BTreeSet<String>,
}

impl Sources {
    pub fn new(root: &Path) -> Self {
        Sources {
            root: root.to_path_buf(),
            files: BTreeMap::new(),
            imported: BTreeSet::new(),
        }
    }

    /// The path diagnostics show for `rel_path`.
    pub fn display_path(&self, rel_path: &str) -> PathBuf {
        self.root.join(rel_path)
    }

    /// The bytes of `rel_path` (`/`-separated), read on first use.
    pub fn bytes(&mut self, rel_path: &str) -> Result<Arc<[u8]>, Diagnostic> {
        if !self.files.contains_key(rel_path) {
            let read = read_limited(&self.display_path(rel_path)).map(Arc::from);
            self.files.insert(rel_path.to_string(), read);
        }
        self.files[rel_path].clone()
    }

    /// Notes that a loaded file imports `rel_path` as a partial.
    pub fn mark_imported(&mut self, rel_path: &str) {
        self.imported.insert(rel_path.to_string());
    }

    /// Whether a file loaded so far imported `rel_path`.
    pub fn is_imported(&self, rel_path: &str) -> bool {
        self.imported.contains(rel_path)
    }

    /// Short hash of the path and bytes of every file read.
    pub fn version(&self) -> String {
        let mut h = Sha256::new();
        for (rel, read) in &self.files {
            if let Ok(bytes) = read {
                h.update(rel.as_bytes());
                h.update([0]);
                h.update(bytes);
                h.update([0]);
            }
        }
        super::hex(&h.finalize()[..8])
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Diagnostic::error(path, 0, 0, format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            path,
            0,
            0,
            format!(
                "file is {:.1} MiB; the limit is {} MiB",
                meta.len() as f64 / 1048576.0,
                MAX_FILE_BYTES / 1048576
            ),
        )
        .with_hint("split it into several smaller guides"));
    }
    std::fs::read(path).map_err(|e| Diagnostic::error(path, 0, 0, format!("cannot read: {e}")))
}

/// The bytes as UTF-8 text without a byte-order mark; binary files are errors.
pub fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Diagnostic> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = super::diagnostic::line_at(valid, valid.len());
        Diagnostic::error(path, line, 1, "not UTF-8 text (is this a binary file?)")
            .with_hint("save the file as UTF-8, or move it out of the content folder")
    })?;
    if text.contains('\0') {
        return Err(
            Diagnostic::error(path, 1, 1, "contains NUL bytes (is this a binary file?)")
                .with_hint("move binary files out of the content folder"),
        );
    }
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}
