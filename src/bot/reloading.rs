//! Reloads while serving: who may ask, one reload at a time, the atomic swap, the audit
//! trail, the moderator's reply, and the two automatic triggers (file watcher, SIGHUP).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{CommandInteraction, Member, Permissions};

use super::core::{Reply, Shared};
use crate::config::Config;
use crate::reload::{self, Outcome, Trigger};
use crate::render::discord::{self as view, limits, trim};
use crate::render::escape_markdown;
use crate::search::Engine;

/// Whether a member may `/reload`: the configured permission (or Administrator) in the
/// interaction's own permissions, or one of the moderator roles. Checked on our side
/// because server admins can make the command visible to anyone.
pub fn may_reload(config: &Config, member: Option<&Member>) -> bool {
    let Some(member) = member else { return false };
    let wanted = super::commands::reload_permission(config);
    let by_permission = member
        .permissions
        .is_some_and(|p| p.contains(Permissions::ADMINISTRATOR) || p.contains(wanted));
    let by_role = member
        .roles
        .iter()
        .any(|r| config.reload.moderator_roles.contains(&r.get()));
    by_permission || by_role
}

/// Whether a member may see `/gaps`: the moderators who may `/reload`. A refusal is audited.
pub fn may_see_gaps(config: &Config, interaction: &CommandInteraction) -> bool {
    let allowed = may_reload(config, interaction.member.as_deref());
    if !allowed {
        tracing::info!(
            target: "careerbot::audit",
            event = "gaps_refused",
            user_id = interaction.user.id.get(),
            guild_id = interaction.guild_id.map(|g| g.get()),
            "content-gap report refused: not a moderator"
        );
    }
    allowed
}

/// The private reply to a member who may not see `/gaps`.
pub fn gaps_refusal() -> Reply {
    Reply::text("Only moderators can see the content-gap report.")
}

/// The private reply to a member who may not reload.
pub fn refusal() -> Reply {
    Reply::text(REFUSAL)
}

pub const REFUSAL: &str =
    "Only moderators can reload the content. Ask a moderator, or run `careerbot check` on your copy of the guides.";

/// The one gate for `/reload`, on the gateway and over HTTP: the trigger to audit when the
/// member may reload; `None` (audited) when they may not — answer with [`refusal`].
pub fn authorize_reload(config: &Config, interaction: &CommandInteraction) -> Option<Trigger> {
    let guild_id = interaction.guild_id.map(|g| g.get());
    if !may_reload(config, interaction.member.as_deref()) {
        tracing::info!(
            target: "careerbot::audit",
            event = "reload_refused",
            user_id = interaction.user.id.get(),
            guild_id,
            channel_id = interaction.channel_id.get(),
            "reload refused: not a moderator"
        );
        return None;
    }
    Some(Trigger::Command {
        user_id: interaction.user.id.get(),
        user: interaction.user.name.clone(),
        guild_id,
        channel_id: Some(interaction.channel_id.get()),
    })
}

impl Shared {
    /// Rebuilds beside the serving index and swaps it in whole; one reload at a time. On
    /// any error nothing changes. Every attempt is audited (log, and the log channel).
    pub async fn reload(self: &Arc<Self>, trigger: Trigger, dry_run: bool) -> Outcome {
        let one_at_a_time = Arc::clone(&self.reload_lock).lock_owned().await;
        let current = self.engine();
        let this = Arc::clone(self);
        let outcome = match tokio::task::spawn_blocking(move || {
            reload::rebuild(&this.config, &current, dry_run)
        })
        .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                let current = self.engine();
                Outcome {
                    dry_run,
                    elapsed: Duration::ZERO,
                    before: reload::Counts::of(current.catalog()),
                    before_version: current.manifest().content_version.clone(),
                    result: Err(reload::Rejected {
                        version: reload::Version {
                            hash: String::new(),
                            git_commit: None,
                        },
                        errors: Vec::new(),
                        build_error: Some(format!(
                            "the rebuild failed: {:#}",
                            super::core::task_failure(e)
                        )),
                    }),
                }
            }
        };
        if let (false, Ok(applied)) = (dry_run, &outcome.result) {
            if let Some(engine) = &applied.engine {
                let old = self.swap_engine(Arc::clone(engine));
                crate::ops::record_engine(self);
                if engine.pending_embeddings() > 0 {
                    self.embed_after(Arc::clone(engine), one_at_a_time);
                }
                // Queries in flight still hold the old engine; whoever drops it last pays
                // for unmapping its files. Keep it a moment so that is this task, not a
                // member's query.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let _ = tokio::task::spawn_blocking(move || drop(old)).await;
                });
            }
        }
        self.audit(&outcome, &trigger).await;
        if let (Trigger::Command { .. }, false, true, Some(replicas)) =
            (&trigger, dry_run, outcome.is_ok(), self.replicas.get())
        {
            replicas.request_reload(&trigger.to_string()).await;
        }
        outcome
    }

    /// Shares cooldowns, the replay check and reloads with the other replicas when the
    /// store is PostgreSQL (the services call it once): each reloads, and audits it, when
    /// another's `/reload` succeeds.
    pub fn start_sharing(self: &Arc<Self>) {
        let Some(replicas) = crate::replicas::Replicas::start(&self.config) else {
            return;
        };
        if self.replicas.set(Arc::clone(&replicas)).is_err() {
            return;
        }
        let shared = Arc::downgrade(self);
        let window = Duration::from_secs(self.config.http.max_clock_skew_seconds);
        tokio::spawn(replicas.follow(window, move |request| {
            let shared = shared.upgrade();
            async move {
                let Some(shared) = shared else {
                    return false;
                };
                let trigger = Trigger::Replica {
                    requested_by: request.requested_by,
                };
                shared.reload(trigger, false).await;
                true
            }
        }));
    }

    /// Embeds the passages `engine` (just swapped in) left pending, then swaps in the engine
    /// that has them all, unless another has replaced it meanwhile. Holds the reload lock
    /// throughout, so the next reload starts from this generation's saved vectors.
    fn embed_after(
        self: &Arc<Self>,
        engine: Arc<Engine>,
        one_at_a_time: tokio::sync::OwnedMutexGuard<()>,
    ) {
        let shared = Arc::clone(self);
        tokio::spawn(async move {
            let _still_reloading = one_at_a_time;
            let pending = Arc::clone(&engine);
            let complete = tokio::task::spawn_blocking(move || pending.with_all_embeddings());
            match complete.await {
                Ok(Some(complete)) if Arc::ptr_eq(&shared.engine(), &engine) => {
                    // Same index files: only the vectors differ, so the swap frees no mapping.
                    shared.swap_engine(Arc::new(complete));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %super::core::task_failure(e), "embedding new passages stopped")
                }
            }
        });
    }

    /// Embeds, while serving, the passages the serving engine left pending at start (see
    /// `app::load_for_service`), as a reload does after its swap.
    pub async fn embed_pending(self: &Arc<Self>) {
        let engine = self.engine();
        if engine.pending_embeddings() > 0 {
            let lock = Arc::clone(&self.reload_lock).lock_owned().await;
            self.embed_after(engine, lock);
        }
    }

    /// Waits until no reload, nor the embedding that follows one, is under way.
    pub async fn reloads_settled(&self) {
        let _ = self.reload_lock.lock().await;
    }

    async fn audit(&self, outcome: &Outcome, trigger: &Trigger) {
        let (added, changed, removed, after, version, errors) = match &outcome.result {
            Ok(a) => (
                a.diff.added.len(),
                a.diff.changed.len(),
                a.diff.removed.len(),
                Some(a.after),
                a.version.to_string(),
                0,
            ),
            Err(r) => (0, 0, 0, None, r.version.to_string(), r.errors.len()),
        };
        let (user_id, guild_id, channel_id) = match trigger {
            Trigger::Command {
                user_id,
                guild_id,
                channel_id,
                ..
            } => (Some(*user_id), *guild_id, *channel_id),
            _ => (None, None, None),
        };
        tracing::info!(
            target: "careerbot::audit",
            event = "reload",
            trigger = %trigger,
            user_id,
            guild_id,
            channel_id,
            dry_run = outcome.dry_run,
            result = if outcome.is_ok() { "ok" } else { "rejected" },
            added,
            changed,
            removed,
            errors,
            documents_before = outcome.before.documents,
            documents_after = after.map(|c| c.documents),
            passages_before = outcome.before.passages,
            passages_after = after.map(|c| c.passages),
            content_version = %version,
            elapsed_ms = outcome.elapsed.as_millis() as u64,
            "{}",
            reload::summary(outcome, trigger)
        );
        metrics::counter!(
            "careerbot_reloads_total",
            "result" => if outcome.is_ok() { "ok" } else { "rejected" },
            "dry_run" => if outcome.dry_run { "true" } else { "false" }
        )
        .increment(1);

        let (Some(channel), Some(announcer)) =
            (self.config.reload.log_channel, self.announcer.get())
        else {
            return;
        };
        let line = trim(
            &escape_markdown(&reload::summary(outcome, trigger)),
            limits::CONTENT,
        );
        if let Err(e) = announcer.announce(channel, line).await {
            tracing::warn!(channel, error = %e, "could not post to the moderator log channel");
        }
    }
}

/// The moderator's reply (rendered by [`crate::render::reload`]), private.
pub fn reload_reply(outcome: &Outcome, data_dir: &Path) -> Reply {
    let rendered = crate::render::reload::message(outcome, data_dir);
    Reply {
        content: None,
        view: Some(view::MessageView {
            embed: rendered.embed,
            buttons: Vec::new(),
        }),
        ephemeral: true,
        pager: None,
        vote: None,
        mention: None,
        files: rendered
            .files
            .into_iter()
            .map(|(name, text)| (name, text.into_bytes()))
            .collect(),
    }
}

/// Reloads on file changes in `data_dir`, debounced; results go to the log (and the log
/// channel). The returned guard stops watching when dropped.
pub fn watch(
    shared: &Arc<Shared>,
) -> anyhow::Result<notify_debouncer_mini::Debouncer<notify::RecommendedWatcher>> {
    use notify::RecursiveMode;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut debouncer = notify_debouncer_mini::new_debouncer(
        Duration::from_millis(shared.config.reload.debounce_ms),
        move |events: notify_debouncer_mini::DebounceEventResult| match events {
            Ok(events) if !events.is_empty() => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "file watcher error"),
        },
    )?;
    debouncer
        .watcher()
        .watch(&shared.config.data_dir, RecursiveMode::Recursive)?;
    tracing::info!(dir = %shared.config.data_dir.display(), "watching the content folder for changes");
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Changes that arrive during a reload collapse into one more reload.
            while rx.try_recv().is_ok() {}
            shared.reload(Trigger::Watch, false).await;
        }
    });
    Ok(debouncer)
}

/// Reloads on SIGHUP, the usual "re-read your files" signal for services.
pub fn reload_on_sighup(shared: &Arc<Shared>) {
    #[cfg(unix)]
    {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                shared.reload(Trigger::Signal, false).await;
            }
        });
    }
}
