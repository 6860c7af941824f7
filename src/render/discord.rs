//! Discord message views: an answer as embed fields and paging buttons, trimmed at word
//! boundaries to Discord's limits so a reply is never rejected for its size.

use serde::Serialize;

use super::{
    breadcrumb, capitalize, escape_markdown, ranking_mode, snippet, source_line, usage, Emphasis,
};
use crate::answer::{Answer, Outcome};
use crate::registry;
use crate::search::{cut_at_word, Hit};

/// Discord's embed limits, in characters.
pub mod limits {
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FIELDS: usize = 25;
    pub const FOOTER: usize = 2048;
    /// Title, description, field names and values and footer of all embeds together.
    pub const TOTAL: usize = 6000;
    pub const CONTENT: usize = 2000;
}

/// Accent colours by outcome.
const FOUND: u32 = 0x2f7ed8;
const NO_DATA: u32 = 0xd8a32f;
const NOT_FOUND: u32 = 0x8a8f98;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbedView {
    pub title: String,
    pub description: String,
    pub fields: Vec<FieldView>,
    pub footer: String,
    pub color: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldView {
    pub name: String,
    pub value: String,
}

/// Which way a paging button turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Turn {
    Previous,
    Next,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ButtonView {
    pub turn: Turn,
    pub label: &'static str,
    /// The page (0-based) the button shows.
    pub page: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub embed: EmbedView,
    pub buttons: Vec<ButtonView>,
}

impl EmbedView {
    /// Characters Discord counts towards its 6,000 limit.
    pub fn total_chars(&self) -> usize {
        count(&self.title)
            + count(&self.description)
            + count(&self.footer)
            + self
                .fields
                .iter()
                .map(|f| count(&f.name) + count(&f.value))
                .sum::<usize>()
    }
}

fn count(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `s` to `max` characters at a word boundary, marking the cut with `…`.
pub fn trim(s: &str, max: usize) -> String {
    if count(s) <= max {
        return s.to_string();
    }
    let mut cut = cut_at_word(s, max.saturating_sub(1)).to_string();
    // An unclosed `**` would bold everything after it: drop the unfinished bold part.
    if cut.matches("**").count() % 2 == 1 {
        if let Some(i) = cut.rfind("**") {
            cut.truncate(i);
        }
    }
    // A trailing backslash would escape the ellipsis.
    while cut.ends_with('\\') {
        cut.pop();
    }
    format!("{}…", cut.trim_end())
}

/// The reply for an answer, with an optional note for the member (in italics, first).
pub fn message(answer: &Answer, note: Option<&str>) -> MessageView {
    let mut description = Vec::new();
    if let Some(note) = note {
        description.push(format!("*{}*", escape_markdown(note)));
    }
    for note in &answer.notes {
        description.push(escape_markdown(note));
    }
    let color = match answer.outcome {
        Outcome::Found | Outcome::Help => FOUND,
        Outcome::NoData => NO_DATA,
        Outcome::NotFound => NOT_FOUND,
    };
    let mut fields = outcome_lines(answer, &mut description);
    fields.extend(result_fields(answer));
    fields.truncate(limits::FIELDS);
    let mut embed = EmbedView {
        title: trim(&escape_markdown(&answer.heading), limits::TITLE),
        description: trim(&description.join("\n"), limits::DESCRIPTION),
        fields,
        footer: trim(&footer(answer), limits::FOOTER),
        color,
    };
    fit_total(&mut embed);
    MessageView {
        embed,
        buttons: paging_buttons(answer),
    }
}

/// An unasked suggestion on a new forum post: its passages under "This may help", no
/// paging (the post's author did not ask the bot), and a line saying why the bot spoke.
pub fn suggestion(answer: &Answer, votes: bool) -> MessageView {
    let description = if votes {
        "From the guide, for this post. A 👍 or 👎 tells the moderators whether it helped."
    } else {
        "From the guide, for this post."
    };
    let mut embed = EmbedView {
        title: "This may help".into(),
        description: description.into(),
        fields: result_fields(answer),
        footer: trim(
            &format!(
                "Suggested automatically on new posts here · content {}",
                answer.content_version
            ),
            limits::FOOTER,
        ),
        color: FOUND,
    };
    fit_total(&mut embed);
    MessageView {
        embed,
        buttons: Vec::new(),
    }
}

/// What the outcome adds: `/help`'s commands and facet values, what we do have for "no
/// data", the "did you mean" for nothing found. Returns the fields it adds.
fn outcome_lines(answer: &Answer, description: &mut Vec<String>) -> Vec<FieldView> {
    let mut fields = Vec::new();
    match answer.outcome {
        Outcome::Help => {
            for c in registry::for_members() {
                description.push(format!("`{}` — {}", usage(c), c.description));
            }
            for c in registry::MESSAGE_COMMANDS {
                description.push(format!("**Apps › {}** — {}", c.name, c.help));
            }
            if let Some(help) = &answer.help {
                description.push(ranking_mode(help).into());
                description.extend(super::recording_line(help));
                for (facet, values) in &help.facets {
                    if !values.is_empty() {
                        fields.push(FieldView {
                            name: capitalize(facet.key()),
                            value: trim(&escape_markdown(&values.join(", ")), limits::FIELD_VALUE),
                        });
                    }
                }
            }
        }
        Outcome::NoData if !answer.available.is_empty() => {
            description.push(format!(
                "We do have: {}.",
                escape_markdown(&answer.available.join("; "))
            ));
        }
        Outcome::NotFound => {
            description.push("I found nothing in the guide for that.".into());
            if !answer.suggestions.is_empty() {
                description.push(format!(
                    "Did you mean: {}?",
                    escape_markdown(&answer.suggestions.join(", "))
                ));
            }
            description.push("Try `/help` to see what I know.".into());
        }
        Outcome::NoData | Outcome::Found => {}
    }
    fields
}

/// One field per passage, numbered across pages: title, breadcrumb, highlighted snippet and
/// source. Breadcrumb and source always fit; the snippet gives way.
fn result_fields(answer: &Answer) -> Vec<FieldView> {
    let first = answer.page.saturating_mul(answer.per_page);
    answer
        .results
        .iter()
        .enumerate()
        .map(|(i, hit)| {
            let crumb = escape_markdown(&breadcrumb(&hit.breadcrumb));
            let source = format!("Source: {}", source_markdown(hit));
            let room = limits::FIELD_VALUE.saturating_sub(count(&crumb) + count(&source) + 8);
            let body = trim(&snippet(&hit.snippet, Emphasis::Markdown), room.max(40));
            let number = first.saturating_add(i + 1);
            FieldView {
                name: trim(
                    &format!("{number}. {}", escape_markdown(&hit.title)),
                    limits::FIELD_NAME,
                ),
                value: trim(&format!("*{crumb}*\n{body}\n{source}"), limits::FIELD_VALUE),
            }
        })
        .collect()
}

/// The passage's source, a Markdown link when the content's address is configured.
fn source_markdown(hit: &Hit) -> String {
    match &hit.link {
        // The link says where; the text need only say what.
        Some(link) => format!("[{}]({link})", escape_markdown(&hit.source)),
        None => escape_markdown(&source_line(hit)),
    }
}

/// "Page 2 of 3 · 7 passages · content 1a2b3c".
fn footer(answer: &Answer) -> String {
    let mut footer = Vec::new();
    if answer.is_paged() {
        footer.push(match answer.pages() {
            Some(pages) => format!("Page {} of {pages}", answer.page.saturating_add(1)),
            None => format!("Page {}", answer.page.saturating_add(1)),
        });
    }
    if let Some(total @ 1..) = answer.total {
        footer.push(format!(
            "{total} passage{}",
            if total == 1 { "" } else { "s" }
        ));
    }
    footer.push(format!("content {}", answer.content_version));
    footer.join(" · ")
}

/// Previous and next buttons, for found answers that span pages.
fn paging_buttons(answer: &Answer) -> Vec<ButtonView> {
    let mut buttons = Vec::new();
    if answer.outcome != Outcome::Found || !answer.is_paged() {
        return buttons;
    }
    if answer.page > 0 {
        buttons.push(ButtonView {
            turn: Turn::Previous,
            label: "Previous",
            page: answer.page - 1,
        });
    }
    if answer.has_more {
        buttons.push(ButtonView {
            turn: Turn::Next,
            label: "More results",
            page: answer.page.saturating_add(1),
        });
    }
    buttons
}

/// Shrinks the longest field values, then the description, until the embed fits 6,000.
fn fit_total(embed: &mut EmbedView) {
    while embed.total_chars() > limits::TOTAL {
        let excess = embed.total_chars() - limits::TOTAL;
        let longest = embed
            .fields
            .iter_mut()
            .max_by_key(|f| count(&f.value))
            .filter(|f| count(&f.value) > 200);
        match longest {
            Some(field) => {
                let target = count(&field.value).saturating_sub(excess.max(50)).max(150);
                field.value = trim(&field.value, target);
            }
            None if count(&embed.description) > 200 => {
                let target = count(&embed.description)
                    .saturating_sub(excess.max(50))
                    .max(150);
                embed.description = trim(&embed.description, target);
            }
            None => {
                // Only many short fields remain: drop from the end.
                if embed.fields.pop().is_none() {
                    embed.description = trim(&embed.description, 100);
                    break;
                }
            }
        }
    }
}

/// A short text reply (errors, refusals), trimmed to a message's limit.
pub fn plain_message(text: &str) -> String {
    trim(&escape_markdown(text), limits::CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_cuts_at_words_and_keeps_bold_balanced() {
        assert_eq!(trim("short", 10), "short");
        assert_eq!(trim("one two three four", 12), "one two…");
        let t = trim("aaa **bold words here** tail", 16);
        assert_eq!(t.matches("**").count() % 2, 0, "{t}");
        assert!(t.chars().count() <= 16, "{t}");
    }

    #[test]
    fn fit_total_brings_any_embed_under_the_limit() {
        let mut e = EmbedView {
            title: "t".repeat(256),
            description: "d ".repeat(2048),
            fields: (0..25)
                .map(|i| FieldView {
                    name: format!("{i}"),
                    value: "v ".repeat(512),
                })
                .collect(),
            footer: "f".into(),
            color: 0,
        };
        fit_total(&mut e);
        assert!(e.total_chars() <= limits::TOTAL);
        assert!(e
            .fields
            .iter()
            .all(|f| f.value.chars().count() <= limits::FIELD_VALUE));
    }
}
