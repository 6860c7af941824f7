//! Search-quality report: careerbot's `/ask` against a plain BM25 baseline on the public
//! corpora of `quality/corpora.toml`, with the questions of `quality/questions/`.
//!
//! `cargo run --release --example quality [-- --misses] [--suggest] [--weights=k=v,…] [--grid=k=v/v;…] [NAME…]`
//!
//! With the embedding model installed (`careerbot model install`; or `CAREERBOT_MODEL_DIR`
//! names its folder) careerbot is reported twice: ranking by words only, and by words and
//! meaning. Passage embeddings are computed once and kept with each corpus's index under the
//! cache folder. Grid keys are the `[search.weights]` names and, for semantic ranking,
//! `fusion` (blend, rrf, rerank), `meaning_weight`, `candidates`, `candidate_share`, `nearest`
//! and `floor`.
//!
//! The corpora are fetched (pinned, checksummed) by `quality/fetch.sh` into
//! `$CAREERBOT_QUALITY_DIR` (default `~/.cache/careerbot/quality`) on first use. A result
//! is right when its breadcrumb and text contain every one of the question's `terms`
//! (case-insensitive). Questions marked `held` are never tuned on; they are reported apart.
//! `--suggest` reports where the forum suggestions' floor (`suggest.min_score`) should sit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use serde::Deserialize;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, Value, STORED, TEXT};
use tantivy::{Index, TantivyDocument};

use careerbot::answer::{self, Command, Request};
use careerbot::config::{Config, Fusion, RankingWeights, SemanticConfig};
use careerbot::content::{self, Passage, Vocabulary};
use careerbot::search::Engine;

/// Results looked at per question: MRR counts ranks up to here.
const DEPTH: usize = 10;

#[derive(Deserialize)]
struct Corpora {
    corpus: Vec<CorpusDef>,
}

#[derive(Deserialize)]
struct CorpusDef {
    name: String,
    kind: String,
    package: String,
    version: String,
    licence: String,
}

#[derive(Deserialize)]
struct Questions {
    question: Vec<Question>,
}

#[derive(Deserialize, Clone)]
struct Question {
    q: String,
    terms: Vec<String>,
    passage: String,
    kind: String,
    split: String,
}

/// Rank (1-based) of the first right result, per question.
type Ranks = Vec<Option<usize>>;

#[derive(Default, Clone, Copy)]
struct Scores {
    n: usize,
    hit1: usize,
    hit3: usize,
    rr: f64,
}

impl Scores {
    fn of(ranks: &[Option<usize>]) -> Scores {
        let mut s = Scores {
            n: ranks.len(),
            ..Scores::default()
        };
        for r in ranks.iter().flatten() {
            s.hit1 += usize::from(*r == 1);
            s.hit3 += usize::from(*r <= 3);
            s.rr += 1.0 / *r as f64;
        }
        s
    }

    fn cells(&self) -> String {
        let pct = |k: usize| 100.0 * k as f64 / self.n.max(1) as f64;
        format!(
            "{:>2}/{:<2} {:5.1}% | {:>2}/{:<2} {:5.1}% | {:.3}",
            self.hit1,
            self.n,
            pct(self.hit1),
            self.hit3,
            self.n,
            pct(self.hit3),
            self.rr / self.n.max(1) as f64
        )
    }
}

fn main() -> anyhow::Result<()> {
    careerbot::semantic::prepare_process();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_misses = args.iter().any(|a| a == "--misses");
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quality = root.join("quality");
    let corpora: Corpora = toml::from_str(&std::fs::read_to_string(quality.join("corpora.toml"))?)?;
    let cache = corpus_dir();
    if corpora.corpus.iter().any(|c| !cache.join(&c.name).is_dir()) {
        eprintln!("fetching the corpora into {} …", cache.display());
        let status = Process::new("bash")
            .arg(quality.join("fetch.sh"))
            .status()?;
        anyhow::ensure!(status.success(), "quality/fetch.sh failed");
    }

    let mut loaded = Vec::new();
    for def in &corpora.corpus {
        if !only.is_empty() && !only.iter().any(|n| **n == def.name) {
            continue;
        }
        loaded.push(Loaded::new(def, &quality, &cache)?);
    }
    let mut settings = Settings {
        weights: RankingWeights::default(),
        semantic: loaded
            .first()
            .map(|l| l.config.search.semantic.clone())
            .unwrap_or_default(),
    };
    if let Some(spec) = args.iter().find_map(|a| a.strip_prefix("--weights=")) {
        settings = parse_settings(settings, spec)?;
        for l in &mut loaded {
            l.apply(&settings);
        }
        eprintln!("settings: {settings:?}");
    }
    if let Some(spec) = args.iter().find_map(|a| a.strip_prefix("--grid=")) {
        return grid(&mut loaded, settings, spec);
    }
    if args.iter().any(|a| a == "--suggest") {
        return suggest_floor(&mut loaded, &settings);
    }

    let semantic = loaded.iter().all(|l| l.engine.semantic_model().is_some());
    if !semantic {
        eprintln!("semantic ranking off (model not installed): reporting words only");
    }
    println!("| corpus | split | engine | hit@1 | hit@3 | MRR@{DEPTH} |");
    println!("|---|---|---|---|---|---|");
    let mut misses = String::new();
    for l in &mut loaded {
        let mut words_only = settings.clone();
        words_only.semantic.enabled = false;
        l.apply(&words_only);
        let words = l.ranks(None)?;
        l.apply(&settings);
        let mut rows = vec![("careerbot, words", words.clone())];
        if semantic {
            rows.push(("careerbot, words + meaning", l.ranks(None)?));
        }
        l.ranks(Some(&mut misses).filter(|_| show_misses))?;
        rows.push(("plain BM25", l.base.clone()));
        for split in ["dev", "held"] {
            for (engine, ranks) in &rows {
                println!(
                    "| {} | {split} | {engine} | {} |",
                    l.name,
                    Scores::of(&l.pick(ranks, split)).cells()
                );
            }
        }
        let ours = &rows[rows.len() - 2].1;
        let by_kind = per_kind(&l.questions, ours, &l.base);
        eprintln!("  {}: hit@1 by kind (careerbot / BM25): {by_kind}", l.name);
    }
    if show_misses {
        println!("\n## careerbot misses at rank 1\n\n{misses}");
    }
    Ok(())
}

/// One corpus, loaded and indexed both ways, with its questions and the baseline's ranks.
struct Loaded {
    name: String,
    questions: Vec<Question>,
    config: Config,
    engine: Engine,
    base: Ranks,
}

impl Loaded {
    fn new(def: &CorpusDef, quality: &Path, cache: &Path) -> anyhow::Result<Loaded> {
        let questions: Questions = toml::from_str(&std::fs::read_to_string(
            quality.join("questions").join(format!("{}.toml", def.name)),
        )?)?;
        let data = cache.join(&def.name);
        let mut config = Config::default_in(&data);
        config.data_dir = data.clone();
        config.answers.results = DEPTH;
        let report = content::load_dir(&data, &Vocabulary::default());
        let passages: Vec<Passage> = report.content.passages().cloned().collect();
        eprintln!(
            "{}: {} ({} {}, {}): {} files, {} passages, {} errors, {} warnings",
            def.name,
            def.kind,
            def.package,
            def.version,
            def.licence,
            report.files,
            passages.len(),
            report.errors().count(),
            report.diagnostics.len() - report.errors().count()
        );
        // A persistent index folder per corpus keeps the passage embeddings between runs.
        config.index_dir = cache.join("index").join(&def.name);
        config.search.semantic.model_dir = model_dir();
        let engine = Engine::build(&config, &report.content)?;
        let baseline = Baseline::new(&passages)?;
        let base = questions
            .question
            .iter()
            .map(|q| Ok(first_right(&baseline.search(&q.q)?, &q.terms)))
            .collect::<anyhow::Result<Ranks>>()?;
        Ok(Loaded {
            name: def.name.clone(),
            questions: questions.question,
            config,
            engine,
            base,
        })
    }

    /// Per question: whether `/ask`'s top passage is right, and its relevance (0 when
    /// nothing is found), for the questions `of` (this corpus's, or another's asked here).
    fn relevances(&self, of: &[Question]) -> anyhow::Result<Vec<(bool, f32)>> {
        let vocabulary = Vocabulary::default();
        let mut out = Vec::new();
        for q in of {
            let request = Request::new(Command::ask(&q.q));
            let answer = answer::answer(&self.engine, &vocabulary, &self.config.answers, &request)?;
            let top = answer.results.first();
            let right = top.is_some_and(|h| {
                first_right(&[(h.breadcrumb.join(" › "), h.text.clone())], &q.terms) == Some(1)
            });
            let score = match top {
                Some(hit) => self.engine.relevance(&q.q, std::slice::from_ref(hit))?[0].score,
                None => 0.0,
            };
            out.push((right, score));
        }
        Ok(out)
    }

    /// careerbot's rank of the right answer for every question, as `/ask` answers it.
    fn ranks(&self, mut misses: Option<&mut String>) -> anyhow::Result<Ranks> {
        let vocabulary = Vocabulary::default();
        let mut ranks = Vec::new();
        for q in &self.questions {
            let request = Request::new(Command::ask(&q.q));
            let answer = answer::answer(&self.engine, &vocabulary, &self.config.answers, &request)?;
            let found: Vec<(String, String)> = answer
                .results
                .iter()
                .map(|h| (h.breadcrumb.join(" › "), h.text.clone()))
                .collect();
            let rank = first_right(&found, &q.terms);
            ranks.push(rank);
            if let (Some(out), false) = (misses.as_deref_mut(), rank == Some(1)) {
                let base = self.base[ranks.len() - 1];
                out.push_str(&format!(
                    "{} [{}/{}] {:?} (BM25: {})\n  want: {}\n  got:  {}{}\n",
                    self.name,
                    q.split,
                    q.kind,
                    q.q,
                    base.map_or("-".to_string(), |r| r.to_string()),
                    q.passage,
                    found
                        .first()
                        .map_or("(nothing)", |(crumb, _)| crumb.as_str()),
                    rank.map(|r| format!("  (right answer at {r})"))
                        .unwrap_or_default()
                ));
            }
        }
        Ok(ranks)
    }

    fn apply(&mut self, settings: &Settings) {
        self.engine.set_weights(settings.weights);
        self.engine.set_semantic(settings.semantic.clone());
    }

    fn pick(&self, ranks: &Ranks, split: &str) -> Ranks {
        ranks
            .iter()
            .zip(&self.questions)
            .filter(|(_, q)| q.split == split)
            .map(|(r, _)| *r)
            .collect()
    }
}

/// `--suggest`: where a forum suggestion's floor (`suggest.min_score`) should sit. Each
/// corpus is asked its own questions (a suggestion is wanted when the top passage is right)
/// and every other corpus's (none is wanted: the guide does not cover them); for each floor,
/// the share of each kept. Dev questions choose, held-back ones check.
fn suggest_floor(loaded: &mut [Loaded], settings: &Settings) -> anyhow::Result<()> {
    let semantic = loaded.iter().all(|l| l.engine.semantic_model().is_some());
    let mut modes = vec![("words", false)];
    if semantic {
        modes.push(("words + meaning", true));
    }
    for (mode, with_meaning) in modes {
        for split in ["dev", "held"] {
            let (mut right, mut wrong, mut foreign) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..loaded.len() {
                let mut s = settings.clone();
                s.semantic.enabled = with_meaning;
                loaded[i].apply(&s);
                let own: Vec<Question> = loaded[i]
                    .questions
                    .iter()
                    .filter(|q| q.split == split)
                    .cloned()
                    .collect();
                for (ok, score) in loaded[i].relevances(&own)? {
                    if ok {
                        right.push(score)
                    } else {
                        wrong.push(score)
                    }
                }
                let others: Vec<Question> = loaded
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .flat_map(|(_, l)| l.questions.iter().filter(|q| q.split == split).cloned())
                    .collect();
                foreign.extend(loaded[i].relevances(&others)?.into_iter().map(|(_, s)| s));
            }
            println!(
                "\n### {mode}, {split} questions ({} right at 1, {} wrong at 1, {} from other corpora)\n",
                right.len(),
                wrong.len(),
                foreign.len()
            );
            println!("| floor | right kept | wrong kept | other corpora kept |");
            println!("|---|---|---|---|");
            let kept = |v: &[f32], t: f32| {
                100.0 * v.iter().filter(|&&s| s >= t).count() as f64 / v.len().max(1) as f64
            };
            for step in 0..=19 {
                let t = step as f32 * 0.05;
                println!(
                    "| {t:.2} | {:.1}% | {:.1}% | {:.1}% |",
                    kept(&right, t),
                    kept(&wrong, t),
                    kept(&foreign, t)
                );
            }
        }
    }
    Ok(())
}

/// What the report may vary: the ranking weights and how meaning is weighed.
#[derive(Debug, Clone)]
struct Settings {
    weights: RankingWeights,
    semantic: SemanticConfig,
}

impl Settings {
    fn short(&self) -> String {
        let m = &self.semantic;
        format!(
            "{:?} semantic={} fusion={:?} meaning_weight={} candidates={} candidate_share={} nearest={} floor={}",
            self.weights,
            m.enabled,
            m.fusion,
            m.meaning_weight,
            m.candidates,
            m.candidate_share,
            m.nearest,
            m.floor
        )
    }
}

fn parse_settings(mut settings: Settings, spec: &str) -> anyhow::Result<Settings> {
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--weights: `{pair}` is not key=value"))?;
        settings = with_setting(settings, k, v)?;
    }
    Ok(settings)
}

fn with_setting(mut s: Settings, key: &str, v: &str) -> anyhow::Result<Settings> {
    let (w, m) = (&mut s.weights, &mut s.semantic);
    match key {
        "heading_exact" => w.heading_exact = v.parse()?,
        "context" => w.context = v.parse()?,
        "body" => w.body = v.parse()?,
        "phrase" => w.phrase = v.parse()?,
        "heading_stop_words" => w.heading_stop_words = v.parse()?,
        "synonym" => w.synonym = v.parse()?,
        "correction" => w.correction = v.parse()?,
        "news" => w.news = v.parse()?,
        "fusion" => {
            m.fusion = match v {
                "blend" => Fusion::Blend,
                "rrf" => Fusion::Rrf,
                "rerank" => Fusion::Rerank,
                _ => anyhow::bail!("fusion is blend, rrf or rerank, not `{v}`"),
            }
        }
        "meaning_weight" => m.meaning_weight = v.parse()?,
        "candidates" => m.candidates = v.parse()?,
        "candidate_share" => m.candidate_share = v.parse()?,
        "nearest" => m.nearest = v.parse()?,
        "floor" => m.floor = v.parse()?,
        "semantic" => m.enabled = v.parse()?,
        _ => anyhow::bail!("unknown setting `{key}`"),
    }
    Ok(s)
}

/// Tries a grid of settings on the **dev** questions only and prints the best: ranked by the
/// smallest hit@1 margin over plain BM25 on any corpus, then by total hit@1 and MRR.
/// `spec`: `key=v1/v2/v3;key=…`, on top of `base`.
fn grid(loaded: &mut [Loaded], base: Settings, spec: &str) -> anyhow::Result<()> {
    let mut combos = vec![base];
    for axis in spec.split(';').filter(|a| !a.is_empty()) {
        let (key, values) = axis
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--grid: `{axis}` is not key=v1/v2"))?;
        let mut next = Vec::new();
        for c in &combos {
            for v in values.split('/') {
                next.push(with_setting(c.clone(), key, v)?);
            }
        }
        combos = next;
    }
    let mut rows = Vec::new();
    for w in combos {
        let mut margins = Vec::new();
        let (mut hits, mut rr) = (0, 0.0);
        for l in loaded.iter_mut() {
            l.apply(&w);
            let ours = Scores::of(&l.pick(&l.ranks(None)?, "dev"));
            let base = Scores::of(&l.pick(&l.base, "dev"));
            margins.push(100.0 * (ours.hit1 as f64 - base.hit1 as f64) / ours.n.max(1) as f64);
            hits += ours.hit1;
            rr += ours.rr / ours.n.max(1) as f64;
        }
        let min = margins.iter().copied().fold(f64::INFINITY, f64::min);
        rows.push((min, hits, rr, w, margins));
    }
    rows.sort_by(|a, b| {
        (b.0, b.1, b.2)
            .partial_cmp(&(a.0, a.1, a.2))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    println!("min margin | dev hit@1 | mean MRR | margins | weights");
    for (min, hits, rr, w, margins) in rows.iter().take(25) {
        let margins: Vec<String> = margins.iter().map(|m| format!("{m:+.1}")).collect();
        println!(
            "{min:+6.1} | {hits:3} | {:.3} | {} | {}",
            rr / loaded.len() as f64,
            margins.join(" "),
            w.short(),
        );
    }
    Ok(())
}

/// The embedding model's folder: `CAREERBOT_MODEL_DIR`, or where `careerbot model install`
/// puts it in this checkout.
fn model_dir() -> PathBuf {
    std::env::var_os("CAREERBOT_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(SemanticConfig::default().model_dir)
        })
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAREERBOT_QUALITY_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("careerbot").join("quality")
}

/// Lower case, one space between words: how terms and passages are compared.
fn normal(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn first_right(found: &[(String, String)], terms: &[String]) -> Option<usize> {
    let terms: Vec<String> = terms.iter().map(|t| normal(t)).collect();
    found
        .iter()
        .take(DEPTH)
        .position(|(crumb, text)| {
            let hay = normal(&format!("{crumb}\n{text}"));
            terms.iter().all(|t| hay.contains(t.as_str()))
        })
        .map(|i| i + 1)
}

fn per_kind(questions: &[Question], ours: &Ranks, base: &Ranks) -> String {
    let mut kinds: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for ((q, o), b) in questions.iter().zip(ours).zip(base) {
        let e = kinds.entry(q.kind.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(*o == Some(1));
        e.2 += usize::from(*b == Some(1));
    }
    kinds
        .iter()
        .map(|(k, (n, o, b))| format!("{k} {o}/{b} of {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The yardstick: tantivy's default tokenizer over each passage's title and text, the
/// question's words OR-ed, BM25, no boosts, no stemming, no synonyms, no typo tolerance.
struct Baseline {
    index: Index,
    parser: QueryParser,
    crumb: tantivy::schema::Field,
    text: tantivy::schema::Field,
}

impl Baseline {
    fn new(passages: &[Passage]) -> anyhow::Result<Baseline> {
        let mut b = Schema::builder();
        let title = b.add_text_field("title", TEXT);
        let body = b.add_text_field("body", TEXT);
        let crumb = b.add_text_field("crumb", STORED);
        let text = b.add_text_field("text", STORED);
        let index = Index::create_in_ram(b.build());
        let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 32 << 20)?;
        for p in passages {
            let mut doc = TantivyDocument::default();
            doc.add_text(title, &p.title);
            doc.add_text(body, &p.text);
            doc.add_text(crumb, p.breadcrumb.join(" › "));
            doc.add_text(text, &p.text);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let parser = QueryParser::for_index(&index, vec![title, body]);
        Ok(Baseline {
            index,
            parser,
            crumb,
            text,
        })
    }

    fn search(&self, question: &str) -> anyhow::Result<Vec<(String, String)>> {
        // Words only: the baseline is plain BM25, not tantivy's query language.
        let words: String = question
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            // Lower case, or AND / OR / NOT would be read as operators.
            .to_lowercase();
        let query = self.parser.parse_query_lenient(&words).0;
        let searcher = self.index.reader()?.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(DEPTH).order_by_score())?;
        top.into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address)?;
                let get = |f| {
                    doc.get_first(f)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                Ok((get(self.crumb), get(self.text)))
            })
            .collect()
    }
}
