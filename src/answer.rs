//! Answer stage: one function turns a [`Command`] into a plain [`Answer`], the same for the
//! terminal, Discord's gateway and the HTTP endpoint.
//!
//! Facet commands (`/salary`, `/certs`, `/levels`, `/faq`) filter by facets and rank within;
//! `/ask` searches everything. A facet value we have no passage for is answered with an
//! honest "no data" and what we do have, never with the nearest guess.

use serde::Serialize;

use crate::config::AnswersConfig;
use crate::content::{Facet, Resolved, Vocabulary};
use crate::search::{Engine, Filter, Hit, SearchError, SearchRequest};

/// A question in structured form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    Salary {
        level: Option<String>,
        region: Option<String>,
    },
    Certs {
        provider: Option<String>,
    },
    Levels {
        level: Option<String>,
    },
    Ask {
        question: String,
    },
    Faq {
        topic: Option<String>,
    },
    Help,
}

/// A command's name, its options in the order positional words fill them, and a line
/// for `/help`.
#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub options: &'static [&'static str],
    pub summary: &'static str,
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "salary",
        options: &["level", "region"],
        summary: "Salary figures by level and region",
    },
    CommandSpec {
        name: "certs",
        options: &["provider"],
        summary: "Certifications worth taking, by provider",
    },
    CommandSpec {
        name: "levels",
        options: &["level"],
        summary: "What each career level is responsible for",
    },
    CommandSpec {
        name: "ask",
        options: &["question"],
        summary: "Ask anything; answers come from the guide",
    },
    CommandSpec {
        name: "faq",
        options: &["topic"],
        summary: "Frequently asked questions, by topic",
    },
    CommandSpec {
        name: "help",
        options: &[],
        summary: "What I can answer",
    },
];

fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
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
        match self {
            Command::Salary { .. } => "salary",
            Command::Certs { .. } => "certs",
            Command::Levels { .. } => "levels",
            Command::Ask { .. } => "ask",
            Command::Faq { .. } => "faq",
            Command::Help => "help",
        }
    }

    /// Option values in declaration order (`None` where not given).
    pub fn args(&self) -> Vec<Option<&str>> {
        match self {
            Command::Salary { level, region } => vec![level.as_deref(), region.as_deref()],
            Command::Certs { provider } => vec![provider.as_deref()],
            Command::Levels { level } => vec![level.as_deref()],
            Command::Ask { question } => vec![Some(question.as_str())],
            Command::Faq { topic } => vec![topic.as_deref()],
            Command::Help => vec![],
        }
    }

    /// Builds a command from its name and option values by option name; blank values count
    /// as not given. Used by the CLI and by Discord alike.
    pub fn from_options<'a>(
        name: &str,
        options: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<Command, UserError> {
        let Some(CommandSpec {
            name,
            options: option_names,
            ..
        }) = spec(name)
        else {
            return Err(UserError::UnknownCommand {
                name: name.to_string(),
                suggestion: crate::content::diagnostic::did_you_mean(
                    name,
                    COMMANDS.iter().map(|c| c.name),
                )
                .map(str::to_string),
            });
        };
        let mut values: Vec<Option<String>> = vec![None; option_names.len()];
        for (key, value) in options {
            let Some(i) = option_names.iter().position(|o| *o == key) else {
                return Err(UserError::UnknownOption {
                    command: name.to_string(),
                    option: key.to_string(),
                    options: option_names.join(", "),
                });
            };
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            values[i] = (!value.is_empty()).then_some(value);
        }
        let mut v = values.into_iter();
        let mut next = || v.next().flatten();
        Ok(match *name {
            "salary" => Command::Salary {
                level: next(),
                region: next(),
            },
            "certs" => Command::Certs { provider: next() },
            "levels" => Command::Levels { level: next() },
            "ask" => Command::Ask {
                question: next().ok_or(UserError::EmptyQuestion)?,
            },
            "faq" => Command::Faq { topic: next() },
            _ => Command::Help,
        })
    }

    /// Parses terminal words: `/salary senior india`, `/certs google cloud`,
    /// `/salary region:india`, or a bare question (read as `/ask`). Positional words fill
    /// the options in order, the last option taking all remaining words.
    pub fn from_words(words: &[String]) -> Result<Command, UserError> {
        let words: Vec<&str> = words.iter().flat_map(|w| w.split_whitespace()).collect();
        let (name, rest) = match words.split_first() {
            Some((first, rest)) if first.starts_with('/') => (first.trim_start_matches('/'), rest),
            Some((first, rest)) if spec(first).is_some() => (*first, rest),
            Some(_) => ("ask", &words[..]),
            None => ("help", &words[..]),
        };
        let name = name.to_lowercase();
        let option_names = spec(&name).map_or(&[][..], |c| c.options);
        let mut named: Vec<(&str, String)> = Vec::new();
        let mut positional: Vec<&str> = Vec::new();
        for w in rest {
            match w.split_once(':') {
                // `/ask` keeps colons: its question is free text.
                Some((k, v)) if name != "ask" && option_names.contains(&k) && !v.is_empty() => {
                    named.push((
                        option_names[option_names.iter().position(|o| *o == k).unwrap_or(0)],
                        v.to_string(),
                    ));
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
        let mut s = format!("/{}", self.name());
        for a in self.args().into_iter().flatten() {
            s.push(' ');
            s.push_str(a);
        }
        s
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
}

impl serde::Serialize for Command {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

/// Answers one request from `engine`.
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

    match &request.command {
        Command::Help => {
            answer.heading = "What I can answer".into();
            answer.outcome = Outcome::Help;
            answer.help = Some(help_info(engine, vocabulary));
        }
        Command::Ask { question } => {
            answer.heading = question.clone();
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
                limit: per_page,
            })?;
            note_corrections(&mut answer.notes, &results.analysis.corrections);
            note_closest(&mut answer.notes, &results);
            if results.hits.is_empty() && request.page == 0 {
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
            answer.total = results.total;
            answer.has_more = results.has_more;
            answer.results = results.hits;
        }
        Command::Faq { .. }
        | Command::Salary { .. }
        | Command::Certs { .. }
        | Command::Levels { .. } => {
            faceted(engine, vocabulary, request, offset, per_page, &mut answer)?;
        }
    }
    Ok(answer)
}

/// The facet commands: which topic they cover, which facets their options fill, and how
/// their data is named in sentences.
struct FacetCommand {
    topic: &'static str,
    title: &'static str,
    /// "We have no {what} for …"
    what: &'static str,
    facets: &'static [Facet],
}

impl FacetCommand {
    /// Only the passages of this command's topic.
    fn topic_filter(&self) -> Filter {
        Filter {
            facets: vec![(Facet::Topic, vec![self.topic.to_string()])],
        }
    }
}

fn facet_command(command: &Command) -> Option<FacetCommand> {
    Some(match command {
        Command::Salary { .. } => FacetCommand {
            topic: "salary",
            title: "Salary",
            what: "salary data",
            facets: &[Facet::Levels, Facet::Regions],
        },
        Command::Certs { .. } => FacetCommand {
            topic: "certs",
            title: "Certifications",
            what: "certification advice",
            facets: &[Facet::Providers],
        },
        Command::Levels { .. } => FacetCommand {
            topic: "levels",
            title: "Career levels",
            what: "level description",
            facets: &[Facet::Levels],
        },
        Command::Faq { .. } => FacetCommand {
            topic: "faq",
            title: "FAQ",
            what: "FAQ answer",
            facets: &[Facet::Topic],
        },
        Command::Ask { .. } | Command::Help => return None,
    })
}

/// A facet command: option words that name facet values filter; other words are searched,
/// first within the command's topic and those values, then in the whole guide. "No data"
/// is said only of known values no passage carries.
fn faceted(
    engine: &Engine,
    vocabulary: &Vocabulary,
    request: &Request,
    offset: usize,
    per_page: usize,
    answer: &mut Answer,
) -> Result<(), AnswerError> {
    let Some(spec) = facet_command(&request.command) else {
        unreachable!("only facet commands are answered here")
    };
    let args: Vec<(Facet, &str)> = spec
        .facets
        .iter()
        .copied()
        .zip(request.command.args())
        .filter_map(|(f, a)| a.map(|a| (f, a)))
        .collect();
    let (values, words) = resolve_args(engine, vocabulary, spec.facets, &args, &mut answer.notes)?;

    // The command's own topic stays a separate clause: `/faq tools` is FAQ *and* tools.
    let mut chosen: Vec<(Facet, Vec<String>)> = Vec::new();
    for (facet, id) in &values {
        match chosen.iter_mut().find(|(f, _)| f == facet) {
            Some((_, ids)) => ids.push(id.clone()),
            None => chosen.push((*facet, vec![id.clone()])),
        }
    }
    let mut filter = spec.topic_filter();
    filter.facets.extend(chosen);
    let labels: Vec<String> = values
        .iter()
        .map(|(f, id)| vocabulary.label(*f, id).to_string())
        .collect();
    answer.heading = std::iter::once(spec.title.to_string())
        .chain(labels.iter().cloned())
        .chain(words.iter().cloned())
        .collect::<Vec<_>>()
        .join(" · ");
    let words = words.join(" ");
    let search = |text: &str, filter: &Filter, require_text: bool| {
        engine.search(&SearchRequest {
            text,
            filter: filter.clone(),
            boost: Filter::default(),
            require_text,
            offset,
            limit: per_page,
        })
    };

    if words.is_empty() {
        // The labels double as words to rank by: "Senior" and "India" in the text count.
        let results = search(&labels.join(" "), &filter, false)?;
        if results.total != Some(0) || offset > 0 {
            take(answer, results);
            return Ok(());
        }
        no_data(engine, vocabulary, &spec, &labels, answer);
        return Ok(());
    }

    // Counted by the index (a filter-only search), not by scanning every passage.
    let values_have_data = values.is_empty() || search("", &filter, false)?.total != Some(0);
    if values_have_data {
        let results = search(&words, &filter, true)?;
        if results.total != Some(0) && (results.total.is_some() || !results.hits.is_empty()) {
            note_corrections(&mut answer.notes, &results.analysis.corrections);
            if results.closest {
                answer.notes.push(format!(
                    "No passage in {} uses these words; the closest in meaning:",
                    scope(&spec, &labels)
                ));
            }
            take(answer, results);
            return Ok(());
        }
    } else {
        no_data(engine, vocabulary, &spec, &labels, answer);
    }

    // Nothing under the command's topic has the words: look in the whole guide.
    let results = search(&words, &Filter::default(), false)?;
    note_corrections(&mut answer.notes, &results.analysis.corrections);
    if results.hits.is_empty() && offset == 0 {
        answer.outcome = Outcome::NotFound;
        answer.suggestions = note_absent(engine, &mut answer.notes, &results.analysis)?;
        return Ok(());
    }
    let scope = scope(&spec, &labels);
    answer.notes.push(if results.closest {
        format!("Nothing in {scope} mentions `{words}`, and no passage uses these words; the closest in meaning:")
    } else {
        format!("Nothing in {scope} mentions `{words}`; showing matches from the whole guide.")
    });
    answer.outcome = Outcome::Found;
    take(answer, results);
    Ok(())
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
        .combinations(spec.facets, &spec.topic_filter())
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn positional_words_fill_options_last_takes_the_rest() {
        assert_eq!(
            Command::from_words(&words("/salary senior india")).unwrap(),
            Command::Salary {
                level: Some("senior".into()),
                region: Some("india".into())
            }
        );
        assert_eq!(
            Command::from_words(&words("/certs google cloud")).unwrap(),
            Command::Certs {
                provider: Some("google cloud".into())
            }
        );
        assert_eq!(
            Command::from_words(&words("/salary region:india")).unwrap(),
            Command::Salary {
                level: None,
                region: Some("india".into())
            }
        );
        assert_eq!(
            Command::from_words(&words("what is mlops")).unwrap(),
            Command::Ask {
                question: "what is mlops".into()
            }
        );
        assert_eq!(
            Command::from_words(&words("/ask salary: india")).unwrap(),
            Command::Ask {
                question: "salary: india".into()
            }
        );
        assert_eq!(Command::from_words(&[]).unwrap(), Command::Help);
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
