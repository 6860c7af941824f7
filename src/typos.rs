//! How many typing mistakes a word may hold and still be read as another: one policy type
//! for search, facet option values, autocomplete and diagnostics, each with its own
//! thresholds.

/// Mistakes allowed by word length: none below `one_from` characters, one below `two_from`,
/// two from there. A mistake is one Damerau-Levenshtein edit (a swap of neighbours counts
/// one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypoPolicy {
    one_from: usize,
    two_from: usize,
}

impl TypoPolicy {
    pub const fn new(one_from: usize, two_from: usize) -> TypoPolicy {
        TypoPolicy { one_from, two_from }
    }

    /// Searching the guide, and reading option values: Meilisearch's rule (none under 5
    /// letters, one up to 8, two from 9); `search.one_typo_from` and `two_typos_from` in
    /// config.toml change it.
    pub const SEARCH: TypoPolicy = TypoPolicy::new(5, 9);

    /// Names we define (front-matter keys, commands): a misspelt key would lose its value
    /// without a word, so even short names get one mistake, and two from 6 letters.
    pub const NAMES: TypoPolicy = TypoPolicy::new(1, 6);

    /// What a member is still typing into an autocomplete box: from 3 letters.
    pub const TYPING: TypoPolicy = TypoPolicy::new(3, 6);

    /// Mistakes allowed in a word of `chars` characters.
    pub fn budget(self, chars: usize) -> u8 {
        if chars >= self.two_from {
            2
        } else if chars >= self.one_from {
            1
        } else {
            0
        }
    }

    /// How far `candidate` is from `word` when within `word`'s budget.
    pub fn distance(self, word: &str, candidate: &str) -> Option<usize> {
        let d = strsim::damerau_levenshtein(word, candidate);
        (d <= usize::from(self.budget(word.chars().count()))).then_some(d)
    }
}

impl Default for TypoPolicy {
    fn default() -> Self {
        TypoPolicy::SEARCH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_grow_with_length() {
        let budgets = |p: TypoPolicy| (1..=10).map(|n| p.budget(n)).collect::<Vec<_>>();
        assert_eq!(budgets(TypoPolicy::SEARCH), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
        assert_eq!(budgets(TypoPolicy::NAMES), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
        assert_eq!(budgets(TypoPolicy::TYPING), [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]);
        assert_eq!(
            TypoPolicy::SEARCH.distance("kubernetis", "kubernetes"),
            Some(1)
        );
        assert_eq!(TypoPolicy::SEARCH.distance("flsk", "flask"), None);
    }
}
