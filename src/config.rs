//! Reads `config.toml`: where content and the index live, how answers and search behave,
//! the facet vocabulary, and the Discord, reload, ops and HTTP settings.
//!
//! Every table denies unknown keys so a typo is an error that names the key, not a setting
//! silently ignored. Paths are resolved against the config file's folder so the bot behaves
//! the same whatever directory it is started from. Secrets never live here: the token and
//! the public key come from the environment only.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The whole configuration, paths already resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder of Markdown guides and FAQs.
    pub data_dir: PathBuf,
    /// Folder for the index cache (rebuilt whenever it is stale).
    pub index_dir: PathBuf,
    pub answers: AnswersConfig,
    pub search: SearchConfig,
    /// Known values per facet, in display order. A facet with no table accepts any value.
    pub facets: FacetsConfig,
    pub discord: DiscordConfig,
    pub reload: ReloadConfig,
    pub ops: OpsConfig,
    pub http: HttpConfig,
    pub feedback: FeedbackConfig,
    pub database: DatabaseConfig,
    /// Suggestions on new forum posts (`[suggest]`).
    pub suggest: SuggestConfig,
}

/// Answers posted, unasked, on new threads of chosen channels (`[suggest]`). The floors were
/// measured on the public corpora of `quality/` (`cargo run --release --example quality --
/// --suggest`; README, "Forum suggestions"): change them with that report in hand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuggestConfig {
    /// Off unless turned on: it needs Discord's Message Content intent.
    pub enabled: bool,
    /// Forum (or text) channels whose new threads get a suggestion; no others ever do.
    pub channels: Vec<u64>,
    /// Lowest relevance of the best passage, ranking with meaning (a cosine, 0 to 1).
    pub min_score: f32,
    /// Lowest relevance of the best passage, ranking by words only (the share of the
    /// post's word weight the passage has, 0 to 1).
    pub min_score_words: f32,
    /// Passages in a suggestion, at most.
    pub results: usize,
}

impl Default for SuggestConfig {
    fn default() -> Self {
        SuggestConfig {
            enabled: false,
            channels: Vec::new(),
            min_score: 0.45,
            min_score_words: 0.55,
            results: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    /// Record every question (command, words, outcome, passages shown; member ids only as a
    /// keyed hash) for the content-gap report.
    pub enabled: bool,
    /// Recorded questions older than this are deleted, daily.
    pub retention_days: u32,
    /// Questions and votes waiting in memory for the database, at most (it is slow or
    /// down); beyond, new ones are dropped and counted.
    pub queue: usize,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            enabled: true,
            retention_days: 90,
            queue: crate::feedback::QUEUE,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// The SQLite file, created on first use (relative to this file's folder).
    pub path: PathBuf,
    /// A PostgreSQL URL instead (replicas sharing one store); `DATABASE_URL` wins. Keep a
    /// password out of this file: put the URL in `DATABASE_URL`.
    pub url: Option<String>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("careerbot.db"),
            url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnswersConfig {
    /// Passages per answer page.
    pub results: usize,
    /// Longest snippet shown for one passage, in characters.
    pub snippet_chars: usize,
    /// Where the content is published, e.g. `https://github.com/acme/guide/blob/main/data/`:
    /// each passage's source then links to this followed by its `path#anchor`.
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Groups of words or phrases that mean the same: asking for one finds the others.
    pub synonyms: Vec<Vec<String>>,
    /// One-way rewrites: the key is read as the value (`sr = "senior"`).
    pub abbreviations: BTreeMap<String, String>,
    /// Words at least this long may have one typo.
    pub one_typo_from: usize,
    /// Words at least this long may have two typos.
    pub two_typos_from: usize,
    /// How much each kind of match counts.
    pub weights: RankingWeights,
    /// The sentence-embedding model (`[search.semantic]`).
    pub semantic: SemanticConfig,
}

/// Semantic ranking's model (`[search.semantic]`). Without the model files careerbot answers
/// lexically; `careerbot model install` puts them in `model_dir`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SemanticConfig {
    /// Use the model when it is installed; `false` keeps answers lexical regardless.
    pub enabled: bool,
    /// Folder holding all-MiniLM-L6-v2's files (relative to the config file).
    pub model_dir: PathBuf,
    /// How the lexical and the semantic rankings are combined.
    pub fusion: Fusion,
    /// Lexical results that are candidates (the top N by words).
    pub candidates: usize,
    /// Of those, meaning reorders only results scoring at least this share of the best one by
    /// words; the rest keep their place by words, after them. A passage that shares a common
    /// word or two with the question is not one meaning should promote.
    pub candidate_share: f32,
    /// Passages nearest in meaning added as candidates (the top M by cosine).
    pub nearest: usize,
    /// `fusion = "blend"`: the share of meaning in the score (0 = words only, 1 = meaning only).
    pub meaning_weight: f32,
    /// Lowest cosine for a passage to be offered on meaning alone (a candidate no word
    /// matched, or the "closest in meaning" answer when no word matches at all).
    pub floor: f32,
}

/// How lexical and semantic rankings become one (`search.semantic.fusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fusion {
    /// Candidates ordered by cosine alone.
    Rerank,
    /// Reciprocal rank fusion of the two orders (k = 60).
    Rrf,
    /// A weighted sum of the two scores, each scaled to 0..1 over the candidates.
    Blend,
}

impl Default for SemanticConfig {
    fn default() -> Self {
        SemanticConfig {
            enabled: true,
            model_dir: PathBuf::from("models/all-MiniLM-L6-v2"),
            fusion: Fusion::Blend,
            candidates: 40,
            candidate_share: 0.3,
            nearest: 5,
            meaning_weight: 0.5,
            floor: 0.3,
        }
    }
}

/// How much each kind of match counts (`[search.weights]`). The defaults were chosen on the
/// public development corpora of `quality/` (README, "Search quality"): change them with
/// that report in hand, not by feel.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RankingWeights {
    /// The passage's own heading has the word exactly as typed.
    pub heading_exact: f32,
    /// The enclosing headings, the document's title or an alias have it.
    pub context: f32,
    /// The passage's text (or its heading, in any form) has it.
    pub body: f32,
    /// Two neighbouring words of the question stand near each other in the passage.
    pub phrase: f32,
    /// The heading, as written, has one of the question's stop words ("who", "how"):
    /// what makes a question heading ("Who's this for?") match the question.
    pub heading_stop_words: f32,
    /// A synonym or an abbreviation's expansion, against the word as typed (1.0).
    pub synonym: f32,
    /// A typo correction, against the word as typed (1.0).
    pub correction: f32,
    /// Multiplies the score (with meaning, the fused one) of passages from release notes,
    /// changelogs and blog posts (see [`crate::search::is_news`]): they repeat the docs'
    /// words about features as they were announced, and members ask how things work now.
    /// 1 turns it off.
    pub news: f32,
}

impl Default for RankingWeights {
    fn default() -> Self {
        RankingWeights {
            heading_exact: 1.0,
            context: 0.6,
            body: 1.0,
            phrase: 1.5,
            heading_stop_words: 1.0,
            synonym: 0.8,
            correction: 0.9,
            news: 0.6,
        }
    }
}

impl RankingWeights {
    fn validate(&self) -> Result<(), String> {
        let w = self;
        for (key, value) in [
            ("heading_exact", w.heading_exact),
            ("context", w.context),
            ("body", w.body),
            ("phrase", w.phrase),
            ("heading_stop_words", w.heading_stop_words),
            ("synonym", w.synonym),
            ("correction", w.correction),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(format!(
                    "search.weights.{key} must be between 0 and 100, not {value}"
                ));
            }
        }
        if !(0.0..=1.0).contains(&w.news) {
            return Err(format!(
                "search.weights.news must be between 0 and 1, not {}",
                w.news
            ));
        }
        if w.body + w.heading_exact + w.context == 0.0 {
            return Err("search.weights: at least one field weight must be above 0".into());
        }
        Ok(())
    }
}

/// One known facet value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FacetValueConfig {
    /// How the value is shown to users; defaults to the value itself.
    pub label: Option<String>,
    /// Other ways users write it (`google cloud` for `gcp`).
    pub aliases: Vec<String>,
}

pub type FacetVocabulary = IndexMap<String, FacetValueConfig>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FacetsConfig {
    pub topic: FacetVocabulary,
    pub levels: FacetVocabulary,
    pub regions: FacetVocabulary,
    pub providers: FacetVocabulary,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Register commands in these servers only (instant); empty registers globally.
    pub guild_ids: Vec<u64>,
    /// Point the REST client somewhere other than discord.com (tests, proxies).
    /// `DISCORD_API_BASE` in the environment wins over this.
    pub api_base: Option<String>,
    /// Seconds a member waits between public replies; replies inside the window are private.
    pub cooldown_seconds: u64,
    /// Commands whose replies are private unless the user passes `private: false`.
    pub private_commands: Vec<String>,
    /// Answer with a "thinking…" placeholder when an answer is not ready after this long.
    pub defer_after_ms: u64,
    /// Gateway sharding: `"auto"` or `{ total = 4, range = [0, 2] }`.
    pub shards: ShardsConfig,
    /// "Ask careerbot" on a message names its author in the answer; with this, the
    /// mention also notifies them.
    pub ping_author: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ShardsConfig {
    /// Discord recommends the count (`GET /gateway/bot`).
    #[default]
    Auto,
    /// This process runs shards `range.0 .. range.1` of `total`.
    Fixed { total: u32, range: (u32, u32) },
}

impl<'de> Deserialize<'de> for ShardsConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fixed {
            total: u32,
            range: Option<(u32, u32)>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Fixed(Fixed),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "auto" => Ok(ShardsConfig::Auto),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "shards must be \"auto\" or {{ total = N, range = [FIRST, END] }}, not {w:?}"
            ))),
            Raw::Fixed(f) => {
                let range = f.range.unwrap_or((0, f.total));
                if f.total == 0 || range.0 >= range.1 || range.1 > f.total {
                    return Err(serde::de::Error::custom(format!(
                        "shard range [{}, {}] must be non-empty and within total = {}",
                        range.0, range.1, f.total
                    )));
                }
                Ok(ShardsConfig::Fixed {
                    total: f.total,
                    range,
                })
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReloadConfig {
    /// Reload automatically when files in `data_dir` change.
    pub watch: bool,
    /// Quiet time after the last change before a watched reload starts.
    pub debounce_ms: u64,
    /// Discord permission that allows `/reload` (also sent as the command's default visibility).
    pub permission: String,
    /// Role IDs whose members may `/reload` even without the permission.
    pub moderator_roles: Vec<u64>,
    /// Channel that receives a line for every reload (the audit trail).
    pub log_channel: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Serve `/healthz` and `/metrics` here, in both modes; `"off"` serves neither. Keep it
    /// private: `/metrics` tells an outsider more than it should know.
    #[serde(deserialize_with = "listen_or_off")]
    pub listen: Option<SocketAddr>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
        }
    }
}

/// A socket address, or `"off"`.
fn listen_or_off<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not an address such as \"127.0.0.1:9464\" (or \"off\")"
        ))
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address for `careerbot http` when `--listen` is not given.
    pub listen: SocketAddr,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Signed requests whose timestamp is further than this from now are refused (replays).
    pub max_clock_skew_seconds: u64,
    /// A request's head (request line and headers) must arrive within this, counted from its
    /// first byte; a slower client is disconnected. Applies to the ops listener too.
    pub header_timeout_ms: u64,
    /// A request's body must arrive within this once its head has (408 otherwise).
    pub body_timeout_ms: u64,
    /// A connection with no request under way (new, or kept alive after a response) is
    /// closed after this.
    pub idle_timeout_ms: u64,
    /// Larger request heads are refused with 431.
    pub max_header_bytes: usize,
    /// Most connections open at once on the interactions listener; 0 derives it from the
    /// open-file limit (see README, "Running at scale"). Past it the oldest idle connections
    /// are closed first; requests under way are never cut.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            index_dir: PathBuf::from("index"),
            answers: AnswersConfig::default(),
            search: SearchConfig::default(),
            facets: FacetsConfig::default(),
            discord: DiscordConfig::default(),
            reload: ReloadConfig::default(),
            ops: OpsConfig::default(),
            http: HttpConfig::default(),
            feedback: FeedbackConfig::default(),
            database: DatabaseConfig::default(),
            suggest: SuggestConfig::default(),
        }
    }
}

impl Default for AnswersConfig {
    fn default() -> Self {
        AnswersConfig {
            results: 3,
            snippet_chars: 320,
            source_url: None,
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            synonyms: Vec::new(),
            abbreviations: BTreeMap::new(),
            one_typo_from: 5,
            two_typos_from: 9,
            weights: RankingWeights::default(),
            semantic: SemanticConfig::default(),
        }
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            guild_ids: Vec::new(),
            api_base: None,
            cooldown_seconds: 10,
            private_commands: vec!["help".into(), "reload".into()],
            defer_after_ms: 1500,
            shards: ShardsConfig::Auto,
            ping_author: false,
        }
    }
}

impl Default for ReloadConfig {
    fn default() -> Self {
        ReloadConfig {
            watch: false,
            debounce_ms: 500,
            permission: "MANAGE_GUILD".into(),
            moderator_roles: Vec::new(),
            log_channel: None,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 64 * 1024,
            max_clock_skew_seconds: 300,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            max_header_bytes: 16 * 1024,
            max_connections: 0,
        }
    }
}

impl SearchConfig {
    /// How many typos a search word may carry, by its length (see [`TypoPolicy::SEARCH`]).
    pub fn typos(&self) -> crate::typos::TypoPolicy {
        crate::typos::TypoPolicy::new(self.one_typo_from, self.two_typos_from)
    }
}

impl Config {
    /// Parses config text; relative paths are resolved against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.data_dir = base_dir.join(&config.data_dir);
        config.index_dir = base_dir.join(&config.index_dir);
        config.search.semantic.model_dir = base_dir.join(&config.search.semantic.model_dir);
        config.database.path = base_dir.join(&config.database.path);
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// The built-in defaults, paths relative to `base_dir`; used when no config file exists.
    pub fn default_in(base_dir: &Path) -> Config {
        let mut config = Config::default();
        config.data_dir = base_dir.join(&config.data_dir);
        config.index_dir = base_dir.join(&config.index_dir);
        config.search.semantic.model_dir = base_dir.join(&config.search.semantic.model_dir);
        config.database.path = base_dir.join(&config.database.path);
        config
    }

    /// Rules serde cannot express.
    fn validate(&self) -> Result<(), String> {
        if self.answers.results == 0 || self.answers.results > 10 {
            return Err("answers.results must be between 1 and 10".into());
        }
        if let Some(url) = &self.answers.source_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
                return Err(format!(
                    "answers.source_url must be an http(s) address without spaces, not {url:?}"
                ));
            }
        }
        if self.answers.snippet_chars < 40 {
            return Err("answers.snippet_chars must be at least 40".into());
        }
        if self.search.one_typo_from < 2 || self.search.two_typos_from < self.search.one_typo_from {
            return Err(
                "search.one_typo_from must be at least 2 and two_typos_from at least one_typo_from"
                    .into(),
            );
        }
        self.search.weights.validate()?;
        let semantic = &self.search.semantic;
        if !(0.0..=1.0).contains(&semantic.meaning_weight) {
            return Err("search.semantic.meaning_weight must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&semantic.candidate_share) {
            return Err("search.semantic.candidate_share must be between 0 and 1".into());
        }
        if !(-1.0..=1.0).contains(&semantic.floor) {
            return Err("search.semantic.floor is a cosine: between -1 and 1".into());
        }
        if semantic.candidates == 0 || semantic.candidates > 1000 || semantic.nearest > 1000 {
            return Err(
                "search.semantic.candidates must be between 1 and 1000, nearest at most 1000"
                    .into(),
            );
        }
        for group in &self.search.synonyms {
            if group.len() < 2 {
                return Err(format!(
                    "search.synonyms: the group {group:?} needs at least two entries"
                ));
            }
        }
        let suggest = &self.suggest;
        for (key, value) in [
            ("min_score", suggest.min_score),
            ("min_score_words", suggest.min_score_words),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!(
                    "suggest.{key} must be between 0 and 1, not {value}"
                ));
            }
        }
        if suggest.results == 0 || suggest.results > 3 {
            return Err("suggest.results must be between 1 and 3".into());
        }
        if suggest.enabled && suggest.channels.is_empty() {
            return Err(
                "suggest.enabled is true but suggest.channels is empty: list the forum channels to watch (right-click › Copy Channel ID)"
                    .into(),
            );
        }
        if self.discord.defer_after_ms > 2500 {
            return Err(
                "discord.defer_after_ms must be at most 2500: Discord drops interactions not answered within 3 s"
                    .into(),
            );
        }
        for name in &self.discord.private_commands {
            if crate::registry::find(name).is_none() {
                let known: Vec<&str> = crate::registry::all().map(|c| c.name).collect();
                return Err(format!(
                    "discord.private_commands: there is no command {name:?} (commands: {})",
                    known.join(", ")
                ));
            }
        }
        if self.feedback.queue == 0 {
            return Err("feedback.queue must be at least 1 (set feedback.enabled = false to record nothing)".into());
        }
        if self.feedback.retention_days == 0 {
            return Err("feedback.retention_days must be at least 1 (set feedback.enabled = false to record nothing)".into());
        }
        let http = &self.http;
        if [
            http.header_timeout_ms,
            http.body_timeout_ms,
            http.idle_timeout_ms,
        ]
        .contains(&0)
        {
            return Err("http.header_timeout_ms, body_timeout_ms and idle_timeout_ms must be above 0: a connection without a deadline is one an attacker can hold forever".into());
        }
        if http.max_header_bytes < 1024 {
            return Err("http.max_header_bytes must be at least 1024: Discord's own headers need about 1 KiB".into());
        }
        if permission_bits(&self.reload.permission).is_none() {
            return Err(format!(
                "reload.permission: unknown Discord permission {:?} (use names such as MANAGE_GUILD)",
                self.reload.permission
            ));
        }
        Ok(())
    }
}

/// Discord's permission flags by the names its documentation gives them,
/// so the config is checked without the Discord client.
pub const DISCORD_PERMISSIONS: &[(&str, u64)] = &[
    ("CREATE_INSTANT_INVITE", 1 << 0),
    ("KICK_MEMBERS", 1 << 1),
    ("BAN_MEMBERS", 1 << 2),
    ("ADMINISTRATOR", 1 << 3),
    ("MANAGE_CHANNELS", 1 << 4),
    ("MANAGE_GUILD", 1 << 5),
    ("ADD_REACTIONS", 1 << 6),
    ("VIEW_AUDIT_LOG", 1 << 7),
    ("PRIORITY_SPEAKER", 1 << 8),
    ("STREAM", 1 << 9),
    ("VIEW_CHANNEL", 1 << 10),
    ("SEND_MESSAGES", 1 << 11),
    ("SEND_TTS_MESSAGES", 1 << 12),
    ("MANAGE_MESSAGES", 1 << 13),
    ("EMBED_LINKS", 1 << 14),
    ("ATTACH_FILES", 1 << 15),
    ("READ_MESSAGE_HISTORY", 1 << 16),
    ("MENTION_EVERYONE", 1 << 17),
    ("USE_EXTERNAL_EMOJIS", 1 << 18),
    ("VIEW_GUILD_INSIGHTS", 1 << 19),
    ("CONNECT", 1 << 20),
    ("SPEAK", 1 << 21),
    ("MUTE_MEMBERS", 1 << 22),
    ("DEAFEN_MEMBERS", 1 << 23),
    ("MOVE_MEMBERS", 1 << 24),
    ("USE_VAD", 1 << 25),
    ("CHANGE_NICKNAME", 1 << 26),
    ("MANAGE_NICKNAMES", 1 << 27),
    ("MANAGE_ROLES", 1 << 28),
    ("MANAGE_WEBHOOKS", 1 << 29),
    ("MANAGE_GUILD_EXPRESSIONS", 1 << 30),
    ("MANAGE_EMOJIS_AND_STICKERS", 1 << 30),
    ("USE_APPLICATION_COMMANDS", 1 << 31),
    ("REQUEST_TO_SPEAK", 1 << 32),
    ("MANAGE_EVENTS", 1 << 33),
    ("MANAGE_THREADS", 1 << 34),
    ("CREATE_PUBLIC_THREADS", 1 << 35),
    ("CREATE_PRIVATE_THREADS", 1 << 36),
    ("USE_EXTERNAL_STICKERS", 1 << 37),
    ("SEND_MESSAGES_IN_THREADS", 1 << 38),
    ("USE_EMBEDDED_ACTIVITIES", 1 << 39),
    ("MODERATE_MEMBERS", 1 << 40),
    ("VIEW_CREATOR_MONETIZATION_ANALYTICS", 1 << 41),
    ("USE_SOUNDBOARD", 1 << 42),
    ("CREATE_GUILD_EXPRESSIONS", 1 << 43),
    ("CREATE_EVENTS", 1 << 44),
    ("USE_EXTERNAL_SOUNDS", 1 << 45),
    ("SEND_VOICE_MESSAGES", 1 << 46),
    ("SET_VOICE_CHANNEL_STATUS", 1 << 48),
    ("SEND_POLLS", 1 << 49),
    ("USE_EXTERNAL_APPS", 1 << 50),
];

/// The bit of a Discord permission by name (`MANAGE_GUILD`), `None` if Discord has none.
pub fn permission_bits(name: &str) -> Option<u64> {
    DISCORD_PERMISSIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, bits)| bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_auto_and_ranges() {
        let c = Config::parse("[discord]\nshards = \"auto\"\n", Path::new(".")).unwrap();
        assert_eq!(c.discord.shards, ShardsConfig::Auto);
        let c = Config::parse(
            "[discord]\nshards = { total = 8, range = [2, 4] }\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            c.discord.shards,
            ShardsConfig::Fixed {
                total: 8,
                range: (2, 4)
            }
        );
        let c = Config::parse("[discord]\nshards = { total = 3 }\n", Path::new(".")).unwrap();
        assert_eq!(
            c.discord.shards,
            ShardsConfig::Fixed {
                total: 3,
                range: (0, 3)
            }
        );
        for bad in [
            "shards = \"many\"",
            "shards = { total = 2, range = [2, 4] }",
            "shards = { total = 0 }",
            "shards = { total = 2, extra = 1 }",
        ] {
            assert!(
                Config::parse(&format!("[discord]\n{bad}\n"), Path::new(".")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_named_and_paths_are_relative_to_the_file() {
        let err = Config::parse("[answers]\nresult = 3\n", Path::new(".")).unwrap_err();
        assert!(err.contains("unknown field `result`"), "{err}");
        let err = Config::parse(
            "[reload]\npermission = \"MANAGE_EVERYTHING\"\n",
            Path::new("."),
        )
        .unwrap_err();
        assert!(err.contains("unknown Discord permission"), "{err}");
        let err = Config::parse(
            "[discord]\nprivate_commands = [\"salaries\"]\n",
            Path::new("."),
        )
        .unwrap_err();
        assert!(err.contains("there is no command \"salaries\""), "{err}");
        let c = Config::parse("data_dir = \"guides\"\n", Path::new("/srv/bot")).unwrap();
        assert_eq!(c.data_dir, Path::new("/srv/bot/guides"));
        assert_eq!(c.index_dir, Path::new("/srv/bot/index"));
    }

    #[test]
    fn semantic_defaults_to_on_with_the_model_beside_the_config() {
        let c = Config::parse("", Path::new("/srv/bot")).unwrap();
        assert!(c.search.semantic.enabled);
        assert_eq!(
            c.search.semantic.model_dir,
            Path::new("/srv/bot/models/all-MiniLM-L6-v2")
        );
        let c = Config::parse(
            "[search.semantic]\nenabled = false\nmodel_dir = \"/opt/minilm\"\n",
            Path::new("/srv/bot"),
        )
        .unwrap();
        assert!(!c.search.semantic.enabled);
        assert_eq!(c.search.semantic.model_dir, Path::new("/opt/minilm"));
        let err = Config::parse("[search.semantic]\nmodel = \"x\"\n", Path::new(".")).unwrap_err();
        assert!(err.contains("unknown field `model`"), "{err}");
    }

    #[test]
    fn the_shipped_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.answers.results, 3);
        assert!(c.facets.providers.contains_key("gcp"));
        // Facet order is the file's order (it is the display order).
        assert_eq!(
            c.facets.levels.keys().next().map(String::as_str),
            Some("junior")
        );
    }

    #[test]
    fn operations_are_private_by_default_and_can_be_turned_off() {
        let c = Config::parse("", Path::new(".")).unwrap();
        assert_eq!(c.ops.listen, Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        let c = Config::parse("[ops]\nlisten = \"off\"\n", Path::new(".")).unwrap();
        assert_eq!(c.ops.listen, None);
        let err = Config::parse("[ops]\nlisten = \"9464\"\n", Path::new(".")).unwrap_err();
        assert!(err.contains("\"9464\" is not an address"), "{err}");
    }

    #[test]
    fn every_connection_has_a_deadline() {
        let err = Config::parse("[http]\nidle_timeout_ms = 0\n", Path::new(".")).unwrap_err();
        assert!(err.contains("must be above 0"), "{err}");
        let err = Config::parse("[http]\nmax_header_bytes = 10\n", Path::new(".")).unwrap_err();
        assert!(err.contains("max_header_bytes"), "{err}");
    }

    #[test]
    fn suggestions_are_off_by_default_and_need_a_channel_to_watch() {
        let c = Config::parse("", Path::new(".")).unwrap();
        assert!(!c.suggest.enabled);
        assert_eq!(
            (c.suggest.min_score, c.suggest.min_score_words),
            (0.45, 0.55)
        );
        let err = Config::parse("[suggest]\nenabled = true\n", Path::new(".")).unwrap_err();
        assert!(err.contains("suggest.channels is empty"), "{err}");
        let err = Config::parse("[suggest]\nmin_score = 1.5\n", Path::new(".")).unwrap_err();
        assert!(
            err.contains("suggest.min_score must be between 0 and 1"),
            "{err}"
        );
        let err = Config::parse("[suggest]\nresults = 5\n", Path::new(".")).unwrap_err();
        assert!(err.contains("suggest.results"), "{err}");
    }

    #[test]
    fn source_links_need_a_web_address() {
        let c = Config::parse(
            "[answers]\nsource_url = \"https://github.com/acme/guide/blob/main/data/\"\n",
            Path::new("."),
        )
        .unwrap();
        assert!(c.answers.source_url.is_some());
        let err = Config::parse("[answers]\nsource_url = \"data/\"\n", Path::new(".")).unwrap_err();
        assert!(
            err.contains("answers.source_url must be an http(s) address"),
            "{err}"
        );
    }
}
