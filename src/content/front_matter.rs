//! Splits optional front matter (TOML between `+++`, YAML between `---`) from a Markdown
//! body and reads it into [`RawFrontMatter`], keeping our keys strict and other tools' keys
//! harmless.

use serde::Deserialize;

use super::diagnostic::{did_you_mean, Diagnostic};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

/// Front matter text and where the body starts, both as byte offsets into the file.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub front_matter: Option<(Format, &'a str)>,
    /// 1-based line of the first front-matter line (the one after the opening fence).
    pub front_matter_line: usize,
    pub body: &'a str,
    /// Byte offset of `body` in the file, so body positions map back to file lines.
    pub body_offset: usize,
}

/// Why the front matter could not even be separated from the body.
#[derive(Debug, PartialEq, Eq)]
pub struct UnclosedFence {
    pub fence: &'static str,
}

impl UnclosedFence {
    /// The error for `path`, whether a guide or a partial.
    pub fn diagnostic(&self, path: &std::path::Path) -> Diagnostic {
        Diagnostic::error(
            path,
            1,
            1,
            format!("front matter opened with `{}` is never closed", self.fence),
        )
        .with_hint(format!(
            "add a line with only `{}` after the front matter",
            self.fence
        ))
    }
}

/// Separates front matter from the body, as Zola (`+++`) and Jekyll/Hugo/Docusaurus (`---`)
/// write it. A file that does not start with a fence is all body.
pub fn split(text: &str) -> Result<Split<'_>, UnclosedFence> {
    let (fence, format) = if starts_with_fence(text, "+++") {
        ("+++", Format::Toml)
    } else if starts_with_fence(text, "---") {
        ("---", Format::Yaml)
    } else {
        return Ok(Split {
            front_matter: None,
            front_matter_line: 0,
            body: text,
            body_offset: 0,
        });
    };
    let first_line_end = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut pos = first_line_end;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        if text[pos..line_end].trim_end() == fence {
            return Ok(Split {
                front_matter: Some((format, &text[first_line_end..pos])),
                front_matter_line: 2,
                body: &text[line_end..],
                body_offset: line_end,
            });
        }
        pos = line_end;
    }
    Err(UnclosedFence { fence })
}

/// The first line is exactly the fence, trailing spaces allowed (as for the closing one).
fn starts_with_fence(text: &str, fence: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|first| first.trim_end() == fence && text.len() > first.len())
}

/// A string or a list of strings; front matter writes both.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Front matter as written, before any rule is checked.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawFrontMatter {
    pub title: Option<String>,
    pub id: Option<String>,
    pub description: Option<String>,
    /// Docusaurus's name for the page in its sidebar: the title when there is no `title`.
    pub sidebar_label: Option<String>,
    pub topic: Option<OneOrMany>,
    pub levels: Option<OneOrMany>,
    pub regions: Option<OneOrMany>,
    pub providers: Option<OneOrMany>,
    pub aliases: Option<OneOrMany>,
    pub source: Option<String>,
    /// Zola, Hugo and Jekyll all skip drafts; so do we.
    pub draft: Option<bool>,
    /// Other tools' keywords are good search aliases; keep them.
    pub tags: Option<OneOrMany>,
    pub keywords: Option<OneOrMany>,
}

/// Keys we read. Anything else is another tool's key (a warning) or a typo of ours (an error).
pub const KNOWN_KEYS: &[&str] = &[
    "title",
    "id",
    "description",
    "sidebar_label",
    "topic",
    "levels",
    "regions",
    "providers",
    "aliases",
    "source",
    "draft",
    "tags",
    "keywords",
];

/// Keys other docs tools write that look like ours but are not typos of them.
const FOREIGN_KEYS: &[&str] = &[
    "date",
    "updated",
    "lang",
    "slug",
    "layout",
    "template",
    "weight",
    "author",
    "authors",
    "categories",
    "category",
    "permalink",
    "summary",
    "image",
    "images",
    "extra",
    "taxonomies",
    "sidebar_position",
    "sidebar_class_name",
    "hide_title",
    "hide_table_of_contents",
    "toc",
    "path",
    "render",
    "url",
    "type",
    "menu",
    "nav_order",
    "parent",
    "sort_by",
    "in_search_index",
    "pagination_label",
    "displayed_sidebar",
];

/// Parses front matter text. Diagnostics use file lines (`first_line` is the line of the
/// first front-matter line); they are errors except for other tools' keys.
pub fn parse(
    format: Format,
    text: &str,
    first_line: usize,
    path: &std::path::Path,
) -> (Option<RawFrontMatter>, Vec<Diagnostic>) {
    let at = Location {
        text,
        first_line,
        path,
    };
    let mut diags = Vec::new();
    let value = match format {
        Format::Toml => toml_value(&at),
        Format::Yaml => yaml_value(&at),
    };
    let map = match value {
        Ok(None) => return (Some(RawFrontMatter::default()), diags),
        Ok(Some(serde_json::Value::Object(map))) => map,
        Ok(Some(_)) => {
            diags.push(
                Diagnostic::error(path, first_line, 1, "front matter must be a table of keys")
                    .with_hint("write `key = \"value\"` (TOML) or `key: value` (YAML) lines"),
            );
            return (None, diags);
        }
        Err(d) => {
            diags.push(d);
            return (None, diags);
        }
    };
    let Some(map) = known_keys(&at, map, &mut diags) else {
        return (None, diags);
    };
    if !typed_keys(&at, &map, &mut diags) {
        return (None, diags);
    }
    match serde_json::from_value::<RawFrontMatter>(serde_json::Value::Object(map)) {
        Ok(raw) => (Some(raw), diags),
        Err(e) => {
            diags.push(Diagnostic::error(
                path,
                first_line,
                1,
                format!("front matter: {e}"),
            ));
            (None, diags)
        }
    }
}

/// Where front matter sits, for diagnostics.
struct Location<'a> {
    text: &'a str,
    first_line: usize,
    path: &'a std::path::Path,
}

impl Location<'_> {
    /// The file line of a key.
    fn key_line(&self, key: &str) -> usize {
        key_line(self.text, key).map_or(self.first_line, |l| self.first_line + l - 1)
    }
}

/// TOML front matter as a JSON value (`None`: empty), or the syntax error at its line.
fn toml_value(at: &Location<'_>) -> Result<Option<serde_json::Value>, Diagnostic> {
    let table = toml::from_str::<toml::Table>(at.text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| super::diagnostic::LineIndex::new(at.text).line_col(at.text, s.start))
            .unwrap_or((1, 1));
        Diagnostic::error(
            at.path,
            at.first_line + line - 1,
            col,
            format!("invalid TOML front matter: {}", e.message()),
        )
        .with_hint("TOML front matter between `+++` lines uses `key = \"value\"`")
    })?;
    serde_json::to_value(table)
        .map(Some)
        .map_err(|e| Diagnostic::error(at.path, at.first_line, 1, format!("front matter: {e}")))
}

/// YAML front matter as a JSON value (`None`: empty), or the syntax error at its line.
fn yaml_value(at: &Location<'_>) -> Result<Option<serde_json::Value>, Diagnostic> {
    if at.text.trim().is_empty() {
        return Ok(None);
    }
    match serde_yaml_ng::from_str::<serde_json::Value>(at.text) {
        Ok(serde_json::Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            Err(Diagnostic::error(
                at.path,
                at.first_line + line - 1,
                col,
                format!("invalid YAML front matter: {message}"),
            )
            .with_hint("YAML front matter between `---` lines uses `key: value`"))
        }
    }
}

/// Our keys kept; other tools' keys dropped with a warning; a misspelling of one of ours is
/// an error (`None`), since its value would be silently lost.
fn known_keys(
    at: &Location<'_>,
    mut map: serde_json::Map<String, serde_json::Value>,
    diags: &mut Vec<Diagnostic>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut typo = false;
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if KNOWN_KEYS.contains(&key.as_str()) {
            continue;
        }
        let line = at.key_line(&key);
        let foreign = FOREIGN_KEYS.contains(&key.as_str());
        match did_you_mean(&key, KNOWN_KEYS.iter().copied()).filter(|_| !foreign) {
            Some(known) => {
                typo = true;
                diags.push(
                    Diagnostic::error(
                        at.path,
                        line,
                        1,
                        format!("unknown front-matter key `{key}`"),
                    )
                    .with_hint(format!("did you mean `{known}`?")),
                );
            }
            None => {
                map.remove(&key);
                diags.push(
                    Diagnostic::warning(
                        at.path,
                        line,
                        1,
                        format!("front-matter key `{key}` is not used by careerbot; ignored"),
                    )
                    .with_hint(format!("careerbot reads: {}", KNOWN_KEYS.join(", "))),
                );
            }
        }
    }
    (!typo).then_some(map)
}

/// Checks each key's type on its own, so a wrong type names the key and its line, and every
/// bad key is reported, not only the first. `false` when any is wrong.
fn typed_keys(
    at: &Location<'_>,
    map: &serde_json::Map<String, serde_json::Value>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let mut ok = true;
    for (key, value) in map {
        let mut single = serde_json::Map::new();
        single.insert(key.clone(), value.clone());
        let Err(e) = serde_json::from_value::<RawFrontMatter>(serde_json::Value::Object(single))
        else {
            continue;
        };
        ok = false;
        let line = at.key_line(key);
        let expected = match key.as_str() {
            "draft" => "true or false",
            "title" | "id" | "description" | "sidebar_label" | "source" => "a string",
            _ => "a string or a list of strings",
        };
        // serde's own words are too technical for moderators; keep them for debug logs.
        tracing::debug!(path = %at.path.display(), line, error = %e, "front-matter type error");
        diags.push(
            Diagnostic::error(
                at.path,
                line,
                1,
                format!("front-matter key `{key}` must be {expected}"),
            )
            .with_hint(format!("found {}", short_json(value))),
        );
    }
    ok
}

fn short_json(value: &serde_json::Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// 1-based line (within the front matter) where `key` is defined, for TOML and YAML alike.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix(key)
                .or_else(|| line.strip_prefix(&format!("\"{key}\"")))
                .or_else(|| line.strip_prefix(&format!("'{key}'")));
            // TOML tables (`[extra]`, `[extra.seo]`) are keys too.
            let table =
                line.trim_end() == format!("[{key}]") || line.starts_with(&format!("[{key}."));
            table
                || rest.is_some_and(|r| {
                    let r = r.trim_start();
                    r.starts_with('=') || r.starts_with(':')
                })
        })
        .map(|i| i + 1)
}

/// 1-based line (within the front matter) of `value` at or after the line of `key`; values in
/// multi-line lists sit below their key.
pub fn value_line(text: &str, key: &str, value: &str) -> Option<usize> {
    let start = key_line(text, key)?;
    text.lines()
        .enumerate()
        .skip(start - 1)
        .find(|(_, line)| line.contains(value))
        .map(|(i, _)| i + 1)
        .or(Some(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn splits_toml_yaml_and_plain() {
        let s = split("+++\ntitle = \"A\"\n+++\n# Body\n").unwrap();
        assert_eq!(s.front_matter, Some((Format::Toml, "title = \"A\"\n")));
        assert_eq!(s.body, "# Body\n");
        let s = split("---  \ntitle: A\n---\r\nBody").unwrap();
        assert_eq!(s.front_matter, Some((Format::Yaml, "title: A\n")));
        assert_eq!(s.body, "Body");
        let s = split("# Just markdown\n---\n").unwrap();
        assert_eq!(s.front_matter, None);
        assert!(split("+++\ntitle = 1\n").is_err());
        // A thematic break that is not at the very start is body.
        assert_eq!(split("\n---\nx\n---\n").unwrap().front_matter, None);
    }

    #[test]
    fn reports_typo_keys_as_errors_and_foreign_keys_as_warnings() {
        let (raw, diags) = parse(
            Format::Toml,
            "title = \"x\"\nlevel = \"senior\"\nsidebar_position = 2\n",
            2,
            Path::new("a.md"),
        );
        assert!(raw.is_none());
        assert_eq!(diags.len(), 2);
        let typo = diags.iter().find(|d| d.is_error()).unwrap();
        assert_eq!(typo.line, 3);
        assert_eq!(typo.hint.as_deref(), Some("did you mean `levels`?"));
        assert!(diags.iter().any(|d| !d.is_error() && d.line == 4));
    }

    #[test]
    fn wrong_types_name_the_key() {
        let (raw, diags) = parse(
            Format::Yaml,
            "title: x\nlevels: {a: 1}\n",
            2,
            Path::new("a.md"),
        );
        assert!(raw.is_none());
        assert_eq!(diags[0].line, 3);
        assert!(diags[0]
            .message
            .contains("`levels` must be a string or a list"));
    }
}
