//! Forum suggestions: whether a new thread in a watched channel gets an unasked answer,
//! and what it says. No Discord types: the gateway reads the thread and its first message
//! into [`NewThread`] and [`Starter`], and posts the [`Reply`] this returns.
//!
//! Never noisy: one suggestion per thread at most, only in `suggest.channels`, never for a
//! bot's post or in a closed thread, and only when the best passage clears the measured
//! floor of the ranking mode in use.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::answer::{self, Command, Outcome, Request};
use crate::config::AnswersConfig;
use crate::render::discord;
use crate::search::{Relevance, RelevanceBy};
use crate::service::{question_in_message, Asker, Reply, Shared};

/// The command name suggestions are recorded under (`/gaps` shows them as forum posts).
pub const RECORDED_AS: &str = "forum";
/// Threads remembered as answered (or skipped): enough for any burst of repeated events.
const REMEMBERED: usize = 10_000;
/// A thread event for a thread older than this is not a new post (the bot was added to an
/// existing thread, or the event was replayed long after).
const NEW_FOR: Duration = Duration::from_secs(10 * 60);
/// Discord's epoch, in milliseconds since the Unix epoch: snowflakes count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A thread Discord says was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewThread {
    pub id: u64,
    pub guild: Option<u64>,
    /// The forum or text channel it was opened in.
    pub parent: Option<u64>,
    pub title: String,
    pub archived: bool,
    pub locked: bool,
}

/// The thread's first message: a forum post's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starter {
    pub author: u64,
    pub bot: bool,
    pub text: String,
}

/// Why a thread gets no suggestion (each counted in `careerbot_suggestions_total`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Skip {
    /// `suggest.enabled` is false, or Discord refused the Message Content intent.
    Off,
    /// Not in `suggest.channels`.
    Unlisted,
    /// Created over ten minutes ago.
    Old,
    /// Archived or locked.
    Closed,
    /// Already suggested on (or decided against).
    Repeated,
    /// Its first message could not be read.
    NoStarter,
    /// Posted by a bot.
    Bot,
    /// No words left once code, links and mentions are set aside.
    NoQuestion,
    /// Nothing in the guide matches.
    NothingFound,
    /// The best passage does not clear the floor.
    BelowFloor(Relevance),
    /// Searching failed (logged).
    Failed,
}

/// A suggestion to post, and what to record once it is posted.
pub struct Suggestion {
    pub reply: Reply,
    record: Option<Pending>,
}

struct Pending {
    id: i64,
    asker: Asker,
    request: Request,
    answer: answer::Answer,
    engine: std::sync::Arc<crate::search::Engine>,
}

impl Skip {
    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Skip::Off => "off",
            Skip::Unlisted => "unlisted",
            Skip::Old => "old",
            Skip::Closed => "closed",
            Skip::Repeated => "repeated",
            Skip::NoStarter => "no_starter",
            Skip::Bot => "bot",
            Skip::NoQuestion => "no_question",
            Skip::NothingFound => "nothing_found",
            Skip::BelowFloor(_) => "below_floor",
            Skip::Failed => "error",
        }
    }

    /// Counts the skip; says why at debug level.
    pub fn count(&self, thread: u64) {
        metrics::counter!("careerbot_suggestions_total", "outcome" => self.label()).increment(1);
        tracing::debug!(thread, reason = self.label(), detail = ?self, "no suggestion");
    }
}

/// What the suggestions remember: threads decided on, failures already logged, and
/// whether they are on at all.
pub struct Suggestions {
    on: AtomicBool,
    seen: Mutex<Seen>,
    /// `(channel, what failed)` pairs already logged: a missing permission is said once,
    /// not on every post.
    warned: Mutex<HashSet<(u64, &'static str)>>,
}

#[derive(Default)]
struct Seen {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Suggestions {
    pub fn new(enabled: bool) -> Suggestions {
        Suggestions {
            on: AtomicBool::new(enabled),
            seen: Mutex::new(Seen::default()),
            warned: Mutex::new(HashSet::new()),
        }
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    /// Turns suggestions off for the life of the process (Discord refused the intent).
    pub fn turn_off(&self) {
        self.on.store(false, Ordering::SeqCst);
    }

    /// Claims `thread`: true the first time only.
    fn claim(&self, thread: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.set.insert(thread) {
            return false;
        }
        seen.order.push_back(thread);
        if seen.order.len() > REMEMBERED {
            if let Some(old) = seen.order.pop_front() {
                seen.set.remove(&old);
            }
        }
        true
    }

    /// True the first time `what` fails in `channel`: log it then, not again.
    pub fn first_failure(&self, channel: u64, what: &'static str) -> bool {
        self.warned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((channel, what))
    }
}

/// When a snowflake was made.
pub fn created_at(snowflake: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis((snowflake >> 22) + DISCORD_EPOCH_MS)
}

impl Shared {
    /// The checks that need no message: on, a watched channel, new, open, not yet claimed.
    /// Claims the thread when it passes: whatever follows, it is decided once.
    pub fn suggest_first(&self, thread: &NewThread) -> Result<(), Skip> {
        if !self.suggestions.is_on() {
            return Err(Skip::Off);
        }
        let listed = thread
            .parent
            .is_some_and(|p| self.config.suggest.channels.contains(&p));
        if !listed {
            return Err(Skip::Unlisted);
        }
        let age = SystemTime::now()
            .duration_since(created_at(thread.id))
            .unwrap_or_default();
        if age > NEW_FOR {
            return Err(Skip::Old);
        }
        if thread.archived || thread.locked {
            return Err(Skip::Closed);
        }
        if !self.suggestions.claim(thread.id) {
            return Err(Skip::Repeated);
        }
        Ok(())
    }

    /// Claims `thread` among the replicas sharing a PostgreSQL store too, when they do: two
    /// processes on one shard (a rolling deploy) must not both suggest. Without a shared
    /// store, or when it does not answer in time, this process's own claim stands.
    pub async fn suggest_claim_shared(&self, thread: u64) -> Result<(), Skip> {
        let Some(replicas) = self.replicas.get() else {
            return Ok(());
        };
        match replicas.first_sighting(thread, NEW_FOR).await {
            Some(false) => Err(Skip::Repeated),
            Some(true) | None => Ok(()),
        }
    }

    /// The suggestion for a new post (title and first message), or why there is none: the
    /// best passage must clear the floor of the ranking mode in use, and so must every other
    /// passage shown. Blocking: it searches.
    pub fn suggestion(&self, thread: &NewThread, starter: &Starter) -> Result<Suggestion, Skip> {
        if starter.bot {
            return Err(Skip::Bot);
        }
        let ask = crate::registry::find("ask").and_then(|d| d.word_options().next());
        let max = ask.and_then(|o| o.max_chars()).map_or(300, usize::from);
        let question = question_in_message(&format!("{}\n{}", thread.title, starter.text), max)
            .ok_or(Skip::NoQuestion)?;
        let engine = self.engine();
        let config = AnswersConfig {
            results: self.config.suggest.results,
            ..self.config.answers.clone()
        };
        let request = Request::new(Command::ask(&question));
        let found = answer::answer(&engine, &self.vocabulary, &config, &request).map_err(|e| {
            tracing::warn!(thread = thread.id, error = %e, "could not search for a suggestion");
            Skip::Failed
        })?;
        if found.outcome != Outcome::Found || found.results.is_empty() {
            return Err(Skip::NothingFound);
        }
        let mut answer = found;
        let relevances = engine.relevance(&question, &answer.results).map_err(|e| {
            tracing::warn!(thread = thread.id, error = %e, "could not score a suggestion");
            Skip::Failed
        })?;
        if relevances[0].score < self.floor(relevances[0].by) {
            return Err(Skip::BelowFloor(relevances[0]));
        }
        let kept: Vec<_> = std::mem::take(&mut answer.results)
            .into_iter()
            .zip(relevances)
            .filter(|(_, r)| r.score >= self.floor(r.by))
            .map(|(hit, _)| hit)
            .collect();
        answer.results = kept;
        let asker = Asker::new(starter.author, thread.guild, Some(thread.id));
        // The vote buttons need the record's id now; the record itself waits for the post.
        let id = self.recorder.get().map(|_| crate::feedback::new_id());
        let reply = Reply {
            content: None,
            view: Some(discord::suggestion(&answer, id.is_some())),
            ephemeral: false,
            pager: None,
            vote: id,
            mention: None,
            files: Vec::new(),
        };
        Ok(Suggestion {
            reply,
            record: id.map(|id| Pending {
                id,
                asker,
                request,
                answer,
                engine,
            }),
        })
    }

    /// Records a suggestion once it is posted (under [`RECORDED_AS`]): its votes then
    /// reach `/gaps` like an answer's.
    pub fn suggestion_posted(&self, suggestion: Suggestion) {
        if let Some(p) = suggestion.record {
            self.record_as(
                p.id,
                RECORDED_AS,
                p.asker,
                &p.request,
                &p.engine,
                "found",
                Some(&p.answer),
            );
        }
    }

    /// `suggest.min_score` with meaning, `min_score_words` by words.
    fn floor(&self, by: RelevanceBy) -> f32 {
        match by {
            RelevanceBy::Meaning => self.config.suggest.min_score,
            RelevanceBy::Words => self.config.suggest.min_score_words,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_tell_their_time() {
        // Discord's documented example: 175928847299117063 is 2016-04-30 11:18:25.796 UTC.
        let at = created_at(175_928_847_299_117_063)
            .duration_since(UNIX_EPOCH)
            .unwrap();
        assert_eq!(at.as_millis(), 1_462_015_105_796);
    }

    #[test]
    fn a_thread_is_claimed_once() {
        let s = Suggestions::new(true);
        assert!(s.claim(7));
        assert!(!s.claim(7));
        assert!(s.claim(8));
    }

    #[test]
    fn the_oldest_claims_are_forgotten_first() {
        let s = Suggestions::new(true);
        for id in 0..=REMEMBERED as u64 {
            assert!(s.claim(id));
        }
        // 0 was forgotten to make room; the newest are still remembered.
        assert!(s.claim(0));
        assert!(!s.claim(REMEMBERED as u64));
    }

    #[test]
    fn a_failure_is_reported_once_per_channel() {
        let s = Suggestions::new(true);
        assert!(s.first_failure(1, "post"));
        assert!(!s.first_failure(1, "post"));
        assert!(s.first_failure(2, "post"));
        assert!(s.first_failure(1, "read"));
    }
}
