//! Answer stage: one function turns a [`Command`] into a plain [`Answer`], the same for the
//! terminal, Discord's gateway and the HTTP endpoint.
//!
//! Facet commands (`/salary`, `/certs`, `/levels`, `/faq`) filter by facets and rank within;
//! `/ask` searches everything. A facet value we have no passage for is answered with an
//! honest "no data" and what we do have, never with the nearest guess.

use serde::Serialize;

use crate::config::AnswersConfig;
use crate::content::{Facet, Resolved, Vocabulary};
use crate::registry::{self, Action, CommandDef, FacetCommand, OptionKind};
use crate::search::{Engine, Filter, Hit, SearchError, SearchRequest};

/// A request in structured form: a command of the [registry](crate::registry) and the
/// values of its word options, in option order (switches such as `private` are not part of
/// it: they change how an answer is shown, not what it says). Built only through
/// [`Command::from_options`] and [`Command::from_words`], so it always fits its command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command {
    name: &'static str,
    values: Vec<Option<String>>,
}

/// Mistakes the user can fix; shown to them as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("there is no command `/{name}`{}. Try /help.", suggestion.as_ref().map(|s| format!(" (did you mean `/{s}`?)")).unwrap_or_default())]
    UnknownCommand {
        name: String,
        suggestion: Option<String>,
    },
    #[error("`/{command}` has no option `{option}`; its options are: {options}")]
    UnknownOption {
        command: String,
        option: String,
        options: String,
    },
    #[error("ask me a question, for example `/ask which MLOps tools should I learn first`")]
    EmptyQuestion,
    #[error("`/{command}` needs `{option}`")]
    MissingOption {
        command: &'static str,
        option: &'static str,
    },
    /// A moderators' command asked of the terminal: what to run there instead.
    #[error("{0}")]
    NotAnAnswer(&'static str),
    /// An option that must be a whole number in a range.
    #[error("`{option}` must be a whole number from 1 to {max}")]
    NotANumber { option: &'static str, max: u32 },
    /// `for` names a bot.
    #[error("I address answers to people, and {0} is a bot. Ask without `for`, or pick a member.")]
    ForABot(String),
    /// `for` names a member who cannot see the channel.
    #[error("{0} cannot see this channel, so an answer for them here would not reach them. Ask where they can read it.")]
    ForSomeoneElsewhere(String),
    /// A message command on a message with no words to answer.
    #[error("that message has no question I can read: I answer its words, not links, code or attachments. Try `/ask` with the question instead.")]
    NoQuestionInMessage,
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Search(#[from] SearchError),
}

impl Command {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its registry entry.
    pub fn def(&self) -> &'static CommandDef {
        registry::find(self.name).expect("commands are built from registry entries")
    }

    /// Word option values in declaration order (`None` where not given).
    pub fn args(&self) -> Vec<Option<&str>> {
        self.values.iter().map(Option::as_deref).collect()
    }

    /// The value of one word option.
    pub fn value(&self, option: &str) -> Option<&str> {
        let i = self.def().word_options().position(|o| o.name == option)?;
        self.values[i].as_deref()
    }

    /// `/ask question`: the question, or `None` for other commands.
    pub fn question(&self) -> Option<&str> {
        (self.def().action == Action::Ask).then(|| self.value("question"))?
    }

    /// Builds a command from its name and word option values by option name; blank values
    /// count as not given. Used by the terminal, Discord and paging ids alike.
    pub fn from_options<'a>(
        name: &str,
        options: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<Command, UserError> {
        let Some(def) = registry::find(name) else {
            return Err(UserError::UnknownCommand {
                name: name.to_string(),
                suggestion: crate::content::diagnostic::did_you_mean(
                    name,
                    registry::all().map(|c| c.name),
                )
                .map(str::to_string),
            });
        };
        let names: Vec<&str> = def.word_options().map(|o| o.name).collect();
        let mut values: Vec<Option<String>> = vec![None; names.len()];
        for (key, value) in options {
            let Some(i) = names.iter().position(|o| *o == key) else {
                return Err(UserError::UnknownOption {
                    command: def.name.to_string(),
                    option: key.to_string(),
                    options: names.join(", "),
                });
            };
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            values[i] = (!value.is_empty()).then_some(value);
        }
        for (option, value) in def.word_options().zip(&values) {
            if option.required && value.is_none() {
                return Err(match def.action {
                    Action::Ask => UserError::EmptyQuestion,
                    _ => UserError::MissingOption {
                        command: def.name,
                        option: option.name,
                    },
                });
            }
        }
        Ok(Command {
            name: def.name,
            values,
        })
    }

    /// Parses terminal words: `/salary senior india`, `/certs google cloud`,
    /// `/salary region:india`, or a bare question (read as `/ask`). Positional words fill
    /// the word options in order, the last option taking all remaining words; `option:value`
    /// names one, except in free text (a question keeps its colons).
    pub fn from_words(words: &[String]) -> Result<Command, UserError> {
        let words: Vec<&str> = words.iter().flat_map(|w| w.split_whitespace()).collect();
        let (name, rest) = match words.split_first() {
            Some((first, rest)) if first.starts_with('/') => (first.trim_start_matches('/'), rest),
            Some((first, rest)) if registry::find(first).is_some() => (*first, rest),
            Some(_) => ("ask", &words[..]),
            None => ("help", &words[..]),
        };
        let name = name.to_lowercase();
        let def = registry::find(&name);
        let option_names: Vec<&str> = def
            .map(|d| d.word_options().map(|o| o.name).collect())
            .unwrap_or_default();
        let free_text = def.is_some_and(|d| {
            d.word_options()
                .any(|o| matches!(o.kind, OptionKind::Text { .. }))
        });
        let mut named: Vec<(&str, String)> = Vec::new();
        let mut positional: Vec<&str> = Vec::new();
        for w in rest {
            match w.split_once(':') {
                Some((k, v)) if !free_text && option_names.contains(&k) && !v.is_empty() => {
                    named.push((k, v.to_string()));
                }
                _ => positional.push(w),
            }
        }
        let free: Vec<&str> = option_names
            .iter()
            .copied()
            .filter(|o| !named.iter().any(|(n, _)| n == o))
            .collect();
        let mut options = named;
        for (i, option) in free.iter().enumerate() {
            if positional.is_empty() {
                break;
            }
            let value = if i + 1 == free.len() {
                std::mem::take(&mut positional).join(" ")
            } else {
                positional.remove(0).to_string()
            };
            options.push((option, value));
        }
        Command::from_options(&name, options)
    }

    /// How the command reads when typed: `/salary senior india`.
    pub fn display(&self) -> String {
        let mut s = format!("/{}", self.name);
        for a in self.values.iter().flatten() {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    /// `/ask {question}`, for code and tests that ask directly.
    pub fn ask(question: &str) -> Command {
        Command {
            name: "ask",
            values: vec![Some(question.to_string())],
        }
    }
}

/// A command and the page of results wanted (0-based).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    pub command: Command,
    pub page: usize,
}

impl Request {
    pub fn new(command: Command) -> Request {
        Request { command, page: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Passages answer it.
    Found,
    /// We hold nothing for the requested facet values; `available` says what we do hold.
    NoData,
    /// Free text matched nothing.
    NotFound,
    /// The `/help` overview.
    Help,
}

/// What the bot says, before any formatting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub command: Command,
    /// A short title: "Salary · Senior · India".
    pub heading: String,
    pub outcome: Outcome,
    /// Sentences shown above the results: corrections, how options were read, no data.
    pub notes: Vec<String>,
    pub results: Vec<Hit>,
    /// Matching passages in all, when known (see [`crate::search::SearchResults`]).
    pub total: Option<usize>,
    /// Another page follows.
    pub has_more: bool,
    pub page: usize,
    pub per_page: usize,
    /// What we do have, when `outcome` is `NoData`.
    pub available: Vec<String>,
    /// "Did you mean" spellings, when `outcome` is `NotFound`.
    pub suggestions: Vec<String>,
    pub help: Option<HelpInfo>,
    pub content_version: String,
}

impl Answer {
    /// Pages in all, when the total is known.
    pub fn pages(&self) -> Option<usize> {
        self.total.map(|t| t.div_ceil(self.per_page.max(1)))
    }

    /// Whether the answer spans more than one page.
    pub fn is_paged(&self) -> bool {
        self.page > 0 || self.has_more
    }
}

/// What the bot knows, for `/help`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelpInfo {
    pub passages: usize,
    /// Answers are ranked by meaning as well as words (the embedding model is in use).
    pub semantic: bool,
    /// Per facet: labels of the values some passage has, in vocabulary order.
    pub facets: Vec<(Facet, Vec<String>)>,
    /// Questions are recorded, and kept this many days (set by the service that records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_days: Option<u32>,
    /// New forum posts in some channels get a suggestion (and are recorded with it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suggests: bool,
}

impl serde::Serialize for Command {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

/// Answers one request from `engine`: the handler of the command's [`Action`].
pub fn answer(
    engine: &Engine,
    vocabulary: &Vocabulary,
    config: &AnswersConfig,
    request: &Request,
) -> Result<Answer, AnswerError> {
    let per_page = config.results;
    let mut answer = Answer {
        command: request.command.clone(),
        heading: String::new(),
        outcome: Outcome::Found,
        notes: Vec::new(),
        results: Vec::new(),
        total: None,
        has_more: false,
        page: request.page,
        per_page,
        available: Vec::new(),
        suggestions: Vec::new(),
        help: None,
        content_version: engine.manifest().content_version.clone(),
    };
    let offset = request.page.saturating_mul(per_page);
    let def = request.command.def();
    match &def.action {
        Action::Help => {
            answer.heading = "What I can answer".into();
            answer.outcome = Outcome::Help;
            answer.help = Some(help_info(engine, vocabulary));
        }
        Action::Ask => {
            let question = request.command.value("question").unwrap_or_default();
            ask(engine, vocabulary, question, offset, &mut answer)?;
        }
        Action::Facets(spec) => {
            let page = Page { offset, per_page };
            faceted(engine, vocabulary, def, spec, request, page, &mut answer)?;
        }
        Action::Reload => return Err(UserError::NotAnAnswer("`/reload` is for moderators in Discord; from a terminal, `careerbot index` rebuilds the index and SIGHUP reloads a running bot").into()),
        Action::Gaps => return Err(UserError::NotAnAnswer("`/gaps` is for moderators in Discord; from a terminal, `careerbot gaps` prints the same report").into()),
    }
    if let Some(base) = &config.source_url {
        for hit in &mut answer.results {
            hit.link = Some(link(base, &hit.location));
        }
    }
    Ok(answer)
}

/// `base` followed by a passage's `path#anchor`, characters a URL cannot hold escaped.
pub fn link(base: &str, location: &str) -> String {
    let mut url = base.to_string();
    if !url.ends_with('/') {
        url.push('/');
    }
    for c in location.chars() {
        match c {
            ' ' => url.push_str("%20"),
            '(' => url.push_str("%28"),
            ')' => url.push_str("%29"),
            '<' => url.push_str("%3C"),
            '>' => url.push_str("%3E"),
            c => url.push(c),
        }
    }
    url
}

/// `/ask`: the whole guide, ranked for the question.
fn ask(
    engine: &Engine,
    vocabulary: &Vocabulary,
    question: &str,
    offset: usize,
    answer: &mut Answer,
) -> Result<(), AnswerError> {
    answer.heading = question.to_string();
    // Facet values named in the question (`google cloud`, `senior`) lift the passages
    // filed under them, so free text benefits from the structure too.
    let mut boost = Filter::default();
    for (facet, id) in vocabulary.mentions(question) {
        match boost.facets.iter_mut().find(|(f, _)| *f == facet) {
            Some((_, ids)) => ids.push(id),
            None => boost.facets.push((facet, vec![id])),
        }
    }
    let results = engine.search(&SearchRequest {
        text: question,
        filter: Filter::default(),
        boost,
        require_text: false,
        offset,
        limit: answer.per_page,
    })?;
    note_corrections(&mut answer.notes, &results.analysis.corrections);
    note_closest(&mut answer.notes, &results);
    if results.hits.is_empty() && answer.page == 0 {
        answer.outcome = Outcome::NotFound;
        answer.suggestions = note_absent(engine, &mut answer.notes, &results.analysis)?;
        if results.analysis.is_empty()
            && results.analysis.unknown.is_empty()
            && results.analysis.absent.is_empty()
        {
            answer
                .notes
                .push("Ask with a few keywords, for example `/ask mlops tools`.".into());
        }
    }
    take(answer, results);
    Ok(())
}

/// Where a page starts, and how many results it holds.
#[derive(Debug, Clone, Copy)]
struct Page {
    offset: usize,
    per_page: usize,
}

/// Only the passages of a facet command's topic.
fn topic_filter(spec: &FacetCommand) -> Filter {
    Filter {
        facets: vec![(Facet::Topic, vec![spec.topic.to_string()])],
    }
}

/// A facet command: option words that name facet values filter; other words are searched,
/// first within the command's topic and those values, then in the whole guide. "No data"
/// is said only of known values no passage carries.
fn faceted(
    engine: &Engine,
    vocabulary: &Vocabulary,
    def: &CommandDef,
    spec: &FacetCommand,
    request: &Request,
    page: Page,
    answer: &mut Answer,
) -> Result<(), AnswerError> {
    let facets = def.facets();
    let args: Vec<(Facet, &str)> = facets
        .iter()
        .copied()
        .zip(request.command.args())
        .filter_map(|(f, a)| a.map(|a| (f, a)))
        .collect();
    let (values, words) = resolve_args(engine, vocabulary, &facets, &args, &mut answer.notes)?;
    let labels: Vec<String> = values
        .iter()
        .map(|(f, id)| vocabulary.label(*f, id).to_string())
        .collect();
    answer.heading = std::iter::once(spec.title.to_string())
        .chain(labels.iter().cloned())
        .chain(words.iter().cloned())
        .collect::<Vec<_>>()
        .join(" · ");
    let scope = FacetScope {
        engine,
        vocabulary,
        spec,
        filter: value_filter(spec, &values),
        facets,
        has_values: !values.is_empty(),
        labels,
        page,
    };
    if words.is_empty() {
        return scope.values_only(answer);
    }
    let words = words.join(" ");
    if scope.words_in_scope(&words, answer)? {
        return Ok(());
    }
    scope.words_everywhere(&words, answer)
}

/// The command's topic and the values named: the command's own topic stays a separate
/// clause, so `/faq tools` is FAQ *and* tools.
fn value_filter(spec: &FacetCommand, values: &[(Facet, String)]) -> Filter {
    let mut filter = topic_filter(spec);
    for (facet, id) in values {
        match filter.facets.iter_mut().skip(1).find(|(f, _)| f == facet) {
            Some((_, ids)) => ids.push(id.clone()),
            None => filter.facets.push((*facet, vec![id.clone()])),
        }
    }
    filter
}

/// What a facet command covers once its options are read.
struct FacetScope<'a> {
    engine: &'a Engine,
    vocabulary: &'a Vocabulary,
    spec: &'a FacetCommand,
    /// The topic and the values named.
    filter: Filter,
    facets: Vec<Facet>,
    has_values: bool,
    /// The values' labels: "Senior", "India".
    labels: Vec<String>,
    page: Page,
}

impl FacetScope<'_> {
    fn search(
        &self,
        text: &str,
        filter: &Filter,
        require_text: bool,
    ) -> Result<crate::search::SearchResults, SearchError> {
        self.engine.search(&SearchRequest {
            text,
            filter: filter.clone(),
            boost: Filter::default(),
            require_text,
            offset: self.page.offset,
            limit: self.page.per_page,
        })
    }

    /// Values only: their passages, or "no data" with what we do have.
    fn values_only(&self, answer: &mut Answer) -> Result<(), AnswerError> {
        // The labels double as words to rank by: "Senior" and "India" in the text count.
        let results = self.search(&self.labels.join(" "), &self.filter, false)?;
        if results.total != Some(0) || self.page.offset > 0 {
            take(answer, results);
        } else {
            self.no_data(answer);
        }
        Ok(())
    }

    /// The words within the topic and values; `true` when that answered. Values with no
    /// passage at all are "no data", said before looking further.
    fn words_in_scope(&self, words: &str, answer: &mut Answer) -> Result<bool, AnswerError> {
        // Counted by the index (a filter-only search), not by scanning every passage.
        let values_have_data =
            !self.has_values || self.search("", &self.filter, false)?.total != Some(0);
        if !values_have_data {
            self.no_data(answer);
            return Ok(false);
        }
        let results = self.search(words, &self.filter, true)?;
        if results.total == Some(0) || (results.total.is_none() && results.hits.is_empty()) {
            return Ok(false);
        }
        note_corrections(&mut answer.notes, &results.analysis.corrections);
        if results.closest {
            answer.notes.push(format!(
                "No passage in {} uses these words; the closest in meaning:",
                self.scope()
            ));
        }
        take(answer, results);
        Ok(true)
    }

    /// Nothing under the command's topic has the words: the whole guide, saying so.
    fn words_everywhere(&self, words: &str, answer: &mut Answer) -> Result<(), AnswerError> {
        let results = self.search(words, &Filter::default(), false)?;
        note_corrections(&mut answer.notes, &results.analysis.corrections);
        if results.hits.is_empty() && self.page.offset == 0 {
            answer.outcome = Outcome::NotFound;
            answer.suggestions = note_absent(self.engine, &mut answer.notes, &results.analysis)?;
            return Ok(());
        }
        let scope = self.scope();
        answer.notes.push(if results.closest {
            format!("Nothing in {scope} mentions `{words}`, and no passage uses these words; the closest in meaning:")
        } else {
            format!("Nothing in {scope} mentions `{words}`; showing matches from the whole guide.")
        });
        answer.outcome = Outcome::Found;
        take(answer, results);
        Ok(())
    }

    fn no_data(&self, answer: &mut Answer) {
        no_data(
            self.engine,
            self.vocabulary,
            self.spec,
            &self.facets,
            &self.labels,
            answer,
        );
    }

    /// What the command covered: "Salary for Senior in India".
    fn scope(&self) -> String {
        scope(self.spec, &self.labels)
    }
}

/// What a facet command covered: "Salary for Senior in India".
fn scope(spec: &FacetCommand, labels: &[String]) -> String {
    match labels.is_empty() {
        true => spec.title.to_string(),
        false => format!("{} for {}", spec.title, labels.join(" in ")),
    }
}

fn take(answer: &mut Answer, results: crate::search::SearchResults) {
    answer.total = results.total;
    answer.has_more = results.has_more;
    answer.results = results.hits;
}

/// "We have no salary data for Junior in United States", and what we do have.
fn no_data(
    engine: &Engine,
    vocabulary: &Vocabulary,
    spec: &FacetCommand,
    facets: &[Facet],
    labels: &[String],
    answer: &mut Answer,
) {
    answer.outcome = Outcome::NoData;
    answer.notes.push(if labels.is_empty() {
        format!("We have no {} yet.", spec.what)
    } else {
        format!("We have no {} for {}.", spec.what, labels.join(" in "))
    });
    answer.available = engine
        .catalog()
        .combinations(facets, &topic_filter(spec))
        .into_iter()
        .filter_map(|combo| {
            let parts: Vec<String> = combo
                .iter()
                // `/faq` lists the topics its answers cover, not "FAQ" itself.
                .filter(|(f, v)| !(*f == Facet::Topic && v == spec.topic))
                .map(|(f, v)| vocabulary.label(*f, v).to_string())
                .collect();
            (!parts.is_empty()).then(|| parts.join(" · "))
        })
        .fold(Vec::new(), |mut out, s| {
            if !out.contains(&s) {
                out.push(s);
            }
            out
        });
}

/// Option values read as facet values, and the words left to search for.
type ReadArgs = (Vec<(Facet, String)>, Vec<String>);

/// Splits option values into facet values and free words. Each value is read by its
/// option's facet, then by the command's other facets (`/salary india` means the region);
/// a multi-word value word by word (longest known phrase first: `google cloud`); a word
/// that is no value, no word of the guide and no English word by a close spelling of a
/// value (noted, so the user sees how it was read). Everything else is a word to search.
fn resolve_args(
    engine: &Engine,
    vocabulary: &Vocabulary,
    facets: &[Facet],
    args: &[(Facet, &str)],
    notes: &mut Vec<String>,
) -> Result<ReadArgs, SearchError> {
    // An open facet (no vocabulary) takes any value, but only values some passage carries
    // count as one: any other word is a word to search for.
    let exact = |facet: Facet, text: &str| match vocabulary.resolve(facet, text) {
        Resolved::Known(id)
            if vocabulary.is_closed(facet)
                || engine
                    .catalog()
                    .present(facet, None)
                    .iter()
                    .any(|(v, _)| *v == id) =>
        {
            Some(id)
        }
        _ => None,
    };
    let others =
        |own: Facet| std::iter::once(own).chain(facets.iter().copied().filter(move |f| *f != own));
    let mut values = Vec::new();
    let mut words = Vec::new();
    for &(own, text) in args {
        if let Some(found) = others(own).find_map(|f| exact(f, text).map(|id| (f, id))) {
            values.push(found);
            continue;
        }
        // Quotes, emoji and direction marks around a word are not part of it.
        let ws: Vec<&str> = text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        let mut i = 0;
        while i < ws.len() {
            let phrase = (1..=3.min(ws.len() - i)).rev().find_map(|n| {
                let phrase = ws[i..i + n].join(" ");
                others(own)
                    .find_map(|f| exact(f, &phrase).map(|id| (f, id)))
                    .map(|v| (n, v))
            });
            if let Some((n, value)) = phrase {
                values.push(value);
                i += n;
                continue;
            }
            let word = ws[i];
            i += 1;
            let close = if engine.is_correctable(word)? {
                others(own).find_map(|f| match vocabulary.resolve(f, word) {
                    Resolved::Unknown { closest: Some(c) } => Some((f, c)),
                    _ => None,
                })
            } else {
                None
            };
            match close {
                Some((f, id)) => {
                    notes.push(format!(
                        "Showing {} for `{}`.",
                        vocabulary.label(f, &id),
                        word
                    ));
                    values.push((f, id));
                }
                None => words.push(word.to_string()),
            }
        }
    }
    Ok((values, words))
}

/// Names the words the guide does not have and that no "did you mean" will explain: real
/// words, and misspellings with no close spelling in the guide. Returns the suggestions.
fn note_absent(
    engine: &Engine,
    notes: &mut Vec<String>,
    analysis: &crate::search::query::Analysis,
) -> Result<Vec<String>, SearchError> {
    let mut suggestions = Vec::new();
    let mut missing: Vec<&String> = Vec::new();
    for word in &analysis.unknown {
        let near = engine.suggestions(std::slice::from_ref(word))?;
        if near.is_empty() {
            missing.push(word);
        }
        for s in near {
            if !suggestions.contains(&s) {
                suggestions.push(s);
            }
        }
    }
    missing.extend(&analysis.absent);
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(format!("The guide does not mention {list}."));
    }
    Ok(suggestions)
}

/// Says when no word matched and the passages are the closest in meaning.
fn note_closest(notes: &mut Vec<String>, results: &crate::search::SearchResults) {
    if results.closest && !results.hits.is_empty() {
        notes.push("No passage uses these words; the closest in meaning:".into());
    }
}

fn note_corrections(notes: &mut Vec<String>, corrections: &[(String, String)]) {
    if corrections.is_empty() {
        return;
    }
    let list = corrections
        .iter()
        .map(|(typed, used)| format!("{used} (for `{typed}`)"))
        .collect::<Vec<_>>()
        .join(", ");
    notes.push(format!("Showing results for {list}."));
}

fn help_info(engine: &Engine, vocabulary: &Vocabulary) -> HelpInfo {
    let catalog = engine.catalog();
    let all = Filter::default();
    let facets = Facet::ALL
        .into_iter()
        .map(|facet| {
            let present: Vec<String> = catalog
                .values(facet, &all)
                .into_iter()
                .map(|(v, _)| v)
                .collect();
            // Vocabulary order when there is one, content order otherwise.
            let mut ordered: Vec<String> = vocabulary
                .values(facet)
                .iter()
                .filter(|d| present.contains(&d.id))
                .map(|d| d.label.clone())
                .collect();
            if ordered.is_empty() {
                ordered = present
                    .iter()
                    .map(|v| vocabulary.label(facet, v).to_string())
                    .collect();
            }
            (facet, ordered)
        })
        .collect();
    HelpInfo {
        passages: catalog.passages.len(),
        semantic: engine.semantic_model().is_some(),
        facets,
        recorded_days: None,
        suggests: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_join_the_base_and_the_location() {
        assert_eq!(
            link("https://x.org/data", "guides/pay (2025).md#senior-india"),
            "https://x.org/data/guides/pay%20%282025%29.md#senior-india"
        );
        assert_eq!(
            link("https://x.org/data/", "a.md"),
            "https://x.org/data/a.md"
        );
    }

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    /// The command's name and word option values, as `from_words` read them.
    fn read(line: &str) -> (&'static str, Vec<Option<String>>) {
        let c = Command::from_words(&words(line)).unwrap();
        let args = c
            .args()
            .into_iter()
            .map(|a| a.map(str::to_string))
            .collect();
        (c.name(), args)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn positional_words_fill_options_last_takes_the_rest() {
        assert_eq!(
            read("/salary senior india"),
            ("salary", vec![some("senior"), some("india")])
        );
        assert_eq!(
            read("/certs google cloud"),
            ("certs", vec![some("google cloud")])
        );
        assert_eq!(
            read("/salary region:india"),
            ("salary", vec![None, some("india")])
        );
        assert_eq!(read("what is mlops"), ("ask", vec![some("what is mlops")]));
        assert_eq!(
            read("/ask salary: india"),
            ("ask", vec![some("salary: india")])
        );
        assert_eq!(Command::from_words(&[]).unwrap().name(), "help");
        // Options by name, as Discord and paging ids give them, make the same command.
        assert_eq!(
            Command::from_words(&words("/salary senior india")).unwrap(),
            Command::from_options(
                "salary",
                [("region", "india".into()), ("level", "senior".into())]
            )
            .unwrap()
        );
    }

    #[test]
    fn reload_is_a_command_but_not_an_answer() {
        let reload = Command::from_words(&words("/reload")).unwrap();
        assert_eq!(reload.def().action, Action::Reload);
        assert!(Command::from_options("reload", [("dry_run", "true".into())]).is_err());
    }

    #[test]
    fn user_errors_are_specific() {
        assert_eq!(
            Command::from_words(&words("/salry senior")).unwrap_err(),
            UserError::UnknownCommand {
                name: "salry".into(),
                suggestion: Some("salary".into())
            }
        );
        assert_eq!(
            Command::from_words(&words("/ask")).unwrap_err(),
            UserError::EmptyQuestion
        );
    }
}
