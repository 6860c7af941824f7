//! Render stage: pure functions from an [`Answer`] to what a reader sees — terminal text,
//! JSON, or a Discord message view. No I/O here, so every output is snapshot-tested.

pub mod discord;
pub mod gaps;
pub mod reload;

use serde::Serialize;

use crate::answer::{Answer, Outcome};
use crate::registry;
use crate::search::{Hit, Snippet};

/// How matched words are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emphasis {
    /// `**word**`, with Markdown in the text escaped (Discord, JSON, piped output).
    Markdown,
    /// ANSI bold (an interactive terminal).
    Ansi,
}

/// Joins a breadcrumb the way docs sites show it.
pub fn breadcrumb(parts: &[String]) -> String {
    parts.join(" › ")
}

/// The snippet with matched words emphasised and `…` where the passage was cut.
pub fn snippet(snippet: &Snippet, emphasis: Emphasis) -> String {
    let (open, close) = match emphasis {
        Emphasis::Markdown => ("**", "**"),
        Emphasis::Ansi => ("\x1b[1m", "\x1b[0m"),
    };
    let esc = |s: &str| match emphasis {
        Emphasis::Markdown => escape_markdown(s),
        Emphasis::Ansi => strip_control(s),
    };
    let text = &snippet.text;
    let mut out = String::with_capacity(text.len() + 16);
    if snippet.cut_start {
        out.push('…');
    }
    let mut pos = 0;
    for r in &snippet.highlights {
        // Ranges come from the tokenizer; guard anyway so bad offsets cannot panic.
        if r.start < pos
            || r.end > text.len()
            || !text.is_char_boundary(r.start)
            || !text.is_char_boundary(r.end)
        {
            continue;
        }
        out.push_str(&esc(&text[pos..r.start]));
        out.push_str(open);
        out.push_str(&esc(&text[r.start..r.end]));
        out.push_str(close);
        pos = r.end;
    }
    out.push_str(&esc(&text[pos..]));
    if snippet.cut_end {
        out.push('…');
    }
    out
}

/// Escapes Discord Markdown so text shows as written. A leading `- ` stays: our passages
/// use it for list items, and Discord renders it as one.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        out.push_str(indent);
        let mut rest = trimmed;
        if let Some(r) = trimmed.strip_prefix("- ") {
            out.push_str("- ");
            rest = r;
        } else if trimmed.starts_with('#') || trimmed.starts_with('>') || trimmed.starts_with("-#")
        {
            out.push('\\');
        }
        for c in rest.chars() {
            match c {
                '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' => {
                    out.push('\\');
                    out.push(c);
                }
                // Text never renders as a mention; pings are separately impossible, as
                // allowed mentions are always empty.
                '@' => out.push_str("@\u{200b}"),
                _ => out.push(c),
            }
        }
    }
    out
}

/// Drops terminal control characters from text about to be printed.
fn strip_control(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// The answer as a person reads it in a terminal.
pub fn text(answer: &Answer, emphasis: Emphasis) -> String {
    let mut out = String::new();
    let plain = |s: &str| match emphasis {
        Emphasis::Markdown => s.to_string(),
        Emphasis::Ansi => strip_control(s),
    };
    let bold = |s: &str| match emphasis {
        Emphasis::Markdown => format!("**{}**", s),
        Emphasis::Ansi => format!("\x1b[1m{}\x1b[0m", strip_control(s)),
    };
    out.push_str(&bold(&answer.heading));
    out.push('\n');
    for note in &answer.notes {
        out.push_str(&plain(note));
        out.push('\n');
    }
    match answer.outcome {
        Outcome::Help => help_text(answer, &mut out),
        Outcome::NoData => {
            if !answer.available.is_empty() {
                out.push_str(&format!("We do have: {}.\n", answer.available.join("; ")));
            }
        }
        Outcome::NotFound => {
            out.push_str("I found nothing in the guide for that.\n");
            if !answer.suggestions.is_empty() {
                out.push_str(&format!(
                    "Did you mean: {}?\n",
                    answer.suggestions.join(", ")
                ));
            }
            out.push_str("Try `/help` to see what I know.\n");
        }
        Outcome::Found => {}
    }
    let first = answer.page.saturating_mul(answer.per_page);
    for (i, hit) in answer.results.iter().enumerate() {
        out.push('\n');
        out.push_str(&format!(
            "{}. {}\n",
            first.saturating_add(i + 1),
            bold(&hit.title)
        ));
        out.push_str(&format!("   {}\n", plain(&breadcrumb(&hit.breadcrumb))));
        for line in snippet(&hit.snippet, emphasis).lines() {
            out.push_str("   ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&format!("   Source: {}\n", plain(&source_line(hit))));
        if let Some(link) = &hit.link {
            out.push_str(&format!("   {link}\n"));
        }
    }
    if answer.outcome == Outcome::Found && answer.is_paged() {
        let last = first.saturating_add(answer.results.len());
        match answer.total {
            Some(total) => out.push_str(&format!(
                "\nShowing {}–{last} of {total}.",
                first.saturating_add(1)
            )),
            None => out.push_str(&format!("\nShowing {}–{last}.", first.saturating_add(1))),
        }
        if answer.has_more {
            out.push_str(&format!(
                " Next: careerbot ask --page {} {}",
                answer.page.saturating_add(2),
                plain(&answer.command.display())
            ));
        }
        out.push('\n');
    }
    out
}

/// "ML Engineer Career Path 2025 (ml-engineer/salary.md#senior-india)".
pub fn source_line(hit: &Hit) -> String {
    if hit.source == hit.location || hit.location.starts_with(&hit.source) {
        hit.location.clone()
    } else {
        format!("{} ({})", hit.source, hit.location)
    }
}

fn help_text(answer: &Answer, out: &mut String) {
    out.push('\n');
    for c in registry::for_members() {
        out.push_str(&format!("  {:<28} {}\n", usage(c), c.description));
    }
    for c in registry::MESSAGE_COMMANDS {
        let usage = format!("Apps › {}", c.name);
        out.push_str(&format!("  {usage:<28} {}\n", c.help));
    }
    if let Some(help) = &answer.help {
        out.push('\n');
        for (facet, values) in &help.facets {
            if !values.is_empty() {
                out.push_str(&format!(
                    "{}: {}\n",
                    capitalize(facet.key()),
                    values.join(", ")
                ));
            }
        }
        out.push_str(&format!(
            "\n{} passages, content version {}. {}\n",
            help.passages,
            answer.content_version,
            ranking_mode(help)
        ));
    }
}

/// What is recorded and for how long, for `/help` (when the service records).
pub fn recording_line(help: &crate::answer::HelpInfo) -> Option<String> {
    help.recorded_days.map(|days| {
        let posts = if help.suggests {
            ", forum posts the bot suggested an answer on"
        } else {
            ""
        };
        format!("Questions{posts} and 👍 / 👎 votes are kept {days} days to show moderators what the guide misses (command, words, outcome and what you write in the 👎 form; your member id only as a keyed hash).")
    })
}

/// Which ranking answers use, for `/help`.
pub fn ranking_mode(help: &crate::answer::HelpInfo) -> &'static str {
    if help.semantic {
        "Answers are ranked by meaning as well as by words."
    } else {
        "Answers are ranked by words (semantic ranking is off)."
    }
}

/// `/salary [level] [region]`: the command and its word options.
pub fn usage(command: &registry::CommandDef) -> String {
    std::iter::once(format!("/{}", command.name))
        .chain(command.word_options().map(|o| format!("[{}]", o.name)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The JSON shape of an answer: stable field names for scripts.
#[derive(Debug, Serialize)]
pub struct JsonAnswer<'a> {
    pub command: String,
    pub heading: &'a str,
    pub outcome: Outcome,
    pub notes: &'a [String],
    pub results: Vec<JsonHit<'a>>,
    /// All matches, when known.
    pub total: Option<usize>,
    pub has_more: bool,
    /// From 1.
    pub page: usize,
    pub available: &'a [String],
    pub suggestions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a crate::answer::HelpInfo>,
    pub content_version: &'a str,
}

#[derive(Debug, Serialize)]
pub struct JsonHit<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub breadcrumb: String,
    /// The whole passage, plain text.
    pub text: &'a str,
    /// Markdown: matched words in `**bold**`.
    pub snippet: String,
    pub source: &'a str,
    pub location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'a str>,
    pub score: f32,
    pub facets: &'a crate::content::Facets,
}

pub fn json_view(answer: &Answer) -> JsonAnswer<'_> {
    JsonAnswer {
        command: answer.command.display(),
        heading: &answer.heading,
        outcome: answer.outcome,
        notes: &answer.notes,
        results: answer
            .results
            .iter()
            .map(|h| JsonHit {
                id: &h.id,
                title: &h.title,
                breadcrumb: breadcrumb(&h.breadcrumb),
                text: &h.text,
                snippet: snippet(&h.snippet, Emphasis::Markdown),
                source: &h.source,
                location: &h.location,
                link: h.link.as_deref(),
                score: h.score,
                facets: &h.facets,
            })
            .collect(),
        total: answer.total,
        has_more: answer.has_more,
        page: answer.page + 1,
        available: &answer.available,
        suggestions: &answer.suggestions,
        help: answer.help.as_ref(),
        content_version: &answer.content_version,
    }
}

pub fn json(answer: &Answer) -> String {
    serde_json::to_string_pretty(&json_view(answer)).expect("answers always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Range;

    #[test]
    fn snippet_marks_highlights_and_escapes() {
        let s = Snippet {
            text: "Use *MLflow* first @everyone".into(),
            highlights: vec![Range { start: 5, end: 11 }],
            cut_start: true,
            cut_end: false,
        };
        assert_eq!(
            snippet(&s, Emphasis::Markdown),
            "…Use \\***MLflow**\\* first @\u{200b}everyone"
        );
    }

    #[test]
    fn bad_ranges_are_skipped_not_panicked_on() {
        let s = Snippet {
            text: "₹50".into(),
            highlights: vec![1..2, 0..99],
            cut_start: false,
            cut_end: false,
        };
        assert_eq!(snippet(&s, Emphasis::Markdown), "₹50");
    }

    #[test]
    fn list_items_stay_lists() {
        assert_eq!(
            escape_markdown("- a_b\n# not a header"),
            "- a\\_b\n\\# not a header"
        );
    }
}
