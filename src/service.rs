//! The application service both front doors share — the gateway bot and the HTTP
//! interactions endpoint — with no Discord types: the serving engine (swapped whole on
//! reload), cooldowns and who may see a reply, how a command becomes a reply, paging ids,
//! autocomplete choices, and the race between an answer and Discord's acknowledgement
//! deadline. The Discord adapters (`bot`, `http`) turn its `Reply` into serenity builders.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::answer::{self, AnswerError, Command, Request, UserError};
use crate::config::Config;
use crate::content::{facets::normalize, Facet, Vocabulary};
use crate::feedback::{Record, Recorder, Vote};
use crate::registry::{self, OptionKind};
use crate::render::discord::{self, MessageView};
use crate::replicas::Replicas;
use crate::search::Engine;
use crate::typos::TypoPolicy;

/// A future the service awaits from an adapter.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The gateway's shards, as health checks need them (gateway mode only).
pub trait ShardStatus: Send + Sync {
    /// Shards connected now.
    fn connected(&self) -> BoxFuture<'_, usize>;
}

/// Where reload announcements go: the moderators' log channel.
pub trait Announcer: Send + Sync {
    /// Posts `text` (no mentions) to the channel.
    fn announce(&self, channel: u64, text: String) -> BoxFuture<'_, Result<(), String>>;
}

/// What every handler needs: settings, the serving engine (swapped whole on reload) and
/// the cooldown ledger.
pub struct Shared {
    pub config: Config,
    pub vocabulary: Vocabulary,
    engine: ArcSwap<Engine>,
    /// Last public reply per user.
    cooldowns: Mutex<HashMap<u64, Instant>>,
    /// Held for the whole of a reload, and on until its new passages are embedded: reloads
    /// are serialised, never interleaved.
    pub reload_lock: Arc<tokio::sync::Mutex<()>>,
    /// The moderators' log channel, once connected with a token.
    pub announcer: OnceLock<Arc<dyn Announcer>>,
    /// The gateway's shards, in gateway mode: for `/healthz`. Replaced when the gateway
    /// client is rebuilt (Discord refused an intent).
    pub shards: std::sync::RwLock<Option<Arc<dyn ShardStatus>>>,
    /// How many shards this process should run, once known (from the config, or from
    /// Discord's recommended count with `shards = "auto"`); 0 before.
    expected_shards: AtomicUsize,
    /// Where `/metrics` reads the counters from.
    pub metrics: PrometheusHandle,
    /// Records every question for the content-gap report, once started (`feedback.enabled`).
    pub recorder: OnceLock<Arc<Recorder>>,
    /// State shared with the other replicas, when they share a PostgreSQL store.
    pub replicas: OnceLock<Arc<Replicas>>,
    /// Suggestions on new forum posts: on or off, and the threads already decided.
    pub suggestions: crate::suggest::Suggestions,
}

/// Rows per list in `/gaps`'s CSV, at most.
const CSV_ROWS: usize = 10_000;

/// Who asked, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asker {
    pub user: u64,
    pub guild: Option<u64>,
    pub channel: Option<u64>,
    /// A new question (recorded), not a page turn of one already asked.
    pub new_question: bool,
}

impl Asker {
    /// A new question from `user` in `guild`'s `channel`.
    pub fn new(user: u64, guild: Option<u64>, channel: Option<u64>) -> Asker {
        Asker {
            user,
            guild,
            channel,
            new_question: true,
        }
    }
}

impl Shared {
    /// Serving `engine`, with metrics in the process-wide recorder (`/metrics`).
    pub fn new(config: Config, engine: Engine) -> Arc<Shared> {
        Self::with_metrics(config, engine, crate::ops::metrics_handle().clone())
    }

    /// Serving `engine`, with `/metrics` rendered from `metrics`: the handle of the recorder
    /// this process's (or, in tests, this runtime's) counters go to.
    pub fn with_metrics(config: Config, engine: Engine, metrics: PrometheusHandle) -> Arc<Shared> {
        let config_suggest = config.suggest.enabled;
        Arc::new(Shared {
            vocabulary: crate::app::vocabulary(&config),
            config,
            engine: ArcSwap::from_pointee(engine),
            cooldowns: Mutex::new(HashMap::new()),
            reload_lock: Arc::new(tokio::sync::Mutex::new(())),
            announcer: OnceLock::new(),
            shards: std::sync::RwLock::new(None),
            expected_shards: AtomicUsize::new(0),
            metrics,
            recorder: OnceLock::new(),
            replicas: OnceLock::new(),
            suggestions: crate::suggest::Suggestions::new(config_suggest),
        })
    }

    /// `(connected, expected)` shards in gateway mode; `None` elsewhere. `expected` counts
    /// every shard this process should run, booted yet or not (serenity starts them five
    /// seconds apart), so health is not "ready" while some are still to come.
    pub async fn shard_status(&self) -> Option<(usize, usize)> {
        let shards = self
            .shards
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let connected = shards.connected().await;
        Some((connected, self.expected_shards.load(Ordering::SeqCst)))
    }

    /// Records how many shards this process runs, before they start.
    pub fn expect_shards(&self, count: usize) {
        self.expected_shards.store(count, Ordering::SeqCst);
    }

    /// The engine serving now. Callers keep their `Arc` for the whole request, so a reload
    /// never changes the index under a query in flight.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// Puts a new engine in service, whole; returns the one it replaces.
    pub fn swap_engine(&self, engine: Arc<Engine>) -> Arc<Engine> {
        self.engine.swap(engine)
    }

    pub fn defer_after(&self) -> Duration {
        Duration::from_millis(self.config.discord.defer_after_ms)
    }

    /// Whether a reply is private, and why if the member did not ask for it. Outside a
    /// server (DMs, the app installed by a member) replies are private unless asked
    /// otherwise. Public replies start the member's cooldown (across replicas when they
    /// share a store); inside it, replies are private instead of refused, so nobody is left
    /// without an answer and the channel is not flooded.
    pub async fn visibility(
        &self,
        user: u64,
        command: &str,
        private: Option<bool>,
        in_server: bool,
    ) -> (bool, Option<String>) {
        let wanted = private.unwrap_or_else(|| {
            !in_server
                || self
                    .config
                    .discord
                    .private_commands
                    .iter()
                    .any(|c| c == command)
        });
        if wanted {
            return (true, None);
        }
        let window = Duration::from_secs(self.config.discord.cooldown_seconds);
        if window.is_zero() {
            return (false, None);
        }
        let shared = match self.replicas.get() {
            Some(replicas) => replicas.cooldown(user, window).await,
            None => None,
        };
        match shared.unwrap_or_else(|| self.local_cooldown(user, window)) {
            None => (false, None),
            Some(left) => {
                let wait = left.as_secs().max(1);
                (
                    true,
                    Some(format!(
                        "You asked a moment ago, so this answer is only visible to you. Public answers again in {wait} s."
                    )),
                )
            }
        }
    }

    /// This process's cooldown ledger: `None` when `user`'s cooldown starts now, else the
    /// time left of the running one.
    fn local_cooldown(&self, user: u64, window: Duration) -> Option<Duration> {
        let now = Instant::now();
        let mut ledger = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = ledger.get(&user) {
            let since = now.duration_since(*last);
            if since < window {
                return Some(window - since);
            }
        }
        if ledger.len() > 10_000 {
            ledger.retain(|_, t| now.duration_since(*t) < window);
        }
        ledger.insert(user, now);
        None
    }

    /// Answers a request as a Discord reply.
    /// Starts recording questions when `feedback.enabled` (the services call it once).
    pub fn start_recording(&self) {
        if self.config.feedback.enabled && self.recorder.get().is_none() {
            let _ = self.recorder.set(Recorder::start(&self.config));
        }
    }

    /// Before the process stops: writes the recorded questions and votes still queued,
    /// waiting at most five seconds for the store.
    pub async fn finish(&self) {
        let Some(recorder) = self.recorder.get() else {
            return;
        };
        let waiting = recorder.waiting();
        if recorder.flush(Duration::from_secs(5)).await {
            tracing::info!(waiting, "recorded questions written before stopping");
        } else {
            tracing::warn!(
                waiting = recorder.waiting(),
                "stopping with recorded questions the database did not take in time; they are lost"
            );
        }
    }

    /// `/gaps` for a moderator of `guild` (checked by the caller): that server's report from
    /// the store, private, the top of each list in the message and every row in the CSV.
    pub async fn gaps_reply(&self, command: &Command, guild: Option<u64>) -> Reply {
        let Some(guild) = guild else {
            return Reply::text("`/gaps` reports on a server's questions: run it in the server.");
        };
        // The range is the registry's (Discord enforces it there; a terminal does not).
        let number = |option: &'static str, default: u32| {
            let (min, max) = match command.def().option(option).map(|o| o.kind) {
                Some(OptionKind::Integer { min, max }) => (min, max),
                _ => (1, u32::MAX),
            };
            match command.value(option) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or(UserError::NotANumber { option, max }),
            }
        };
        let (days, limit) = match (number("days", 30), number("limit", 10)) {
            (Ok(days), Ok(limit)) => (days, limit),
            (Err(e), _) | (_, Err(e)) => return Reply::user_error(&e),
        };
        let Some(recorder) = self.recorder.get() else {
            return Reply::text(
                "Questions are not recorded here (`feedback.enabled = false` in config.toml), so there is no report.",
            );
        };
        let Some(db) = recorder.db() else {
            return Reply::text("The feedback database is not reachable right now; questions wait in memory until it is. Try again shortly.");
        };
        let since = crate::feedback::now() - i64::from(days) * 24 * 3600;
        match db.gaps(since, CSV_ROWS, Some(guild as i64)).await {
            Ok(gaps) => {
                let (embed, (name, csv)) = crate::render::gaps::embed(&gaps, days, limit as usize);
                Reply {
                    content: None,
                    view: Some(MessageView {
                        embed,
                        buttons: Vec::new(),
                    }),
                    ephemeral: true,
                    pager: None,
                    vote: None,
                    mention: None,
                    files: vec![(name, csv.into_bytes())],
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the content-gap report failed");
                Reply::apology()
            }
        }
    }

    /// Hands the question and how it went to the recorder, if recording: never waits.
    /// Returns the record's id, which the answer's vote buttons carry.
    fn record(
        &self,
        asker: Asker,
        request: &Request,
        engine: &Engine,
        outcome: &str,
        answer: Option<&answer::Answer>,
    ) -> Option<i64> {
        self.recorder.get().filter(|_| asker.new_question)?;
        let id = crate::feedback::new_id();
        let command = request.command.name();
        self.record_as(id, command, asker, request, engine, outcome, answer);
        Some(id)
    }

    /// Records question `id` under `command` (a command's name, or what else asked).
    #[allow(
        clippy::too_many_arguments,
        reason = "one record's fields, gathered from the answer path"
    )]
    pub(crate) fn record_as(
        &self,
        id: i64,
        command: &str,
        asker: Asker,
        request: &Request,
        engine: &Engine,
        outcome: &str,
        answer: Option<&answer::Answer>,
    ) {
        let Some(recorder) = self.recorder.get().filter(|_| asker.new_question) else {
            return;
        };
        let words: Vec<&str> = request.command.args().into_iter().flatten().collect();
        recorder.record(Record {
            id,
            at: crate::feedback::now(),
            command: command.to_string(),
            question: crate::feedback::normalise(&words.join(" ")),
            outcome: outcome.to_string(),
            passages: answer.map_or_else(Vec::new, |a| {
                a.results.iter().map(|h| (h.id.clone(), h.score)).collect()
            }),
            notes: answer.map_or_else(Vec::new, |a| a.notes.clone()),
            content_version: engine.manifest().content_version.clone(),
            guild_id: asker.guild.map(|g| g as i64),
            channel_id: asker.channel.map(|c| c as i64),
            member_id: Some(asker.user),
            member: None,
        });
    }

    /// A 👍 or 👎 press on an answer: queued for the store (never waits), acknowledged
    /// privately; 👎 asks what the member was looking for instead.
    pub fn vote(&self, voter: u64, guild: Option<u64>, id: VoteId) -> Voted {
        let Some(recorder) = self.recorder.get() else {
            return Voted::Thanks(Reply::text(
                "Votes are not recorded here (`feedback.enabled = false`), but thank you.",
            ));
        };
        recorder.record_vote(Vote::new(id.question, voter, guild, id.up, None));
        count("vote", if id.up { "up" } else { "down" });
        if id.up {
            Voted::Thanks(Reply::text(
                "Thanks for the 👍: it tells the moderators this answer works. You can change your vote with 👎.",
            ))
        } else {
            Voted::AskWhy(Form::looking_for(id.question))
        }
    }

    /// The 👎 form, submitted: what the member was looking for, kept with their vote.
    pub fn vote_comment(&self, voter: u64, guild: Option<u64>, form: &FormSubmit) -> Reply {
        let Some(question) = Form::question_of(&form.custom_id) else {
            return Reply::text(
                "This form is from an older version of the bot; vote on the answer again.",
            );
        };
        let text = form.value(COMMENT_INPUT).unwrap_or("").trim();
        if let (Some(recorder), false) = (self.recorder.get(), text.is_empty()) {
            recorder.record_vote(Vote::new(
                question,
                voter,
                guild,
                false,
                Some(text.to_string()),
            ));
        }
        Reply::text(if text.is_empty() {
            "Thanks for the 👎: the moderators see which answers miss, and can improve the guide."
        } else {
            "Thanks for the 👎 and for saying what you were looking for: the moderators see both, and can improve the guide."
        })
    }

    pub fn reply(
        &self,
        asker: Asker,
        request: &Request,
        ephemeral: bool,
        note: Option<String>,
    ) -> Result<Reply, AnswerError> {
        let started = Instant::now();
        let user = asker.user;
        let engine = self.engine();
        let command = request.command.name();
        let mut answer =
            match answer::answer(&engine, &self.vocabulary, &self.config.answers, request) {
                Ok(a) => a,
                Err(e) => {
                    let outcome = match e {
                        AnswerError::User(_) => "user_error",
                        AnswerError::Search(_) => "internal_error",
                    };
                    count(command, outcome);
                    self.record(asker, request, &engine, outcome, None);
                    return Err(e);
                }
            };
        let outcome = match answer.outcome {
            answer::Outcome::Found => "found",
            answer::Outcome::NoData => "no_data",
            answer::Outcome::NotFound => "not_found",
            answer::Outcome::Help => "help",
        };
        count(command, outcome);
        let vote = self
            .record(asker, request, &engine, outcome, Some(&answer))
            .filter(|_| outcome != "help");
        if let (Some(help), Some(_)) = (answer.help.as_mut(), self.recorder.get()) {
            help.recorded_days = Some(self.config.feedback.retention_days);
            help.suggests = self.suggestions.is_on();
        }
        if matches!(
            answer.outcome,
            answer::Outcome::NoData | answer::Outcome::NotFound
        ) {
            metrics::counter!("careerbot_zero_result_answers_total", "command" => command)
                .increment(1);
        }
        let mut view = discord::message(&answer, note.as_deref());
        metrics::histogram!("careerbot_answer_seconds", "command" => command)
            .record(started.elapsed().as_secs_f64());
        let mut pager = (!view.buttons.is_empty()).then(|| Pager {
            owner: user,
            also: None,
            command: request.command.clone(),
        });
        keep_pager_if_it_fits(&mut pager, &mut view);
        Ok(Reply {
            content: None,
            view: Some(view),
            ephemeral,
            pager,
            vote,
            mention: None,
            files: Vec::new(),
        })
    }

    /// Handles a "More results" / "Previous" press: only the member who asked may turn the
    /// page; anyone else gets a private explanation. `vote` is the answer's vote id, read
    /// from the pressed message's buttons: every page keeps the answer's 👍 / 👎.
    pub fn page_turn(&self, presser: u64, custom_id: &str, vote: Option<i64>) -> PageTurn {
        let Some(id) = PageId::parse(custom_id) else {
            return PageTurn::Refused(Reply::text(
                "This button is from an older version of the bot; run the command again.",
            ));
        };
        if id.owner != presser && id.also != Some(presser) {
            count("page", "refused");
            return PageTurn::Refused(Reply::text(
                "Only the person who asked can page through these results. Run the command yourself to get your own copy.",
            ));
        }
        let request = Request {
            command: id.command,
            page: id.page,
        };
        // The message keeps its visibility; an update cannot change it.
        let asker = Asker {
            new_question: false,
            ..Asker::new(presser, None, None)
        };
        match self.reply(asker, &request, false, None) {
            Ok(mut reply) => {
                // The pages stay the asker's (and the author's), whoever turned this one.
                if let Some(pager) = reply.pager.as_mut() {
                    pager.owner = id.owner;
                    pager.also = id.also;
                }
                PageTurn::Update(Reply { vote, ..reply })
            }
            Err(AnswerError::User(e)) => PageTurn::Refused(Reply::text(&e.to_string())),
            Err(AnswerError::Search(e)) => {
                tracing::error!(error = %e, custom_id, "page turn failed");
                PageTurn::Refused(Reply::apology())
            }
        }
    }

    /// Autocomplete choices for one option: `(label, value)`, at most 25.
    pub fn choices(&self, command: &str, option: &str, partial: &str) -> Vec<(String, String)> {
        let Some((facet, topic)) = option_facet(command, option) else {
            return Vec::new();
        };
        choices(&self.engine(), &self.vocabulary, facet, topic, partial)
    }
}

/// Counts an interaction by command and outcome (`careerbot_interactions_total`).
pub fn count(command: &'static str, outcome: &'static str) {
    metrics::counter!("careerbot_interactions_total", "command" => command, "outcome" => outcome)
        .increment(1);
}

/// The facet an option's values come from, and the topic its command covers.
pub fn option_facet(command: &str, option: &str) -> Option<(Facet, Option<&'static str>)> {
    let def = registry::find(command)?;
    match def.option(option)?.kind {
        OptionKind::Facet(facet) => Some((facet, def.topic())),
        _ => None,
    }
}

/// Discord's cap on autocomplete choices.
pub const MAX_CHOICES: usize = 25;

/// Values the index holds for `facet`, best matches for `partial` first: prefix, then word
/// prefix, then substring, then a close spelling; values filed under the command's topic
/// before others. An empty box shows the topic's values (the pinned defaults).
pub fn choices(
    engine: &Engine,
    vocabulary: &Vocabulary,
    facet: Facet,
    topic: Option<&str>,
    partial: &str,
) -> Vec<(String, String)> {
    let catalog = engine.catalog();
    let in_topic: Vec<&str> = catalog
        .present(facet, topic)
        .iter()
        .map(|(v, _)| v.as_str())
        .filter(|v| Some(*v) != topic)
        .collect();
    let mut all: Vec<&str> = in_topic.clone();
    for (v, _) in catalog.present(facet, None) {
        if !all.contains(&v.as_str()) && Some(v.as_str()) != topic {
            all.push(v);
        }
    }
    // Vocabulary order is the moderators' chosen display order.
    let order = |v: &str| {
        vocabulary
            .values(facet)
            .iter()
            .position(|d| d.id == v)
            .unwrap_or(usize::MAX)
    };
    let typed = normalize(partial);
    let mut scored: Vec<(u8, bool, usize, &str)> = all
        .iter()
        .filter_map(|&v| {
            let rank = if typed.is_empty() {
                if !in_topic.contains(&v) {
                    return None;
                }
                0
            } else {
                match_rank(&typed, v, vocabulary, facet)?
            };
            Some((rank, !in_topic.contains(&v), order(v), v))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        // A value must be sent back whole, and Discord caps values at 100 characters.
        .filter(|(_, _, _, v)| v.chars().count() <= 100)
        .take(MAX_CHOICES)
        .map(|(_, _, _, v)| {
            let label = vocabulary.label(facet, v);
            let label = if label == v {
                v.to_string()
            } else {
                format!("{label} ({v})")
            };
            (discord::trim(&label, 100), v.to_string())
        })
        .collect()
}

/// How well `typed` matches a value, by its id, label and aliases; `None` for no match.
fn match_rank(typed: &str, value: &str, vocabulary: &Vocabulary, facet: Facet) -> Option<u8> {
    let spellings: Vec<String> = vocabulary
        .values(facet)
        .iter()
        .find(|d| d.id == value)
        .map(|d| d.spellings.clone())
        .unwrap_or_else(|| vec![value.to_string()]);
    let best = spellings
        .iter()
        .filter_map(|s| {
            if s.starts_with(typed) {
                Some(0)
            } else if s.split('-').any(|w| w.starts_with(typed)) {
                Some(1)
            } else if s.contains(typed) {
                Some(2)
            } else {
                let len = typed.chars().count();
                let budget = usize::from(TypoPolicy::TYPING.budget(len));
                // Compare with starts of the spelling around the typed length: the box
                // fills as the member types, and a dropped or extra letter shifts it.
                let close = (len.saturating_sub(1)..=len + 1).any(|n| {
                    let head: String = s.chars().take(n).collect();
                    strsim::damerau_levenshtein(typed, &head) <= budget
                });
                (budget > 0 && close).then_some(3)
            }
        })
        .min();
    best
}

/// A button must carry its whole request; one that cannot is not offered, rather than one
/// that would page through a different question.
fn keep_pager_if_it_fits(pager: &mut Option<Pager>, view: &mut MessageView) {
    let fits = pager.as_ref().is_none_or(|p| {
        PageId {
            owner: p.owner,
            also: p.also,
            page: 0,
            command: p.command.clone(),
        }
        .encode()
        .is_some()
    });
    if !fits {
        *pager = None;
        view.buttons.clear();
        view.embed.footer = discord::trim(
            &format!(
                "{} · ask a shorter question to page through more",
                view.embed.footer
            ),
            discord::limits::FOOTER,
        );
    }
}

/// Whose message a message command answered, for the reply's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub author: u64,
    /// The message's jump link.
    pub link: String,
}

impl Reply {
    /// Addressed as the invocation asks: to the author of the message a message command
    /// answers (named; pinged only with `ping_author`), or to the member `for` names (the
    /// one mention the reply allows). Either may turn its pages too.
    pub fn addressed(
        self,
        about: Option<&About>,
        for_member: Option<u64>,
        ping_author: bool,
    ) -> Reply {
        match (about, for_member) {
            (Some(about), _) => self.addressed_to(
                about.author,
                format!(
                    "Answer for <@{}>'s [question]({})",
                    about.author, about.link
                ),
                ping_author,
            ),
            (None, Some(member)) => self.addressed_to(member, format!("For <@{member}>:"), true),
            (None, None) => self,
        }
    }

    /// A first line for `member`, their mention allowed when `ping`, and the paging buttons
    /// theirs as well as the asker's (when the id still fits).
    fn addressed_to(mut self, member: u64, line: String, ping: bool) -> Reply {
        if self.view.is_none() {
            return self;
        }
        self.content = Some(line);
        self.mention = ping.then_some(member);
        if let (Some(pager), Some(view)) = (self.pager.as_mut(), self.view.as_mut()) {
            pager.also = Some(member).filter(|&m| m != pager.owner);
            keep_pager_if_it_fits(&mut self.pager, view);
        }
        self
    }
}

/// The question in a message's text, for a message command: without code, links, mentions
/// and custom emoji, whitespace collapsed, at most `max_chars` (cut at a word); `None` when
/// no word is left.
pub fn question_in_message(text: &str, max_chars: usize) -> Option<String> {
    // Code blocks first (they may hold single backticks), then inline code.
    let mut rest = String::new();
    for (i, part) in text.split("```").enumerate() {
        if i % 2 == 0 {
            rest.push_str(part);
            rest.push(' ');
        }
    }
    let mut plain = String::new();
    for (i, part) in rest.split('`').enumerate() {
        if i % 2 == 0 {
            plain.push_str(part);
            plain.push(' ');
        }
    }
    let words: Vec<&str> = plain
        .split_whitespace()
        .filter(|w| {
            let link = w.contains("://");
            let mention_or_emoji = w.starts_with('<') && w.ends_with('>');
            !(link || mention_or_emoji)
        })
        .collect();
    if !words
        .iter()
        .any(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
    {
        return None;
    }
    let mut question = String::new();
    for w in words {
        if question.chars().count() + w.chars().count() + 1 > max_chars {
            break;
        }
        if !question.is_empty() {
            question.push(' ');
        }
        question.push_str(w);
    }
    (!question.is_empty()).then_some(question)
}

/// A reply, before it is shaped for the gateway or the HTTP endpoint.
#[derive(Debug, Clone)]
pub struct Reply {
    pub content: Option<String>,
    pub view: Option<MessageView>,
    pub ephemeral: bool,
    pub pager: Option<Pager>,
    /// The recorded question this answer is for: it gets 👍 / 👎 buttons.
    pub vote: Option<i64>,
    /// The one member this reply may ping (nobody else, ever).
    pub mention: Option<u64>,
    /// Attachments: `(file name, bytes)`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Who owns the paging buttons, and what they page through.
#[derive(Debug, Clone)]
pub struct Pager {
    pub owner: u64,
    /// Someone else who may turn the pages: the author of the message a message command
    /// answered.
    pub also: Option<u64>,
    pub command: Command,
}

pub enum PageTurn {
    /// Replace the message with the requested page.
    Update(Reply),
    /// Answer privately instead (someone else's buttons, or a stale one).
    Refused(Reply),
}

impl Reply {
    /// A private text reply: refusals and user mistakes.
    pub fn text(message: &str) -> Reply {
        Reply {
            content: Some(discord::plain_message(message)),
            view: None,
            ephemeral: true,
            pager: None,
            vote: None,
            mention: None,
            files: Vec::new(),
        }
    }

    /// What a member sees when something broke on our side; the details go to the logs.
    pub fn apology() -> Reply {
        Reply::text("Sorry, something went wrong on my side. Please try again in a moment.")
    }

    pub fn user_error(error: &UserError) -> Reply {
        Reply::text(&error.to_string())
    }
}

/// Runs blocking work (search) off the async threads. If it is not done by `defer_after`,
/// `defer` runs first (Discord's "thinking…"), so the 3-second window is never missed.
pub async fn with_deadline<T, F, D>(work: F, defer_after: Duration, defer: D) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    D: Future<Output = ()>,
{
    match race(work, defer_after).await? {
        Raced::Ready(done) => Ok(done),
        Raced::Late(pending) => {
            defer.await;
            pending.finish().await
        }
    }
}

/// Blocking work raced against the moment an interaction must be acknowledged.
pub enum Raced<T> {
    /// Done in time: answer with it directly.
    Ready(T),
    /// Still running: acknowledge now ("deferred"), deliver when it is done.
    Late(Pending<T>),
}

/// Work still running after the deadline.
pub struct Pending<T>(tokio::task::JoinHandle<T>);

impl<T> Pending<T> {
    /// Its result; a panicked or cancelled task is an error saying so.
    pub async fn finish(self) -> anyhow::Result<T> {
        self.0.await.map_err(task_failure)
    }
}

/// Runs `work` on the blocking pool and waits at most `defer_after` for it: the one place
/// where the gateway and the HTTP endpoint decide between answering now and deferring.
pub async fn race<T, F>(work: F, defer_after: Duration) -> anyhow::Result<Raced<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let mut task = tokio::task::spawn_blocking(work);
    if defer_after.is_zero() {
        return Ok(Raced::Late(Pending(task)));
    }
    match tokio::time::timeout(defer_after, &mut task).await {
        Ok(done) => Ok(Raced::Ready(done.map_err(task_failure)?)),
        Err(_) => Ok(Raced::Late(Pending(task))),
    }
}

/// Why a blocking task ended without a result, for the log: its panic message, or that it
/// was cancelled (the runtime shutting down).
pub fn task_failure(e: tokio::task::JoinError) -> anyhow::Error {
    if !e.is_panic() {
        return anyhow::anyhow!("the task was cancelled");
    }
    let payload = e.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not text)".into());
    anyhow::anyhow!("the task panicked: {message}")
}

/// The state of a paging button, carried in its custom id (≤ 100 characters) so any
/// process — gateway shard or HTTP replica — can turn the page without shared memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageId {
    pub owner: u64,
    /// Another member who may turn the pages (see [`Pager::also`]).
    pub also: Option<u64>,
    pub page: usize,
    pub command: Command,
}

const PAGE_PREFIX: &str = "p1";
const CUSTOM_ID_MAX: usize = 100;

/// Pages beyond this are refused: nobody pages that far, and it keeps arithmetic small.
const MAX_PAGE: usize = 1_000;

impl PageId {
    /// The custom id, or `None` when the request does not fit Discord's 100 characters.
    pub fn encode(&self) -> Option<String> {
        let owners = match self.also {
            Some(also) => format!("{},{also}", self.owner),
            None => self.owner.to_string(),
        };
        let head = format!(
            "{PAGE_PREFIX}|{owners}|{}|{}",
            self.page,
            self.command.name()
        );
        let mut args: Vec<String> = self
            .command
            .args()
            .into_iter()
            .map(|a| a.map(escape).unwrap_or_default())
            .collect();
        let room = CUSTOM_ID_MAX.saturating_sub(head.len() + args.len());
        if args.iter().map(String::len).sum::<usize>() > room {
            // A question's stop words and punctuation do not change its results (the index
            // splits words the same way), so its meaningful words ask the same; later pages
            // show those words, not the question as typed, as their title.
            let question = self.command.question()?;
            args = vec![meaningful_words(question)];
            if args[0].len() > room {
                return None;
            }
        }
        let mut id = head;
        for a in args {
            id.push('|');
            id.push_str(&a);
        }
        Some(id)
    }

    pub fn parse(id: &str) -> Option<PageId> {
        let mut parts = id.split('|');
        if parts.next()? != PAGE_PREFIX {
            return None;
        }
        let owners = parts.next()?;
        let (owner, also) = match owners.split_once(',') {
            Some((owner, also)) => (owner.parse().ok()?, Some(also.parse().ok()?)),
            None => (owners.parse().ok()?, None),
        };
        let page = parts.next()?.parse().ok().filter(|&p| p <= MAX_PAGE)?;
        let name = parts.next()?;
        let def = registry::find(name)?;
        let values: Vec<String> = parts.map(unescape).collect();
        let options = def
            .word_options()
            .map(|o| o.name)
            .zip(values)
            .filter(|(_, v)| !v.is_empty());
        let command = Command::from_options(name, options).ok()?;
        Some(PageId {
            owner,
            also,
            page,
            command,
        })
    }
}

/// A 👍 / 👎 button's state: the recorded question its answer was for, so that any replica
/// can take the vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteId {
    pub question: i64,
    pub up: bool,
}

const VOTE_PREFIX: &str = "v1";
const FORM_PREFIX: &str = "f1";
/// The 👎 form's one text input.
pub const COMMENT_INPUT: &str = "looking_for";

impl VoteId {
    pub fn encode(&self) -> String {
        let vote = if self.up { "up" } else { "down" };
        format!("{VOTE_PREFIX}|{vote}|{}", self.question)
    }

    pub fn parse(id: &str) -> Option<VoteId> {
        let mut parts = id.split('|');
        if parts.next()? != VOTE_PREFIX {
            return None;
        }
        let up = match parts.next()? {
            "up" => true,
            "down" => false,
            _ => return None,
        };
        let question = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(VoteId { question, up })
    }
}

/// How a vote is acknowledged.
pub enum Voted {
    /// Privately, with a message.
    Thanks(Reply),
    /// With the 👎 form (a Discord modal).
    AskWhy(Form),
}

/// A Discord modal with one optional paragraph input, described without Discord types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub custom_id: String,
    pub title: &'static str,
    pub label: &'static str,
    pub input_id: &'static str,
    pub placeholder: &'static str,
    pub max_length: usize,
}

impl Form {
    /// "What were you looking for?", for the answer to `question`.
    pub fn looking_for(question: i64) -> Form {
        Form {
            custom_id: format!("{FORM_PREFIX}|{question}"),
            title: "What were you looking for?",
            label: "What were you looking for? (optional)",
            input_id: COMMENT_INPUT,
            placeholder: "e.g. salaries for staff engineers in Berlin",
            max_length: crate::feedback::COMMENT_MAX,
        }
    }

    /// The recorded question a submitted form is about.
    pub fn question_of(custom_id: &str) -> Option<i64> {
        let rest = custom_id.strip_prefix(FORM_PREFIX)?.strip_prefix('|')?;
        rest.parse().ok()
    }
}

/// A submitted form: its custom id and each input's `(custom id, value)`.
#[derive(Debug, Clone, Default)]
pub struct FormSubmit {
    pub custom_id: String,
    pub values: Vec<(String, String)>,
}

impl FormSubmit {
    pub fn value(&self, input: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(id, _)| id == input)
            .map(|(_, v)| v.as_str())
    }
}

fn escape(s: &str) -> String {
    s.replace('%', "%25").replace('|', "%7C")
}

fn unescape(s: &str) -> String {
    s.replace("%7C", "|").replace("%25", "%")
}

/// A question's words without stop words or punctuation, lower case: what search uses.
fn meaningful_words(question: &str) -> String {
    question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !crate::search::query::is_stop_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(name: &str, options: &[(&'static str, &str)]) -> Command {
        Command::from_options(name, options.iter().map(|&(k, v)| (k, v.to_string()))).unwrap()
    }

    #[test]
    fn page_ids_round_trip_and_fit() {
        let id = PageId {
            also: None,
            owner: 123456789012345678,
            page: 2,
            command: command("salary", &[("level", "senior")]),
        };
        assert_eq!(PageId::parse(&id.encode().unwrap()), Some(id));

        let tricky = PageId {
            also: None,
            owner: 1,
            page: 0,
            command: command("certs", &[("provider", "a|b%7C")]),
        };
        assert_eq!(PageId::parse(&tricky.encode().unwrap()), Some(tricky));

        // A long question keeps its meaningful words, which search the same.
        let wordy = PageId {
            also: None,
            owner: u64::MAX,
            page: 99,
            command: Command::ask(
                "What are the MLOps tools, if any, that I should learn first for my job?",
            ),
        };
        let encoded = wordy.encode().unwrap();
        assert!(encoded.len() <= CUSTOM_ID_MAX, "{} chars", encoded.len());
        let parsed = PageId::parse(&encoded).unwrap().command;
        assert_eq!(parsed.question(), Some("mlops tools learn first job"));

        // What cannot fit whole gets no button at all.
        let long = PageId {
            also: None,
            owner: 1,
            page: 0,
            command: Command::ask(&"kubernetes ".repeat(12)),
        };
        assert_eq!(long.encode(), None);
        let long_topic = PageId {
            also: None,
            owner: 1,
            page: 0,
            command: command("faq", &[("topic", &"x|".repeat(40))]),
        };
        assert_eq!(long_topic.encode(), None);
    }

    #[tokio::test]
    async fn a_panicked_task_is_an_error_with_its_message() {
        let failed = with_deadline(
            || -> u32 { panic!("index file vanished") },
            Duration::ZERO,
            async {},
        )
        .await
        .unwrap_err();
        assert_eq!(failed.to_string(), "the task panicked: index file vanished");
        let slow = with_deadline(|| 7, Duration::from_secs(5), async {}).await;
        assert_eq!(slow.unwrap(), 7);
    }

    #[test]
    fn a_second_page_turner_round_trips() {
        let id = PageId {
            owner: 1,
            also: Some(u64::MAX),
            page: 3,
            command: Command::ask("senior salary india"),
        };
        assert_eq!(PageId::parse(&id.encode().unwrap()), Some(id));
        assert_eq!(PageId::parse("p1|1,x|0|ask|q"), None);
    }

    #[test]
    fn the_question_in_a_message_is_its_words() {
        let q = |t: &str| question_in_message(t, 40);
        assert_eq!(
            q("How much do <@123> seniors make? https://x.io/a `code` ```\nfn x() {}\n```"),
            Some("How much do seniors make?".into())
        );
        assert_eq!(
            q("https://example.com <:emoji:12> ```sql\nSELECT 1\n```"),
            None
        );
        assert_eq!(q("?? 42 !!"), None);
        assert_eq!(
            q("which mlops tools should a junior engineer learn before the interview"),
            Some("which mlops tools should a junior".into()),
            "cut at a word, within the limit"
        );
    }

    #[test]
    fn vote_ids_round_trip_and_reject_others() {
        for id in [
            VoteId {
                question: i64::MAX,
                up: true,
            },
            VoteId {
                question: 0,
                up: false,
            },
        ] {
            let encoded = id.encode();
            assert!(encoded.len() <= CUSTOM_ID_MAX);
            assert_eq!(VoteId::parse(&encoded), Some(id));
            assert_eq!(PageId::parse(&encoded), None, "not a page button");
        }
        for other in [
            "v1|up",
            "v1|meh|1",
            "v1|up|x",
            "v1|up|1|2",
            "p1|1|0|ask|q",
            "",
        ] {
            assert_eq!(VoteId::parse(other), None, "{other}");
        }
        let form = Form::looking_for(42);
        assert_eq!(Form::question_of(&form.custom_id), Some(42));
        assert_eq!(Form::question_of("v1|up|42"), None);
        assert!(form.title.chars().count() <= 45 && form.label.chars().count() <= 45);
    }

    #[test]
    fn foreign_custom_ids_are_rejected() {
        for id in [
            "",
            "p1",
            "p2|1|0|ask|x",
            "p1|x|0|ask|q",
            "p1|1|0|nope|q",
            "p1|1|0|ask|",
        ] {
            assert_eq!(PageId::parse(id), None, "{id}");
        }
    }
}
