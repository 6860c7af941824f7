//! MyST Markdown (Jupyter Book, Sphinx's myst-parser) as readers see it rendered: directives
//! whose body is prose open up to the Markdown parser, directives that render no prose of
//! their own (tables of contents, bibliographies, includes) stay out, and roles keep only the
//! words a reader sees.

/// What a directive fence (```` ```{name} argument ````) renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    /// Markdown prose: admonitions, figures (their caption), cards, tabs. The argument is
    /// text a reader sees (an admonition's title) unless it names a file (figures, images).
    Prose { argument_is_text: bool },
    /// Nothing a reader would search for: generated lists, included files, raw output.
    Hidden,
    /// Code or another markup (`{code-block}`, `{eval-rst}`, `{math}`, unknown names): left
    /// as a code block, as before MyST was understood.
    Verbatim,
}

/// Directives whose body is Markdown and whose argument is a title.
const PROSE: &[&str] = &[
    "admonition",
    "attention",
    "card",
    "caution",
    "danger",
    "deprecated",
    "div",
    "dropdown",
    "epigraph",
    "error",
    "glossary",
    "grid",
    "grid-item",
    "grid-item-card",
    "highlights",
    "hint",
    "important",
    "list-table",
    "margin",
    "note",
    "only",
    "pull-quote",
    "rubric",
    "seealso",
    "sidebar",
    "tab-item",
    "tab-set",
    "table",
    "tip",
    "topic",
    "versionadded",
    "versionchanged",
    "warning",
];

/// Directives whose argument is a file and whose body is a caption.
const MEDIA: &[&str] = &["figure", "image"];

/// Directives that render no prose of their own.
const HIDDEN: &[&str] = &[
    "bibliography",
    "contents",
    "include",
    "literalinclude",
    "program-output",
    "raw",
    "tableofcontents",
    "toctree",
];

/// A line opening a MyST directive (`` ```{note} ``, `~~~{figure} a.png`, `:::{tip}`): its
/// fence characters, the directive's name and its argument.
fn fence(trimmed: &str) -> Option<(&str, &str, &str)> {
    let fence_char = trimmed
        .chars()
        .next()
        .filter(|c| matches!(c, '`' | '~' | ':'))?;
    let fence_len = trimmed.len() - trimmed.trim_start_matches(fence_char).len();
    if fence_len < 3 {
        return None;
    }
    let (fence, rest) = trimmed.split_at(fence_len);
    let (name, argument) = rest.strip_prefix('{')?.split_once('}')?;
    if name.is_empty() || !name.chars().all(is_name_char) {
        return None;
    }
    Some((fence, name, argument.trim()))
}

/// The fence characters and the directive of a line opening a MyST directive, with its
/// argument.
fn open(trimmed: &str) -> Option<(&str, Directive, &str)> {
    let (fence, name, argument) = fence(trimmed)?;
    let directive = if PROSE.contains(&name) {
        Directive::Prose {
            argument_is_text: true,
        }
    } else if MEDIA.contains(&name) {
        Directive::Prose {
            argument_is_text: false,
        }
    } else if HIDDEN.contains(&name) {
        Directive::Hidden
    } else {
        Directive::Verbatim
    };
    Some((fence, directive, argument))
}

/// The first `{include}` directive of `body` outside code, as its 1-based line and the path
/// it names: careerbot does not read included files, and a page made only of one has nothing
/// else to answer from.
pub fn first_include(body: &str) -> Option<(usize, &str)> {
    let mut fences = super::markdown::Fences::default();
    for (i, line) in body.lines().enumerate() {
        let trimmed = line.trim_start();
        if !fences.in_code() {
            if let Some((_, "include", path)) = fence(trimmed) {
                return Some((i + 1, path));
            }
        }
        fences.is_code(trimmed);
    }
    None
}

/// The MyST directives open at a line, followed line by line outside code.
#[derive(Debug, Default)]
pub struct Directives {
    open: Vec<OpenDirective>,
}

/// A directive whose closing fence is still to come.
#[derive(Debug)]
struct OpenDirective {
    fence: String,
    hidden: bool,
    options: Options,
}

impl Directives {
    /// Feeds the next line outside code, leading spaces trimmed: true when it is directive
    /// syntax (a fence opening or closing a directive, one of its options, or a line of a
    /// directive that renders nothing), having written what a reader sees of it (an
    /// admonition's title) to `out`.
    pub fn line(&mut self, trimmed: &str, out: &mut String) -> bool {
        if let Some(top) = self.open.last_mut() {
            if closes(&top.fence, trimmed) {
                self.open.pop();
                return true;
            }
            if top.hidden || top.options.is_option_line(trimmed) {
                return true;
            }
        }
        let Some((fence, directive, argument)) = open(trimmed) else {
            return false;
        };
        let hidden = match directive {
            Directive::Verbatim => return false,
            Directive::Hidden => true,
            Directive::Prose { argument_is_text } => {
                if argument_is_text {
                    out.push_str(&strip_roles(argument));
                }
                false
            }
        };
        self.open.push(OpenDirective {
            fence: fence.to_string(),
            hidden,
            options: Options::default(),
        });
        true
    }
}

/// Whether `trimmed` closes a directive opened with `fence`: the same character, at least
/// as many, nothing else.
fn closes(fence: &str, trimmed: &str) -> bool {
    let Some(c) = fence.chars().next() else {
        return false;
    };
    let trimmed = trimmed.trim_end();
    trimmed.len() >= fence.len() && trimmed.chars().all(|x| x == c)
}

/// Reads a directive's options, which come first in its body: a `---` YAML block or
/// `:key: value` lines. True while `trimmed` is part of them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Options {
    #[default]
    Start,
    InYaml,
    Done,
}

impl Options {
    fn is_option_line(&mut self, trimmed: &str) -> bool {
        match self {
            Options::Start if trimmed.trim_end() == "---" => {
                *self = Options::InYaml;
                true
            }
            Options::Start if is_field(trimmed) => true,
            Options::InYaml => {
                if trimmed.trim_end() == "---" {
                    *self = Options::Done;
                }
                true
            }
            _ => {
                *self = Options::Done;
                false
            }
        }
    }
}

/// `:width: 80%`, `:class: dropdown`, `:open:`.
fn is_field(trimmed: &str) -> bool {
    trimmed
        .strip_prefix(':')
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(key, value)| {
            !key.is_empty()
                && key.chars().all(is_name_char)
                && (value.is_empty() || value.starts_with(' '))
        })
}

/// A target line (`(labels/ast-changes)=`) or a comment line (`% a note to editors`):
/// neither renders.
pub fn is_silent_line(trimmed: &str) -> bool {
    let target = trimmed
        .trim_end()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(")="))
        .is_some_and(|label| !label.is_empty() && !label.contains(char::is_whitespace));
    target || trimmed == "%" || trimmed.starts_with("% ")
}

/// Roles as they render: `{cite:p}`key`` (a citation mark) goes, `{doc}`Text <path>`` keeps
/// `Text`, and any other `{role}`words`` keeps its words as inline code.
pub fn strip_roles(line: &str) -> String {
    if !line.contains("}`") {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('{') {
        let Some(role) = role_at(&rest[start..]) else {
            out.push_str(&rest[..=start]);
            rest = &rest[start + 1..];
            continue;
        };
        out.push_str(rest[..start].trim_end_matches(|c| c == ' ' && role.is_citation));
        if !role.is_citation {
            out.push_str(&role.ticks);
            out.push_str(role.shown);
            out.push_str(&role.ticks);
        }
        rest = &rest[start + role.len..];
    }
    out.push_str(rest);
    out
}

struct Role<'a> {
    /// Bytes from `{` to the closing backticks.
    len: usize,
    is_citation: bool,
    /// The words shown: the content, or its text before ` <target>`.
    shown: &'a str,
    ticks: String,
}

fn role_at(s: &str) -> Option<Role<'_>> {
    let close = s.find('}')?;
    let name = &s[1..close];
    if name.is_empty() || !name.chars().all(is_name_char) {
        return None;
    }
    let after = &s[close + 1..];
    let ticks_len = after.len() - after.trim_start_matches('`').len();
    if ticks_len == 0 {
        return None;
    }
    let ticks = &after[..ticks_len];
    let body = &after[ticks_len..];
    let end = body.find(ticks)?;
    let content = &body[..end];
    let shown = match content.trim_end().strip_suffix('>') {
        Some(c) => c
            .rsplit_once(" <")
            .map_or(content, |(text, _)| text.trim_end()),
        None => content,
    };
    let base = name.split(':').next().unwrap_or(name);
    Some(Role {
        len: close + 1 + ticks_len + end + ticks_len,
        is_citation: matches!(base, "cite" | "footcite"),
        shown,
        ticks: ticks.to_string(),
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_fences_are_told_apart() {
        assert_eq!(
            open("```{note}"),
            Some((
                "```",
                Directive::Prose {
                    argument_is_text: true
                },
                ""
            ))
        );
        assert_eq!(
            open("````{admonition} Read this first"),
            Some((
                "````",
                Directive::Prose {
                    argument_is_text: true
                },
                "Read this first"
            ))
        );
        assert_eq!(
            open(":::{figure} ../assets/logo.png"),
            Some((
                ":::",
                Directive::Prose {
                    argument_is_text: false
                },
                "../assets/logo.png"
            ))
        );
        assert_eq!(open("```{toctree}"), Some(("```", Directive::Hidden, "")));
        assert_eq!(
            open("```{code-block} python"),
            Some(("```", Directive::Verbatim, "python"))
        );
        for plain in [
            "```python",
            "```",
            ":::tip Title",
            "``{note}",
            "```{}",
            "```{a b}",
        ] {
            assert_eq!(open(plain), None, "{plain}");
        }
    }

    #[test]
    fn a_directive_closes_on_its_own_fence_or_a_longer_one() {
        assert!(closes("```", "```"));
        assert!(closes("```", "````  "));
        assert!(!closes("````", "```"));
        assert!(!closes("```", "~~~"));
        assert!(!closes(":::", "::: note"));
    }

    #[test]
    fn options_come_first_as_yaml_or_fields() {
        let mut o = Options::default();
        let lines = ["---", "alt: A logo.", "width: 50%", "---", "Caption text."];
        let flags: Vec<bool> = lines.iter().map(|l| o.is_option_line(l)).collect();
        assert_eq!(flags, [true, true, true, true, false]);

        let mut o = Options::default();
        let lines = [
            ":class: dropdown",
            ":open:",
            "Body: with a colon.",
            ":not: an option",
        ];
        let flags: Vec<bool> = lines.iter().map(|l| o.is_option_line(l)).collect();
        assert_eq!(flags, [true, true, false, false]);
    }

    #[test]
    fn targets_and_comments_are_silent() {
        assert!(is_silent_line("(labels/ast-changes)="));
        assert!(is_silent_line("% TODO: reword"));
        assert!(!is_silent_line("(see above)= not a target"));
        assert!(!is_silent_line("50% of teams"));
        assert!(!is_silent_line("(a b)="));
    }

    #[test]
    fn roles_render_as_their_words() {
        assert_eq!(
            strip_roles("as shown {cite:p}`henney_97_2010`. Next"),
            "as shown. Next"
        );
        assert_eq!(
            strip_roles("See {doc}`the basics <usage/the_basics>` and {ref}`labels`."),
            "See `the basics` and `labels`."
        );
        assert_eq!(
            strip_roles("Run {kbd}`Ctrl+C` or {py:func}``black.format_str``"),
            "Run `Ctrl+C` or ``black.format_str``"
        );
        for kept in ["a {b} c", "{not a role}`x`", "{x}` unclosed", "`{x}`"] {
            assert_eq!(strip_roles(kept), kept, "{kept}");
        }
    }

    #[test]
    fn the_first_include_outside_code_is_found() {
        let body = "```text\n```{include} in/code.md\n```\n\n````{include} ../AUTHORS.md\n````\n";
        assert_eq!(first_include(body), Some((5, "../AUTHORS.md")));
        assert_eq!(first_include("# No include\n"), None);
    }
}
