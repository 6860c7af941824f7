//! The content-gap report as a moderator reads it: a terminal table, CSV (every row, for a
//! spreadsheet), or a Discord embed with the top of each list and the CSV attached. Pure.

use super::discord::{limits, trim, EmbedView, FieldView};
use super::escape_markdown;
use crate::feedback::Gaps;

/// The CSV attached to `/gaps`.
pub const CSV_FILE: &str = "content-gaps.csv";
const COLOR: u32 = 0xe0a030;

/// `/gaps`: the first `limit` rows of each list, and every row in [`CSV_FILE`].
pub fn embed(gaps: &Gaps, days: u32, limit: usize) -> (EmbedView, (String, String)) {
    let mut fields = Vec::new();
    let mut field = |name: &str, rows: Vec<String>, total: usize| {
        let value = if rows.is_empty() {
            "none".to_string()
        } else {
            let mut text = rows.join("\n");
            if total > rows.len() {
                text.push_str(&format!("\n… and {} more in the CSV", total - rows.len()));
            }
            text
        };
        fields.push(FieldView {
            name: format!("{name} ({total})"),
            value: trim(&value, limits::FIELD_VALUE),
        });
    };
    field(
        "Unanswered",
        gaps.unanswered
            .iter()
            .take(limit)
            .map(|u| {
                format!(
                    "{}× {} (last {})",
                    u.count,
                    code(&format!("/{} {}", u.command, u.question)),
                    day(u.last)
                )
            })
            .collect(),
        gaps.unanswered.len(),
    );
    field(
        "Voted down",
        gaps.voted_down
            .iter()
            .take(limit)
            .map(|v| {
                let mut line = format!(
                    "{}× 👎{} {} for {}",
                    v.down,
                    if v.up > 0 {
                        format!(" ({}× 👍)", v.up)
                    } else {
                        String::new()
                    },
                    passage_name(v.passage.as_deref()),
                    v.questions.first().map_or_else(String::new, |q| code(q))
                );
                if let Some(c) = v.comments.first() {
                    line.push_str(&format!(": \"{}\"", escape_markdown(c)));
                }
                line
            })
            .collect(),
        gaps.voted_down.len(),
    );
    field(
        "Answered differently after a change",
        gaps.changed
            .iter()
            .take(limit)
            .map(|c| {
                format!(
                    "{}× {} ({})",
                    c.asked,
                    escape_markdown(&c.question),
                    escape_markdown(&c.passages.join(" → "))
                )
            })
            .collect(),
        gaps.changed.len(),
    );
    field(
        "Synonym suggestions",
        gaps.suggestions
            .iter()
            .take(limit)
            .map(|s| match &s.synonym {
                Some(syn) => format!(
                    "{}× {} (\"{}\" then \"{}\")",
                    s.count,
                    code(syn),
                    escape_markdown(&s.failed),
                    escape_markdown(&s.worked)
                ),
                None => format!(
                    "{}× \"{}\" then \"{}\"",
                    s.count,
                    escape_markdown(&s.failed),
                    escape_markdown(&s.worked)
                ),
            })
            .collect(),
        gaps.suggestions.len(),
    );
    let view = EmbedView {
        title: format!("Content gaps · last {days} day(s)"),
        description: "Questions the guide did not answer, answers members voted down (with what they were looking for), answers that changed with the content, and word pairs to add to `search.synonyms` in config.toml.".into(),
        fields,
        footer: format!("since {} · every row in {CSV_FILE}", day(gaps.since)),
        color: COLOR,
    };
    (view, (CSV_FILE.to_string(), csv(gaps)))
}

/// A voted-down answer's passage id, or what a member saw when there was none.
fn passage_name(passage: Option<&str>) -> String {
    match passage {
        Some(p) => escape_markdown(p),
        None => "\"nothing found\"".into(),
    }
}

/// `2026-11-27` for unix seconds (UTC).
pub fn day(unix: i64) -> String {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// For a terminal: one section per list, aligned columns.
pub fn table(gaps: &Gaps, days: u32) -> String {
    let mut out = format!(
        "Content gaps over the last {days} day(s) (since {})\n",
        day(gaps.since)
    );
    out.push_str("\nUnanswered questions (no passage, or no data):\n");
    if gaps.unanswered.is_empty() {
        out.push_str("  none\n");
    }
    for u in &gaps.unanswered {
        out.push_str(&format!(
            "  {:>5}×  /{} {}   (first {}, last {})\n",
            u.count,
            u.command,
            u.question,
            day(u.first),
            day(u.last)
        ));
    }
    out.push_str(
        "\nAnswers voted down (👎, then 👍), the questions and what voters were looking for:\n",
    );
    if gaps.voted_down.is_empty() {
        out.push_str("  none\n");
    }
    for v in &gaps.voted_down {
        out.push_str(&format!(
            "  {:>5}×  {}   ({} 👍)\n",
            v.down,
            v.passage.as_deref().unwrap_or("(nothing found)"),
            v.up
        ));
        for q in &v.questions {
            out.push_str(&format!("           asked: {q}\n"));
        }
        for c in &v.comments {
            out.push_str(&format!("           looking for: {c}\n"));
        }
    }
    out.push_str("\nAsked often, answered differently after a content change:\n");
    if gaps.changed.is_empty() {
        out.push_str("  none\n");
    }
    for c in &gaps.changed {
        out.push_str(&format!(
            "  {:>5}×  {}   ({})\n",
            c.asked,
            c.question,
            c.passages.join(" → ")
        ));
    }
    out.push_str("\nSynonym suggestions (a failed question, then one that worked):\n");
    if gaps.suggestions.is_empty() {
        out.push_str("  none\n");
    }
    for s in &gaps.suggestions {
        out.push_str(&format!(
            "  {:>5}×  \"{}\" then \"{}\"{}\n",
            s.count,
            s.failed,
            s.worked,
            s.synonym
                .as_ref()
                .map(|syn| format!("   suggest: {syn}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// Member text as inline code: shown as typed (Markdown does not apply inside), with any
/// backtick, which would end the span, made a quote.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

/// Every row of every list, one CSV table: `list,command,question,count,first,last,detail`.
pub fn csv(gaps: &Gaps) -> String {
    let mut out = String::from("list,command,question,count,first,last,detail\n");
    let mut row = |cells: [&str; 7]| {
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    };
    for u in &gaps.unanswered {
        row([
            "unanswered",
            &u.command,
            &u.question,
            &u.count.to_string(),
            &day(u.first),
            &day(u.last),
            "",
        ]);
    }
    for v in &gaps.voted_down {
        let passage = v.passage.as_deref().unwrap_or("(nothing found)");
        let questions = v.questions.join(" | ");
        let mut detail = format!("{passage}; {} up", v.up);
        if !v.comments.is_empty() {
            detail.push_str(&format!("; looking for: {}", v.comments.join(" | ")));
        }
        row([
            "voted_down",
            "",
            &questions,
            &v.down.to_string(),
            "",
            "",
            &detail,
        ]);
    }
    for c in &gaps.changed {
        row([
            "top_passage_changed",
            "",
            &c.question,
            &c.asked.to_string(),
            "",
            "",
            &c.passages.join(" -> "),
        ]);
    }
    for s in &gaps.suggestions {
        row([
            "synonym_suggestion",
            "",
            &s.failed,
            &s.count.to_string(),
            "",
            "",
            &format!(
                "then \"{}\"{}",
                s.worked,
                s.synonym
                    .as_ref()
                    .map(|x| format!("; suggest {x}"))
                    .unwrap_or_default()
            ),
        ]);
    }
    out
}

/// Quoted when it must be (RFC 4180); a leading `=`, `+`, `-` or `@` is escaped so that a
/// member's question cannot become a spreadsheet formula.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_795_824_000), "2026-11-28");
        assert_eq!(day(951_782_400), "2000-02-29");
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
