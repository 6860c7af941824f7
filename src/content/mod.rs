//! Content stage: reads the Markdown guides and FAQs in `data/` into validated
//! [`Document`]s made of heading-sized [`Passage`]s, reporting every problem at once.

pub mod diagnostic;
pub mod facets;
pub mod front_matter;
pub mod markdown;
pub mod myst;
pub mod partials;
pub mod sources;
pub mod walk;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use diagnostic::{Diagnostic, Severity};
pub use facets::{Facet, Facets, Resolved, Vocabulary};

pub use sources::MAX_FILE_BYTES;

use front_matter::RawFrontMatter;
use markdown::Section;
use sources::Sources;
use walk::Role;

/// One guide or FAQ file, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub id: String,
    /// Path relative to the data folder, `/`-separated.
    pub path: String,
    pub title: String,
    pub description: Option<String>,
    /// Where the facts come from, as shown to users.
    pub source: String,
    pub passages: Vec<Passage>,
}

/// The unit of an answer: the text under one heading.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Passage {
    /// `doc-id#section-id`, stable across edits that keep the heading.
    pub id: String,
    pub doc_id: String,
    pub title: String,
    /// Document title, then each enclosing heading, then this one.
    pub breadcrumb: Vec<String>,
    /// Plain text, one line per paragraph or list item.
    pub text: String,
    pub facets: Facets,
    pub aliases: Vec<String>,
    pub source: String,
    /// `path#anchor`, for moderators to find the text.
    pub location: String,
    /// 1-based line of the heading in its file.
    pub line: usize,
}

impl Passage {
    /// A short fingerprint of everything an answer shows, to tell edited passages apart.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.title, &self.text, &self.source, &self.location] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for crumb in &self.breadcrumb {
            h.update(crumb.as_bytes());
            h.update([1]);
        }
        for facet in Facet::ALL {
            for v in self.facets.get(facet) {
                h.update(facet.key().as_bytes());
                h.update(v.as_bytes());
                h.update([2]);
            }
        }
        for a in &self.aliases {
            h.update(a.as_bytes());
            h.update([3]);
        }
        hex(&h.finalize()[..8])
    }
}

/// Everything loaded from a data folder.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pub documents: Vec<Document>,
    /// Short hash of the path and bytes of every Markdown file read (documents, partials,
    /// drafts): changes whenever one of them does.
    pub version: String,
}

impl Content {
    pub fn passages(&self) -> impl Iterator<Item = &Passage> {
        self.documents.iter().flat_map(|d| d.passages.iter())
    }
}

/// The result of loading: the documents that passed, and every problem found.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub content: Content,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

impl LoadReport {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// A parsed file on its way to becoming a [`Document`].
pub struct RawDocument<'a> {
    /// Path shown in diagnostics.
    pub display_path: PathBuf,
    /// Path relative to the data folder, `/`-separated.
    pub rel_path: String,
    pub front_matter: RawFrontMatter,
    /// Front-matter text and its first line, to point errors at the right line.
    pub front_matter_text: &'a str,
    pub front_matter_line: usize,
    pub sections: Vec<Section>,
    /// For each line of the body the sections were read from (partials inlined), its line
    /// in the file.
    pub body_lines: Vec<usize>,
    pub vocabulary: &'a Vocabulary,
}

impl RawDocument<'_> {
    /// The file line of a front-matter key (or of one of its values), for diagnostics.
    fn fm_line(&self, key: &str, value: Option<&str>) -> usize {
        let line = match value {
            Some(v) => front_matter::value_line(self.front_matter_text, key, v),
            None => front_matter::key_line(self.front_matter_text, key),
        };
        line.map_or(1, |l| self.front_matter_line + l - 1)
    }

    /// The file line of a 1-based body line.
    fn file_line(&self, body_line: usize) -> usize {
        match self.body_lines.get(body_line.wrapping_sub(1)) {
            Some(&line) => line,
            None => {
                self.body_lines
                    .last()
                    .copied()
                    .unwrap_or(self.front_matter_line)
                    + body_line.saturating_sub(self.body_lines.len())
            }
        }
    }
}

/// A document that passed validation, and the warnings met on the way.
#[derive(Debug)]
pub struct Validated {
    pub document: Document,
    pub warnings: Vec<Diagnostic>,
}

impl TryFrom<RawDocument<'_>> for Validated {
    /// Every problem found, at least one of them an error.
    type Error = Vec<Diagnostic>;

    fn try_from(raw: RawDocument<'_>) -> Result<Validated, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let path = raw.display_path.clone();
        let id = document_id(&raw, &mut diags);
        let facets = document_facets(&raw, &mut diags);
        let aliases = document_aliases(&raw.front_matter);
        let mut sections = drop_untitled_headings(&raw, &path, &mut diags);
        let title = document_title(&raw, &sections);
        let (description, intro_line) = fold_intro(&raw, &mut sections);
        let source = raw
            .front_matter
            .source
            .clone()
            .unwrap_or_else(|| raw.rel_path.clone());

        let mut builder = Passages {
            raw: &raw,
            doc_id: &id,
            title: &title,
            source: &source,
            intro_line,
            facets,
            aliases,
            passages: Vec::new(),
            seen_anchors: HashMap::new(),
            explicit_anchors: HashSet::new(),
            reported: HashSet::new(),
            stack: Vec::new(),
        };
        for (i, section) in sections.iter().enumerate() {
            builder.add(section, sections.get(i + 1), &mut diags);
        }
        let Passages {
            passages, reported, ..
        } = builder;
        check_unique_passage_ids(&passages, &reported, &path, &mut diags);

        if diags.iter().any(Diagnostic::is_error) {
            return Err(diags);
        }
        Ok(Validated {
            document: Document {
                id,
                path: raw.rel_path,
                title,
                description,
                source,
                passages,
            },
            warnings: diags,
        })
    }
}

/// The front matter's `id` (reported when malformed), or one made from the path.
fn document_id(raw: &RawDocument<'_>, diags: &mut Vec<Diagnostic>) -> String {
    match &raw.front_matter.id {
        Some(id) if is_valid_id(id) => id.clone(),
        Some(id) => {
            diags.push(
                Diagnostic::error(
                    &raw.display_path,
                    raw.fm_line("id", None),
                    1,
                    format!("invalid id `{id}`"),
                )
                .with_hint("ids use lower-case letters, digits, `-`, `_` and `/`"),
            );
            id.clone()
        }
        None => default_id(&raw.rel_path),
    }
}

/// The document's facets from its front matter, each value checked against the vocabulary.
fn document_facets(raw: &RawDocument<'_>, diags: &mut Vec<Diagnostic>) -> Facets {
    let fm = &raw.front_matter;
    let mut facets = Facets::default();
    for facet in Facet::ALL {
        let written = match facet {
            Facet::Topic => fm.topic.clone(),
            Facet::Levels => fm.levels.clone(),
            Facet::Regions => fm.regions.clone(),
            Facet::Providers => fm.providers.clone(),
        };
        for value in written.map(|w| w.into_vec()).unwrap_or_default() {
            let line = raw.fm_line(facet.key(), Some(&value));
            match check_facet_value(raw.vocabulary, facet, &value, &raw.display_path, line) {
                Ok(v) => push_unique(facets.get_mut(facet), v),
                Err(e) => diags.push(e),
            }
        }
    }
    facets
}

/// Other words for the whole document: `aliases`, and other tools' `tags` and `keywords`.
fn document_aliases(fm: &RawFrontMatter) -> Vec<String> {
    let mut aliases: Vec<String> = Vec::new();
    for list in [&fm.aliases, &fm.tags, &fm.keywords].into_iter().flatten() {
        for a in list.clone().into_vec() {
            push_unique(&mut aliases, a);
        }
    }
    aliases
}

fn non_blank(text: &Option<String>) -> Option<String> {
    text.clone().filter(|t| !t.trim().is_empty())
}

/// `title`, then `sidebar_label`, then the first heading, then the file name.
fn document_title(raw: &RawDocument<'_>, sections: &[Section]) -> String {
    let fm = &raw.front_matter;
    non_blank(&fm.title)
        .or_else(|| non_blank(&fm.sidebar_label))
        .or_else(|| {
            sections
                .iter()
                .find(|s| s.level > 0)
                .map(|s| s.title.clone())
        })
        .unwrap_or_else(|| title_from_path(&raw.rel_path))
}

/// Shapes the intro (`sections[0]`): a single `# Heading` at the top names the document
/// rather than opening a section, so its text and attributes join the intro; and the
/// front matter's `description`, what the page is about in the author's words, is the intro
/// when the body does not open with one. Returns the description and the intro's line.
fn fold_intro(raw: &RawDocument<'_>, sections: &mut Vec<Section>) -> (Option<String>, usize) {
    let h1s = sections.iter().filter(|s| s.level == 1).count();
    let first_heading = sections.iter().position(|s| s.level > 0);
    let mut intro_line = raw.file_line(1);
    if let Some(i) = first_heading.filter(|&i| h1s == 1 && sections[i].level == 1) {
        let heading = sections.remove(i);
        let intro = &mut sections[0];
        if !heading.text.is_empty() {
            if !intro.text.is_empty() {
                intro.text.push('\n');
            }
            intro.text.push_str(&heading.text);
        }
        intro.attrs.extend(heading.attrs);
        intro_line = raw.file_line(heading.line);
    }
    let description = non_blank(&raw.front_matter.description);
    if let (true, Some(description)) = (sections[0].text.is_empty(), &description) {
        sections[0].text = description.trim().to_string();
        intro_line = raw.fm_line("description", None);
    }
    (description, intro_line)
}

/// Turns a document's sections into passages, one at a time, keeping what the next section
/// needs: the enclosing headings, the anchors taken so far.
struct Passages<'r, 'a> {
    raw: &'r RawDocument<'a>,
    doc_id: &'r str,
    title: &'r str,
    source: &'r str,
    intro_line: usize,
    /// The document's own facets and aliases (after the intro's attributes).
    facets: Facets,
    aliases: Vec<String>,
    passages: Vec<Passage>,
    /// Generated anchors by base, to number repeats (`pay`, `pay-1`).
    seen_anchors: HashMap<String, usize>,
    explicit_anchors: HashSet<String>,
    /// Passage ids already reported as duplicates.
    reported: HashSet<String>,
    /// Enclosing headings: (level, title, facets, aliases).
    stack: Vec<(u8, String, Facets, Vec<String>)>,
}

impl Passages<'_, '_> {
    fn add(&mut self, section: &Section, next: Option<&Section>, diags: &mut Vec<Diagnostic>) {
        let file_line = self.raw.file_line(section.line);
        while self
            .stack
            .last()
            .is_some_and(|(level, ..)| *level >= section.level)
        {
            self.stack.pop();
        }
        let (inherited_facets, inherited_aliases) = self
            .stack
            .last()
            .map(|(_, _, f, a)| (f.clone(), a.clone()))
            .unwrap_or_else(|| (self.facets.clone(), self.aliases.clone()));
        let (facets, aliases) = apply_attrs(
            section,
            inherited_facets,
            inherited_aliases,
            self.raw.vocabulary,
            &self.raw.display_path,
            file_line,
            diags,
        );
        if section.level == 0 {
            self.intro(section, facets, aliases);
            return;
        }
        let anchor = self.anchor(section, file_line, diags);
        if !section.text.is_empty() {
            self.passages.push(Passage {
                id: format!("{}#{anchor}", self.doc_id),
                doc_id: self.doc_id.to_string(),
                title: section.title.clone(),
                breadcrumb: self.breadcrumb(section),
                text: section.text.clone(),
                facets: facets.clone(),
                aliases: aliases.clone(),
                source: self.source.to_string(),
                location: format!("{}#{anchor}", self.raw.rel_path),
                line: file_line,
            });
        } else if next.is_none_or(|next| next.level <= section.level) {
            // A heading over subheadings only is ordinary structure; one over nothing (or
            // over components that render elsewhere) has nothing to answer with.
            diags.push(
                Diagnostic::warning(
                    &self.raw.display_path,
                    file_line,
                    1,
                    format!("section `{}` has no text; nothing indexed", section.title),
                )
                .with_hint("write the answer under the heading, or remove the heading"),
            );
        }
        self.stack
            .push((section.level, section.title.clone(), facets, aliases));
    }

    /// The text before the first section, owned by the document itself; sections below
    /// inherit its attributes.
    fn intro(&mut self, section: &Section, facets: Facets, aliases: Vec<String>) {
        if !section.text.is_empty() {
            self.passages.push(Passage {
                id: self.doc_id.to_string(),
                doc_id: self.doc_id.to_string(),
                title: self.title.to_string(),
                breadcrumb: vec![self.title.to_string()],
                text: section.text.clone(),
                facets: facets.clone(),
                aliases: aliases.clone(),
                source: self.source.to_string(),
                location: self.raw.rel_path.clone(),
                line: self.intro_line,
            });
        }
        self.facets = facets;
        self.aliases = aliases;
    }

    /// The section's `{#id}`, unique within the file (reported if not), or a slug of its
    /// title numbered on repeats.
    fn anchor(&mut self, section: &Section, line: usize, diags: &mut Vec<Diagnostic>) -> String {
        if let Some(explicit) = &section.id {
            if !self.explicit_anchors.insert(explicit.clone()) {
                self.reported.insert(format!("{}#{explicit}", self.doc_id));
                diags.push(
                    Diagnostic::error(
                        &self.raw.display_path,
                        line,
                        1,
                        format!("duplicate section id `{explicit}`"),
                    )
                    .with_hint("each `{#id}` must be unique within its file"),
                );
            }
            return explicit.clone();
        }
        let base = slugify(&section.title);
        let n = self.seen_anchors.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base
        } else {
            format!("{base}-{}", *n - 1)
        }
    }

    /// The document title, the enclosing headings and the section's own; a document named
    /// after its only heading must not say its name twice.
    fn breadcrumb(&self, section: &Section) -> Vec<String> {
        let mut breadcrumb = vec![self.title.to_string()];
        breadcrumb.extend(self.stack.iter().map(|(_, t, ..)| t.clone()));
        breadcrumb.push(section.title.clone());
        breadcrumb.dedup_by(|a, b| a.to_lowercase() == b.to_lowercase());
        breadcrumb
    }
}

/// Explicit and generated ids can still collide (`{#a}` beside a heading "A").
fn check_unique_passage_ids(
    passages: &[Passage],
    reported: &HashSet<String>,
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) {
    let mut ids = HashSet::new();
    for p in passages {
        if !ids.insert(p.id.as_str()) && !reported.contains(&p.id) {
            diags.push(
                Diagnostic::error(path, p.line, 1, format!("duplicate passage id `{}`", p.id))
                    .with_hint("give one of the headings a different `{#id}`"),
            );
        }
    }
}

/// Removes headings with no title (`## ` alone), which name nothing: their text joins the
/// section above, as a reader sees it.
fn drop_untitled_headings(
    raw: &RawDocument<'_>,
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::with_capacity(raw.sections.len());
    for section in &raw.sections {
        if section.level == 0 || !section.title.is_empty() {
            sections.push(section.clone());
            continue;
        }
        let line = raw.file_line(section.line);
        let above = sections.last_mut().expect("the intro section comes first");
        let message = if section.text.is_empty() {
            "heading has no title; ignored"
        } else {
            if !above.text.is_empty() {
                above.text.push('\n');
            }
            above.text.push_str(&section.text);
            "heading has no title; its text joins the section above"
        };
        diags.push(
            Diagnostic::warning(path, line, 1, message)
                .with_hint("write the section's title after the `#` marks"),
        );
    }
    sections
}

/// Applies a heading's `{topic=… levels=… aliases=…}` attributes to what it inherits.
fn apply_attrs(
    section: &Section,
    mut facets: Facets,
    mut aliases: Vec<String>,
    vocabulary: &Vocabulary,
    path: &Path,
    line: usize,
    errors: &mut Vec<Diagnostic>,
) -> (Facets, Vec<String>) {
    const ATTR_KEYS: &[&str] = &["topic", "levels", "regions", "providers", "aliases"];
    for (key, value) in &section.attrs {
        let values: Vec<&str> = value
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if key == "aliases" {
            for v in values {
                push_unique(&mut aliases, v.replace('-', " "));
            }
            continue;
        }
        let Some(facet) = Facet::from_key(key) else {
            // A misspelling of ours would lose a facet; another tool's attribute loses nothing.
            errors.push(
                match diagnostic::did_you_mean(key, ATTR_KEYS.iter().copied()) {
                    Some(k) => Diagnostic::error(
                        path,
                        line,
                        1,
                        format!("unknown heading attribute `{key}`"),
                    )
                    .with_hint(format!("did you mean `{k}`?")),
                    None => Diagnostic::warning(
                        path,
                        line,
                        1,
                        format!("heading attribute `{key}` is not used by careerbot; ignored"),
                    )
                    .with_hint(format!("heading attributes: {}", ATTR_KEYS.join(", "))),
                },
            );
            continue;
        };
        if values.is_empty() {
            errors.push(
                Diagnostic::error(
                    path,
                    line,
                    1,
                    format!("heading attribute `{key}` has no value"),
                )
                .with_hint(format!("write `{key}=value` or `{key}=first,second`")),
            );
            continue;
        }
        let own = facets.get_mut(facet);
        own.clear();
        for v in values {
            match check_facet_value(vocabulary, facet, v, path, line) {
                Ok(v) => push_unique(own, v),
                Err(e) => errors.push(e),
            }
        }
    }
    (facets, aliases)
}

fn check_facet_value(
    vocabulary: &Vocabulary,
    facet: Facet,
    value: &str,
    path: &Path,
    line: usize,
) -> Result<String, Diagnostic> {
    match vocabulary.resolve(facet, value) {
        Resolved::Known(id) => Ok(id),
        Resolved::Unknown { closest } => {
            // Hints may reach further than the typo budget queries get: a moderator reads them.
            let closest = closest.or_else(|| {
                diagnostic::did_you_mean(
                    value,
                    vocabulary
                        .values(facet)
                        .iter()
                        .flat_map(|v| v.spellings.iter().map(String::as_str)),
                )
                .and_then(|s| {
                    let norm = facets::normalize(s);
                    vocabulary
                        .values(facet)
                        .iter()
                        .find(|v| v.spellings.contains(&norm))
                        .map(|v| v.id.clone())
                })
            });
            let known: Vec<&str> = vocabulary
                .values(facet)
                .iter()
                .map(|v| v.id.as_str())
                .collect();
            let list = format!(
                "known {}s: {} (new values go under [facets.{}] in config.toml)",
                facet.noun(),
                known.join(", "),
                facet.key()
            );
            let hint = match closest {
                Some(c) => format!("did you mean `{c}`? {list}"),
                None => list,
            };
            Err(
                Diagnostic::error(path, line, 1, format!("unknown {} `{value}`", facet.noun()))
                    .with_hint(hint),
            )
        }
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_/.".contains(c))
}

/// `guides/Salary.md` → `guides/salary`; `guides/_index.md` → `guides`.
fn default_id(rel_path: &str) -> String {
    let stem = rel_path
        .rsplit_once('.')
        .map_or(rel_path, |(stem, _)| stem)
        .to_lowercase();
    let stem = stem
        .strip_suffix("/_index")
        .or_else(|| stem.strip_suffix("/index"))
        .unwrap_or(&stem);
    stem.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_/.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn title_from_path(rel_path: &str) -> String {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let words = stem.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => rel_path.to_string(),
    }
}

/// GitHub-style anchors: lower case, letters and digits kept, the rest as single dashes.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "section".into()
    } else {
        slug
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads every Markdown file under `dir`. Never panics and never stops at the first
/// problem: the report holds every document that passed and every diagnostic.
pub fn load_dir(dir: &Path, vocabulary: &Vocabulary) -> LoadReport {
    let mut report = LoadReport::default();
    let walked = match walk::walk(dir) {
        Ok(w) => w,
        Err(d) => {
            report.diagnostics.push(d);
            return report;
        }
    };
    report.diagnostics.extend(walked.diagnostics);
    report.files = walked.files.len();

    let mut loader = Loader {
        sources: Sources::new(dir),
        vocabulary,
        doc_ids: HashMap::new(),
        report: &mut report,
    };
    let mut loaded = Vec::new();
    let mut partials = Vec::new();
    for (order, file) in walked.files.iter().enumerate() {
        // Partials are read here too, for the content version.
        let read = loader.sources.bytes(&file.rel_path);
        match file.role {
            Role::Partial => partials.push(order),
            Role::Draft => loader.report.diagnostics.push(
                Diagnostic::warning(&file.path, 1, 1, "draft; skipped")
                    .with_hint("move it out of `_drafts/` to publish it"),
            ),
            Role::Document => loaded.extend(loader.load(file, read).map(|doc| (order, doc))),
        }
    }
    // A `_` file no guide imports is a page of its own (Jupyter Book, Jekyll collections); a
    // broken partial that is imported is reported where it is used.
    for order in partials {
        let file = &walked.files[order];
        if loader.sources.is_imported(&file.rel_path) || walk::in_tool_folder(&file.rel_path) {
            continue;
        }
        let read = loader.sources.bytes(&file.rel_path);
        loaded.extend(loader.load(file, read).map(|doc| (order, doc)));
    }
    let version = loader.sources.version();
    loaded.sort_by_key(|&(order, _)| order);
    report.content.documents = loaded.into_iter().map(|(_, doc)| doc).collect();
    drop_repeated_passages(&mut report.content.documents);
    report.content.version = version;
    report
        .diagnostics
        .sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    // A partial shared by many documents reports its own problems once.
    let mut seen = HashSet::new();
    report.diagnostics.retain(|d| seen.insert(d.clone()));
    report
}

/// What [`load_dir`] carries from file to file.
struct Loader<'a> {
    sources: Sources,
    vocabulary: &'a Vocabulary,
    /// Each loaded document's id and where it came from, to report duplicates.
    doc_ids: HashMap<String, PathBuf>,
    report: &'a mut LoadReport,
}

impl Loader<'_> {
    /// Loads one document, reporting its diagnostics; `None` when it cannot be indexed.
    fn load(&mut self, file: &walk::File, read: Result<Arc<[u8]>, Diagnostic>) -> Option<Document> {
        let diagnostics = &mut self.report.diagnostics;
        let bytes = read.map_err(|d| diagnostics.push(d)).ok()?;
        let (doc, diags) = load_source(
            &file.path,
            &file.rel_path,
            &bytes,
            self.vocabulary,
            Some(&mut self.sources),
        );
        diagnostics.extend(diags);
        let doc = doc?;
        if let Some(first) = self.doc_ids.get(&doc.id) {
            diagnostics.push(
                Diagnostic::error(
                    &file.path,
                    1,
                    1,
                    format!("duplicate document id `{}`", doc.id),
                )
                .with_hint(format!(
                    "{} already uses it; set a different `id` in the front matter",
                    first.display()
                )),
            );
            return None;
        }
        self.doc_ids.insert(doc.id.clone(), file.path.clone());
        if doc.passages.is_empty() {
            let text = String::from_utf8_lossy(&bytes);
            let warning = match myst::first_include(&text) {
                Some((line, path)) => Diagnostic::warning(
                    &file.path,
                    line,
                    1,
                    "no text to answer from; nothing indexed",
                )
                .with_hint(format!(
                    "careerbot does not read MyST `{{include}}` (here `{path}`): copy that file into the content folder, as a guide of its own"
                )),
                None => Diagnostic::warning(&file.path, 1, 1, "no text to answer from; nothing indexed")
                    .with_hint("write some text below the front matter"),
            };
            diagnostics.push(warning);
        }
        Some(doc)
    }
}

/// A partial inlined into many guides gives the same passage many times: keep its first
/// (in sorted path order), so an answer never lists one text thrice. Same heading, text and
/// facets count as the same passage; the same text under another heading does not.
fn drop_repeated_passages(documents: &mut [Document]) {
    let mut seen: HashSet<(String, String, Facets)> = HashSet::new();
    for doc in documents {
        doc.passages
            .retain(|p| seen.insert((p.title.clone(), p.text.clone(), p.facets.clone())));
    }
}

/// Parses and validates one file's bytes on its own (partials are not inlined: there is no
/// content folder to find them in); `None` when it has errors or is skipped.
pub fn load_file(
    path: &Path,
    rel_path: &str,
    bytes: &[u8],
    vocabulary: &Vocabulary,
) -> (Option<Document>, Vec<Diagnostic>) {
    load_source(path, rel_path, bytes, vocabulary, None)
}

fn load_source(
    path: &Path,
    rel_path: &str,
    bytes: &[u8],
    vocabulary: &Vocabulary,
    sources: Option<&mut Sources>,
) -> (Option<Document>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let text = match sources::decode(path, bytes) {
        Ok(t) => t,
        Err(d) => return (None, vec![d]),
    };
    if text.trim().is_empty() {
        diags.push(
            Diagnostic::warning(path, 1, 1, "file is empty; skipped")
                .with_hint("write a guide in it, or delete it"),
        );
        return (None, diags);
    }
    let split = match front_matter::split(text) {
        Ok(s) => s,
        Err(unclosed) => {
            diags.push(unclosed.diagnostic(path));
            return (None, diags);
        }
    };
    let (raw_fm, fm_text) = match split.front_matter {
        Some((format, fm_text)) => {
            let (raw, fm_diags) =
                front_matter::parse(format, fm_text, split.front_matter_line, path);
            diags.extend(fm_diags);
            match raw {
                Some(raw) => (raw, fm_text),
                None => return (None, diags),
            }
        }
        None => (RawFrontMatter::default(), ""),
    };
    if raw_fm.draft == Some(true) {
        diags.push(
            Diagnostic::warning(path, 1, 1, "draft; skipped")
                .with_hint("set `draft = false` to publish it"),
        );
        return (None, diags);
    }
    let body_line = diagnostic::line_at(text.as_bytes(), split.body_offset);
    let expanded = match sources {
        Some(sources) => partials::expand(sources, rel_path, split.body, body_line, &mut diags),
        None => partials::Expanded::plain(split.body),
    };
    let raw = RawDocument {
        display_path: path.to_path_buf(),
        rel_path: rel_path.to_string(),
        front_matter: raw_fm,
        front_matter_text: fm_text,
        front_matter_line: split.front_matter_line,
        sections: markdown::sections(&expanded.text),
        body_lines: expanded.lines.iter().map(|l| body_line + l - 1).collect(),
        vocabulary,
    };
    match Validated::try_from(raw) {
        // Partials that could not be inlined are errors too.
        Ok(validated) if !diags.iter().any(Diagnostic::is_error) => {
            diags.extend(validated.warnings);
            (Some(validated.document), diags)
        }
        Ok(validated) => {
            diags.extend(validated.warnings);
            (None, diags)
        }
        Err(found) => {
            diags.extend(found);
            (None, diags)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (Option<Document>, Vec<Diagnostic>) {
        load_file(
            Path::new("x.md"),
            "guides/x.md",
            text.as_bytes(),
            &Vocabulary::default(),
        )
    }

    #[test]
    fn plain_markdown_takes_title_from_first_heading() {
        let (doc, diags) = load("# Hello\n\nIntro.\n\n## Part {#p}\n\nBody.\n");
        assert!(diags.is_empty(), "{diags:?}");
        let doc = doc.unwrap();
        assert_eq!(doc.id, "guides/x");
        assert_eq!(doc.title, "Hello");
        assert_eq!(doc.passages.len(), 2);
        assert_eq!(doc.passages[0].id, "guides/x");
        assert_eq!(doc.passages[0].line, 1);
        assert_eq!(doc.passages[1].id, "guides/x#p");
        assert_eq!(doc.passages[1].breadcrumb, vec!["Hello", "Part"]);
        assert_eq!(doc.passages[1].line, 5);
    }

    #[test]
    fn heading_attributes_override_inherited_facets() {
        let text = "+++\ntopic = \"certs\"\nlevels = [\"senior\"]\n+++\n# C\n\n## A {providers=aws}\n\nx\n\n### Sub {levels=junior}\n\ny\n";
        let doc = load(text).0.unwrap();
        let a = &doc.passages[0];
        assert_eq!(a.facets.topic, vec!["certs"]);
        assert_eq!(a.facets.providers, vec!["aws"]);
        let sub = &doc.passages[1];
        assert_eq!(sub.facets.levels, vec!["junior"]);
        assert_eq!(sub.facets.providers, vec!["aws"]);
        assert_eq!(sub.breadcrumb, vec!["C", "A", "Sub"]);
    }

    #[test]
    fn collects_every_error_and_warning() {
        let text = "# T\n\n## Empty\n\n## Dup {#d}\n\nx\n\n## Dup2 {#d leve=x}\n\ny\n";
        let (doc, diags) = load(text);
        assert!(doc.is_none());
        let found: Vec<(usize, Severity)> = diags.iter().map(|d| (d.line, d.severity)).collect();
        assert_eq!(
            found,
            vec![
                (3, Severity::Warning),
                (9, Severity::Warning),
                (9, Severity::Error)
            ],
            "{diags:#?}"
        );
    }

    fn titles(doc: &Document) -> Vec<String> {
        doc.passages
            .iter()
            .map(|p| p.breadcrumb.join(" › "))
            .collect()
    }

    #[test]
    fn title_comes_from_title_then_sidebar_label_then_heading_then_file_name() {
        let both = "---\ntitle: Front\nsidebar_label: Label\n---\n# Heading\n\nText.\n";
        assert_eq!(load(both).0.unwrap().title, "Front");
        let label = "---\nsidebar_label: 🔥 Label\n---\n# Heading\n\nText.\n";
        assert_eq!(load(label).0.unwrap().title, "🔥 Label");
        let heading = "## 2. Second-level first\n\nText.\n\n## Other\n\nMore.\n";
        assert_eq!(load(heading).0.unwrap().title, "Second-level first");
        let blank = "---\ntitle: \"  \"\n---\nJust text.\n";
        assert_eq!(load(blank).0.unwrap().title, "X");
    }

    #[test]
    fn description_is_the_intro_only_when_the_body_has_none() {
        let text = "---\ndescription: What to expect in each round\n---\n## Rounds\n\nFour.\n";
        let doc = load(text).0.unwrap();
        assert_eq!(doc.passages[0].id, "guides/x");
        assert_eq!(doc.passages[0].text, "What to expect in each round");
        assert_eq!(doc.passages[0].line, 2);
        assert_eq!(doc.passages.len(), 2);

        let own = "---\ndescription: Summary\n---\n# Guide\n\nOwn intro.\n";
        let doc = load(own).0.unwrap();
        assert_eq!(doc.passages[0].text, "Own intro.");
        assert_eq!(doc.description.as_deref(), Some("Summary"));
    }

    #[test]
    fn breadcrumbs_never_repeat_the_title() {
        let doc = load("## Foo\n\nText.\n").0.unwrap();
        assert_eq!(doc.title, "Foo");
        assert_eq!(titles(&doc), vec!["Foo"]);
        let doc = load("+++\ntitle = \"Salaries\"\n+++\n## Salaries\n\nA.\n\n### India\n\nB.\n")
            .0
            .unwrap();
        assert_eq!(titles(&doc), vec!["Salaries", "Salaries › India"]);
    }

    #[test]
    fn numbered_headings_lose_their_numbers_everywhere() {
        let doc = load("# 1. Guide\n\n## 3.2.1 Base pay\n\nText.\n\n## 2024 salaries\n\nMore.\n")
            .0
            .unwrap();
        assert_eq!(doc.title, "Guide");
        assert_eq!(
            titles(&doc),
            vec!["Guide › Base pay", "Guide › 2024 salaries"]
        );
        assert_eq!(doc.passages[0].id, "guides/x#base-pay");
        assert_eq!(doc.passages[1].id, "guides/x#2024-salaries");
    }

    #[test]
    fn headings_without_text_warn_and_yield_nothing() {
        // Only subheadings: ordinary structure, no warning.
        let (doc, diags) = load("# G\n\n## Parent\n\n### Child\n\nText.\n");
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(titles(&doc.unwrap()), vec!["G › Parent › Child"]);

        // Nothing under it, at any level, or only components: a warning, no passage.
        let text = "import X from '@site/src/X';\n\n# G\n\nIntro.\n\n## Empty\n\n## Components\n\n<X />\n\n## Last\n\n#### Deep\n";
        let (doc, diags) = load(text);
        let doc = doc.unwrap();
        assert_eq!(titles(&doc), vec!["G"]);
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![7, 9, 15], "{diags:#?}");
        assert!(diags.iter().all(|d| !d.is_error()));

        // A file that is one `###` line loads, with nothing to answer from.
        let (doc, diags) = load("### Lonely\n");
        assert_eq!(doc.unwrap().passages, vec![]);
        assert_eq!(diags.len(), 1);
        assert!(!diags[0].is_error());
    }

    #[test]
    fn untitled_headings_warn_and_keep_their_text() {
        let (doc, diags) = load("# G\n\n## A\n\nFirst.\n\n##\n\nSecond.\n\n## \n");
        let doc = doc.unwrap();
        assert_eq!(doc.passages[0].text, "First.\nSecond.");
        let found: Vec<(usize, &str)> =
            diags.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (7, "heading has no title; its text joins the section above"),
                (11, "heading has no title; ignored")
            ]
        );
    }

    #[test]
    fn other_tools_heading_attributes_warn_ours_misspelt_fail() {
        let (doc, diags) = load("# G\n\n## A {data-x=1}\n\nText.\n");
        assert!(doc.is_some());
        assert_eq!(diags.len(), 1);
        assert!(!diags[0].is_error());
        let (doc, diags) = load("# G\n\n## A {level=senior}\n\nText.\n");
        assert!(doc.is_none());
        assert!(diags[0].is_error());
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("What's a realistic salary?"),
            "what-s-a-realistic-salary"
        );
        assert_eq!(
            slugify("AWS Certified – Specialty"),
            "aws-certified-specialty"
        );
        assert_eq!(slugify("!!!"), "section");
    }

    #[test]
    fn never_panics_on_hostile_bytes() {
        for bytes in [
            &b""[..],
            b"\xff\xfe\x00",
            b"+++\n",
            b"---\n---\n",
            b"+++\n+++\n",
            b"#\n",
            b"\0",
        ] {
            let _ = load_file(Path::new("x.md"), "x.md", bytes, &Vocabulary::default());
        }
    }
}
