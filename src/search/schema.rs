//! The index schema and the analyzers it relies on.

use tantivy::schema::{
    FacetOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, TextAnalyzerBuilder, Tokenizer,
};
use tantivy::Index;

use crate::content::Facet;

/// Bump when the schema, an analyzer or what a document holds changes: every cached index
/// is then rebuilt.
pub const SCHEMA_VERSION: u32 = 6;

/// English: lower case, accents folded, stemmed. Used for every searchable text field.
pub const STEMMED: &str = "careerbot_en";
/// Lower case and folded, not stemmed: the shadow field for typo corrections and suggestions.
pub const PLAIN: &str = "careerbot_plain";

/// Words as every analyzer splits them: overlong tokens dropped, lower case, accents folded.
/// The snippet analyzer adds its own filter before stemming ([`super::snippet`]).
pub fn folded() -> TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
}

pub fn stemmed_analyzer() -> TextAnalyzer {
    folded().filter(Stemmer::new(Language::English)).build()
}

pub fn plain_analyzer() -> TextAnalyzer {
    folded().build()
}

/// Custom analyzers are not saved with an index: every opened index needs them again.
pub fn register_analyzers(index: &Index) {
    index.tokenizers().register(STEMMED, stemmed_analyzer());
    index.tokenizers().register(PLAIN, plain_analyzer());
}

/// Handles to every field, resolved once.
#[derive(Debug, Clone)]
pub struct Fields {
    pub id: Field,
    pub title: Field,
    /// The title unstemmed: a heading that has the very word asked for outranks one that
    /// only shares its stem (Snowball stems "experiment" and "experience" alike).
    pub title_exact: Field,
    /// Aliases and enclosing headings: what the passage is about beyond its own words.
    pub extra: Field,
    pub body: Field,
    /// Every word of title, context, aliases and body, unstemmed: its term dictionary
    /// serves typo corrections and suggestions; its postings match the words whose stem
    /// other words share ("experiment" without "experience").
    pub words: Field,
    pub breadcrumb: Field,
    pub source: Field,
    pub location: Field,
    pub hash: Field,
    /// Position in content order; lists without a text query follow it.
    pub ord: Field,
    /// `facet:value` tokens, with frequencies, so a question naming a facet value can lift
    /// its passages with a plain term query (keeping tantivy's block-WAND pruning).
    pub tags: Field,
    pub topic: Field,
    pub levels: Field,
    pub regions: Field,
    pub providers: Field,
}

impl Fields {
    /// The `tags` token of one facet value.
    pub fn tag(facet: Facet, value: &str) -> String {
        format!("{}:{value}", facet.key())
    }

    pub fn facet(&self, facet: Facet) -> Field {
        match facet {
            Facet::Topic => self.topic,
            Facet::Levels => self.levels,
            Facet::Regions => self.regions,
            Facet::Providers => self.providers,
        }
    }

    /// Resolves the fields of an index built with [`schema`]; `None` for a foreign schema.
    pub fn from_schema(schema: &Schema) -> Option<Fields> {
        let f = |name: &str| schema.get_field(name).ok();
        Some(Fields {
            id: f("id")?,
            title: f("title")?,
            title_exact: f("title_exact")?,
            extra: f("extra")?,
            body: f("body")?,
            words: f("words")?,
            breadcrumb: f("breadcrumb")?,
            source: f("source")?,
            location: f("location")?,
            hash: f("hash")?,
            ord: f("ord")?,
            tags: f("tags")?,
            topic: f("topic")?,
            levels: f("levels")?,
            regions: f("regions")?,
            providers: f("providers")?,
        })
    }
}

pub fn schema() -> Schema {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(STEMMED)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            opts.set_stored()
        } else {
            opts
        }
    };
    b.add_text_field("id", STRING | STORED);
    // Stored for display; searched through `title_exact` and, stemmed, through `body`.
    b.add_text_field("title", STORED);
    b.add_text_field(
        "title_exact",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(PLAIN)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    b.add_text_field("extra", text(false));
    b.add_text_field("body", text(true));
    b.add_text_field(
        "words",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(PLAIN)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    b.add_text_field("breadcrumb", STORED);
    b.add_text_field("source", STORED);
    b.add_text_field("location", STORED);
    b.add_text_field("hash", STORED);
    b.add_u64_field("ord", FAST | STORED);
    b.add_text_field(
        "tags",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    for facet in Facet::ALL {
        b.add_facet_field(facet.key(), FacetOptions::default().set_stored());
    }
    b.build()
}
