//! The structured facets (topic, level, region, provider) and their vocabulary: which values
//! exist, how they are shown, and which other spellings users and moderators write for them.

use std::fmt;

use serde::Serialize;

use crate::config::{FacetVocabulary, FacetsConfig, SearchConfig};
use crate::typos::TypoPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Facet {
    Topic,
    Levels,
    Regions,
    Providers,
}

impl Facet {
    pub const ALL: [Facet; 4] = [
        Facet::Topic,
        Facet::Levels,
        Facet::Regions,
        Facet::Providers,
    ];

    /// The key used in front matter, heading attributes and config.
    pub fn key(self) -> &'static str {
        match self {
            Facet::Topic => "topic",
            Facet::Levels => "levels",
            Facet::Regions => "regions",
            Facet::Providers => "providers",
        }
    }

    /// One value's kind, in words for users.
    pub fn noun(self) -> &'static str {
        match self {
            Facet::Topic => "topic",
            Facet::Levels => "level",
            Facet::Regions => "region",
            Facet::Providers => "provider",
        }
    }

    pub fn from_key(key: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.key() == key)
    }
}

impl fmt::Display for Facet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Facet values of a document or passage, canonical ids only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Facets {
    pub topic: Vec<String>,
    pub levels: Vec<String>,
    pub regions: Vec<String>,
    pub providers: Vec<String>,
}

impl Facets {
    pub fn get(&self, facet: Facet) -> &[String] {
        match facet {
            Facet::Topic => &self.topic,
            Facet::Levels => &self.levels,
            Facet::Regions => &self.regions,
            Facet::Providers => &self.providers,
        }
    }

    pub fn get_mut(&mut self, facet: Facet) -> &mut Vec<String> {
        match facet {
            Facet::Topic => &mut self.topic,
            Facet::Levels => &mut self.levels,
            Facet::Regions => &mut self.regions,
            Facet::Providers => &mut self.providers,
        }
    }
}

/// Lower-case, single-spaced, `_` and spaces as `-`: the form facet ids are compared in.
pub fn normalize(value: &str) -> String {
    value
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

#[derive(Debug, Clone)]
pub struct ValueDef {
    pub id: String,
    pub label: String,
    /// Normalised alternative spellings, the id and label included.
    pub spellings: Vec<String>,
}

/// Known values of every facet, in display order. An empty list means "any value".
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    facets: Vec<(Facet, Vec<ValueDef>)>,
    typos: TypoPolicy,
}

/// How a written value relates to the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A known value (or any value, for a facet with no vocabulary).
    Known(String),
    /// Not known; the closest known id if it looks like a typo.
    Unknown { closest: Option<String> },
}

impl Vocabulary {
    pub fn from_config(config: &FacetsConfig, search: &SearchConfig) -> Vocabulary {
        let build = |vocab: &FacetVocabulary| {
            vocab
                .iter()
                .map(|(id, def)| {
                    let id = normalize(id);
                    let label = def.label.clone().unwrap_or_else(|| id.clone());
                    let mut spellings = vec![id.clone(), normalize(&label)];
                    spellings.extend(def.aliases.iter().map(|a| normalize(a)));
                    spellings.dedup();
                    ValueDef {
                        id,
                        label,
                        spellings,
                    }
                })
                .collect()
        };
        Vocabulary {
            facets: vec![
                (Facet::Topic, build(&config.topic)),
                (Facet::Levels, build(&config.levels)),
                (Facet::Regions, build(&config.regions)),
                (Facet::Providers, build(&config.providers)),
            ],
            typos: search.typos(),
        }
    }

    pub fn values(&self, facet: Facet) -> &[ValueDef] {
        self.facets
            .iter()
            .find(|(f, _)| *f == facet)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// How a value is shown: its configured label, or the id itself.
    pub fn label<'a>(&'a self, facet: Facet, id: &'a str) -> &'a str {
        self.values(facet)
            .iter()
            .find(|v| v.id == id)
            .map_or(id, |v| v.label.as_str())
    }

    /// Maps what someone wrote to a canonical id, by id, label or alias.
    pub fn resolve(&self, facet: Facet, written: &str) -> Resolved {
        let norm = normalize(written);
        let values = self.values(facet);
        if values.is_empty() {
            return if norm.is_empty() {
                Resolved::Unknown { closest: None }
            } else {
                Resolved::Known(norm)
            };
        }
        if let Some(v) = values.iter().find(|v| v.spellings.contains(&norm)) {
            return Resolved::Known(v.id.clone());
        }
        let closest = values
            .iter()
            .flat_map(|v| v.spellings.iter().map(move |s| (v, s)))
            .filter_map(|(v, s)| Some((self.typos.distance(&norm, s)?, v)))
            .min_by_key(|(d, _)| *d)
            .map(|(_, v)| v.id.clone());
        Resolved::Unknown { closest }
    }

    /// Facet values whose id, label or alias appears in `text` as whole words.
    pub fn mentions(&self, text: &str) -> Vec<(Facet, String)> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric() && c != '.')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut found = Vec::new();
        for (facet, values) in &self.facets {
            for v in values {
                let hit = v.spellings.iter().any(|s| {
                    let parts: Vec<&str> = s.split('-').collect();
                    words
                        .windows(parts.len())
                        .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
                });
                if hit {
                    found.push((*facet, v.id.clone()));
                }
            }
        }
        found
    }

    /// Whether the vocabulary restricts this facet at all.
    pub fn is_closed(&self, facet: Facet) -> bool {
        !self.values(facet).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FacetValueConfig;

    fn vocab() -> Vocabulary {
        let mut config = FacetsConfig::default();
        config.providers.insert(
            "gcp".into(),
            FacetValueConfig {
                label: Some("Google Cloud".into()),
                aliases: vec!["google".into()],
            },
        );
        Vocabulary::from_config(&config, &SearchConfig::default())
    }

    #[test]
    fn resolves_ids_labels_aliases_and_typos() {
        let v = vocab();
        assert_eq!(
            v.resolve(Facet::Providers, "GCP"),
            Resolved::Known("gcp".into())
        );
        assert_eq!(
            v.resolve(Facet::Providers, "google cloud"),
            Resolved::Known("gcp".into())
        );
        assert_eq!(
            v.resolve(Facet::Providers, "Google"),
            Resolved::Known("gcp".into())
        );
        assert_eq!(
            v.resolve(Facet::Providers, "gogle"),
            Resolved::Unknown {
                closest: Some("gcp".into())
            }
        );
        assert_eq!(
            v.resolve(Facet::Providers, "azure"),
            Resolved::Unknown { closest: None }
        );
        // An open facet takes any value.
        assert_eq!(
            v.resolve(Facet::Regions, "Mars Base"),
            Resolved::Known("mars-base".into())
        );
        assert_eq!(v.label(Facet::Providers, "gcp"), "Google Cloud");
    }
}
