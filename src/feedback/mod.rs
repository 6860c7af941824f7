//! What members ask, how it went and how they voted on the answer, recorded off the answer
//! path, for the moderators' content-gap report (`careerbot gaps`): questions nothing
//! answered, answers voted down, answers that changed between content versions, and synonym
//! suggestions from a failed question followed by one that worked. Member ids are kept only
//! as a keyed hash.

pub mod db;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::throttle::Throttled;
pub use db::{Db, DbError, Kind};

/// Records waiting for the database, at most, by default (`feedback.queue`): beyond, new
/// ones are dropped and counted.
pub const QUEUE: usize = 100_000;
/// Records written per transaction, at most.
const BATCH: usize = 1_000;
/// Pause after each write, so that records gather into batches: the writer wakes at most
/// this often, whatever the rate of questions, and leaves the cores to answers.
const GATHER: Duration = Duration::from_millis(100);

/// One answered (or unanswerable) question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub command: String,
    /// The options as words, lower-cased, spaces collapsed: equal questions group together.
    pub question: String,
    /// `found`, `no_data`, `not_found`, `help`, `user_error` or `internal_error`.
    pub outcome: String,
    /// Passage ids shown, with their scores, best first.
    pub passages: Vec<(String, f32)>,
    /// What the answer said about how it read the question (corrections, fallbacks).
    pub notes: Vec<String>,
    pub content_version: String,
    pub guild_id: Option<i64>,
    pub channel_id: Option<i64>,
    /// The member who asked: in memory only, on its way to the writer, which stores
    /// [`Record::member`] instead.
    #[serde(skip)]
    pub member_id: Option<u64>,
    /// HMAC-SHA256 of the member id (hex), never the id.
    pub member: Option<String>,
}

/// A member's 👍 or 👎 on an answer (the recorded question it answered), and what they were
/// looking for when they said so. One per member and answer: a later vote replaces theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    /// The [`Record::id`] of the question the answer was for.
    pub question: i64,
    pub at: i64,
    pub up: bool,
    /// The 👎 form's text; `None` leaves an earlier one in place.
    pub comment: Option<String>,
    pub guild_id: Option<i64>,
    /// The voter: in memory only, hashed by the writer into [`Vote::member`].
    pub member_id: u64,
    pub member: String,
}

impl Vote {
    /// `voter`'s vote, now, on the answer to recorded question `question`, in `guild`.
    pub fn new(
        question: i64,
        voter: u64,
        guild: Option<u64>,
        up: bool,
        comment: Option<String>,
    ) -> Vote {
        Vote {
            question,
            at: now(),
            up,
            comment,
            guild_id: guild.map(|g| g as i64),
            member_id: voter,
            member: String::new(),
        }
    }
}

/// Longest 👎 comment kept, in characters (the form allows no more).
pub const COMMENT_MAX: usize = 300;

/// What waits for the writer.
#[derive(Debug)]
enum Entry {
    Question(Record),
    Vote(Vote),
    /// Answered once everything queued before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// `text` as recorded: lower-cased, whitespace collapsed, control characters (NUL, which
/// PostgreSQL refuses in text, and terminal escapes) left out.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A fresh record id: random, so that replicas sharing a store never collide.
pub fn new_id() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 1) as i64
}

/// Hashes member ids with a key: from `CAREERBOT_HASH_KEY`, else made once and kept in the
/// store, so the same member hashes the same across restarts and replicas. A key kept in the
/// store protects only against those who cannot read it: whoever reads the database could
/// hash known member ids and match them. Set `CAREERBOT_HASH_KEY` (kept out of the database
/// and its backups) to prevent that.
#[derive(Clone)]
pub struct MemberHasher {
    key: Vec<u8>,
}

impl MemberHasher {
    pub fn new(key: &[u8]) -> MemberHasher {
        MemberHasher { key: key.to_vec() }
    }

    pub async fn for_store(db: &Db) -> Result<MemberHasher, DbError> {
        if let Some(key) = std::env::var("CAREERBOT_HASH_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
        {
            return Ok(MemberHasher::new(key.as_bytes()));
        }
        let fresh: String = (0..4).map(|_| format!("{:016x}", new_id())).collect();
        let key = db.setting_or("member_hash_key", &fresh).await?;
        Ok(MemberHasher::new(key.as_bytes()))
    }

    pub fn hash(&self, member: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(&member.to_le_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Hands records to the background writer; never waits, never fails an answer.
pub struct Recorder {
    queue: mpsc::Sender<Entry>,
    dropped: Throttled,
    /// Records and votes dropped: the queue was full, or the store refused them.
    dropped_total: Arc<AtomicU64>,
    /// The store, once connected: what `/gaps` reads.
    db: Arc<std::sync::OnceLock<Db>>,
    /// The last write failed (the store is down or refusing): `/healthz` says "degraded".
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    /// Starts, on the current runtime, the writer: it opens the store `config` names
    /// (retrying while it is unreachable; records wait in the queue meanwhile), then writes
    /// in batches and purges records older than `feedback.retention_days` daily.
    pub fn start(config: &Config) -> Arc<Recorder> {
        let capacity = config.feedback.queue.max(1);
        let (queue, incoming) = mpsc::channel(capacity);
        let dropped_total = Arc::new(AtomicU64::new(0));
        let writer_drops = Arc::clone(&dropped_total);
        let config = config.clone();
        let connected = Arc::new(std::sync::OnceLock::new());
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (db_slot, health) = (Arc::clone(&connected), Arc::clone(&failing));
        tokio::spawn(async move {
            let (db, hasher) =
                connect_retrying(&config, "recording questions for the content-gap report").await;
            health.store(false, Ordering::Relaxed);
            let _ = db_slot.set(db.clone());
            tokio::spawn(purge_daily(db.clone(), config.feedback.retention_days));
            write(db, hasher, incoming, health, writer_drops).await;
        });
        Arc::new(Recorder {
            queue,
            dropped: Throttled::default(),
            dropped_total,
            db: connected,
            failing,
        })
    }

    /// Whether the store takes what is recorded: `false` while it is unreachable (questions
    /// then wait in memory, up to `feedback.queue`).
    pub fn healthy(&self) -> bool {
        !self.failing.load(Ordering::Relaxed)
    }

    /// The store, once the writer has connected to it.
    pub fn db(&self) -> Option<&Db> {
        self.db.get()
    }

    pub fn record(&self, record: Record) {
        if self.queue.try_send(Entry::Question(record)).is_ok() {
            metrics::counter!("careerbot_feedback_recorded_total").increment(1);
        } else {
            self.count_dropped();
        }
    }

    /// Queues a vote (and its comment), as questions are: never waits.
    pub fn record_vote(&self, mut vote: Vote) {
        vote.comment = vote.comment.map(|c| {
            without_controls(c.trim())
                .chars()
                .take(COMMENT_MAX)
                .collect()
        });
        let (kind, commented) = (if vote.up { "up" } else { "down" }, vote.comment.is_some());
        if self.queue.try_send(Entry::Vote(vote)).is_ok() {
            if commented {
                metrics::counter!("careerbot_vote_comments_total").increment(1);
            } else {
                metrics::counter!("careerbot_votes_total", "vote" => kind).increment(1);
            }
        } else {
            self.count_dropped();
        }
    }

    fn count_dropped(&self) {
        count_drop(&self.dropped_total);
        if let Some(since) = self.dropped.ready() {
            tracing::warn!(
                queue = self.queue.max_capacity(),
                more_since_last_log = since,
                "the feedback queue is full (database slow or down): questions and votes are not being recorded"
            );
        }
    }

    /// Waits, at most `within`, until everything queued so far is written: `false` when
    /// the time ran out first (the store down or slow). For a clean stop.
    pub async fn flush(&self, within: Duration) -> bool {
        let (done, written) = tokio::sync::oneshot::channel();
        tokio::time::timeout(within, async {
            self.queue.send(Entry::Flush(done)).await.is_ok() && written.await.is_ok()
        })
        .await
        .unwrap_or(false)
    }

    /// Questions and votes dropped so far (queue full, or refused by the store).
    pub fn dropped(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    /// Records waiting for the writer.
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

/// The store and the member hasher, retried (backing off to a minute) until both work;
/// `purpose` is logged once connected.
pub(crate) async fn connect_retrying(config: &Config, purpose: &str) -> (Db, MemberHasher) {
    let mut backoff = Duration::from_secs(1);
    let failing = Throttled::default();
    loop {
        let opened = async {
            let db = open(config).await?;
            let hasher = MemberHasher::for_store(&db).await?;
            Ok::<_, DbError>((db, hasher))
        };
        match opened.await {
            Ok((db, hasher)) => {
                tracing::info!(database = ?db.kind, "{purpose}");
                return (db, hasher);
            }
            Err(e) => {
                if let Some(since) = failing.ready() {
                    tracing::warn!(error = %e, more_since_last_log = since, "cannot open the feedback database; questions wait in memory meanwhile");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Writes what arrives in batches; a failed batch is retried (backing off) until the
/// database is back, while new records wait in the queue.
async fn write(
    db: Db,
    hasher: MemberHasher,
    mut incoming: mpsc::Receiver<Entry>,
    failing_now: Arc<std::sync::atomic::AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    // What the writer holds while the store is down counts within the bound too: at most
    // the queue's size again.
    let batch = BATCH.min(incoming.max_capacity());
    let mut entries = Vec::with_capacity(batch);
    let failing = Throttled::default();
    while incoming.recv_many(&mut entries, batch).await > 0 {
        let (mut records, mut votes, mut flushes) = (Vec::new(), Vec::new(), Vec::new());
        for entry in entries.drain(..) {
            match entry {
                Entry::Flush(done) => flushes.push(done),
                Entry::Question(mut record) => {
                    record.member = record.member_id.take().map(|m| hasher.hash(m));
                    record.notes = record.notes.iter().map(|n| without_controls(n)).collect();
                    records.push(record);
                }
                Entry::Vote(mut vote) => {
                    vote.member = hasher.hash(vote.member_id);
                    merge_vote(&mut votes, vote);
                }
            }
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            match db.write(&records, &votes).await {
                // The store is up but refuses something in the batch: write what it takes,
                // one by one, and count the rest as dropped, rather than stall on it forever.
                Err(DbError::Query(sqlx::Error::Database(e))) => {
                    tracing::warn!(error = %e, records = records.len(), votes = votes.len(), "the feedback database refused a batch; writing it one entry at a time");
                    for record in &records {
                        if db.write(std::slice::from_ref(record), &[]).await.is_err() {
                            count_drop(&dropped);
                        }
                    }
                    for vote in &votes {
                        if db.write(&[], std::slice::from_ref(vote)).await.is_err() {
                            count_drop(&dropped);
                        }
                    }
                    failing_now.store(false, Ordering::Relaxed);
                    break;
                }
                Ok(()) => {
                    failing_now.store(false, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    failing_now.store(true, Ordering::Relaxed);
                    metrics::counter!("careerbot_feedback_write_errors_total").increment(1);
                    if let Some(since) = failing.ready() {
                        tracing::warn!(error = %e, more_since_last_log = since, "cannot record questions; retrying");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
        tokio::time::sleep(GATHER).await;
    }
}

/// One question or vote not recorded: in the recorder's count and in `/metrics`.
fn count_drop(dropped: &AtomicU64) {
    dropped.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("careerbot_feedback_dropped_total").increment(1);
}

/// Adds `vote` to a batch, as the later of the member's votes on that answer: one row per
/// (answer, member), as stored, since one statement may not update a row twice.
fn merge_vote(votes: &mut Vec<Vote>, vote: Vote) {
    match votes
        .iter_mut()
        .find(|v| v.question == vote.question && v.member == vote.member)
    {
        Some(earlier) => {
            earlier.comment = vote.comment.or(earlier.comment.take());
            earlier.up = vote.up;
            earlier.at = vote.at;
        }
        None => votes.push(vote),
    }
}

async fn purge_daily(db: Db, retention_days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(24 * 3600));
    loop {
        tick.tick().await;
        let before = now() - i64::from(retention_days) * 24 * 3600;
        match db.purge(before).await {
            Ok(n) => tracing::info!(deleted = n, retention_days, "purged old recorded questions"),
            Err(e) => tracing::warn!(error = %e, "could not purge old recorded questions"),
        }
        if let Err(e) = db.maintain().await {
            tracing::warn!(error = %e, "could not refresh the feedback database's statistics");
        }
    }
}

/// Opens the store `config` names: PostgreSQL when `DATABASE_URL` or `database.url` is set,
/// else the SQLite file `database.path`.
pub async fn open(config: &Config) -> Result<Db, DbError> {
    match postgres_url(config) {
        Some(url) => Db::postgres(&url).await,
        None => Db::sqlite(&config.database.path).await,
    }
}

/// The PostgreSQL store's URL, when one is configured: `DATABASE_URL`, else `database.url`.
pub fn postgres_url(config: &Config) -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| config.database.url.clone())
}

fn without_controls(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The content-gap report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gaps {
    /// Unix seconds: the report covers questions from then on.
    pub since: i64,
    pub unanswered: Vec<Unanswered>,
    pub voted_down: Vec<VotedDown>,
    pub changed: Vec<TopChange>,
    pub suggestions: Vec<Suggestion>,
}

/// A question nothing answered, grouped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unanswered {
    pub command: String,
    pub question: String,
    pub count: i64,
    pub first: i64,
    pub last: i64,
}

/// An answer members voted down: its top passage (none for "nothing found"), the votes, the
/// questions that led to it and what the voters said they were looking for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VotedDown {
    pub passage: Option<String>,
    pub down: i64,
    pub up: i64,
    /// `/command question` (`forum post: …` for suggestions), most voted down first.
    pub questions: Vec<String>,
    pub comments: Vec<String>,
}

/// A question asked often whose top passage changed between content versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopChange {
    pub question: String,
    pub asked: i64,
    /// Top passages, in the order they were served.
    pub passages: Vec<String>,
}

/// A failed question followed within five minutes, by the same member, by one that worked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub failed: String,
    pub worked: String,
    pub count: i64,
    /// The words only one of the two has, as a synonym line: `salary ~ ctc`.
    pub synonym: Option<String>,
}

impl Suggestion {
    pub fn new(failed: String, worked: String, count: i64) -> Suggestion {
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let (f, w) = (words(&failed), words(&worked));
        let only = |a: &[String], b: &[String]| {
            a.iter()
                .filter(|x| !b.contains(x))
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (lost, found) = (only(&f, &w), only(&w, &f));
        let synonym = (!lost.is_empty() && !found.is_empty()).then(|| format!("{lost} ~ {found}"));
        Suggestion {
            failed,
            worked,
            count,
            synonym,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_later_vote_replaces_theirs_and_keeps_their_comment() {
        let vote = |question, member: &str, up, comment: Option<&str>| Vote {
            question,
            at: 0,
            up,
            comment: comment.map(str::to_string),
            guild_id: None,
            member_id: 0,
            member: member.to_string(),
        };
        let mut batch = Vec::new();
        merge_vote(&mut batch, vote(1, "a", false, None));
        merge_vote(&mut batch, vote(1, "a", false, Some("salary in pune")));
        merge_vote(&mut batch, vote(1, "b", true, None));
        merge_vote(&mut batch, vote(2, "a", true, None));
        merge_vote(&mut batch, vote(1, "a", true, None));
        assert_eq!(
            batch,
            [
                vote(1, "a", true, Some("salary in pune")),
                vote(1, "b", true, None),
                vote(2, "a", true, None)
            ]
        );
    }

    #[test]
    fn a_suggestion_names_the_words_that_changed() {
        let s = Suggestion::new("salary in bangalore".into(), "ctc in bangalore".into(), 2);
        assert_eq!(s.synonym.as_deref(), Some("salary ~ ctc"));
        let same = Suggestion::new("mlops".into(), "mlops tools".into(), 1);
        assert_eq!(same.synonym, None, "nothing was replaced, only added");
    }

    #[test]
    fn members_hash_the_same_with_one_key_and_differently_with_another() {
        let a = MemberHasher::new(b"one");
        assert_eq!(a.hash(42), a.hash(42));
        assert_ne!(a.hash(42), a.hash(43));
        assert_ne!(a.hash(42), MemberHasher::new(b"two").hash(42));
        assert_eq!(a.hash(42).len(), 64);
        assert!(!a.hash(42).contains("42"));
    }

    #[test]
    fn questions_are_recorded_normalised() {
        assert_eq!(
            normalise("  Senior   SALARY\tIndia "),
            "senior salary india"
        );
        assert_eq!(normalise("nul\0here \u{1b}[31mred"), "nulhere [31mred");
    }
}
