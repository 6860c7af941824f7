//! The engine's semantic side: the embeddings of each passage's chunks, where tantivy
//! keeps each passage, and the shared model that embeds questions. Attached when the model
//! is available; an engine without it ranks by words alone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::schema::Value;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::schema::Fields;
use super::{str_field, BREADCRUMB_SEP};
use crate::semantic::vectors::{self, PassageVectors};
use crate::semantic::{EmbedError, Model};

/// Progress of embedding passages: `(embedded, to_embed)`.
pub type Progress<'a> = &'a dyn Fn(usize, usize);

/// Embeds passage texts: the model's embedder, or a stand-in in benchmarks.
pub type Embed<'a> = &'a dyn Fn(&[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

#[derive(Clone)]
pub(crate) struct Dense {
    pub model: Arc<Model>,
    /// One row per embedded text: each passage's chunks ([`vectors::passage_texts`]), the
    /// rows of a passage together and the passages in order.
    vectors: PassageVectors,
    /// Passage order → its first row; one entry more ends the last passage's rows.
    starts: Vec<u32>,
    /// Row → its passage's order.
    owners: Vec<u32>,
    /// Passage order → its address in the index.
    addresses: Vec<DocAddress>,
    /// Segment → document → passage order.
    ords: Vec<Vec<u32>>,
    /// Rows whose vector is still to be computed (they are zero), in order: a reload
    /// serves its new content first and embeds what changed after (see [`Dense::complete`]).
    pending: Vec<usize>,
}

/// Every passage of a generation in passage order: where it lives, the keys of its
/// embedded texts, and per segment the order of each document.
struct Rows {
    addresses: Vec<DocAddress>,
    keys: Vec<vectors::Key>,
    starts: Vec<u32>,
    owners: Vec<u32>,
    ords: Vec<Vec<u32>>,
}

impl Rows {
    fn read(
        model: &Model,
        searcher: &Searcher,
        fields: &Fields,
    ) -> Result<Rows, Box<dyn std::error::Error>> {
        let mut rows: Vec<(u32, DocAddress, Vec<vectors::Key>)> = Vec::new();
        let mut ords = Vec::new();
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let store = segment.get_store_reader(1)?;
            let mut in_segment = vec![u32::MAX; segment.max_doc() as usize];
            for (doc_id, doc) in (0..segment.max_doc()).zip(store.iter::<TantivyDocument>(None)) {
                let doc = doc?;
                let ord = doc
                    .get_first(fields.ord)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0) as u32;
                in_segment[doc_id as usize] = ord;
                let keys = embedded_texts(&doc, fields)
                    .iter()
                    .map(|text| vectors::key(model.id(), text))
                    .collect();
                rows.push((ord, DocAddress::new(segment_ord as u32, doc_id), keys));
            }
            ords.push(in_segment);
        }
        rows.sort_by_key(|r| r.0);
        // Orders are 0..n in a generation we built; anything else is not ours to trust.
        if rows.iter().enumerate().any(|(i, r)| r.0 as usize != i) {
            return Err("passage order numbers are not 0..n".into());
        }
        let mut starts = Vec::with_capacity(rows.len() + 1);
        let mut owners = Vec::new();
        let mut keys = Vec::new();
        for (ord, _, passage_keys) in &rows {
            starts.push(keys.len() as u32);
            owners.extend(std::iter::repeat_n(*ord, passage_keys.len()));
            keys.extend_from_slice(passage_keys);
        }
        starts.push(keys.len() as u32);
        Ok(Rows {
            addresses: rows.iter().map(|r| r.1).collect(),
            keys,
            starts,
            owners,
            ords,
        })
    }
}

impl Dense {
    /// Embeddings for every passage `searcher` holds: read from `dir` when it has them for
    /// this model, otherwise taken from `cache` (the previous generation) where the passage is
    /// unchanged and, unless `defer`, computed for the rest, then saved in `dir`. With
    /// `defer` the rest stay pending until [`Dense::complete`]. `None` when embedding fails
    /// (logged): the engine then ranks by words.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site per engine kind, all named"
    )]
    pub fn attach(
        model: Arc<Model>,
        searcher: &Searcher,
        fields: &Fields,
        dir: Option<&Path>,
        cache: Option<&Path>,
        defer: bool,
        embed: Embed<'_>,
        progress: Progress<'_>,
    ) -> Option<Dense> {
        let attached =
            Dense::try_attach(model, searcher, fields, dir, cache, defer).and_then(|dense| {
                match defer {
                    true => Ok(dense),
                    false => dense.complete(searcher, fields, dir, embed, progress),
                }
            });
        match attached {
            Ok(dense) => Some(dense),
            Err(e) => {
                tracing::warn!(error = %e, "embedding passages failed; ranking by words only");
                None
            }
        }
    }

    /// The stored or cached vectors, the rest pending.
    fn try_attach(
        model: Arc<Model>,
        searcher: &Searcher,
        fields: &Fields,
        dir: Option<&Path>,
        cache: Option<&Path>,
        defer: bool,
    ) -> Result<Dense, Box<dyn std::error::Error>> {
        let Rows {
            addresses,
            keys,
            starts,
            owners,
            ords,
        } = Rows::read(&model, searcher, fields)?;
        let stored = dir.and_then(|d| PassageVectors::read(&d.join(vectors::FILE), model.id()));
        let (vectors, pending) = match stored.filter(|s| s.keys() == keys.as_slice()) {
            Some(stored) => (stored, Vec::new()),
            None => {
                let previous =
                    cache.and_then(|d| PassageVectors::read(&d.join(vectors::FILE), model.id()));
                PassageVectors::from_cache(keys, previous.as_ref())
            }
        };
        let dense = Dense {
            model,
            vectors,
            starts,
            owners,
            addresses,
            ords,
            pending,
        };
        if defer && !dense.pending.is_empty() {
            tracing::info!(
                passages = dense.addresses.len(),
                to_embed = dense.pending(),
                "serving first, embedding new and changed passages after"
            );
        }
        Ok(dense)
    }

    /// This generation with every pending passage embedded, saved in `dir`.
    pub fn complete(
        mut self,
        searcher: &Searcher,
        fields: &Fields,
        dir: Option<&Path>,
        embed: Embed<'_>,
        progress: Progress<'_>,
    ) -> Result<Dense, Box<dyn std::error::Error>> {
        if self.pending.is_empty() && dir.is_some_and(|d| d.join(vectors::FILE).exists()) {
            return Ok(self);
        }
        let started = Instant::now();
        let last_log = std::cell::Cell::new(Instant::now());
        let report = |done: usize, of: usize| {
            progress(done, of);
            if last_log.get().elapsed() >= Duration::from_secs(5) && done < of {
                last_log.set(Instant::now());
                tracing::info!(done, of, "embedding passages (counted in chunks)");
            }
        };
        let passages = self.pending();
        let pending = std::mem::take(&mut self.pending);
        let (addresses, starts, owners) = (&self.addresses, &self.starts, &self.owners);
        // A passage's rows come one after another: its document is read and chunked once.
        let last: std::cell::RefCell<Option<(usize, Vec<String>)>> = Default::default();
        self.vectors.fill(
            &pending,
            |row| -> Result<String, Box<dyn std::error::Error>> {
                let ord = owners[row] as usize;
                let mut last = last.borrow_mut();
                if last.as_ref().is_none_or(|(o, _)| *o != ord) {
                    let doc = searcher.doc::<TantivyDocument>(addresses[ord])?;
                    *last = Some((ord, embedded_texts(&doc, fields)));
                }
                let texts = &last.as_ref().expect("read just now").1;
                texts
                    .get(row - starts[ord] as usize)
                    .cloned()
                    .ok_or_else(|| "a passage has fewer texts than when it was read".into())
            },
            |texts: &[&str]| embed(texts).map_err(Into::into),
            &report,
        )?;
        if let Some(dir) = dir {
            if let Err(e) = self
                .vectors
                .write(&dir.join(vectors::FILE), self.model.id())
            {
                tracing::warn!(dir = %dir.display(), error = %e, "could not save passage embeddings; they will be computed again next start");
            }
        }
        let total = self.addresses.len();
        tracing::info!(
            passages = total,
            embedded = passages,
            reused = total - passages,
            texts = self.vectors.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "passage embeddings ready"
        );
        Ok(self)
    }

    /// How many passages wait for their vectors.
    pub fn pending(&self) -> usize {
        let mut owners: Vec<u32> = self.pending.iter().map(|&r| self.owners[r]).collect();
        owners.dedup();
        owners.len()
    }

    /// Whether passage `ord` has its vectors yet.
    pub fn is_embedded(&self, ord: usize) -> bool {
        let (start, end) = (self.starts[ord] as usize, self.starts[ord + 1] as usize);
        let at = self.pending.partition_point(|&r| r < start);
        self.pending.get(at).is_none_or(|&r| r >= end)
    }

    /// Cosine of passage `ord` with `question`: its closest chunk's.
    pub fn cosine(&self, ord: usize, question: &[f32]) -> f32 {
        (self.starts[ord]..self.starts[ord + 1])
            .map(|row| self.vectors.cosine(row as usize, question))
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// The `n` passages closest to `question` among those `allow`ed, best first, with
    /// their cosines.
    pub fn nearest(
        &self,
        question: &[f32],
        n: usize,
        allow: impl Fn(usize) -> bool,
    ) -> Vec<(usize, f32)> {
        self.vectors
            .nearest(question, n, |row| self.owners[row] as usize, allow)
    }

    /// The passage order of a document the index returned.
    pub fn ord(&self, address: DocAddress) -> Option<usize> {
        let ord = *self
            .ords
            .get(address.segment_ord as usize)?
            .get(address.doc_id as usize)?;
        (ord != u32::MAX).then_some(ord as usize)
    }

    pub fn address(&self, ord: usize) -> DocAddress {
        self.addresses[ord]
    }
}

/// What is embedded for a stored passage: its breadcrumb, then its text, in chunks.
fn embedded_texts(doc: &TantivyDocument, fields: &Fields) -> Vec<String> {
    let crumb = str_field(doc, fields.breadcrumb);
    let crumb: Vec<&str> = crumb
        .split(BREADCRUMB_SEP)
        .filter(|s| !s.is_empty())
        .collect();
    vectors::passage_texts(&crumb, &str_field(doc, fields.body))
}
