//! Tells a misspelling from a correctly spelt English word, so that typo correction only
//! ever fixes the first: a real word the guide lacks is never swapped for another word the
//! guide has ("experiments" is not "corrected" into "experience").

use std::sync::LazyLock;

/// SCOWL's en_US Hunspell dictionary (size 60): common English with its inflections, and
/// few of the rare words that bigger lists carry (so that most typos stay typos).
static DICTIONARY: LazyLock<Option<spellbook::Dictionary>> = LazyLock::new(|| {
    match spellbook::Dictionary::new(
        include_str!("../../assets/dictionary/en_US.aff"),
        include_str!("../../assets/dictionary/en_US.dic"),
    ) {
        Ok(d) => Some(d),
        Err(e) => {
            // Not reachable with the embedded files; without them every unknown word is
            // treated as a possible typo, as before the dictionary existed.
            tracing::error!(error = %e, "embedded English dictionary failed to parse");
            None
        }
    }
});

/// Whether `word` (lower case) is a correctly spelt English word.
pub fn is_english_word(word: &str) -> bool {
    // Digits and one-letter tokens are never typos of anything.
    if word.chars().count() < 2 || word.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    DICTIONARY.as_ref().is_some_and(|d| d.check(word))
}

/// Parses the dictionary now rather than on the first question that needs it.
pub fn warm_up() {
    LazyLock::force(&DICTIONARY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_words_and_their_inflections_are_words() {
        for w in [
            "experiments",
            "experience",
            "negotiating",
            "salaries",
            "interview",
            "architecture",
            "spreadsheets",
            "pipelines",
        ] {
            assert!(is_english_word(w), "{w}");
        }
    }

    #[test]
    fn misspellings_are_not() {
        for w in [
            "kuberntes",
            "seniour",
            "salry",
            "experimnets",
            "flsk",
            "certfication",
        ] {
            assert!(!is_english_word(w), "{w}");
        }
    }
}
