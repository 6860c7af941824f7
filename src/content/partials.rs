//! Inlines MDX partials as Docusaurus renders them: `import X from './_x.md'` plus a `<X />`
//! line puts the partial's Markdown (front matter dropped, its own partials inlined) in the
//! place of that line, so its text and headings become part of the importing document.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::front_matter;
use super::markdown::Fences;
use super::sources::{self, Sources, MAX_FILE_BYTES};
use super::walk::EXTENSIONS;

/// A body with its partials inlined, and where each of its lines came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// For each line of `text`, the 1-based line of the original body it stands for. Lines
    /// that came from a partial stand for the `<X />` line that brought them in: that is where
    /// a moderator of the importing file can act on them.
    pub lines: Vec<usize>,
}

impl Expanded {
    /// A body with nothing to inline.
    pub fn plain(body: &str) -> Self {
        Expanded {
            text: body.to_string(),
            lines: (1..=body.split_inclusive('\n').count()).collect(),
        }
    }

    /// The original line of 1-based `line` in `text`; lines past the end continue the last.
    pub fn origin(&self, line: usize) -> usize {
        match self.lines.get(line.wrapping_sub(1)) {
            Some(&l) => l,
            None => self.lines.last().copied().unwrap_or(0) + line.saturating_sub(self.lines.len()),
        }
    }
}

/// Where an import points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A Markdown file inside the content folder, by its path relative to it.
    Inside(String),
    /// Above the content folder, or an absolute path.
    Outside,
    /// A package or alias (`@site/…`) we cannot map to a file.
    Unresolved,
}

struct Import {
    spec: String,
    target: Target,
    /// Line of the import in its file.
    line: usize,
}

/// Inlines the partials `body` (of the file at `rel_path`, starting at its line
/// `first_line`) uses, reporting into `diags`: imports escaping the content folder,
/// unreadable partials and cycles are errors; a partial we cannot resolve is left out with a
/// warning.
pub fn expand(
    sources: &mut Sources,
    rel_path: &str,
    body: &str,
    first_line: usize,
    diags: &mut Vec<Diagnostic>,
) -> Expanded {
    let mut stack = vec![rel_path.to_string()];
    expand_in(sources, &mut stack, body, first_line, diags)
}

fn expand_in(
    sources: &mut Sources,
    stack: &mut Vec<String>,
    body: &str,
    first_line: usize,
    diags: &mut Vec<Diagnostic>,
) -> Expanded {
    let rel_path = stack
        .last()
        .expect("the importing file is on the stack")
        .clone();
    let path = sources.display_path(&rel_path);
    let imports = imports(body, &rel_path, &path, first_line, diags);
    if imports.is_empty() {
        return Expanded::plain(body);
    }

    let mut out = Expanded {
        text: String::with_capacity(body.len()),
        lines: Vec::new(),
    };
    let mut fences = Fences::default();
    for (i, line) in body.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        let import = if fences.is_code(trimmed) {
            None
        } else {
            used_component(trimmed).and_then(|name| imports.get(name))
        };
        let inlined = import.and_then(|import| {
            let file_line = first_line + i;
            inline(
                sources,
                stack,
                import,
                &path,
                file_line,
                out.text.len(),
                diags,
            )
        });
        match inlined {
            Some(partial) => {
                out.text.push_str(&partial.text);
                if !partial.text.is_empty() && !partial.text.ends_with('\n') {
                    out.text.push('\n');
                }
                out.lines
                    .extend(std::iter::repeat_n(line_no, partial.lines.len()));
            }
            None => {
                out.text.push_str(line);
                out.lines.push(line_no);
            }
        }
    }
    out
}

/// The Markdown partials `body` imports, by component name (outside code blocks; ES
/// imports are hoisted, so a component may be used above its import line). An import
/// reaching outside the content folder is an error.
fn imports<'b>(
    body: &'b str,
    rel_path: &str,
    path: &std::path::Path,
    first_line: usize,
    diags: &mut Vec<Diagnostic>,
) -> HashMap<&'b str, Import> {
    let mut imports = HashMap::new();
    let mut fences = Fences::default();
    for (i, line) in body.lines().enumerate() {
        let trimmed = line.trim();
        if fences.is_code(trimmed) {
            continue;
        }
        let Some((name, spec)) = default_import(trimmed).filter(|(_, spec)| is_markdown(spec))
        else {
            continue;
        };
        let target = resolve(rel_path, &spec);
        if target == Target::Outside {
            diags.push(
                Diagnostic::error(
                    path,
                    first_line + i,
                    1,
                    format!("partial `{spec}` is outside the content folder"),
                )
                .with_hint(
                    "move the partial into the content folder and import it by a path \
                     relative to this file",
                ),
            );
        }
        let line = first_line + i;
        imports.insert(name, Import { spec, target, line });
    }
    imports
}

/// The partial's expanded body, or `None` (reported) when it cannot be inlined.
fn inline(
    sources: &mut Sources,
    stack: &mut Vec<String>,
    import: &Import,
    path: &std::path::Path,
    line: usize,
    size_so_far: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expanded> {
    let target = match &import.target {
        Target::Inside(target) => target,
        // Already reported at the import line.
        Target::Outside => return None,
        Target::Unresolved => {
            diags.push(
                Diagnostic::warning(
                    path,
                    line,
                    1,
                    format!(
                        "cannot find partial `{}`; its text is left out",
                        import.spec
                    ),
                )
                .with_hint("import partials by a path relative to this file, like './_x.md'"),
            );
            return None;
        }
    };
    if let Some(start) = stack.iter().position(|f| f == target) {
        let mut chain = stack[start..].to_vec();
        chain.push(target.clone());
        diags.push(
            Diagnostic::error(
                path,
                line,
                1,
                format!("partial import cycle: {}", chain.join(" → ")),
            )
            .with_hint("a partial cannot include itself, directly or through others"),
        );
        return None;
    }
    sources.mark_imported(target);
    let partial_path = sources.display_path(target);
    let text = read_partial(sources, import, target, path)
        .map_err(|d| diags.push(d))
        .ok()?;
    let (body, body_line) = match front_matter::split(&text) {
        Ok(split) => (
            split.body,
            super::diagnostic::line_at(text.as_bytes(), split.body_offset),
        ),
        Err(unclosed) => {
            diags.push(unclosed.diagnostic(&partial_path));
            return None;
        }
    };
    stack.push(target.clone());
    let expanded = expand_in(sources, stack, body, body_line, diags);
    stack.pop();
    // Partials used many times over, nested, would otherwise multiply without bound.
    if (size_so_far + expanded.text.len()) as u64 > MAX_FILE_BYTES {
        diags.push(
            Diagnostic::error(
                path,
                line,
                1,
                format!(
                    "with its partials inlined, this file grows past the {} MiB limit",
                    MAX_FILE_BYTES / 1048576
                ),
            )
            .with_hint("split it into several smaller guides"),
        );
        return None;
    }
    Some(expanded)
}

/// The partial's text. A missing partial is the importer's mistake: the error points at
/// its import line.
fn read_partial(
    sources: &mut Sources,
    import: &Import,
    target: &str,
    importer: &std::path::Path,
) -> Result<String, Diagnostic> {
    let partial_path = sources.display_path(target);
    match sources.bytes(target) {
        Ok(bytes) => sources::decode(&partial_path, &bytes).map(str::to_string),
        Err(_) if !partial_path.exists() => Err(Diagnostic::error(
            importer,
            import.line,
            1,
            format!("partial `{}` does not exist", import.spec),
        )
        .with_hint(format!(
            "looked for {}; paths are relative to the importing file",
            partial_path.display()
        ))),
        Err(d) => Err(d),
    }
}

/// `import Name from './path'` (quotes of either kind, optional `;`): the name and the path,
/// with MDX 1's `\_` escapes undone.
fn default_import(line: &str) -> Option<(&str, String)> {
    let rest = line.strip_prefix("import ")?.trim_start();
    let (name, rest) = rest.split_once(char::is_whitespace)?;
    let is_identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if !is_identifier {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("from")?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    let spec = &inner[..inner.find(quote)?];
    Some((name, spec.replace("\\_", "_")))
}

fn is_markdown(spec: &str) -> bool {
    spec.rsplit_once('.')
        .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Resolves `spec` against the importing file's folder, by path alone: a partial reached
/// through a symbolic link inside the content folder is inside, as documents are.
fn resolve(importer: &str, spec: &str) -> Target {
    if spec.starts_with('/') || spec.contains('\\') {
        return Target::Outside;
    }
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return Target::Unresolved;
    }
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop();
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Target::Outside;
                }
            }
            part => parts.push(part),
        }
    }
    Target::Inside(parts.join("/"))
}

/// The component a line consists of: `<X />`, `<X/>`, `<X prop="a" />` or `<X></X>`.
fn used_component(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('<')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let tail = &rest[end..];
    let open_end = tail.find('>')?;
    let (attrs, after) = (&tail[..open_end], tail[open_end + 1..].trim());
    if !(attrs.is_empty() || attrs.starts_with([' ', '\t', '/'])) {
        return None;
    }
    if attrs.trim_end().ends_with('/') {
        after.is_empty().then_some(name)
    } else {
        let close = after.strip_prefix("</")?.strip_suffix('>')?;
        (close.trim() == name).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_default_imports_of_markdown() {
        assert_eq!(
            default_import("import Courses from '../_courses/Courses.md';"),
            Some(("Courses", "../_courses/Courses.md".to_string()))
        );
        assert_eq!(
            default_import(r#"import A from "./\_a.mdx""#),
            Some(("A", "./_a.mdx".to_string()))
        );
        assert_eq!(default_import("import { A } from './a.md'"), None);
        assert_eq!(default_import("important things from here"), None);
        assert!(!is_markdown("@theme/Tabs"));
        assert!(!is_markdown("./diagram.png"));
        assert!(is_markdown("./_x.MDX"));
    }

    #[test]
    fn resolves_inside_the_content_folder_only() {
        assert_eq!(
            resolve("docs/a.md", "./_x.md"),
            Target::Inside("docs/_x.md".into())
        );
        assert_eq!(
            resolve("docs/deep/a.md", "../../_courses/C.md"),
            Target::Inside("_courses/C.md".into())
        );
        assert_eq!(resolve("a.md", "../outside.md"), Target::Outside);
        assert_eq!(resolve("docs/a.md", "/etc/x.md"), Target::Outside);
        assert_eq!(resolve("docs/a.md", "@site/docs/_x.md"), Target::Unresolved);
    }

    #[test]
    fn recognises_component_lines() {
        for line in ["<X />", "<X/>", "<X></X>", "<X prop=\"a\" />", "<X ></X >"] {
            assert_eq!(used_component(line), Some("X"), "{line}");
        }
        for line in ["<x />", "<Xy />text", "<X>text</X>", "<Tabs>", "<X"] {
            assert_eq!(used_component(line), None, "{line}");
        }
    }

    #[test]
    fn lines_map_back_to_the_importing_line() {
        let e = Expanded {
            text: String::new(),
            lines: vec![1, 2, 2, 2, 3],
        };
        assert_eq!(e.origin(4), 2);
        assert_eq!(e.origin(5), 3);
        assert_eq!(e.origin(7), 5);
        assert_eq!(Expanded::plain("a\nb\n").lines, vec![1, 2]);
    }
}
