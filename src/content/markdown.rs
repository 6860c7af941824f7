//! Turns a Markdown body into sections at its headings, as plain text, keeping other docs
//! tools' syntax (MDX imports and components, admonition fences, shortcodes) out of the text.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::diagnostic::LineIndex;
use super::myst;

/// The text under one heading, up to the next heading of any level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// 1–6 for headings; 0 for text before the first heading.
    pub level: u8,
    pub title: String,
    /// `{#id}` written after the heading.
    pub id: Option<String>,
    /// `{key=value}` written after the heading.
    pub attrs: Vec<(String, Option<String>)>,
    /// 1-based line in the body.
    pub line: usize,
    /// Plain text, one line per paragraph, list item or table row.
    pub text: String,
}

/// Splits `body` into sections. Never fails: whatever Markdown cannot express becomes text
/// or is dropped.
pub fn sections(body: &str) -> Vec<Section> {
    let cleaned = strip_foreign_syntax(body);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_GFM;
    let mut reader = SectionReader {
        lines: LineIndex::new(&cleaned),
        source: &cleaned,
        out: vec![Section {
            level: 0,
            title: String::new(),
            id: None,
            attrs: Vec::new(),
            line: 1,
            text: String::new(),
        }],
        text: TextBuilder::default(),
        heading: None,
        heading_text: String::new(),
        image_depth: 0,
        list_depth: 0,
    };
    for (event, range) in Parser::new_ext(&cleaned, options).into_offset_iter() {
        reader.event(event, range.start);
    }
    reader.finish()
}

/// The state of [`sections`] between parser events.
struct SectionReader<'a> {
    lines: LineIndex,
    source: &'a str,
    out: Vec<Section>,
    /// The text of the section being read.
    text: TextBuilder,
    /// The heading being read; its title fills in at the heading's end.
    heading: Option<Section>,
    heading_text: String,
    image_depth: usize,
    list_depth: usize,
}

impl SectionReader<'_> {
    fn event(&mut self, event: Event<'_>, at: usize) {
        match event {
            Event::Start(Tag::Heading {
                level, id, attrs, ..
            }) => {
                self.close_section();
                self.heading = Some(Section {
                    level: heading_level(level),
                    title: String::new(),
                    id: id.map(|s| s.to_string()),
                    attrs: attrs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.map(|v| v.to_string())))
                        .collect(),
                    line: self.lines.line_col(self.source, at).0,
                    text: String::new(),
                });
                self.heading_text.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut section) = self.heading.take() {
                    let title = collapse_spaces(&self.heading_text);
                    section.title = strip_section_number(&title).into();
                    self.out.push(section);
                }
            }
            Event::Start(Tag::Image { .. }) => self.image_depth += 1,
            Event::End(TagEnd::Image) => self.image_depth = self.image_depth.saturating_sub(1),
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t)
                if self.image_depth == 0 =>
            {
                self.inline(&t)
            }
            Event::SoftBreak | Event::HardBreak => self.inline(" "),
            other => self.block(other),
        }
    }

    /// Words, in the heading's title or the section's text.
    fn inline(&mut self, t: &str) {
        if self.heading.is_some() {
            self.heading_text.push_str(t);
        } else {
            self.text.push(t);
        }
    }

    /// Block structure: where lines break, list bullets, table cells, HTML as its text.
    fn block(&mut self, event: Event<'_>) {
        let text = &mut self.text;
        match event {
            Event::Html(html) => {
                let stripped = strip_tags(&html);
                if !stripped.trim().is_empty() {
                    text.push(&stripped);
                    text.end_block();
                }
            }
            Event::Start(Tag::List(_)) => {
                text.end_block();
                self.list_depth += 1;
            }
            Event::End(TagEnd::List(_)) => {
                text.end_block();
                self.list_depth = self.list_depth.saturating_sub(1);
            }
            Event::Start(Tag::Item) => {
                text.end_block();
                text.push(&"  ".repeat(self.list_depth.saturating_sub(1)));
                text.push("- ");
            }
            Event::Start(Tag::CodeBlock(_)) => text.end_block(),
            Event::End(TagEnd::CodeBlock) => text.end_block_verbatim(),
            Event::End(TagEnd::TableCell) => text.push(" | "),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::Item
                | TagEnd::BlockQuote(_)
                | TagEnd::FootnoteDefinition,
            )
            | Event::Rule => text.end_block(),
            _ => {}
        }
    }

    /// The text read so far belongs to the last section.
    fn close_section(&mut self) {
        self.out.last_mut().expect("sections start non-empty").text = self.text.finish();
    }

    fn finish(mut self) -> Vec<Section> {
        self.close_section();
        self.out
    }
}

/// `3.2.1 Base pay`, `1. Introduction`, `2) Setup` → the title without its number, which
/// only restates the heading's place and changes whenever sections move. Plain leading
/// numbers are words of the title (`2024 salaries`, `10x engineers`) and stay.
pub fn strip_section_number(title: &str) -> &str {
    let Some((number, rest)) = title.split_once(char::is_whitespace) else {
        return title;
    };
    let (digits, marked) = match number.strip_suffix(['.', ')']) {
        Some(digits) => (digits, true),
        None => (number, false),
    };
    let groups: Vec<&str> = digits.split('.').collect();
    let numbered = groups
        .iter()
        .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()))
        && (marked || groups.len() > 1);
    let rest = rest.trim_start();
    if numbered && !rest.is_empty() {
        rest
    } else {
        title
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Accumulates plain text; blocks become lines, runs of spaces collapse.
#[derive(Default)]
struct TextBuilder {
    lines: Vec<String>,
    current: String,
    verbatim: bool,
}

impl TextBuilder {
    fn push(&mut self, s: &str) {
        self.current.push_str(s);
    }

    fn end_block(&mut self) {
        let line = collapse_spaces(&self.current);
        // "- " alone is an item whose text is still to come in a nested block.
        if !line.is_empty() && line != "-" {
            self.lines.push(line);
            self.current.clear();
        } else if line.is_empty() {
            self.current.clear();
        }
        self.verbatim = false;
    }

    /// Code keeps its line breaks and indentation.
    fn end_block_verbatim(&mut self) {
        for line in self.current.lines() {
            if !line.trim().is_empty() {
                self.lines.push(line.trim_end().to_string());
            }
        }
        self.current.clear();
    }

    fn finish(&mut self) -> String {
        self.end_block();
        std::mem::take(&mut self.lines).join("\n")
    }
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes `<tags>` and `<!-- comments -->` from an HTML fragment, keeping the text.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = if after.starts_with("<!--") {
            after.find("-->").map(|i| i + 3)
        } else {
            after.find('>').map(|i| i + 1)
        };
        match end {
            Some(end) => rest = &after[end..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Blanks (keeping line numbers) or removes syntax that belongs to other docs tools:
/// MDX `import`/`export` lines, JSX component lines, `:::note` and `!!! note` admonition
/// markers, Hugo shortcodes, Liquid tags, MDX comments, and MyST's directive fences, options,
/// targets, comments and roles (see [`myst`]). Fenced code is left alone.
pub fn strip_foreign_syntax(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut fences = Fences::default();
    let mut directives = myst::Directives::default();
    let mut mkdocs_indent = false;
    for line in body.split_inclusive('\n') {
        let (content, newline) = match line.strip_suffix('\n') {
            Some(c) => (c.strip_suffix('\r').unwrap_or(c), "\n"),
            None => (line, ""),
        };
        let trimmed = content.trim_start();
        if !fences.in_code() && directives.line(trimmed, &mut out) {
            out.push_str(newline);
            continue;
        }
        if fences.is_code(trimmed) {
            out.push_str(content);
            out.push_str(newline);
            continue;
        }
        if mkdocs_indent {
            if let Some(inner) = content.strip_prefix("    ") {
                out.push_str(inner);
                out.push_str(newline);
                continue;
            }
            if !trimmed.is_empty() {
                mkdocs_indent = false;
            }
        }
        let blank = is_mdx_module_line(trimmed)
            || trimmed.starts_with(":::")
            || is_tag_only_line(trimmed)
            || myst::is_silent_line(trimmed);
        if trimmed.starts_with("!!! ")
            || trimmed.starts_with("??? ")
            || trimmed.starts_with("???+ ")
        {
            mkdocs_indent = true;
        } else if !blank {
            out.push_str(&myst::strip_roles(&strip_template_spans(content)));
        }
        out.push_str(newline);
    }
    out
}

/// Follows fenced code blocks line by line, so other tools' syntax inside code is left alone.
#[derive(Debug, Default)]
pub struct Fences {
    open: Option<String>,
}

impl Fences {
    /// Whether a code block is open: the next line is code unless it closes the block.
    pub fn in_code(&self) -> bool {
        self.open.is_some()
    }

    /// Feeds the next line, leading spaces trimmed; true when it is a fence or code in one.
    pub fn is_code(&mut self, trimmed: &str) -> bool {
        if let Some(open) = &self.open {
            if trimmed.starts_with(open.as_str())
                && trimmed.trim_end().chars().all(|c| open.starts_with(c))
            {
                self.open = None;
            }
            return true;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            self.open = Some(
                trimmed
                    .chars()
                    .take_while(|&c| c == '`' || c == '~')
                    .collect(),
            );
            return true;
        }
        false
    }
}

fn is_mdx_module_line(line: &str) -> bool {
    (line.starts_with("import ")
        && (line.contains(" from ")
            || line.ends_with(';')
            || line.ends_with('\'')
            || line.ends_with('"')))
        || line.starts_with("export ")
}

/// A line made only of tags (`<Tabs>`, `</TabItem>`, `<Card title="x" />`), as MDX and HTML
/// wrappers write them.
fn is_tag_only_line(line: &str) -> bool {
    line.starts_with('<')
        && line.trim_end().ends_with('>')
        && !line.starts_with("<http")
        && strip_tags(line).trim().is_empty()
}

/// Removes `{{< … >}}`, `{{% … %}}`, `{% … %}`, `{{ … }}` and `{/* … */}` spans.
fn strip_template_spans(line: &str) -> String {
    const PAIRS: &[(&str, &str)] = &[
        ("{{<", ">}}"),
        ("{{%", "%}}"),
        ("{%", "%}"),
        ("{{", "}}"),
        ("{/*", "*/}"),
    ];
    let mut s = line.to_string();
    for (open, close) in PAIRS {
        while let Some(start) = s.find(open) {
            match s[start + open.len()..].find(close) {
                Some(end) => s.replace_range(start..start + open.len() + end + close.len(), ""),
                None => break,
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_headings_with_attributes_and_lines() {
        let body = "Intro text.\n\n# Title\n\n## Junior {#junior levels=junior}\n\n- one\n- **two**\n\n### Deep\n\nPara\nwraps.\n";
        let s = sections(body);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].text, "Intro text.");
        assert_eq!(
            (s[1].level, s[1].title.as_str(), s[1].line),
            (1, "Title", 3)
        );
        assert_eq!(s[2].id.as_deref(), Some("junior"));
        assert_eq!(
            s[2].attrs,
            vec![("levels".to_string(), Some("junior".to_string()))]
        );
        assert_eq!(s[2].text, "- one\n- two");
        assert_eq!(s[3].text, "Para wraps.");
        assert_eq!(s[3].line, 10);
    }

    #[test]
    fn keeps_foreign_syntax_out_of_text() {
        let body = "import Tabs from '@theme/Tabs';\n\n# T\n\n:::tip Remember\nKeep **this**.\n:::\n\n<Tabs>\n<TabItem value=\"a\">\n\nInside tab.\n\n</TabItem>\n</Tabs>\n\n{{< figure src=\"x.png\" >}} Caption {% raw %}\n\n<div class=\"x\">html text</div>\n\n> [!NOTE]\n> Alert body.\n\n![alt text](img.png)\n";
        let s = sections(body);
        let text = &s[1].text;
        assert_eq!(
            text,
            "Keep this.\nInside tab.\nCaption\nhtml text\nAlert body."
        );
    }

    #[test]
    fn section_numbers_are_stripped_but_numbers_in_titles_stay() {
        for (heading, title) in [
            ("3.2.1 Base pay", "Base pay"),
            ("1. Introduction", "Introduction"),
            ("2) Setup", "Setup"),
            ("4.1. Offers", "Offers"),
            ("2024 salaries", "2024 salaries"),
            ("10x engineers", "10x engineers"),
            ("1.5x faster", "1.5x faster"),
            ("1.", "1."),
            ("v1.2 release", "v1.2 release"),
            ("🚀 Getting started", "🚀 Getting started"),
        ] {
            assert_eq!(strip_section_number(heading), title, "{heading}");
        }
        let s = sections("## 3.2 Base pay {#pay}\n\nText.\n");
        assert_eq!(
            (s[1].title.as_str(), s[1].id.as_deref()),
            ("Base pay", Some("pay"))
        );
    }

    #[test]
    fn code_fences_are_left_alone() {
        let body = "# T\n\n```python\nimport os from x\n  x = 1\n```\n";
        let s = sections(body);
        assert_eq!(s[1].text, "import os from x\n  x = 1");
    }

    #[test]
    fn mkdocs_admonitions_are_dedented() {
        let body = "# T\n\n!!! note \"Heads up\"\n    Indented body.\n\nAfter.\n";
        let s = sections(body);
        assert_eq!(s[1].text, "Indented body.\nAfter.");
    }

    #[test]
    fn myst_renders_as_jupyter_book_shows_it() {
        let body = "(intro-target)=\n# T\n\n```{figure} ../assets/logo.png\n---\nalt: A logo.\nwidth: 50%\n---\n_The caption_ {cite:alp}`img_source`.\n```\n\n% an editor's note\n````{admonition} Read first\n:class: tip\nSee {doc}`the basics <usage/basics>`.\n```python\nx = {cite}`not a role in code`\n```\n````\n\n```{toctree}\n---\nhidden:\n---\nusage/basics\n```\n\n:::{note}\nColon fence.\n:::\n\n```{eval-rst}\n.. autofunction:: black.format_str\n```\n";
        let s = sections(body);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].line, 2);
        assert_eq!(
            s[1].text,
            "The caption.\nRead first\nSee the basics.\nx = {cite}`not a role in code`\nColon fence.\n.. autofunction:: black.format_str"
        );
    }
}
