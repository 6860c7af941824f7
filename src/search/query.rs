//! Turns what a user typed into search concepts: words split the way the index splits them,
//! abbreviations and synonyms expanded, stop words dropped, typos corrected against the
//! index's own words. No query syntax exists, so no input can fail or match everything.

use std::collections::{BTreeMap, HashSet};

use tantivy::tokenizer::{TextAnalyzer, TokenStream};

use crate::config::SearchConfig;

/// Words beyond this are ignored: a 5,000-character paste must not cost more than a question.
pub const MAX_WORDS: usize = 32;

/// Lucene's English stop words plus the question words people type into a search box.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with", // Lucene's list ends here.
    "what", "whats", "which", "who", "whom", "how", "why", "when", "where", "should", "would",
    "could", "can", "do", "does", "did", "i", "im", "me", "my", "we", "our", "you", "your", "am",
    "have", "has", "had", "been", "being", "from", "so", "than", "too", "very", "just", "any",
    "some", "s", "t", "please", "tell", "hi", "hello", "hey", "about", "there", "its", "much",
    "many", "get", "between",
];

pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// One thing the user asked about, and every form that counts as a match for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// What the user wrote (or its corrected form), for notes and suggestions.
    pub written: String,
    pub alternatives: Vec<Alternative>,
}

/// Stemmed tokens: one token is a term, several a phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    pub stems: Vec<String>,
    /// The same words unstemmed: an exact match ranks above a match of the stem only.
    pub words: Vec<String>,
    /// Synonyms and corrections count a little less than the word as written.
    pub weight: f32,
}

/// The analysed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    pub concepts: Vec<Concept>,
    /// `(typed, used instead)`, for a "showing results for" note.
    pub corrections: Vec<(String, String)>,
    /// Words that match nothing and have no close spelling in the index.
    pub unknown: Vec<String>,
}

impl Analysis {
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }
}

/// Lower-cased, accent-folded words, as the index's plain analyzer splits them.
pub fn words(plain: &TextAnalyzer, text: &str) -> Vec<String> {
    let mut analyzer = plain.clone();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
        if out.len() >= MAX_WORDS * 2 {
            break;
        }
    }
    out
}

pub fn stems(stemmed: &TextAnalyzer, text: &str) -> Vec<String> {
    let mut analyzer = stemmed.clone();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// What the analysis needs to know about the index.
pub trait Lexicon {
    /// Whether the unstemmed word occurs anywhere.
    fn has_word(&self, word: &str) -> bool;
    /// Whether the stem occurs in a searchable field.
    fn has_stem(&self, stem: &str) -> bool;
    /// Index words within `distance` edits of `word`, closest and most frequent first.
    fn near_words(&self, word: &str, distance: u8) -> Vec<String>;
}

/// Synonym groups and abbreviations from config, in the analysed form.
#[derive(Debug, Clone, Default)]
pub struct Thesaurus {
    /// Each phrase (as words) → index of its group.
    phrases: BTreeMap<Vec<String>, usize>,
    groups: Vec<Vec<Vec<String>>>,
    abbreviations: BTreeMap<String, Vec<String>>,
    longest: usize,
}

impl Thesaurus {
    pub fn new(config: &SearchConfig, plain: &TextAnalyzer) -> Thesaurus {
        let mut t = Thesaurus::default();
        for group in &config.synonyms {
            let entries: Vec<Vec<String>> = group
                .iter()
                .map(|e| words(plain, e))
                .filter(|w| !w.is_empty())
                .collect();
            let index = t.groups.len();
            for e in &entries {
                t.longest = t.longest.max(e.len());
                t.phrases.insert(e.clone(), index);
            }
            t.groups.push(entries);
        }
        for (short, long) in &config.abbreviations {
            let short = words(plain, short).join(" ");
            let long = words(plain, long);
            if !short.is_empty() && !long.is_empty() {
                t.abbreviations.insert(short, long);
            }
        }
        t
    }

    /// The synonym group of a phrase, if any.
    pub fn group_of(&self, phrase: &[String]) -> Option<&[Vec<String>]> {
        self.phrases.get(phrase).map(|&i| self.groups[i].as_slice())
    }
}

/// Analyses `text` against the index's vocabulary.
pub fn analyze(
    text: &str,
    plain: &TextAnalyzer,
    stemmed: &TextAnalyzer,
    thesaurus: &Thesaurus,
    lexicon: &dyn Lexicon,
    config: &SearchConfig,
) -> Analysis {
    // Abbreviations first: `sr` is read as `senior` before anything else looks at it.
    let mut ws: Vec<String> = Vec::new();
    for w in words(plain, text) {
        match thesaurus.abbreviations.get(&w) {
            Some(long) => ws.extend(long.iter().cloned()),
            None => ws.push(w),
        }
    }

    let mut analysis = Analysis::default();
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    let mut i = 0;
    while i < ws.len() && analysis.concepts.len() < MAX_WORDS {
        // Longest synonym phrase starting here.
        let matched = (1..=thesaurus.longest.min(ws.len() - i))
            .rev()
            .find_map(|n| thesaurus.group_of(&ws[i..i + n]).map(|g| (n, g)));
        if let Some((n, group)) = matched {
            let written = ws[i..i + n].join(" ");
            let alternatives: Vec<Alternative> = group
                .iter()
                .map(|entry| Alternative {
                    stems: stems(stemmed, &entry.join(" ")),
                    words: entry.clone(),
                    weight: if entry.as_slice() == &ws[i..i + n] {
                        1.0
                    } else {
                        0.8
                    },
                })
                .filter(|a| !a.stems.is_empty())
                .collect();
            let key: Vec<String> = alternatives.iter().flat_map(|a| a.stems.clone()).collect();
            if seen.insert(key) {
                analysis.concepts.push(Concept {
                    written,
                    alternatives,
                });
            }
            i += n;
            continue;
        }
        let word = ws[i].clone();
        i += 1;
        if is_stop_word(&word) {
            continue;
        }
        let stem = stems(stemmed, &word);
        if stem.is_empty() {
            continue;
        }
        if lexicon.has_word(&word) || stem.iter().all(|s| lexicon.has_stem(s)) {
            if seen.insert(stem.clone()) {
                analysis.concepts.push(Concept {
                    written: word.clone(),
                    alternatives: vec![Alternative {
                        stems: stem,
                        words: vec![word.clone()],
                        weight: 1.0,
                    }],
                });
            }
            continue;
        }
        let budget = config.typo_budget(word.chars().count());
        let near = if budget > 0 {
            lexicon.near_words(&word, budget)
        } else {
            Vec::new()
        };
        if near.is_empty() {
            analysis.unknown.push(word);
            continue;
        }
        // The closest spellings stand in for the typo, the best one fully, others a little less.
        let alternatives: Vec<Alternative> = near
            .iter()
            .take(2)
            .enumerate()
            .map(|(rank, w)| Alternative {
                stems: stems(stemmed, w),
                words: vec![w.clone()],
                weight: if rank == 0 { 0.9 } else { 0.6 },
            })
            .filter(|a| !a.stems.is_empty())
            .collect();
        let key: Vec<String> = alternatives.iter().flat_map(|a| a.stems.clone()).collect();
        analysis.corrections.push((word.clone(), near[0].clone()));
        if seen.insert(key) {
            analysis.concepts.push(Concept {
                written: near[0].clone(),
                alternatives,
            });
        }
    }
    analysis
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::schema::{plain_analyzer, stemmed_analyzer};

    struct Fake(&'static [&'static str]);
    impl Lexicon for Fake {
        fn has_word(&self, word: &str) -> bool {
            self.0.contains(&word)
        }
        fn has_stem(&self, _stem: &str) -> bool {
            false
        }
        fn near_words(&self, word: &str, distance: u8) -> Vec<String> {
            self.0
                .iter()
                .filter(|w| strsim::damerau_levenshtein(w, word) <= distance as usize)
                .map(|w| w.to_string())
                .collect()
        }
    }

    fn config() -> SearchConfig {
        SearchConfig {
            synonyms: vec![vec!["gcp".into(), "google cloud".into()]],
            abbreviations: [("sr".to_string(), "senior".to_string())].into(),
            ..SearchConfig::default()
        }
    }

    fn run(text: &str) -> Analysis {
        let plain = plain_analyzer();
        let stemmed = stemmed_analyzer();
        let config = config();
        let t = Thesaurus::new(&config, &plain);
        let lex = Fake(&["kubernetes", "senior", "tools", "google", "cloud", "mlops"]);
        analyze(text, &plain, &stemmed, &t, &lex, &config)
    }

    #[test]
    fn stop_words_go_and_typos_are_corrected() {
        let a = run("What MLOps tools should I learn first, kubernets?");
        let written: Vec<&str> = a.concepts.iter().map(|c| c.written.as_str()).collect();
        assert_eq!(written, vec!["mlops", "tools", "kubernetes"]);
        assert_eq!(
            a.corrections,
            vec![("kubernets".into(), "kubernetes".into())]
        );
        assert_eq!(a.unknown, vec!["learn", "first"]);
    }

    #[test]
    fn synonyms_and_abbreviations_expand() {
        let a = run("sr google cloud");
        assert_eq!(a.concepts[0].written, "senior");
        assert_eq!(a.concepts[1].written, "google cloud");
        let alts: Vec<Vec<String>> = a.concepts[1]
            .alternatives
            .iter()
            .map(|x| x.stems.clone())
            .collect();
        assert_eq!(
            alts,
            vec![
                vec!["gcp".to_string()],
                vec!["googl".into(), "cloud".into()]
            ]
        );
    }

    #[test]
    fn short_words_get_no_typo_budget_and_syntax_is_plain_text() {
        let a = run("tols: \"(senior* -AND");
        assert_eq!(a.unknown, vec!["tols"]);
        assert_eq!(a.concepts.len(), 1);
    }
}
