//! The `index/` folder as a cache: each build goes to a fresh directory that is renamed into
//! place, and a one-line `CURRENT` file (replaced by rename) names the generation to load.
//! A crash at any point leaves the previous generation loadable.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::schema::SCHEMA_VERSION;

pub const CURRENT: &str = "CURRENT";
pub const MANIFEST: &str = "careerbot.json";
const GENERATION_PREFIX: &str = "gen-";
const TMP_PREFIX: &str = ".tmp-";
/// Generations kept besides the current one, for processes still reading them.
const KEEP_OLD: usize = 2;
/// A generation replaced less than this long ago is never removed: a replica sharing
/// `index/` that has not reloaded yet, or a process between reading `CURRENT` and opening
/// the files, may still read it. (A generation that was never current counts from when it
/// was built.)
pub const GRACE: Duration = Duration::from_secs(600);
/// Written into a generation when `CURRENT` stops naming it; its time is when that happened.
const RETIRED: &str = "RETIRED";
/// Unfinished builds older than this are leftovers of a crash, not another process's work.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// What a generation was built from; a mismatch means the cache is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub fingerprint: String,
    pub crate_version: String,
    pub schema_version: u32,
    pub content_version: String,
    pub passages: u64,
    /// Seconds since the Unix epoch.
    pub built_at: u64,
}

/// Identifies an index built by this binary from this content.
pub fn fingerprint(content_version: &str) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(SCHEMA_VERSION.to_le_bytes());
    h.update(content_version.as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    pub fn new(content_version: &str, passages: u64) -> Manifest {
        Manifest {
            fingerprint: fingerprint(content_version),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: SCHEMA_VERSION,
            content_version: content_version.to_string(),
            passages,
            built_at: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Whether this binary can read the generation at all (whatever content it holds).
    pub fn is_compatible(&self) -> bool {
        self.crate_version == env!("CARGO_PKG_VERSION") && self.schema_version == SCHEMA_VERSION
    }
}

/// The generation `CURRENT` names, with its manifest, if both are readable.
pub fn current(index_dir: &Path) -> Option<(PathBuf, Manifest)> {
    let name = std::fs::read_to_string(index_dir.join(CURRENT)).ok()?;
    let name = name.trim();
    if !name.starts_with(GENERATION_PREFIX) || name.contains(['/', '\\']) {
        return None;
    }
    let dir = index_dir.join(name);
    let manifest = read_manifest(&dir)?;
    Some((dir, manifest))
}

pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

/// A directory to build a new generation in; publish it with [`publish`].
pub fn create_tmp(index_dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(index_dir)?;
    for n in 0u32.. {
        let dir = index_dir.join(format!("{TMP_PREFIX}{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 ran out of temporary names")
}

/// Writes the manifest, renames the finished build into place and points `CURRENT` at it.
/// Each step is a rename, so a crash leaves either the old or the new generation current.
pub fn publish(index_dir: &Path, tmp: &Path, manifest: &Manifest) -> std::io::Result<PathBuf> {
    write_atomic(&tmp.join(MANIFEST), &serde_json::to_vec_pretty(manifest)?)?;
    let name = format!(
        "{GENERATION_PREFIX}{}-{}",
        manifest.fingerprint,
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let dest = index_dir.join(&name);
    std::fs::rename(tmp, &dest)?;
    sync_dir(index_dir);
    crash_point("publish:renamed");
    let previous = current(index_dir).map(|(dir, _)| dir);
    write_atomic(&index_dir.join(CURRENT), format!("{name}\n").as_bytes())?;
    if let Some(previous) = previous.filter(|p| *p != dest) {
        if let Err(e) = std::fs::write(previous.join(RETIRED), b"") {
            tracing::warn!(path = %previous.display(), error = %e, "could not mark a generation retired; it is removed by its age instead");
        }
    }
    clean(index_dir, &name);
    Ok(dest)
}

/// Set to a crash point's name, the process aborts there, as a power cut would stop it: how
/// the tests show that a crash at that step leaves the previous generation current.
pub const CRASH_AT: &str = "CAREERBOT_CRASH_AT";

fn crash_point(name: &str) {
    if std::env::var_os(CRASH_AT).is_some_and(|at| at == name) {
        eprintln!("{CRASH_AT}={name}: aborting here");
        std::process::abort();
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    // A name of our own: processes sharing `index/` may publish at the same moment.
    let tmp = path.with_extension(format!(
        "tmp-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent);
    }
    Ok(())
}

/// Makes renames durable; best effort, as not every filesystem allows opening a directory.
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Removes generations out of service for longer than [`GRACE`] (keeping the newest
/// [`KEEP_OLD`] whatever their age) and crash leftovers. Failures only log:
/// a stray directory costs disk, not correctness.
fn clean(index_dir: &Path, current: &str) {
    let Ok(entries) = std::fs::read_dir(index_dir) else {
        return;
    };
    let mut generations = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(GENERATION_PREFIX) && name != current {
            // Since when it is out of service: retired, or (never current) built.
            let since = std::fs::metadata(path.join(RETIRED))
                .or_else(|_| entry.metadata())
                .and_then(|m| m.modified())
                .ok();
            generations.push((since, path));
        } else if name.starts_with(TMP_PREFIX) {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok());
            if age.is_some_and(|a| a > STALE_TMP) {
                remove(&path);
            }
        }
    }
    generations.sort();
    let excess = generations.len().saturating_sub(KEEP_OLD);
    for (since, path) in generations.into_iter().take(excess) {
        let old_enough = since
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= GRACE);
        if old_enough {
            remove(&path);
        }
    }
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove an old index directory");
    }
}

/// Removes an unfinished build after a failure.
pub fn discard(tmp: &Path) {
    remove(tmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_switches_current_and_keeps_recent_generations() {
        let dir = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for v in ["a", "b", "c", "d"] {
            let tmp = create_tmp(dir.path()).unwrap();
            let dest = publish(dir.path(), &tmp, &Manifest::new(v, 1)).unwrap();
            names.push(dest);
        }
        let (cur, manifest) = current(dir.path()).unwrap();
        assert_eq!(cur, names[3]);
        assert_eq!(manifest.content_version, "d");
        // All just retired: another process may still be reading any of them.
        assert!(names.iter().all(|n| n.exists()));
        assert!(names[..3].iter().all(|n| n.join(RETIRED).exists()));
        assert!(
            !names[3].join(RETIRED).exists(),
            "the current one is in service"
        );
        // Built long ago but retired just now still stays: the grace counts from retirement.
        let long_ago = SystemTime::now() - GRACE * 10;
        for n in &names {
            std::fs::File::open(n)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        let tmp = create_tmp(dir.path()).unwrap();
        let d2 = publish(dir.path(), &tmp, &Manifest::new("d2", 1)).unwrap();
        assert!(names.iter().all(|n| n.exists()));
        // Retired beyond GRACE, all but the newest KEEP_OLD out of service go.
        let old = SystemTime::now() - GRACE - Duration::from_secs(60);
        for (i, n) in names.iter().chain([&d2]).enumerate() {
            let marker = n.join(RETIRED);
            if marker.exists() {
                let f = std::fs::File::options().write(true).open(marker).unwrap();
                f.set_modified(old + Duration::from_secs(i as u64)).unwrap();
            }
        }
        let tmp = create_tmp(dir.path()).unwrap();
        let newest = publish(dir.path(), &tmp, &Manifest::new("e", 1)).unwrap();
        // Out of service: a, b, c, d (all aged) and d2 (just retired, so the newest).
        assert!(!names[0].exists() && !names[1].exists() && !names[2].exists());
        assert!(names[3].exists() && d2.exists() && newest.exists());
        // No temporary files are left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn garbage_current_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CURRENT), "../../etc").unwrap();
        assert!(current(dir.path()).is_none());
        std::fs::write(dir.path().join(CURRENT), "gen-missing").unwrap();
        assert!(current(dir.path()).is_none());
    }
}
