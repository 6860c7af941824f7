//! Content reload: rebuild the index from `data/` beside the serving one, validate it, and
//! report what changed — passages added, changed and removed — with the content version.
//! Swapping the result in, serialising reloads and the audit trail are the caller's
//! ([`crate::bot::core::Shared::reload`]); this module never touches what is serving.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Config;
use crate::content::{self, Diagnostic};
use crate::search::{Catalog, Engine};

/// Who or what asked for a reload, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A moderator's `/reload`.
    Command {
        user_id: u64,
        user: String,
        guild_id: Option<u64>,
        channel_id: Option<u64>,
    },
    /// The file watcher (`reload.watch`).
    Watch,
    /// SIGHUP.
    Signal,
    /// A `/reload` on another replica sharing the store.
    Replica { requested_by: String },
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Command { user, user_id, .. } => write!(f, "{user} ({user_id})"),
            Trigger::Watch => f.write_str("file watcher"),
            Trigger::Signal => f.write_str("SIGHUP"),
            Trigger::Replica { requested_by } => {
                write!(f, "another replica, for {requested_by}")
            }
        }
    }
}

/// A passage named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassageRef {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub added: Vec<PassageRef>,
    pub changed: Vec<PassageRef>,
    pub removed: Vec<PassageRef>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Passages added, changed (same id, different content) and removed, in content order.
pub fn diff(old: &Catalog, new: &Catalog) -> Diff {
    let old_by_id: std::collections::HashMap<&str, &str> = old
        .passages
        .iter()
        .map(|p| (p.id.as_str(), p.hash.as_str()))
        .collect();
    let new_ids: std::collections::HashSet<&str> =
        new.passages.iter().map(|p| p.id.as_str()).collect();
    let mut d = Diff::default();
    for p in &new.passages {
        let r = PassageRef {
            id: p.id.clone(),
            title: p.title.clone(),
        };
        match old_by_id.get(p.id.as_str()) {
            None => d.added.push(r),
            Some(hash) if *hash != p.hash => d.changed.push(r),
            Some(_) => {}
        }
    }
    for p in &old.passages {
        if !new_ids.contains(p.id.as_str()) {
            d.removed.push(PassageRef {
                id: p.id.clone(),
                title: p.title.clone(),
            });
        }
    }
    d
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub documents: usize,
    pub passages: usize,
}

impl Counts {
    pub fn of(catalog: &Catalog) -> Counts {
        Counts {
            documents: catalog.documents(),
            passages: catalog.passages.len(),
        }
    }
}

/// What a content version is: the hash of `data/`, and its git commit when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub hash: String,
    pub git_commit: Option<String>,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.git_commit {
            Some(c) => write!(f, "{} (git {})", self.hash, &c[..c.len().min(12)]),
            None => f.write_str(&self.hash),
        }
    }
}

/// The commit checked out where `dir` lives, if it is in a git work tree and git is here.
pub fn git_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && commit.len() >= 7).then_some(commit)
}

/// The result of one reload attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub dry_run: bool,
    pub elapsed: Duration,
    pub before: Counts,
    pub before_version: String,
    pub result: Result<Applied, Rejected>,
}

/// A build that passed: what it would change (dry run) or changed.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub after: Counts,
    pub version: Version,
    pub diff: Diff,
    /// Warnings from the content (the build went ahead).
    pub warnings: Vec<Diagnostic>,
    /// New or changed passages still to be embedded once the new content serves (semantic
    /// ranking on): they rank by words alone until then.
    pub to_embed: usize,
    #[serde(skip)]
    pub engine: Option<Arc<Engine>>,
}

/// Why nothing changed: every content error, or a build failure.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub version: Version,
    pub errors: Vec<Diagnostic>,
    /// Set when the content was fine but building failed (disk full, …).
    pub build_error: Option<String>,
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// Loads and builds the content beside `current` (blocking: run it off the async
/// threads). A dry run builds in memory and leaves `index/` alone.
pub fn rebuild(config: &Config, current: &Engine, dry_run: bool) -> Outcome {
    let started = Instant::now();
    let before = Counts::of(current.catalog());
    let before_version = current.manifest().content_version.clone();
    let report = content::load_dir(&config.data_dir, &crate::app::vocabulary(config));
    let version = Version {
        hash: report.content.version.clone(),
        git_commit: git_commit(&config.data_dir),
    };
    let finish = |result| Outcome {
        dry_run,
        elapsed: started.elapsed(),
        before,
        before_version: before_version.clone(),
        result,
    };
    if report.has_errors() {
        return finish(Err(Rejected {
            version,
            errors: report.errors().cloned().collect(),
            build_error: None,
        }));
    }
    let built = if dry_run {
        Engine::build_in_memory(config, &report.content)
    } else {
        // Serve the new content first; embedding what changed follows (the caller's job).
        Engine::build_deferring(config, &report.content)
    };
    match built {
        Ok(engine) => {
            let after = Counts::of(engine.catalog());
            let diff = diff(current.catalog(), engine.catalog());
            finish(Ok(Applied {
                after,
                version,
                diff,
                warnings: report
                    .diagnostics
                    .into_iter()
                    .filter(|d| !d.is_error())
                    .collect(),
                to_embed: engine.pending_embeddings(),
                engine: Some(Arc::new(engine)),
            }))
        }
        Err(e) => finish(Err(Rejected {
            version,
            errors: Vec::new(),
            build_error: Some(e.to_string()),
        })),
    }
}

/// One line for logs and the moderator log channel.
pub fn summary(outcome: &Outcome, trigger: &Trigger) -> String {
    let mode = if outcome.dry_run {
        "dry-run reload"
    } else {
        "reload"
    };
    match &outcome.result {
        Ok(a) => format!(
            "{mode} by {trigger}: ok in {} ms; passages {} added, {} changed, {} removed; documents {} → {}, passages {} → {}; content {}{}",
            outcome.elapsed.as_millis(),
            a.diff.added.len(),
            a.diff.changed.len(),
            a.diff.removed.len(),
            outcome.before.documents,
            a.after.documents,
            outcome.before.passages,
            a.after.passages,
            a.version,
            match a.to_embed {
                0 => String::new(),
                n => format!("; embedding {n} new or changed passages next"),
            }
        ),
        Err(r) => format!(
            "{mode} by {trigger}: rejected, {}; still serving content {}",
            match &r.build_error {
                Some(e) => format!("build failed: {e}"),
                None => format!("{} content error(s)", r.errors.len()),
            },
            outcome.before_version
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Facets;
    use crate::search::PassageSummary;

    fn cat(items: &[(&str, &str)]) -> Catalog {
        Catalog::new(
            items
                .iter()
                .map(|(id, hash)| PassageSummary {
                    id: id.to_string(),
                    title: format!("T {id}"),
                    hash: hash.to_string(),
                    facets: Facets::default(),
                })
                .collect(),
        )
    }

    #[test]
    fn diff_finds_added_changed_removed() {
        let old = cat(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let new = cat(&[("a", "1"), ("b", "9"), ("d", "4")]);
        let d = diff(&old, &new);
        let ids = |v: &[PassageRef]| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.added), ["d"]);
        assert_eq!(ids(&d.changed), ["b"]);
        assert_eq!(ids(&d.removed), ["c"]);
        assert!(diff(&old, &old).is_empty());
    }
}
