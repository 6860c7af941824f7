//! What processes sharing one PostgreSQL store keep in common: public-reply cooldowns, the
//! interactions already seen (the HTTP replay check) and reload requests, so that a member
//! cannot dodge a cooldown, nor an attacker replay a request, by reaching another replica,
//! and a `/reload` on one replica reaches them all. Without PostgreSQL (one process, SQLite)
//! all of it stays in memory. The store is never allowed to cost an answer: a check it does
//! not answer within [`WAIT`] falls back to this process's own memory.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::feedback::{Db, DbError, MemberHasher};
use crate::throttle::Throttled;

/// The longest a shared check may take before this process decides alone.
pub const WAIT: Duration = Duration::from_millis(250);
/// After a failed check, this long without asking the store: a store that hangs costs
/// one answer [`WAIT`], not every answer.
const BACK_OFF_MS: i64 = 5_000;
/// How often each replica looks for reload requests: a `/reload` reaches every replica
/// within this, plus its own rebuild.
pub const POLL: Duration = Duration::from_secs(1);
/// Requests are read again this far back, so that one committed late (another replica's
/// clock a little behind) is not missed; ids already handled are skipped.
const OVERLAP_MS: i64 = 10_000;

pub struct Replicas {
    /// The store, once connected (retried in the background meanwhile).
    store: Arc<OnceLock<(Db, MemberHasher)>>,
    /// This process, in the reload requests it makes.
    pub origin: i64,
    failing: Throttled,
    /// Unix ms before which the store is not asked (it failed a moment ago).
    skip_until: std::sync::atomic::AtomicI64,
}

/// A reload another replica asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadRequest {
    pub id: i64,
    pub at_ms: i64,
    pub requested_by: String,
}

impl Replicas {
    /// Shared state over the PostgreSQL store `config` names; `None` when it names none.
    pub fn start(config: &Config) -> Option<Arc<Replicas>> {
        crate::feedback::postgres_url(config)?;
        let store = Arc::new(OnceLock::new());
        let slot = Arc::clone(&store);
        let config = config.clone();
        tokio::spawn(async move {
            let connected = crate::feedback::connect_retrying(
                &config,
                "sharing cooldowns, seen interactions and reloads with the other replicas",
            )
            .await;
            let _ = slot.set(connected);
        });
        Some(Arc::new(Replicas {
            store,
            origin: crate::feedback::new_id(),
            failing: Throttled::default(),
            skip_until: std::sync::atomic::AtomicI64::new(0),
        }))
    }

    /// Whether the shared store is connected (until then, each replica decides alone).
    pub fn connected(&self) -> bool {
        self.store.get().is_some()
    }

    /// Runs a query against the store: `None` when it is not connected, fails or takes
    /// longer than [`WAIT`] (logged at most once a minute), and for [`BACK_OFF_MS`] after.
    async fn ask<'a, T, F>(
        &'a self,
        what: &str,
        query: impl FnOnce(&'a Db, &'a MemberHasher) -> F,
    ) -> Option<T>
    where
        F: Future<Output = Result<T, DbError>> + 'a,
    {
        let (db, hasher) = self.store.get()?;
        let now = now_ms();
        if now < self.skip_until.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let error = match tokio::time::timeout(WAIT, query(db, hasher)).await {
            Ok(Ok(answer)) => return Some(answer),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", WAIT.as_millis()),
        };
        self.skip_until
            .store(now + BACK_OFF_MS, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("careerbot_replica_store_errors_total").increment(1);
        if let Some(since) = self.failing.ready() {
            tracing::warn!(
                error,
                more_since_last_log = since,
                "the shared store did not answer {what}; deciding from this replica's memory"
            );
        }
        None
    }

    /// Starts `user`'s cooldown across replicas unless one is running: `Some(None)` when it
    /// started, `Some(Some(left))` while one runs, `None` when the store cannot tell.
    pub async fn cooldown(&self, user: u64, window: Duration) -> Option<Option<Duration>> {
        let now = now_ms();
        self.ask("a cooldown", |db, hasher| async move {
            let member = hasher.hash(user);
            let until = now + window.as_millis() as i64;
            let running = db.claim_cooldown(&member, now, until).await?;
            Ok(running.map(|end| Duration::from_millis((end - now).max(0) as u64)))
        })
        .await
    }

    /// Whether no replica has seen interaction (or thread) `id` in the last `window`; `None`
    /// when the store cannot tell. Both are snowflakes, unique across kinds.
    pub async fn first_sighting(&self, id: u64, window: Duration) -> Option<bool> {
        let now = now_ms() / 1000;
        let since = now - window.as_secs() as i64;
        self.ask("the replay check", |db, _| {
            db.first_sighting(id as i64, now, since)
        })
        .await
    }

    /// Asks the other replicas to reload; `requested_by` is for their audit logs.
    pub async fn request_reload(&self, requested_by: &str) {
        let (at, origin) = (now_ms(), self.origin);
        let asked = self
            .ask("a reload request", |db, _| {
                db.request_reload(at, origin, requested_by)
            })
            .await;
        if asked.is_none() {
            tracing::warn!("the other replicas were not told of this reload: the shared store is unreachable; reload them with SIGHUP or /reload");
        }
    }

    /// Follows reload requests from other replicas: `reload` runs for each, in order, one
    /// at a time, until it returns `false` (the service is gone). Requests older than the start are not followed (the content was loaded
    /// then). Also expires shared state nobody needs any more, every few minutes.
    pub async fn follow<F, R>(self: Arc<Self>, replay_window: Duration, mut reload: F)
    where
        F: FnMut(ReloadRequest) -> R,
        R: Future<Output = bool>,
    {
        let started = now_ms();
        let mut cursor = started;
        let mut handled: std::collections::VecDeque<i64> = std::collections::VecDeque::new();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut polls: u64 = 0;
        loop {
            tick.tick().await;
            polls += 1;
            if polls.is_multiple_of(300) {
                let now = now_ms();
                let seen_before = now / 1000 - 2 * replay_window.as_secs() as i64;
                self.ask("expiring shared state", |db, _| {
                    db.expire_shared(now, seen_before, now - 24 * 3600 * 1000)
                })
                .await;
            }
            let since = cursor - OVERLAP_MS;
            let Some(requests) = self
                .ask("reload requests", |db, _| db.reload_requests(since))
                .await
            else {
                continue;
            };
            for (id, at_ms, origin, requested_by) in requests {
                cursor = cursor.max(at_ms);
                if origin == self.origin || at_ms < started || handled.contains(&id) {
                    continue;
                }
                handled.push_back(id);
                if handled.len() > 1_000 {
                    handled.pop_front();
                }
                let request = ReloadRequest {
                    id,
                    at_ms,
                    requested_by,
                };
                if !reload(request).await {
                    return;
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
