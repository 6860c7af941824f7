//! The loaded model as the rest of careerbot uses it: loaded once per process and shared by
//! every engine generation (a reload does not reload 90 MB of weights), with an LRU cache of
//! question embeddings, and one log line saying why semantic ranking is off when it is.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::{EmbedError, Embedder, ModelError};
use crate::config::SemanticConfig;

/// Questions whose embeddings are kept: popular questions repeat, and each costs a forward
/// pass of several milliseconds; 1024 × 1.5 KB is small.
const QUESTION_CACHE: usize = 1024;

/// The embedder and its question cache.
pub struct Model {
    embedder: Embedder,
    questions: Mutex<LruCache<String, Arc<[f32]>>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.embedder.id())
            .finish()
    }
}

impl Model {
    pub fn new(embedder: Embedder) -> Model {
        Model {
            embedder,
            questions: Mutex::new(LruCache::new(
                NonZeroUsize::new(QUESTION_CACHE).expect("non-zero"),
            )),
        }
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    pub fn id(&self) -> &str {
        self.embedder.id()
    }

    /// The embedding of a question, from the cache when it was asked before. The model is
    /// uncased and ignores spacing, so `How do I…` and `how do  i…` share an entry.
    pub fn question(&self, text: &str) -> Result<Arc<[f32]>, EmbedError> {
        let key = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if let Some(v) = self.lock().get(&key) {
            metrics::counter!("careerbot_question_embeddings_total", "cache" => "hit").increment(1);
            return Ok(v.clone());
        }
        metrics::counter!("careerbot_question_embeddings_total", "cache" => "miss").increment(1);
        let vector: Arc<[f32]> = self
            .embedder
            .embed(&[&key])?
            .pop()
            .expect("one vector per text")
            .into();
        self.lock().put(key, vector.clone());
        Ok(vector)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<[f32]>>> {
        // A panic while holding the lock leaves a consistent cache: keep using it.
        self.questions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why semantic ranking is off, for `/help` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Off {
    /// `search.semantic.enabled = false`.
    Disabled,
    /// The model folder is missing, incomplete or fails its checks.
    Unavailable(String),
}

impl std::fmt::Display for Off {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Off::Disabled => f.write_str("search.semantic.enabled = false in the config"),
            Off::Unavailable(why) => f.write_str(why),
        }
    }
}

static LOADED: Mutex<Option<(PathBuf, Arc<Model>)>> = Mutex::new(None);
static LOGGED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The model `config` asks for, loaded once per process and shared; `Err` says why answers
/// stay lexical (logged once per reason). The folder is re-checked on every call (cheap: the
/// install manifest's sizes and mtimes), so installing the model and reloading turns
/// semantic ranking on without a restart, and a damaged folder turns it off.
pub fn shared(config: &SemanticConfig) -> Result<Arc<Model>, Off> {
    let result = load(config);
    match &result {
        Ok(model) => log_once(
            format!("on:{}", config.model_dir.display()),
            || tracing::info!(model = model.id(), dir = %config.model_dir.display(), "semantic ranking on"),
        ),
        Err(off) => log_once(
            format!("off:{off}"),
            || tracing::info!(reason = %off, "semantic ranking off: answers rank by words only; `careerbot model install` turns it on"),
        ),
    }
    result
}

fn load(config: &SemanticConfig) -> Result<Arc<Model>, Off> {
    if !config.enabled {
        return Err(Off::Disabled);
    }
    let unavailable = |e: ModelError| Off::Unavailable(e.to_string());
    super::verify(&config.model_dir).map_err(unavailable)?;
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((dir, model)) = loaded.as_ref() {
        if *dir == config.model_dir {
            return Ok(model.clone());
        }
    }
    let started = std::time::Instant::now();
    let model = Arc::new(Model::new(
        Embedder::load(&config.model_dir).map_err(unavailable)?,
    ));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        dir = %config.model_dir.display(),
        "embedding model loaded"
    );
    *loaded = Some((config.model_dir.clone(), model.clone()));
    Ok(model)
}

fn log_once(key: String, log: impl FnOnce()) {
    let mut logged = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    if logged.get_or_insert_with(HashSet::new).insert(key) {
        log();
    }
}
