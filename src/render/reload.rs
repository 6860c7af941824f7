//! The moderator's reply to `/reload`, pure: the diff and versions, or every error with
//! file and line (in an attached file when they do not fit a message).

use std::path::Path;

use serde::Serialize;

use super::discord::{limits, trim, EmbedView, FieldView};
use super::escape_markdown;
use crate::content::Diagnostic;
use crate::reload::{Applied, Outcome, Rejected};

const APPLIED: u32 = 0x2f7ed8;
const REJECTED: u32 = 0xd83f2f;
/// Name of the attachment holding every error when they do not fit the message.
pub const ERRORS_FILE: &str = "content-errors.txt";

/// The reply's embed, and files to attach to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadView {
    pub embed: EmbedView,
    pub files: Vec<(String, String)>,
}

/// The reply to one reload attempt. Paths in errors are shown relative to the folder that
/// holds `data_dir`, as the moderator knows them.
pub fn message(outcome: &Outcome, data_dir: &Path) -> ReloadView {
    let mut view = ReloadView {
        embed: EmbedView {
            title: String::new(),
            description: String::new(),
            fields: Vec::new(),
            footer: format!("took {} ms", outcome.elapsed.as_millis()),
            color: APPLIED,
        },
        files: Vec::new(),
    };
    match &outcome.result {
        Ok(applied) => describe_applied(outcome, applied, &mut view.embed),
        Err(rejected) => {
            view.embed.color = REJECTED;
            view.embed.title = format!(
                "Reload rejected: still serving content {}",
                outcome.before_version
            );
            let errors: Vec<String> = rejected.errors.iter().map(|d| shown(d, data_dir)).collect();
            let (description, file) = describe_rejected(rejected, &errors);
            view.embed.description = description;
            view.files.extend(file);
        }
    }
    view
}

/// Versions, counts, and the passages added, changed and removed.
fn describe_applied(outcome: &Outcome, applied: &Applied, embed: &mut EmbedView) {
    embed.title = if outcome.dry_run {
        "Dry run: the content is valid (nothing was swapped)".into()
    } else {
        "Reloaded".into()
    };
    let mut lines = vec![
        format!("Content version: `{}`", applied.version),
        format!(
            "Documents {} → {} · passages {} → {}",
            outcome.before.documents,
            applied.after.documents,
            outcome.before.passages,
            applied.after.passages
        ),
    ];
    if applied.diff.is_empty() {
        lines.push("No passage changed.".into());
    }
    if !applied.warnings.is_empty() {
        lines.push(format!(
            "{} warning(s); run `careerbot check` to see them.",
            applied.warnings.len()
        ));
    }
    if applied.to_embed > 0 {
        lines.push(format!(
            "Ranking by meaning for {} new or changed passage(s) is computed in the background; words rank them until then.",
            applied.to_embed
        ));
    }
    embed.description = lines.join("\n");
    for (name, list) in [
        ("Added", &applied.diff.added),
        ("Changed", &applied.diff.changed),
        ("Removed", &applied.diff.removed),
    ] {
        if list.is_empty() {
            continue;
        }
        let items: Vec<String> = list
            .iter()
            .map(|p| {
                format!(
                    "`{}` — {}",
                    escape_markdown(&p.id),
                    escape_markdown(&p.title)
                )
            })
            .collect();
        embed.fields.push(FieldView {
            name: format!("{name} ({})", list.len()),
            value: trim(&items.join("\n"), limits::FIELD_VALUE),
        });
    }
}

/// Why nothing was swapped: the build error, or as many content errors as fit in a code
/// block, with all of them in a file when some do not fit.
fn describe_rejected(rejected: &Rejected, errors: &[String]) -> (String, Option<(String, String)>) {
    let mut text = match &rejected.build_error {
        Some(e) => format!("Building the index failed: {}", escape_markdown(e)),
        None => format!(
            "{} error(s) in the content; fix them and reload:",
            rejected.errors.len()
        ),
    };
    if errors.is_empty() {
        return (text, None);
    }
    // Code blocks keep paths and hints readable; a file takes what does not fit.
    let budget = limits::DESCRIPTION - text.len() - 200;
    let mut block = String::new();
    let mut included = 0;
    for e in errors {
        let safe = e.replace("```", "'''");
        if block.len() + safe.len() + 1 > budget {
            break;
        }
        block.push_str(&safe);
        block.push('\n');
        included += 1;
    }
    text.push_str(&format!("\n```\n{block}```"));
    if included == errors.len() {
        return (text, None);
    }
    text.push_str(&format!(
        "…and {} more: all {} are in the attached file.",
        errors.len() - included,
        errors.len()
    ));
    (
        text,
        Some((ERRORS_FILE.to_string(), errors.join("\n") + "\n")),
    )
}

/// A diagnostic with its path relative to the folder holding `data_dir`.
fn shown(d: &Diagnostic, data_dir: &Path) -> String {
    let text = d.to_string();
    match data_dir.parent().map(|p| format!("{}/", p.display())) {
        Some(prefix) if prefix != "/" && !prefix.is_empty() => text.replacen(&prefix, "", 1),
        _ => text,
    }
}
