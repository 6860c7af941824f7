//! Snippets: the part of a passage to show, with the question's words marked. tantivy's
//! generator picks the fragment; the analyzer it runs over each passage stems only the
//! words that could be question words, since stemming every word of three passages cost
//! more than the search that found them.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{Language, Stemmer, Token, TokenFilter, TokenStream, Tokenizer};

use super::Snippet;

/// A generator for the question's stems (with their weights), over `field`'s text.
pub fn generator(
    terms: BTreeMap<String, f32>,
    field: tantivy::schema::Field,
    max_chars: usize,
) -> SnippetGenerator {
    let gate = StemGate::new(terms.keys());
    // The index's stemmed analyzer with the gate before the stemmer.
    let analyzer = super::schema::folded()
        .filter(gate)
        .filter(Stemmer::new(Language::English))
        .build();
    SnippetGenerator::new(terms, analyzer, field, max_chars)
}

/// Empties every token that cannot stem to one of the question's stems, so the stemmer
/// after it has nothing to do for most words. Tokens are kept (empty text matches no
/// stem), so fragment boundaries stay where they were.
///
/// The test: English Snowball rewrites endings only, so a word and its stem share their
/// first two letters, but for a `y` read as `i` ("dying" → "die"); a word whose start
/// differs from every stem's that way cannot stem to any of them.
#[derive(Clone)]
struct StemGate {
    prefixes: Arc<[Key]>,
}

/// How many leading bytes a word shares with its English stem, at least.
const KEPT: usize = 2;

/// A word's first [`KEPT`] bytes (fewer when it is shorter), a `y` after the first read
/// as `i`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    bytes: [u8; KEPT],
    len: usize,
}

impl Key {
    fn of(word: &str) -> Key {
        let mut key = Key {
            bytes: [0; KEPT],
            len: 0,
        };
        for (i, &b) in word.as_bytes().iter().take(KEPT).enumerate() {
            key.bytes[i] = if i > 0 && b == b'y' { b'i' } else { b };
            key.len = i + 1;
        }
        key
    }

    fn starts_with(&self, prefix: &Key) -> bool {
        prefix.len <= self.len && self.bytes[..prefix.len] == prefix.bytes[..prefix.len]
    }
}

impl StemGate {
    fn new<'a>(stems: impl Iterator<Item = &'a String>) -> StemGate {
        let mut prefixes: Vec<Key> = stems.map(|s| Key::of(s)).collect();
        prefixes.sort();
        prefixes.dedup();
        StemGate {
            prefixes: prefixes.into(),
        }
    }

    fn may_match(&self, word: &str) -> bool {
        let word = Key::of(word);
        self.prefixes.iter().any(|p| word.starts_with(p))
    }
}

impl TokenFilter for StemGate {
    type Tokenizer<T: Tokenizer> = StemGateWrapper<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> StemGateWrapper<T> {
        StemGateWrapper { gate: self, inner }
    }
}

#[derive(Clone)]
struct StemGateWrapper<T> {
    gate: StemGate,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for StemGateWrapper<T> {
    type TokenStream<'a> = StemGateStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemGateStream {
            gate: &self.gate,
            tail: self.inner.token_stream(text),
        }
    }
}

struct StemGateStream<'a, T> {
    gate: &'a StemGate,
    tail: T,
}

impl<T: TokenStream> TokenStream for StemGateStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if !self.gate.may_match(&token.text) {
            token.text.clear();
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The whole passage when it fits, otherwise tantivy's best fragment; the passage's start
/// when no word matched its body (a title or filter match).
pub fn make(generator: &SnippetGenerator, text: &str, max_chars: usize) -> Snippet {
    let fits = text.chars().count() <= max_chars;
    let snippet = generator.snippet(text);
    let highlights = snippet.highlighted().to_vec();
    let range = snippet.fragment_range();
    if snippet.is_empty() || highlights.is_empty() || fits {
        let (text_part, cut) = if fits {
            (text, false)
        } else {
            (cut_at_word(text, max_chars), true)
        };
        // Highlights of the fragment are offsets into `text` when the fragment starts at 0.
        let highlights = if range.start == 0 {
            highlights
                .into_iter()
                .filter(|r| r.end <= text_part.len())
                .collect()
        } else {
            shift(&highlights, range.start, text_part.len())
        };
        return Snippet {
            text: text_part.to_string(),
            highlights,
            cut_start: false,
            cut_end: cut,
        };
    }
    Snippet {
        text: snippet.fragment().to_string(),
        highlights,
        cut_start: range.start > 0,
        cut_end: range.end < text.trim_end().len(),
    }
}

fn shift(ranges: &[Range<usize>], by: usize, limit: usize) -> Vec<Range<usize>> {
    ranges
        .iter()
        .map(|r| r.start + by..r.end + by)
        .filter(|r| r.end <= limit)
        .collect()
}

/// The longest prefix of at most `max_chars` characters that ends at a word boundary.
pub fn cut_at_word(text: &str, max_chars: usize) -> &str {
    let end = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| i);
    if end == text.len() {
        return text;
    }
    let prefix = &text[..end];
    match prefix.rfind(char::is_whitespace) {
        Some(i) if i > end / 2 => prefix[..i].trim_end(),
        _ => prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::schema::stemmed_analyzer;

    fn stem(word: &str) -> String {
        let mut analyzer = stemmed_analyzer();
        let mut stream = analyzer.token_stream(word);
        assert!(stream.advance(), "{word:?}");
        stream.token().text.clone()
    }

    /// The gate's premise, over every word of the English dictionary (and Snowball's own
    /// exceptions): a word starts with the first two bytes of its stem.
    #[test]
    fn english_stems_keep_the_first_two_letters() {
        let dictionary = include_str!("../../assets/dictionary/en_US.dic");
        let words = dictionary
            .lines()
            .skip(1)
            .map(|l| l.split('/').next().unwrap_or(l))
            .chain([
                "skies", "dying", "lying", "tying", "idly", "gently", "ugly", "early",
            ])
            .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic()));
        let mut checked = 0;
        let mut wrong = Vec::new();
        for word in words {
            let word = word.to_ascii_lowercase();
            let s = stem(&word);
            if !StemGate::new([s.clone()].iter()).may_match(&word) {
                wrong.push(format!("{word} → {s}"));
            }
            checked += 1;
        }
        assert!(wrong.is_empty(), "{wrong:?}");
        assert!(checked > 30_000, "only {checked} words checked");
    }

    /// The gated analyzer marks exactly what the full one does, on text with folded
    /// accents, capitals, numbers and words that share a stem's first letters.
    #[test]
    fn gated_snippets_equal_full_stemming() {
        let text = "Négotiating a Senior salary: negotiations, NEGOTIATED offers and \
                    salaries in 2024; seniority is not the same as being senior. Companies \
                    and company cars, experience vs experiments.";
        for question in [
            &["negoti", "salari"][..],
            &["senior", "compani", "2024"],
            &["experi", "car", "offer"],
        ] {
            let terms: BTreeMap<String, f32> =
                question.iter().map(|s| (s.to_string(), 1.0)).collect();
            let field =
                tantivy::schema::Schema::builder().add_text_field("body", tantivy::schema::TEXT);
            let gated = generator(terms.clone(), field, 60).snippet(text);
            let full = SnippetGenerator::new(terms, stemmed_analyzer(), field, 60).snippet(text);
            assert!(!full.highlighted().is_empty(), "{question:?}");
            assert_eq!(gated.highlighted(), full.highlighted(), "{question:?}");
            assert_eq!(gated.fragment(), full.fragment(), "{question:?}");
        }
    }
}
