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

/// Weight of a stop word kept because the question has little else.
const STOP_WORD_WEIGHT: f32 = 0.3;

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
    /// When the stem is shared by different words ("experiment", "experience"), the forms
    /// of this word the guide uses: they are matched as written instead of by the stem.
    /// Empty when the stem is safe to match.
    pub forms: Vec<String>,
}

/// The analysed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    pub concepts: Vec<Concept>,
    /// `(typed, used instead)`, for a "showing results for" note.
    pub corrections: Vec<(String, String)>,
    /// Misspelt-looking words that match nothing and have no close spelling in the index.
    pub unknown: Vec<String>,
    /// Correctly spelt English words the guide does not use: never corrected into another
    /// word, and never offered a "did you mean".
    pub absent: Vec<String>,
    /// Stop words left out of the concepts; they still match question headings.
    pub stop_words: Vec<String>,
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
    fn has_word(&self, word: &str) -> tantivy::Result<bool>;
    /// Whether the stem occurs in a searchable field.
    fn has_stem(&self, stem: &str) -> tantivy::Result<bool>;
    /// The index words nearest to `word`, at the fewest edits that find any (at most
    /// `distance`), most frequent first.
    fn near_words(&self, word: &str, distance: u8) -> tantivy::Result<Vec<String>>;
    /// When the index's words with this stem are not all forms of one word, the ones that
    /// are forms of `word` (possibly none); `None` when the stem merges nothing wrongly.
    fn forms(&self, _word: &str, _stem: &str) -> Option<Vec<String>> {
        None
    }
}

/// A crude inflection-stripper: what is left once plural, past, gerund and a final `e`
/// are gone ("experiences" → "experienc", "negotiating" → "negotiat").
fn light_stem(word: &str) -> &str {
    let n = word.len();
    let w = if word.ends_with("ies") && n > 4 {
        &word[..n - 2] // "companies" → "compani", beside "company" → "compan"+"y"
    } else if word.ends_with("ing") && n > 5 {
        &word[..n - 3]
    } else if word.ends_with("ed") && n > 4 {
        &word[..n - 2]
    } else if word.ends_with('s') && !word.ends_with("ss") && n > 3 {
        &word[..n - 1]
    } else {
        word
    };
    let w = w.strip_suffix('e').filter(|s| s.len() > 2).unwrap_or(w);
    w.strip_suffix('i')
        .or_else(|| w.strip_suffix('y'))
        .filter(|s| s.len() > 2)
        .unwrap_or(w)
}

/// Whether two words that share a Snowball stem are forms of one word. Snowball strips
/// derivational endings too, and so merges "experiment" with "experience" and "university"
/// with "universe"; once inflections are gone, forms of one word still extend each other
/// ("negotiat" / "negotiation", "manag" / "management"), different words do not
/// ("experiment" / "experienc").
pub fn same_word(a: &str, b: &str) -> bool {
    let (a, b) = (light_stem(a), light_stem(b));
    a.starts_with(b) || b.starts_with(a)
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
) -> tantivy::Result<Analysis> {
    let ws = expand_abbreviations(plain, thesaurus, text);
    // Stop words go only where the rest of the question still carries it: "what should I
    // say when …" is not a question about "say" alone. Kept, they count little.
    let content_words = ws.iter().filter(|w| !is_stop_word(w)).count();
    let mut analyzer = Analyzer {
        stemmed,
        thesaurus,
        lexicon,
        config,
        keep_stop_words: content_words == 1,
        analysis: Analysis::default(),
        seen: HashSet::new(),
    };
    let mut i = 0;
    // Whether `ws[i]` is the second half of a compound the guide has.
    let mut joined = false;
    while i < ws.len() && analyzer.analysis.concepts.len() < MAX_WORDS {
        match analyzer.synonym_phrase(&ws[i..]) {
            Some(n) => {
                i += n;
                joined = false;
            }
            None => {
                analyzer.word(ws[i].clone(), joined)?;
                joined = match ws.get(i + 1) {
                    Some(next) => analyzer.compound(&ws[i], next)?,
                    None => false,
                };
                i += 1;
            }
        }
    }
    Ok(analyzer.analysis)
}

/// The question's words, abbreviations first read in full: `sr` is `senior` before anything
/// else looks at it.
fn expand_abbreviations(plain: &TextAnalyzer, thesaurus: &Thesaurus, text: &str) -> Vec<String> {
    let mut ws: Vec<String> = Vec::new();
    for w in words(plain, text) {
        match thesaurus.abbreviations.get(&w) {
            Some(long) => ws.extend(long.iter().cloned()),
            None => ws.push(w),
        }
    }
    ws
}

/// What [`analyze`] carries from word to word.
struct Analyzer<'a> {
    stemmed: &'a TextAnalyzer,
    thesaurus: &'a Thesaurus,
    lexicon: &'a dyn Lexicon,
    config: &'a SearchConfig,
    keep_stop_words: bool,
    analysis: Analysis,
    /// Stems of the concepts taken, so a word asked twice counts once.
    seen: HashSet<Vec<String>>,
}

impl Analyzer<'_> {
    fn push(&mut self, written: String, alternatives: Vec<Alternative>) {
        let key: Vec<String> = alternatives.iter().flat_map(|a| a.stems.clone()).collect();
        if self.seen.insert(key) {
            self.analysis.concepts.push(Concept {
                written,
                alternatives,
            });
        }
    }

    /// The longest synonym phrase starting at `ws[0]`, as one concept of all its entries;
    /// how many words it took, or `None` when none starts here.
    fn synonym_phrase(&mut self, ws: &[String]) -> Option<usize> {
        let (n, group) = (1..=self.thesaurus.longest.min(ws.len()))
            .rev()
            .find_map(|n| self.thesaurus.group_of(&ws[..n]).map(|g| (n, g)))?;
        let mut alternatives: Vec<Alternative> = group
            .iter()
            .map(|entry| Alternative {
                stems: stems(self.stemmed, &entry.join(" ")),
                words: entry.clone(),
                weight: if entry.as_slice() == &ws[..n] {
                    1.0
                } else {
                    self.config.weights.synonym
                },
                forms: Vec::new(),
            })
            .filter(|a| !a.stems.is_empty())
            .collect();
        // Entries that stem alike ("certification", "certifications") are one alternative,
        // at its best weight: a synonym group must not count a word thrice.
        alternatives.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        let mut unique: Vec<Alternative> = Vec::new();
        for a in alternatives {
            if !unique.iter().any(|u| u.stems == a.stems) {
                unique.push(a);
            }
        }
        self.push(ws[..n].join(" "), unique);
        Some(n)
    }

    /// One word: a stop word, a word of the guide, a real word the guide lacks, or a typo.
    /// `joined`: the word ends a compound the guide has, so it is neither missing nor a typo.
    fn word(&mut self, word: String, joined: bool) -> tantivy::Result<()> {
        let weight = if !is_stop_word(&word) {
            1.0
        } else if self.keep_stop_words && self.lexicon.has_word(&word)? {
            STOP_WORD_WEIGHT
        } else {
            if !self.analysis.stop_words.contains(&word) {
                self.analysis.stop_words.push(word);
            }
            return Ok(());
        };
        let stem = stems(self.stemmed, &word);
        if stem.is_empty() || self.known_word(&word, &stem, weight)? || joined {
            return Ok(());
        }
        if super::spelling::is_english_word(&word) {
            self.analysis.absent.push(word);
            return Ok(());
        }
        self.correction(word)
    }

    /// Takes the word as a concept when the guide has it (or all its stems) as this word:
    /// a stem shared only with other words ("experience" for "experiment") does not count.
    fn known_word(&mut self, word: &str, stem: &[String], weight: f32) -> tantivy::Result<bool> {
        if !self.lexicon.has_word(word)? && !all_stems_present(self.lexicon, stem)? {
            return Ok(false);
        }
        let Some(alternative) = self.alternative(word, stem.to_vec(), weight) else {
            return Ok(false);
        };
        self.push(word.to_string(), vec![alternative]);
        Ok(true)
    }

    /// `word` matched by its stems, or by its own forms where other index words share its
    /// stem; `None` when the index has the stem through other words only.
    fn alternative(&self, word: &str, stems: Vec<String>, weight: f32) -> Option<Alternative> {
        let forms = match stems.as_slice() {
            [s] => self.lexicon.forms(word, s),
            _ => None,
        };
        if forms.as_ref().is_some_and(Vec::is_empty) {
            return None;
        }
        Some(Alternative {
            stems,
            words: vec![word.to_string()],
            weight,
            forms: forms.unwrap_or_default(),
        })
    }

    /// Two typed words the guide writes as one ("burning out" for "burnout", "set up" for
    /// "setup"): the joined word becomes another alternative of the first word's concept, at
    /// synonym weight, or a concept of its own when the guide lacks the first word. Neither
    /// half is then a missing word; the second is still searched as itself when the guide
    /// has it. Returns whether the guide has the joined word.
    fn compound(&mut self, first: &str, second: &str) -> tantivy::Result<bool> {
        if is_stop_word(first) {
            return Ok(false);
        }
        let mut candidates = vec![format!("{first}{second}")];
        // The stem joined as typed: "burning out" is "burnout", not "burningout".
        if let [stem] = stems(self.stemmed, first).as_slice() {
            if stem != first {
                candidates.push(format!("{stem}{second}"));
            }
        }
        for joined in candidates {
            if is_stop_word(&joined) || !self.lexicon.has_word(&joined)? {
                continue;
            }
            let stems = stems(self.stemmed, &joined);
            let weight = self.config.weights.synonym;
            let Some(alternative) = self
                .alternative(&joined, stems, weight)
                .filter(|a| !a.stems.is_empty())
            else {
                continue;
            };
            match self.analysis.concepts.last_mut() {
                Some(concept) if concept.written == first => {
                    if !concept
                        .alternatives
                        .iter()
                        .any(|a| a.stems == alternative.stems)
                    {
                        concept.alternatives.push(alternative);
                    }
                }
                _ => {
                    // Not missing after all: the guide has it, written as one word.
                    self.analysis.absent.retain(|w| w != first);
                    self.analysis.unknown.retain(|w| w != first);
                    self.push(format!("{first} {second}"), vec![alternative]);
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// A misspelling: the closest spellings from the guide stand in for it, the best one
    /// fully and the next a little less; with none close enough, it is unknown.
    fn correction(&mut self, word: String) -> tantivy::Result<()> {
        let budget = self.config.typos().budget(word.chars().count());
        let near = if budget > 0 {
            self.lexicon.near_words(&word, budget)?
        } else {
            Vec::new()
        };
        let Some(best) = near.first().cloned() else {
            self.analysis.unknown.push(word);
            return Ok(());
        };
        let alternatives: Vec<Alternative> = near
            .iter()
            .take(2)
            .enumerate()
            .map(|(rank, w)| {
                let stems = stems(self.stemmed, w);
                let forms = match stems.as_slice() {
                    [s] => self.lexicon.forms(w, s).unwrap_or_default(),
                    _ => Vec::new(),
                };
                Alternative {
                    stems,
                    words: vec![w.clone()],
                    weight: self.config.weights.correction * if rank == 0 { 1.0 } else { 0.66 },
                    forms,
                }
            })
            .filter(|a| !a.stems.is_empty())
            .collect();
        self.analysis.corrections.push((word, best.clone()));
        self.push(best, alternatives);
        Ok(())
    }
}

fn all_stems_present(lexicon: &dyn Lexicon, stems: &[String]) -> tantivy::Result<bool> {
    for stem in stems {
        if !lexicon.has_stem(stem)? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::schema::{plain_analyzer, stemmed_analyzer};

    struct Fake(&'static [&'static str]);
    impl Lexicon for Fake {
        fn has_word(&self, word: &str) -> tantivy::Result<bool> {
            Ok(self.0.contains(&word))
        }
        fn has_stem(&self, _stem: &str) -> tantivy::Result<bool> {
            Ok(false)
        }
        fn near_words(&self, word: &str, distance: u8) -> tantivy::Result<Vec<String>> {
            Ok((1..=distance as usize)
                .map(|d| {
                    self.0
                        .iter()
                        .filter(|w| strsim::damerau_levenshtein(w, word) == d)
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                })
                .find(|near| !near.is_empty())
                .unwrap_or_default())
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
        let lex = Fake(&[
            "kubernetes",
            "senior",
            "tools",
            "google",
            "cloud",
            "mlops",
            "burnout",
            "set",
            "setup",
            "today",
        ]);
        analyze(text, &plain, &stemmed, &t, &lex, &config).unwrap()
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
        // Real words the guide lacks are not typos of anything.
        assert_eq!(a.absent, vec!["learn", "first"]);
        assert!(a.unknown.is_empty());
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
            // The words as typed first, then their synonyms.
            vec![
                vec!["googl".to_string(), "cloud".into()],
                vec!["gcp".into()]
            ]
        );
    }

    #[test]
    fn words_sharing_a_stem_are_told_apart() {
        assert!(!same_word("experiment", "experience"));
        assert!(!same_word("experiments", "experienced"));
        for (a, b) in [
            ("experiment", "experiments"),
            ("experiment", "experimental"),
            ("experience", "experienced"),
            ("negotiate", "negotiation"),
            ("negotiating", "negotiation"),
            ("manage", "management"),
            ("company", "companies"),
            ("interview", "interviewing"),
        ] {
            assert!(same_word(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn two_words_the_guide_writes_as_one_match_it_too() {
        let alternatives = |c: &Concept| -> Vec<(String, f32)> {
            c.alternatives
                .iter()
                .map(|a| (a.stems.join(" "), a.weight))
                .collect()
        };
        let synonym = SearchConfig::default().weights.synonym;
        // The guide has "set": "setup" is another way to match it, weighing less.
        let a = run("set up kubernetes");
        assert_eq!(a.concepts[0].written, "set");
        assert_eq!(
            alternatives(&a.concepts[0]),
            vec![("set".into(), 1.0), ("setup".into(), synonym)]
        );
        assert_eq!(a.concepts[1].written, "kubernetes");
        // The guide lacks "burning": its stem joined to "out" is the concept.
        let a = run("avoid burning out");
        let burnout = a.concepts.iter().find(|c| c.written == "burning out");
        assert_eq!(
            burnout.map(alternatives),
            Some(vec![("burnout".into(), synonym)])
        );
        assert_eq!(a.absent, vec!["avoid"]);
        // Stop words are no compound's first half.
        assert!(run("to day").concepts.is_empty());
    }

    #[test]
    fn short_words_get_no_typo_budget_and_syntax_is_plain_text() {
        let a = run("tols: \"(senior* -AND");
        assert_eq!(a.unknown, vec!["tols"]);
        assert_eq!(a.concepts.len(), 1);
    }
}
