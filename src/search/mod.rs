//! Search stage: builds the tantivy index from [`Content`], keeps it as a cache in `index/`,
//! and answers ranked, filtered, highlighted searches as plain [`Hit`]s.
//!
//! An [`Engine`] is immutable once built: index, reader, analyzers, synonyms and the catalog
//! of facet values travel together, so swapping one `Arc<Engine>` swaps all of them at once.

mod dense;
pub mod fusion;
pub mod query;
pub mod schema;
mod snippet;
pub mod spelling;
pub mod store;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::postings::Postings;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Facet as TantivyFacet, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::config::Config;
use crate::content::{Content, Facet, Facets};
pub use dense::{Embed, Progress};
use query::{Analysis, Lexicon, Thesaurus};
use schema::Fields;
pub use snippet::cut_at_word;
use store::Manifest;

/// Memory for the indexing writer; tantivy wants at least 15 MB per thread.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// One indexing thread: a reload then leaves the other cores to the queries being served.
const WRITER_THREADS: usize = 1;
/// Weight of a question naming a facet value its passages carry (`google cloud` → provider
/// gcp): a level, region or provider is a deliberate signal; a topic word a weaker one.
const FACET_MENTION_BOOST: f32 = 2.0;
const TOPIC_MENTION_BOOST: f32 = 0.7;
/// How far apart two neighbouring question words may stand and still count as a phrase.
const PHRASE_SLOP: u32 = 2;
/// Passages from the top that phrase proximity may reorder (the same for every page).
const PHRASE_WINDOW: usize = 8;
/// Up to this many posting lists, the question's terms are merged by tantivy's block-WAND,
/// which skips blocks that cannot reach the top; beyond it, by a plain union. WAND's cost
/// per step grows with the number of lists it keeps in order, and a long question of
/// common words (a synonym group brings five) gives it little to skip: on the search bench
/// the plain union halves the slowest answers at 10k passages (p99 619 → 405 µs) and trims
/// them at 100k (3.4 → 2.9 ms), while questions with fewer lists, most of them, keep WAND
/// (p50 unchanged at both sizes).
const WAND_MAX_LISTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("index folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the index in {0} was not built by this version of careerbot")]
    Foreign(PathBuf),
}

/// One passage that matched, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub breadcrumb: Vec<String>,
    /// The whole passage, plain text.
    pub text: String,
    pub snippet: Snippet,
    pub source: String,
    pub location: String,
    /// Where members can read the passage: `answers.source_url` + location, when set.
    pub link: Option<String>,
    pub score: f32,
    pub facets: Facets,
}

/// How well a passage answers a question, from 0 to 1 ([`Engine::relevance`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Relevance {
    pub score: f32,
    pub by: RelevanceBy,
}

/// What a [`Relevance`] was measured by: the two scales differ, and so do their floors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelevanceBy {
    /// The cosine of question and passage embeddings.
    Meaning,
    /// The share of the question's IDF weight the passage has.
    Words,
}

/// Part of a passage with the matched words marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges of matched words in `text`.
    pub highlights: Vec<Range<usize>>,
    /// Text was cut before / after the snippet.
    pub cut_start: bool,
    pub cut_end: bool,
}

/// Which passages a search may return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Every listed facet must match one of its values.
    pub facets: Vec<(Facet, Vec<String>)>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.facets.is_empty()
    }

    pub fn matches(&self, facets: &Facets) -> bool {
        self.facets
            .iter()
            .all(|(f, values)| facets.get(*f).iter().any(|v| values.contains(v)))
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchRequest<'a> {
    pub text: &'a str,
    pub filter: Filter,
    /// Facet values that raise a passage's rank without being required.
    pub boost: Filter,
    /// With a filter, passages must also match the words (not just rank by them).
    pub require_text: bool,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// Matches in all, when known: counted for filtered searches; for free text only when
    /// everything fits on the first page (counting would forgo tantivy's pruning).
    pub total: Option<usize>,
    /// More results follow this page.
    pub has_more: bool,
    pub analysis: Analysis,
    /// No word matched: these are the passages closest in meaning (semantic ranking only).
    pub closest: bool,
}

/// What the index holds, for diffs, `/help`, autocomplete and "we do have" answers.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// In content order.
    pub passages: Vec<PassageSummary>,
    /// Facet values present, with passage counts, in order of first appearance: overall
    /// (`None`) and within each topic. Precomputed: autocomplete asks on every keystroke.
    present: HashMap<PresenceKey, Vec<(String, usize)>>,
}

/// A facet, overall (`None`) or within one topic.
type PresenceKey = (Facet, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassageSummary {
    /// `doc-id#anchor`; the document's intro passage is the document id alone.
    pub id: String,
    pub title: String,
    pub hash: String,
    pub facets: Facets,
}

impl Catalog {
    pub fn new(passages: Vec<PassageSummary>) -> Catalog {
        let mut present: HashMap<PresenceKey, Vec<(String, usize)>> = HashMap::new();
        let mut bump = |key: PresenceKey, value: &String| {
            let list = present.entry(key).or_default();
            match list.iter_mut().find(|(v, _)| v == value) {
                Some((_, n)) => *n += 1,
                None => list.push((value.clone(), 1)),
            }
        };
        for p in &passages {
            for facet in Facet::ALL {
                for v in p.facets.get(facet) {
                    bump((facet, None), v);
                    for topic in &p.facets.topic {
                        bump((facet, Some(topic.clone())), v);
                    }
                }
            }
        }
        Catalog { passages, present }
    }

    /// Documents with at least one passage.
    pub fn documents(&self) -> usize {
        let docs: HashSet<&str> = self
            .passages
            .iter()
            .map(|p| p.id.split('#').next().unwrap_or(&p.id))
            .collect();
        docs.len()
    }

    /// Values of `facet` present overall, or among passages of `topic`, with counts.
    pub fn present(&self, facet: Facet, topic: Option<&str>) -> &[(String, usize)] {
        self.present
            .get(&(facet, topic.map(str::to_string)))
            .map_or(&[], Vec::as_slice)
    }

    /// Values of `facet` present among passages that pass `filter`, with passage counts,
    /// in order of first appearance.
    pub fn values(&self, facet: Facet, filter: &Filter) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for p in self.passages.iter().filter(|p| filter.matches(&p.facets)) {
            for v in p.facets.get(facet) {
                match out.iter_mut().find(|(x, _)| x == v) {
                    Some((_, n)) => *n += 1,
                    None => out.push((v.clone(), 1)),
                }
            }
        }
        out
    }

    /// Distinct combinations of `facets` among passages that pass `filter`; a passage with
    /// no value for one of the facets contributes combinations without it.
    pub fn combinations(&self, facets: &[Facet], filter: &Filter) -> Vec<Vec<(Facet, String)>> {
        let mut out: Vec<Vec<(Facet, String)>> = Vec::new();
        for p in self.passages.iter().filter(|p| filter.matches(&p.facets)) {
            let mut combos: Vec<Vec<(Facet, String)>> = vec![Vec::new()];
            for &f in facets {
                let values = p.facets.get(f);
                if values.is_empty() {
                    continue;
                }
                combos = combos
                    .into_iter()
                    .flat_map(|c| {
                        values.iter().map(move |v| {
                            let mut c = c.clone();
                            c.push((f, v.clone()));
                            c
                        })
                    })
                    .collect();
            }
            for c in combos {
                if !c.is_empty() && !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }
}

/// Where the serving index came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Loaded from a matching generation in `index/`.
    Cache,
    /// Built now (and saved, unless the folder was not writable).
    Built,
    /// Built in memory, saved nowhere: `index/` could not be written, or nothing is to be
    /// kept (dry-run reloads, benchmarks, the quality report).
    Memory,
}

/// How an engine being opened gets its passage embeddings: the previous generation to reuse
/// them from, and whom to tell how embedding goes.
struct Semantic<'a> {
    cache: Option<&'a Path>,
    /// Serve first with the cached vectors, embed the rest later ([`Engine::with_all_embeddings`]).
    defer: bool,
    progress: Progress<'a>,
}

/// A searchable, immutable snapshot of the content.
#[derive(Clone)]
pub struct Engine {
    reader: IndexReader,
    families: Families,
    fields: Fields,
    plain: TextAnalyzer,
    stemmed: TextAnalyzer,
    thesaurus: Thesaurus,
    search_config: crate::config::SearchConfig,
    snippet_chars: usize,
    catalog: Catalog,
    manifest: Manifest,
    origin: Origin,
    dir: Option<PathBuf>,
    /// Passage embeddings and the model, when semantic ranking is on.
    dense: Option<Arc<dense::Dense>>,
    /// The passages [`is_news`] picked at index time.
    news: HashSet<DocAddress>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("passages", &self.catalog.passages.len())
            .field("content_version", &self.manifest.content_version)
            .field("origin", &self.origin)
            .field("dir", &self.dir)
            .field("semantic", &self.dense.is_some())
            .finish()
    }
}

impl Engine {
    /// Loads the cached index when it was built from exactly this content by this binary,
    /// otherwise builds a new generation (in memory if `index/` is not writable).
    pub fn open_or_build(config: &Config, content: &Content) -> Result<Engine, SearchError> {
        Engine::open_or_build_reporting(config, content, &|_, _| {})
    }

    /// [`Engine::open_or_build`], reporting progress while passages are embedded.
    pub fn open_or_build_reporting(
        config: &Config,
        content: &Content,
        progress: Progress<'_>,
    ) -> Result<Engine, SearchError> {
        Engine::open_or_build_inner(config, content, false, progress)
    }

    /// [`Engine::open_or_build`] that serves before embedding: passages with no saved or
    /// reusable vector wait for [`Engine::with_all_embeddings`] (see [`Engine::build_deferring`]).
    pub fn open_or_build_deferring(
        config: &Config,
        content: &Content,
    ) -> Result<Engine, SearchError> {
        Engine::open_or_build_inner(config, content, true, &|_, _| {})
    }

    fn open_or_build_inner(
        config: &Config,
        content: &Content,
        defer: bool,
        progress: Progress<'_>,
    ) -> Result<Engine, SearchError> {
        let fingerprint = store::fingerprint(&content.version);
        if let Some((dir, manifest)) = store::current(&config.index_dir) {
            if manifest.fingerprint == fingerprint {
                match Engine::open_dir(config, &dir, manifest, None, defer, progress) {
                    Ok(engine) => return Ok(engine),
                    Err(e) => {
                        tracing::warn!(dir = %dir.display(), error = %e, "cached index unreadable; rebuilding")
                    }
                }
            }
        }
        Engine::build_inner(config, content, |_| Ok(()), defer, progress)
    }

    /// The last generation published, whatever content it holds: what keeps serving when
    /// the current content has errors.
    pub fn open_last_good(config: &Config) -> Result<Option<Engine>, SearchError> {
        match store::current(&config.index_dir) {
            Some((dir, manifest)) if manifest.is_compatible() => {
                Engine::open_dir(config, &dir, manifest, None, false, &|_, _| {}).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Builds a new generation beside the current one and publishes it.
    pub fn build(config: &Config, content: &Content) -> Result<Engine, SearchError> {
        Engine::build_reporting(config, content, &|_, _| {})
    }

    /// [`Engine::build`], reporting progress while passages are embedded.
    pub fn build_reporting(
        config: &Config,
        content: &Content,
        progress: Progress<'_>,
    ) -> Result<Engine, SearchError> {
        Engine::build_inner(config, content, |_| Ok(()), false, progress)
    }

    /// [`Engine::build`] that serves before embedding: passages unchanged since the generation
    /// it replaces keep their vectors, new and changed ones rank by words alone until
    /// [`Engine::with_all_embeddings`] (a reload goes live in a fraction of the time).
    pub fn build_deferring(config: &Config, content: &Content) -> Result<Engine, SearchError> {
        Engine::build_inner(config, content, |_| Ok(()), true, &|_, _| {})
    }

    /// [`Engine::build`] with a hook that runs after indexing and before publishing; an error
    /// from it abandons the build (tests use it to simulate a crash mid-rebuild).
    pub fn build_with(
        config: &Config,
        content: &Content,
        before_publish: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<Engine, SearchError> {
        Engine::build_inner(config, content, before_publish, false, &|_, _| {})
    }

    fn build_inner(
        config: &Config,
        content: &Content,
        before_publish: impl FnOnce(&Path) -> std::io::Result<()>,
        defer: bool,
        progress: Progress<'_>,
    ) -> Result<Engine, SearchError> {
        let started = Instant::now();
        let passages = content.passages().count() as u64;
        let manifest = Manifest::new(&content.version, passages);
        let tmp = match store::create_tmp(&config.index_dir) {
            Ok(tmp) => tmp,
            Err(e) => {
                tracing::warn!(dir = %config.index_dir.display(), error = %e, "index folder not writable; building in memory");
                let index = Index::create_in_ram(schema::schema());
                write_documents(&index, content)?;
                let semantic = Some(Semantic {
                    cache: None,
                    defer: false,
                    progress,
                });
                return Engine::from_index(config, index, manifest, Origin::Memory, None, semantic);
            }
        };
        // Unchanged passages keep the embeddings of the generation being replaced.
        let previous = store::current(&config.index_dir).map(|(dir, _)| dir);
        let result = (|| {
            let index = Index::create_in_dir(&tmp, schema::schema())?;
            write_documents(&index, content)?;
            drop(index);
            before_publish(&tmp).map_err(|source| SearchError::Io {
                path: tmp.clone(),
                source,
            })?;
            store::publish(&config.index_dir, &tmp, &manifest).map_err(|source| SearchError::Io {
                path: config.index_dir.clone(),
                source,
            })
        })();
        let dir = match result {
            Ok(dir) => dir,
            Err(e) => {
                store::discard(&tmp);
                return Err(e);
            }
        };
        let engine =
            Engine::open_dir(config, &dir, manifest, previous.as_deref(), defer, progress)?;
        tracing::info!(
            passages,
            content_version = %content.version,
            elapsed_ms = started.elapsed().as_millis() as u64,
            dir = %dir.display(),
            "index built"
        );
        Ok(Engine {
            origin: Origin::Built,
            ..engine
        })
    }

    /// Builds in memory only, touching no folder and embedding nothing: dry runs, and the
    /// lexical yardstick of the benchmarks and quality report.
    pub fn build_in_memory(config: &Config, content: &Content) -> Result<Engine, SearchError> {
        let index = Index::create_in_ram(schema::schema());
        write_documents(&index, content)?;
        let manifest = Manifest::new(&content.version, content.passages().count() as u64);
        Engine::from_index(config, index, manifest, Origin::Memory, None, None)
    }

    fn open_dir(
        config: &Config,
        dir: &Path,
        manifest: Manifest,
        cache: Option<&Path>,
        defer: bool,
        progress: Progress<'_>,
    ) -> Result<Engine, SearchError> {
        if !manifest.is_compatible() {
            return Err(SearchError::Foreign(dir.to_path_buf()));
        }
        let index = Index::open_in_dir(dir)?;
        let engine = Engine::from_index(
            config,
            index,
            manifest,
            Origin::Cache,
            Some(dir.to_path_buf()),
            Some(Semantic {
                cache,
                defer,
                progress,
            }),
        )?;
        if engine.catalog.passages.len() as u64 != engine.manifest.passages {
            return Err(SearchError::Foreign(dir.to_path_buf()));
        }
        Ok(engine)
    }

    fn from_index(
        config: &Config,
        index: Index,
        manifest: Manifest,
        origin: Origin,
        dir: Option<PathBuf>,
        semantic: Option<Semantic<'_>>,
    ) -> Result<Engine, SearchError> {
        let dir_for_err = dir.clone().unwrap_or_default();
        // A foreign schema would make every query silently wrong: refuse it outright.
        if serde_json::to_string(&index.schema()).ok()
            != serde_json::to_string(&schema::schema()).ok()
        {
            return Err(SearchError::Foreign(dir_for_err));
        }
        let fields =
            Fields::from_schema(&index.schema()).ok_or(SearchError::Foreign(dir_for_err))?;
        schema::register_analyzers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let plain = schema::plain_analyzer();
        let catalog = read_catalog(&reader.searcher(), &fields)?;
        let stemmed = schema::stemmed_analyzer();
        let families = stem_families(&reader.searcher(), &fields, &stemmed)?;
        let news = reader.searcher().search(
            &TermQuery::new(
                Term::from_field_text(fields.tags, NEWS_TAG),
                IndexRecordOption::Basic,
            ),
            &tantivy::collector::DocSetCollector,
        )?;
        spelling::warm_up();
        let dense = semantic.and_then(|s| {
            let model = crate::semantic::shared(&config.search.semantic).ok()?;
            let embed = |texts: &[&str]| model.embedder().embed(texts);
            dense::Dense::attach(
                model.clone(),
                &reader.searcher(),
                &fields,
                dir.as_deref(),
                s.cache,
                s.defer,
                &embed,
                s.progress,
            )
            .map(Arc::new)
        });
        Ok(Engine {
            dense,
            news,
            families,
            thesaurus: Thesaurus::new(&config.search, &plain),
            plain,
            stemmed,
            search_config: config.search.clone(),
            snippet_chars: config.answers.snippet_chars,
            reader,
            fields,
            catalog,
            manifest,
            origin,
            dir,
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn passage_count(&self) -> usize {
        self.catalog.passages.len()
    }

    /// tantivy's own query parser over the fields answers search (`all_fields`) or the body
    /// alone: the benchmarks' yardstick, never used to answer (it reads user text as query
    /// syntax).
    #[doc(hidden)]
    pub fn raw_parser(&self, all_fields: bool) -> tantivy::query::QueryParser {
        let f = &self.fields;
        let fields = if all_fields {
            vec![f.title_exact, f.extra, f.body]
        } else {
            vec![f.body]
        };
        tantivy::query::QueryParser::for_index(self.reader.searcher().index(), fields)
    }

    /// Replaces the ranking weights: the quality report tries many on one index.
    #[doc(hidden)]
    pub fn set_weights(&mut self, weights: crate::config::RankingWeights) {
        self.search_config.weights = weights;
    }

    /// Replaces how meaning is weighed (`enabled = false` ranks by words alone): the quality
    /// report compares settings on one index.
    #[doc(hidden)]
    pub fn set_semantic(&mut self, semantic: crate::config::SemanticConfig) {
        self.search_config.semantic = semantic;
    }

    /// Attaches passage vectors made by `embed` instead of the model (benchmarks at sizes
    /// too large to embed for real); questions are still embedded by `model`. Returns
    /// whether it worked.
    #[doc(hidden)]
    pub fn attach_vectors(&mut self, model: Arc<crate::semantic::Model>, embed: Embed<'_>) -> bool {
        self.dense = dense::Dense::attach(
            model,
            &self.reader.searcher(),
            &self.fields,
            None,
            None,
            false,
            embed,
            &|_, _| {},
        )
        .map(Arc::new);
        self.dense.is_some()
    }

    /// Passages whose meaning vector is still to be computed (after [`Engine::build_deferring`]).
    pub fn pending_embeddings(&self) -> usize {
        self.dense.as_ref().map_or(0, |d| d.pending())
    }

    /// This engine with every pending passage embedded (and the vectors saved with its
    /// generation); `None` when nothing is pending, or embedding failed (logged: the engine
    /// keeps ranking those passages by words).
    pub fn with_all_embeddings(&self) -> Option<Engine> {
        let dense = self.dense.as_ref().filter(|d| d.pending() > 0)?;
        let model = Arc::clone(&dense.model);
        let embed = |texts: &[&str]| model.embedder().embed(texts);
        let searcher = self.reader.searcher();
        let fields = &self.fields;
        match (**dense)
            .clone()
            .complete(&searcher, fields, self.dir.as_deref(), &embed, &|_, _| {})
        {
            Ok(dense) => Some(Engine {
                dense: Some(Arc::new(dense)),
                ..self.clone()
            }),
            Err(e) => {
                tracing::warn!(error = %e, "embedding new passages failed; they rank by words only");
                None
            }
        }
    }

    /// The model ranking by meaning, when semantic ranking is on.
    pub fn semantic_model(&self) -> Option<&str> {
        self.dense
            .as_ref()
            .filter(|_| self.search_config.semantic.enabled)
            .map(|d| d.model.id())
    }

    #[doc(hidden)]
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Analyses `text` against this index's words. Fails only when the index cannot be read.
    pub fn analyze(&self, text: &str) -> Result<Analysis, SearchError> {
        let searcher = self.reader.searcher();
        Ok(query::analyze(
            text,
            &self.plain,
            &self.stemmed,
            &self.thesaurus,
            &self.lexicon(&searcher),
            &self.search_config,
        )?)
    }

    /// Ranked passages for free text within a filter. Empty text with a filter lists the
    /// filtered passages in content order; empty text without one finds nothing. With
    /// semantic ranking, the lexical top candidates and the passages nearest in meaning are
    /// ranked together (see [`fusion`]); when no word matches, the passages closest in
    /// meaning answer, above the similarity floor, and `closest` says so.
    pub fn search(&self, request: &SearchRequest<'_>) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let analysis = self.analyze(request.text)?;
        let text_query = self.text_query(&searcher, &analysis, &request.boost)?;
        let filter_query = self.filter_query(&request.filter);
        let pairs = self.phrase_pairs(&analysis);
        let question = self.question_vector(request.text);

        let limit = request.limit.clamp(1, 100);
        // tantivy keeps offset + limit candidates: a wild page number must not allocate wildly.
        let offset = request.offset.min(self.catalog.passages.len());
        let semantic = &self.search_config.semantic;
        // Ranked searches fetch from the top, re-rank the first PHRASE_WINDOW by phrase
        // proximity (and the candidates by meaning), then cut the page out: every page sees
        // the same order.
        let mut window = (offset + limit + 1).max(PHRASE_WINDOW);
        if question.is_some() {
            window = window.max(semantic.candidates) + semantic.nearest;
        }
        let rerank =
            |mut docs: Vec<(f32, DocAddress)>| -> Result<Vec<(f32, DocAddress)>, SearchError> {
                let top = docs.len().min(PHRASE_WINDOW);
                self.add_phrase_bonus(&searcher, &pairs, &mut docs[..top])?;
                if question.is_none() {
                    // With meaning, the fused score is demoted instead (`fuse`).
                    self.demote_news(&mut docs[..top]);
                }
                Ok(docs)
            };
        // The ranked lexical matches from the top (`window` of them at most), and how many
        // match in all when counted.
        let (ranked, total): (Vec<(f32, DocAddress)>, Option<usize>) =
            match (text_query, filter_query) {
                (None, None) => (Vec::new(), Some(0)),
                (None, Some(_)) if request.require_text => (Vec::new(), Some(0)),
                (None, Some(filter)) => {
                    let listed = question
                        .as_ref()
                        .map(|q| self.closest(q, &request.filter, offset + limit + 1))
                        .filter(|c| !c.is_empty());
                    return match listed {
                        Some(closest) => {
                            self.finish(&searcher, analysis, closest, offset, limit, None, true)
                        }
                        None => self.list(&searcher, analysis, &*filter, offset, limit),
                    };
                }
                (Some(text), Some(filter)) => {
                    let query = within(filter, text, request.require_text);
                    let collector = TopDocs::with_limit(window).order_by_score();
                    let (docs, total) = searcher.search(&query, &(collector, Count))?;
                    (rerank(docs)?, Some(total))
                }
                (Some(text), None) => {
                    let collector = TopDocs::with_limit(window).order_by_score();
                    (rerank(searcher.search(&*text, &collector)?)?, None)
                }
            };
        // The lexical list may stop at `window` while more passages match.
        let cut = ranked.len() == window;
        let Some(question) = question else {
            return self.finish(&searcher, analysis, ranked, offset, limit, total, false);
        };
        if ranked.is_empty() {
            let closest = self.closest(&question, &request.filter, offset + limit + 1);
            return self.finish(&searcher, analysis, closest, offset, limit, None, true);
        }
        let (fused, added) = self.fuse(&question, ranked, &request.filter);
        let total = total.map(|t| t + added);
        let mut results = self.finish(&searcher, analysis, fused, offset, limit, total, false)?;
        results.has_more |= cut && results.total.is_none();
        Ok(results)
    }

    /// Lists the passages of a filter in content order, counted.
    fn list(
        &self,
        searcher: &Searcher,
        analysis: Analysis,
        filter: &dyn Query,
        offset: usize,
        limit: usize,
    ) -> Result<SearchResults, SearchError> {
        let collector = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by_fast_field::<u64>("ord", Order::Asc);
        let (docs, total) = searcher.search(filter, &(collector, Count))?;
        let page: Vec<_> = docs.into_iter().map(|(_, a)| (0.0, a)).collect();
        let has_more = offset + page.len() < total;
        let hits = self.hits(searcher, &analysis, page)?;
        Ok(SearchResults {
            hits,
            total: Some(total),
            has_more,
            analysis,
            closest: false,
        })
    }

    /// Cuts the page out of `ranked` and reads its passages. `total` is the number of matches
    /// when counted; otherwise it is known only when everything fits on the first page.
    #[allow(
        clippy::too_many_arguments,
        reason = "the page, its total and how it was found travel together only here"
    )]
    fn finish(
        &self,
        searcher: &Searcher,
        analysis: Analysis,
        ranked: Vec<(f32, DocAddress)>,
        offset: usize,
        limit: usize,
        total: Option<usize>,
        closest: bool,
    ) -> Result<SearchResults, SearchError> {
        let mut page: Vec<_> = ranked.into_iter().skip(offset).take(limit + 1).collect();
        let (has_more, total) = match total {
            Some(total) => (offset + page.len().min(limit) < total, Some(total)),
            None => {
                // One extra hit tells whether a next page exists without counting every match.
                let has_more = page.len() > limit;
                let known = offset == 0 && !has_more;
                (has_more, known.then_some(page.len()))
            }
        };
        page.truncate(limit);
        let hits = self.hits(searcher, &analysis, page)?;
        Ok(SearchResults {
            hits,
            total,
            has_more,
            analysis,
            closest,
        })
    }

    fn hits(
        &self,
        searcher: &Searcher,
        analysis: &Analysis,
        page: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<Hit>, SearchError> {
        let snippets = self.snippet_generator(searcher, analysis)?;
        let mut hits = Vec::with_capacity(page.len());
        for (score, address) in page {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(self.hit(&doc, score, &snippets));
        }
        Ok(hits)
    }

    /// The question's embedding, when semantic ranking is on and there is a question.
    fn question_vector(&self, text: &str) -> Option<Arc<[f32]>> {
        let dense = self.dense.as_ref()?;
        if text.trim().is_empty() || !self.search_config.semantic.enabled {
            return None;
        }
        match dense.model.question(text) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "embedding the question failed; ranking by words only");
                None
            }
        }
    }

    /// Passages within `filter` closest in meaning to the question and above the floor,
    /// best first, at most `n`.
    fn closest(&self, question: &[f32], filter: &Filter, n: usize) -> Vec<(f32, DocAddress)> {
        let Some(dense) = &self.dense else {
            return Vec::new();
        };
        let floor = self.search_config.semantic.floor;
        dense
            .nearest(question, n, |i| {
                dense.is_embedded(i) && self.allowed(filter, i)
            })
            .into_iter()
            .filter(|&(_, cos)| cos >= floor)
            .map(|(i, cos)| (cos, dense.address(i)))
            .collect()
    }

    fn allowed(&self, filter: &Filter, ord: usize) -> bool {
        filter.is_empty()
            || self
                .catalog
                .passages
                .get(ord)
                .is_some_and(|p| filter.matches(&p.facets))
    }

    /// The strong lexical matches and the passages nearest in meaning, ranked as one, followed
    /// by the rest of the lexical list. Returns the list and how many passages meaning added.
    fn fuse(
        &self,
        question: &[f32],
        ranked: Vec<(f32, DocAddress)>,
        filter: &Filter,
    ) -> (Vec<(f32, DocAddress)>, usize) {
        let Some(dense) = &self.dense else {
            return (ranked, 0);
        };
        let semantic = &self.search_config.semantic;
        let split = ranked.len().min(semantic.candidates);
        let strong = fusion::strong_matches(
            ranked.iter().map(|&(score, _)| score),
            semantic.candidates,
            semantic.candidate_share,
        );
        let mut candidates: Vec<fusion::Candidate<DocAddress>> = ranked[..split]
            .iter()
            .enumerate()
            .map(|(i, &(score, address))| fusion::Candidate {
                item: address,
                lexical: Some(score),
                cosine: dense
                    .ord(address)
                    .filter(|&i| dense.is_embedded(i))
                    .map(|i| dense.cosine(i, question)),
                weak: i >= strong,
            })
            .collect();
        let mut added = 0;
        for (cos, address) in self.closest(question, filter, semantic.nearest) {
            // Meaning adds passages no word reached; one the words found keeps its place.
            if !ranked.iter().any(|&(_, a)| a == address) {
                candidates.push(fusion::Candidate {
                    item: address,
                    lexical: None,
                    cosine: Some(cos),
                    weak: false,
                });
                added += 1;
            }
        }
        let mut out: Vec<(f32, DocAddress)> =
            fusion::fuse(&candidates, semantic.fusion, semantic.meaning_weight)
                .into_iter()
                .map(|(address, score)| (score, address))
                .collect();
        // The candidates are the same whatever the page: demoting them keeps paging stable.
        self.demote_news(&mut out);
        out.extend_from_slice(&ranked[strong..]);
        (out, added)
    }

    /// Whether the guide uses `word` (lower case) anywhere, as written.
    pub fn has_word(&self, word: &str) -> Result<bool, SearchError> {
        let searcher = self.reader.searcher();
        Ok(self.lexicon(&searcher).has_word(word)?)
    }

    /// Whether `word` may be read as a misspelling of something else: the guide does not
    /// use it and it is no English word.
    pub fn is_correctable(&self, word: &str) -> Result<bool, SearchError> {
        let word = word.to_lowercase();
        Ok(!self.has_word(&word)? && !spelling::is_english_word(&word))
    }

    /// Close spellings, from the index's own words, for words that matched nothing.
    pub fn suggestions(&self, words: &[String]) -> Result<Vec<String>, SearchError> {
        let searcher = self.reader.searcher();
        let lexicon = self.lexicon(&searcher);
        let mut out = Vec::new();
        for w in words {
            if w.chars().count() < 3 {
                continue;
            }
            if let Some(best) = lexicon.near_words(w, 2)?.into_iter().next() {
                if !out.contains(&best) {
                    out.push(best);
                }
            }
        }
        Ok(out)
    }

    /// How well each of `hits` answers `text`, from 0 to 1, comparable across corpora: what
    /// decides whether a question nobody addressed to the bot (a new forum post) gets a
    /// suggestion. With meaning, the cosine of question and passage; by words, the share of
    /// the question's weight (each word's IDF; words the guide never uses count at the
    /// highest IDF) that the passage has. The question is embedded or analysed once.
    pub fn relevance(&self, text: &str, hits: &[Hit]) -> Result<Vec<Relevance>, SearchError> {
        let meaning = match (&self.dense, self.question_vector(text)) {
            (Some(dense), Some(question)) => Some((dense, question)),
            _ => None,
        };
        // Each hit's passage order, in one pass over the catalog.
        let mut ords = vec![None; hits.len()];
        if meaning.is_some() {
            for (ord, p) in self.catalog.passages.iter().enumerate() {
                for (i, hit) in hits.iter().enumerate() {
                    if ords[i].is_none() && p.id == hit.id {
                        ords[i] = Some(ord);
                    }
                }
            }
        }
        let mut words = None;
        let mut out = Vec::with_capacity(hits.len());
        for (hit, ord) in hits.iter().zip(ords) {
            if let (Some((dense, question)), Some(ord)) = (&meaning, ord) {
                if dense.is_embedded(ord) {
                    out.push(Relevance {
                        score: dense.cosine(ord, question).clamp(0.0, 1.0),
                        by: RelevanceBy::Meaning,
                    });
                    continue;
                }
            }
            if words.is_none() {
                words = Some(self.weighed_concepts(text)?);
            }
            let (concepts, total) = words.as_ref().expect("weighed just now");
            out.push(Relevance {
                score: self.coverage(concepts, *total, hit),
                by: RelevanceBy::Words,
            });
        }
        Ok(out)
    }

    /// The question's concepts, each with its weight (IDF; a phrase weighs as its rarest
    /// word), and the question's whole weight, words the guide never uses included.
    fn weighed_concepts(
        &self,
        text: &str,
    ) -> Result<(Vec<(query::Concept, f32)>, f32), SearchError> {
        let analysis = self.analyze(text)?;
        let searcher = self.reader.searcher();
        let n = searcher.num_docs() as f32;
        let idf = |df: u64| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let mut concepts = Vec::with_capacity(analysis.concepts.len());
        let mut total = (analysis.absent.len() + analysis.unknown.len()) as f32 * idf(0);
        for concept in analysis.concepts {
            let Some(first) = concept.alternatives.first() else {
                continue;
            };
            let mut weight = 0.0f32;
            for stem in &first.stems {
                let df = searcher.doc_freq(&Term::from_field_text(self.fields.body, stem))?;
                weight = weight.max(idf(df));
            }
            total += weight;
            concepts.push((concept, weight));
        }
        Ok((concepts, total))
    }

    /// The share of `total` that `hit` (its title, breadcrumb and text) has of `concepts`.
    fn coverage(&self, concepts: &[(query::Concept, f32)], total: f32, hit: &Hit) -> f32 {
        if total <= 0.0 {
            return 0.0;
        }
        let mut passage = String::with_capacity(hit.text.len() + 200);
        for part in std::iter::once(&hit.title).chain(&hit.breadcrumb) {
            passage.push_str(part);
            passage.push('\n');
        }
        passage.push_str(&hit.text);
        let stems: HashSet<String> = query::stems(&self.stemmed, &passage).into_iter().collect();
        let words: HashSet<String> = query::stems(&self.plain, &passage).into_iter().collect();
        let has = |alt: &query::Alternative| {
            if alt.forms.is_empty() {
                alt.stems.iter().all(|s| stems.contains(s))
            } else {
                alt.forms.iter().any(|f| words.contains(f))
            }
        };
        let matched: f32 = concepts
            .iter()
            .filter(|(c, _)| c.alternatives.iter().any(has))
            .map(|(_, w)| w)
            .sum();
        matched / total
    }

    fn lexicon<'a>(&'a self, searcher: &'a Searcher) -> IndexLexicon<'a> {
        IndexLexicon {
            searcher,
            fields: &self.fields,
            families: &self.families,
        }
    }

    /// The question as one disjunction (see [`Engine::text_clauses`]), merged by
    /// block-WAND up to [`WAND_MAX_LISTS`] posting lists and plainly beyond.
    fn text_query(
        &self,
        searcher: &Searcher,
        analysis: &Analysis,
        boost: &Filter,
    ) -> Result<Option<Box<dyn Query>>, SearchError> {
        let Some((clauses, lists)) = self.text_clauses(searcher, analysis, boost)? else {
            return Ok(None);
        };
        let query: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
        if lists <= WAND_MAX_LISTS {
            return Ok(Some(query));
        }
        // A union nested in a union is not a flat term union: tantivy then merges the
        // posting lists plainly instead of by block-WAND, to the same scores.
        Ok(Some(Box::new(BooleanQuery::new(vec![(
            Occur::Should,
            query,
        )]))))
    }

    /// Boosted term queries: each word in every form and field it may match, plus facet
    /// tags the question names; only multi-word synonyms add phrase queries. A term reached
    /// several ways (a word and its synonym both typed: "salary pay") is one clause carrying
    /// the sum of the weights: the same score, one posting list read once. Also returns how
    /// many posting lists the terms have.
    fn text_clauses(
        &self,
        searcher: &Searcher,
        analysis: &Analysis,
        boost: &Filter,
    ) -> Result<Option<(Vec<Clause>, usize)>, SearchError> {
        if analysis.is_empty() {
            return Ok(None);
        }
        let f = &self.fields;
        let w = &self.search_config.weights;
        let mut terms = TermWeights::default();
        let mut phrases: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for alt in analysis.concepts.iter().flat_map(|c| &c.alternatives) {
            // Only the word as typed earns the exact-heading weight, not its synonyms.
            if let ([word], true) = (alt.words.as_slice(), alt.weight >= 1.0) {
                terms.add(f.title_exact, word, w.heading_exact);
            }
            if !alt.forms.is_empty() {
                // The stem also stands for other words: match this word's own forms.
                for form in &alt.forms {
                    terms.add(f.words, form, w.body * alt.weight);
                }
                continue;
            }
            for (field, weight) in [(f.extra, w.context), (f.body, w.body)] {
                match alt.stems.as_slice() {
                    [stem] => terms.add(field, stem, weight * alt.weight),
                    stems if weight > 0.0 => {
                        phrases.push(phrase(field, stems, 0, weight * alt.weight))
                    }
                    _ => {}
                }
            }
        }
        for word in &analysis.stop_words {
            terms.add(f.title_exact, word, w.heading_stop_words);
        }
        for (facet, values) in &boost.facets {
            let weight = if *facet == Facet::Topic {
                TOPIC_MENTION_BOOST
            } else {
                FACET_MENTION_BOOST
            };
            for v in values {
                terms.add(f.tags, &Fields::tag(*facet, v), weight);
            }
        }
        let mut clauses = terms.into_clauses(searcher)?;
        let lists = clauses.len();
        clauses.extend(phrases);
        Ok(Some((clauses, lists)))
    }

    /// Stems of neighbouring question words, as typed (not synonyms or corrections).
    fn phrase_pairs(&self, analysis: &Analysis) -> Vec<(String, String)> {
        if self.search_config.weights.phrase <= 0.0 {
            return Vec::new();
        }
        let stem = |c: &query::Concept| match c.alternatives.first() {
            Some(a) if a.forms.is_empty() && a.stems.len() == 1 && a.weight >= 1.0 => {
                Some(a.stems[0].clone())
            }
            _ => None,
        };
        analysis
            .concepts
            .windows(2)
            .filter_map(|pair| Some((stem(&pair[0])?, stem(&pair[1])?)))
            .collect()
    }

    /// Raises the passages whose text has two neighbouring question words near each other
    /// (in order, at most [`PHRASE_SLOP`] words apart), by the pair's rarity, then re-sorts.
    /// Done on the top window only: phrase queries over the whole index cost several times
    /// the term search, and a phrase only ever reorders passages the words already found.
    fn add_phrase_bonus(
        &self,
        searcher: &Searcher,
        pairs: &[(String, String)],
        docs: &mut [(f32, DocAddress)],
    ) -> Result<(), SearchError> {
        if pairs.is_empty() || docs.is_empty() {
            return Ok(());
        }
        let body = self.fields.body;
        let n = searcher.num_docs() as f32;
        // The index is merged into one segment, so a segment's counts are the index's.
        let idf = |df: u32| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let weight = self.search_config.weights.phrase;
        let (mut at_a, mut at_b) = (Vec::new(), Vec::new());
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let mut candidates: Vec<(tantivy::DocId, usize)> = docs
                .iter()
                .enumerate()
                .filter(|(_, (_, a))| a.segment_ord as usize == ord)
                .map(|(i, (_, a))| (a.doc_id, i))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            candidates.sort_unstable();
            // In the text, and in the heading: "run tests" in "Run the tests".
            for field in [body] {
                let inverted = segment.inverted_index(field)?;
                for (a, b) in pairs {
                    let postings = |stem: &str| {
                        inverted
                            .read_postings(
                                &Term::from_field_text(field, stem),
                                IndexRecordOption::WithFreqsAndPositions,
                            )
                            .map_err(|e| SearchError::Tantivy(e.into()))
                    };
                    let (Some(mut pa), Some(mut pb)) = (postings(a)?, postings(b)?) else {
                        continue;
                    };
                    let bonus = weight * (idf(pa.doc_freq()) + idf(pb.doc_freq())) / 2.0;
                    for &(doc, i) in &candidates {
                        if !has_doc(&mut pa, doc) || !has_doc(&mut pb, doc) {
                            continue;
                        }
                        at_a.clear();
                        at_b.clear();
                        pa.positions(&mut at_a);
                        pb.positions(&mut at_b);
                        if near(&at_a, &at_b, PHRASE_SLOP) {
                            docs[i].0 += bonus;
                        }
                    }
                }
            }
        }
        docs.sort_by(|x, y| y.0.total_cmp(&x.0));
        Ok(())
    }

    /// Scales the scores of release notes, changelogs and blog posts by `weights.news`, then
    /// re-sorts: the word scores of the top [`PHRASE_WINDOW`] (as the phrase bonus does), or
    /// with meaning the fused scores of the candidates. Either is a fixed head, re-sorted the
    /// same way whatever the page, so paging never shows a passage twice or skips one (a
    /// window that grew with the page would let passages further down overtake demoted ones
    /// on later pages only).
    fn demote_news(&self, docs: &mut [(f32, DocAddress)]) {
        let factor = self.search_config.weights.news;
        if factor >= 1.0 || self.news.is_empty() {
            return;
        }
        let mut changed = false;
        for (score, address) in docs.iter_mut() {
            if self.news.contains(address) {
                *score *= factor;
                changed = true;
            }
        }
        if changed {
            docs.sort_by(|x, y| y.0.total_cmp(&x.0));
        }
    }

    fn filter_query(&self, filter: &Filter) -> Option<Box<dyn Query>> {
        if filter.is_empty() {
            return None;
        }
        let musts = filter
            .facets
            .iter()
            .map(|(facet, values)| {
                let field = self.fields.facet(*facet);
                let any: Vec<(Occur, Box<dyn Query>)> = values
                    .iter()
                    .map(|v| {
                        let term = Term::from_facet(field, &TantivyFacet::from_path([v.as_str()]));
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(term, IndexRecordOption::Basic))
                                as Box<dyn Query>,
                        )
                    })
                    .collect();
                (
                    Occur::Must,
                    Box::new(BooleanQuery::new(any)) as Box<dyn Query>,
                )
            })
            .collect();
        Some(Box::new(BooleanQuery::new(musts)))
    }

    fn snippet_generator(
        &self,
        searcher: &Searcher,
        analysis: &Analysis,
    ) -> Result<SnippetGenerator, SearchError> {
        // Rare words make the better snippet, as tantivy's own generator weighs them.
        let mut terms = BTreeMap::new();
        for stem in analysis
            .concepts
            .iter()
            .flat_map(|c| &c.alternatives)
            .flat_map(|a| &a.stems)
        {
            let df = searcher.doc_freq(&Term::from_field_text(self.fields.body, stem))?;
            if df > 0 {
                terms.insert(stem.clone(), 1.0 / (1.0 + df as f32));
            }
        }
        Ok(snippet::generator(
            terms,
            self.fields.body,
            self.snippet_chars,
        ))
    }

    fn hit(&self, doc: &TantivyDocument, score: f32, snippets: &SnippetGenerator) -> Hit {
        let f = &self.fields;
        let text = str_field(doc, f.body);
        Hit {
            id: str_field(doc, f.id),
            title: str_field(doc, f.title),
            breadcrumb: str_field(doc, f.breadcrumb)
                .split(BREADCRUMB_SEP)
                .map(str::to_string)
                .collect(),
            snippet: snippet::make(snippets, &text, self.snippet_chars),
            text,
            source: str_field(doc, f.source),
            location: str_field(doc, f.location),
            link: None,
            score,
            facets: facets_of(doc, f),
        }
    }
}

const BREADCRUMB_SEP: char = '\u{1f}';

/// Moves the postings to `doc` if they have it; candidates come in increasing order.
fn has_doc(postings: &mut tantivy::postings::SegmentPostings, doc: tantivy::DocId) -> bool {
    if postings.doc() < doc {
        postings.seek(doc);
    }
    postings.doc() == doc
}

/// Whether some position in `b` follows one in `a` by at most `slop + 1` (both sorted).
fn near(a: &[u32], b: &[u32], slop: u32) -> bool {
    let mut j = 0;
    for &pa in a {
        while j < b.len() && b[j] <= pa {
            j += 1;
        }
        if j < b.len() && b[j] - pa <= slop + 1 {
            return true;
        }
    }
    false
}

/// Words in order, at most `slop` positions apart, as one weighted clause.
/// The words within a filter: the filter decides membership (with the words too, when they
/// are required); only the words decide rank.
fn within(filter: Box<dyn Query>, words: Box<dyn Query>, require_words: bool) -> BooleanQuery {
    let words_occur = if require_words {
        Occur::Must
    } else {
        Occur::Should
    };
    BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(ConstScoreQuery::new(filter, 0.0)) as Box<dyn Query>,
        ),
        (words_occur, words),
    ])
}

type Clause = (Occur, Box<dyn Query>);

/// Term clauses in first-added order, each term once with its weights summed (a boosted
/// BM25 score is linear in the boost, so the sum scores as the separate clauses would).
#[derive(Default)]
struct TermWeights {
    order: Vec<Term>,
    weights: HashMap<Term, f32>,
}

impl TermWeights {
    /// Adds `weight` to the term; a weight of zero or less adds nothing.
    fn add(&mut self, field: tantivy::schema::Field, text: &str, weight: f32) {
        if weight <= 0.0 {
            return;
        }
        let term = Term::from_field_text(field, text);
        match self.weights.get_mut(&term) {
            Some(w) => *w += weight,
            None => {
                self.weights.insert(term.clone(), weight);
                self.order.push(term);
            }
        }
    }

    /// One boosted term query per term some passage has (the others would only add empty
    /// scorers to the union).
    fn into_clauses(self, searcher: &Searcher) -> Result<Vec<Clause>, SearchError> {
        let mut clauses = Vec::with_capacity(self.order.len());
        for term in self.order {
            if searcher.doc_freq(&term)? == 0 {
                continue;
            }
            let weight = self.weights[&term];
            let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), weight)) as Box<dyn Query>,
            ));
        }
        Ok(clauses)
    }
}

fn phrase(
    field: tantivy::schema::Field,
    stems: &[String],
    slop: u32,
    weight: f32,
) -> (Occur, Box<dyn Query>) {
    let mut q = PhraseQuery::new(
        stems
            .iter()
            .map(|s| Term::from_field_text(field, s))
            .collect(),
    );
    q.set_slop(slop);
    (
        Occur::Should,
        Box::new(BoostQuery::new(Box::new(q), weight)),
    )
}

fn str_field(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn facets_of(doc: &TantivyDocument, fields: &Fields) -> Facets {
    let mut facets = Facets::default();
    for facet in Facet::ALL {
        *facets.get_mut(facet) = doc
            .get_all(fields.facet(facet))
            .filter_map(|v| v.as_facet())
            // Stored facets are `\0`-separated paths; ours have one segment.
            .map(|encoded| encoded.rsplit('\0').next().unwrap_or(encoded).to_string())
            .collect();
    }
    facets
}

struct IndexLexicon<'a> {
    searcher: &'a Searcher,
    fields: &'a Fields,
    families: &'a Families,
}

impl Lexicon for IndexLexicon<'_> {
    fn has_word(&self, word: &str) -> tantivy::Result<bool> {
        let n = self
            .searcher
            .doc_freq(&Term::from_field_text(self.fields.words, word))?;
        Ok(n > 0)
    }

    fn has_stem(&self, stem: &str) -> tantivy::Result<bool> {
        for field in [self.fields.body, self.fields.extra] {
            if self
                .searcher
                .doc_freq(&Term::from_field_text(field, stem))?
                > 0
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn forms(&self, word: &str, stem: &str) -> Option<Vec<String>> {
        let family = self.families.get(stem)?;
        let same: Vec<String> = family
            .iter()
            .filter(|w| query::same_word(word, w))
            .map(|w| w.to_string())
            .collect();
        (same.len() < family.len()).then_some(same)
    }

    /// One edit away first, two only when that finds nothing: the two-edit automaton costs
    /// several times more to build and to run over the terms, and a word one edit away is
    /// the likelier meant than any two away.
    fn near_words(&self, word: &str, distance: u8) -> tantivy::Result<Vec<String>> {
        for d in 1..=distance.min(2) {
            let near = self.words_within(word, d)?;
            if !near.is_empty() {
                return Ok(near);
            }
        }
        Ok(Vec::new())
    }
}

impl IndexLexicon<'_> {
    /// Index words within `distance` edits of `word` (transpositions count one), by true
    /// edit distance, then by how many passages use them.
    fn words_within(&self, word: &str, distance: u8) -> tantivy::Result<Vec<String>> {
        let term = Term::from_field_text(self.fields.words, word);
        let dfa = FuzzyTermQuery::new(term, distance, true).automaton()?;
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for segment in self.searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.words)?;
            let mut stream = inverted.terms().search(&dfa).into_stream()?;
            while stream.advance() {
                // Every indexed word is UTF-8: it came from a `&str`.
                if let Ok(w) = std::str::from_utf8(stream.key()) {
                    *found.entry(w.to_string()).or_default() += u64::from(stream.value().doc_freq);
                }
            }
        }
        let mut ranked: Vec<(usize, std::cmp::Reverse<u64>, String)> = found
            .into_iter()
            .filter(|(w, _)| w != word && w.chars().count() > 2)
            .map(|(w, df)| {
                (
                    strsim::damerau_levenshtein(word, &w),
                    std::cmp::Reverse(df),
                    w,
                )
            })
            .collect();
        ranked.sort();
        Ok(ranked.into_iter().map(|(_, _, w)| w).collect())
    }
}

/// The `tags` token of passages [`is_news`] picked (facet tags are `key:value` with a facet's
/// key, which `kind` is not).
const NEWS_TAG: &str = "kind:news";

/// Whether a file (its path in `data/`, `/`-separated, `#anchor` allowed) holds release notes,
/// a changelog or blog posts: a folder named `blog`, `posts`, `news`, `history`,
/// `changelog(s)`, `changes`, `releases` or `release-notes`, or a file so named
/// (`CHANGELOG.md`, `change_log.md`, `HISTORY.md`, `whats-new.md` …). The layouts docs tools
/// give them: MkDocs Material's `blog/posts/`, Docusaurus' `blog/`, Hugo's `posts/`, Sphinx
/// and GitHub's `CHANGELOG.md`.
pub fn is_news(path: &str) -> bool {
    // Whole names: as prefixes these would catch docs ("posts-and-roles", "history-of-ml").
    const NAMES: &[&str] = &[
        "blog", "blogs", "posts", "news", "history", "changes", "releases",
    ];
    // Prefixes: "CHANGELOG-v2", "release-notes-2024", "whats-new-in-2-0".
    const PREFIXES: &[&str] = &["changelog", "releasenotes", "whatsnew"];
    let path = path.split('#').next().unwrap_or(path);
    path.split('/').any(|part| {
        let stem = part.rsplit_once('.').map_or(part, |(stem, _)| stem);
        let name: String = stem
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        NAMES.contains(&name.as_str()) || PREFIXES.iter().any(|p| name.starts_with(p))
    })
}

fn write_documents(index: &Index, content: &Content) -> Result<(), SearchError> {
    schema::register_analyzers(index);
    let fields = Fields::from_schema(&index.schema()).expect("our own schema has every field");
    let mut writer: tantivy::IndexWriter =
        index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY)?;
    for (ord, p) in content.passages().enumerate() {
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.id, &p.id);
        doc.add_text(fields.title, &p.title);
        doc.add_text(fields.title_exact, &p.title);
        let context = &p.breadcrumb[..p.breadcrumb.len().saturating_sub(1)];
        doc.add_text(fields.extra, context.join(" "));
        for a in &p.aliases {
            doc.add_text(fields.extra, a);
        }
        // The text first: display reads the first value.
        doc.add_text(fields.body, &p.text);
        // The title, stemmed, counts as text: a separate stemmed heading field measured no
        // better on the dev corpora and cost 40 % more per question at 100k passages.
        doc.add_text(fields.body, &p.title);
        doc.add_text(fields.words, &p.title);
        doc.add_text(fields.words, context.join(" "));
        doc.add_text(fields.words, p.aliases.join(" "));
        doc.add_text(fields.words, &p.text);
        let crumb: String = p.breadcrumb.join(&BREADCRUMB_SEP.to_string());
        doc.add_text(fields.breadcrumb, crumb);
        doc.add_text(fields.source, &p.source);
        doc.add_text(fields.location, &p.location);
        doc.add_text(fields.hash, p.content_hash());
        doc.add_u64(fields.ord, ord as u64);
        if is_news(&p.location) {
            doc.add_text(fields.tags, NEWS_TAG);
        }
        for facet in Facet::ALL {
            for v in p.facets.get(facet) {
                doc.add_facet(fields.facet(facet), TantivyFacet::from_path([v.as_str()]));
                doc.add_text(fields.tags, Fields::tag(facet, v));
            }
        }
        writer.add_document(doc)?;
    }
    writer.commit()?;
    // One segment: the index is rebuilt whole, never appended to, so merging once makes
    // every later search, typo lookup and term count touch one dictionary instead of several.
    let segments = index.searchable_segment_ids()?;
    if segments.len() > 1 {
        writer.merge(&segments).wait()?;
    }
    writer.wait_merging_threads()?;
    Ok(())
}

/// Every stem of the index's words, with the words that have it: read once per engine, so
/// that telling "experiment" from "experience" costs a lookup per question word.
type Families = HashMap<Box<str>, Box<[Box<str>]>>;

fn stem_families(
    searcher: &Searcher,
    fields: &Fields,
    stemmed: &TextAnalyzer,
) -> Result<Families, SearchError> {
    let mut analyzer = stemmed.clone();
    let mut families: HashMap<Box<str>, Vec<Box<str>>> = HashMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(fields.words)?;
        let mut stream = inverted
            .terms()
            .stream()
            .map_err(|e| SearchError::Tantivy(e.into()))?;
        while stream.advance() {
            let Ok(word) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            let mut tokens = analyzer.token_stream(word);
            let Some(stem) = tokens.next().map(|t| t.text.clone()) else {
                continue;
            };
            if tokens.advance() {
                continue; // not one word
            }
            let family = families.entry(stem.into_boxed_str()).or_default();
            if !family.iter().any(|w| &**w == word) {
                family.push(word.into());
            }
        }
    }
    Ok(families
        .into_iter()
        .map(|(stem, words)| (stem, words.into_boxed_slice()))
        .collect())
}

/// Reads every stored passage once, in content order.
fn read_catalog(searcher: &Searcher, fields: &Fields) -> Result<Catalog, SearchError> {
    let mut rows: Vec<(u64, PassageSummary)> = Vec::new();
    for segment in searcher.segment_readers() {
        let store = segment
            .get_store_reader(1)
            .map_err(|e| SearchError::Tantivy(e.into()))?;
        for doc in store.iter::<TantivyDocument>(segment.alive_bitset()) {
            let doc = doc?;
            let ord = doc
                .get_first(fields.ord)
                .and_then(|v| v.as_u64())
                .unwrap_or(u64::MAX);
            rows.push((
                ord,
                PassageSummary {
                    id: str_field(&doc, fields.id),
                    title: str_field(&doc, fields.title),
                    hash: str_field(&doc, fields.hash),
                    facets: facets_of(&doc, fields),
                },
            ));
        }
    }
    rows.sort_by_key(|(ord, _)| *ord);
    let ids: HashSet<&str> = rows.iter().map(|(_, p)| p.id.as_str()).collect();
    if ids.len() != rows.len() {
        tracing::warn!("index holds duplicate passage ids");
    }
    Ok(Catalog::new(rows.into_iter().map(|(_, p)| p).collect()))
}

#[cfg(test)]
mod tests {
    use super::{is_news, near};

    /// A long question merged plainly ranks exactly as block-WAND ranks it.
    #[test]
    fn a_long_question_ranks_the_same_either_way() {
        use super::{BooleanQuery, Filter, Query, TopDocs, WAND_MAX_LISTS};
        let (_, _, engine) = crate::app::shipped();
        let searcher = engine.searcher();
        let analysis = engine
            .analyze("what salary pay for a senior ml engineer with kubernetes and gcp in india")
            .unwrap();
        let top = |query: &dyn Query| {
            searcher
                .search(query, &TopDocs::with_limit(10).order_by_score())
                .unwrap()
        };
        let (clauses, lists) = engine
            .text_clauses(&searcher, &analysis, &Filter::default())
            .unwrap()
            .unwrap();
        assert!(lists > WAND_MAX_LISTS, "only {lists} posting lists");
        let wand = top(&BooleanQuery::new(clauses));
        let plain = top(&*engine
            .text_query(&searcher, &analysis, &Filter::default())
            .unwrap()
            .unwrap());
        assert_eq!(wand.len(), 10);
        for ((ws, wa), (ps, pa)) in wand.iter().zip(&plain) {
            assert_eq!(wa, pa);
            assert!((ws - ps).abs() < 1e-4, "{ws} vs {ps}");
        }
    }

    #[test]
    fn news_is_told_by_folder_or_file_name() {
        for path in [
            "blog/posts/release-hatch-160.md#hatchling",
            "blog/2024-01-01-hello.mdx",
            "news/index.md",
            "history/hatch.md#unreleased",
            "CHANGELOG.md",
            "docs/change_log.md",
            "release-notes/v2.md",
            "Releases/2.0.md",
            "whats-new.md",
            "CHANGELOG-v2.md",
            "docs/whats-new-in-2-0.md",
        ] {
            assert!(is_news(path), "{path}");
        }
        for path in [
            "contributing/release_process.md",
            "guide/changing-jobs.md",
            "blogging-for-engineers.md",
            "posts-and-roles.md",
            "ml-engineer/salary.md#senior-india",
            "history-of-ml.md",
        ] {
            assert!(!is_news(path), "{path}");
        }
    }

    #[test]
    fn near_means_in_order_and_within_the_slop() {
        assert!(near(&[3], &[4], 0));
        assert!(near(&[3, 10], &[13], 2));
        assert!(!near(&[3], &[2], 2), "order matters");
        assert!(!near(&[3], &[7], 2), "too far apart");
        assert!(!near(&[], &[1], 2));
    }
}
