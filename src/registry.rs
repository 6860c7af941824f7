//! Every command, defined once: its name, the description members read, its typed options
//! (which facet each fills, which are yes/no switches), who may run it and how it is
//! answered. Everything else derives from [`COMMANDS`]: the Discord declarations and their
//! registration, autocomplete, `/help`, the terminal parser, paging ids and the HTTP
//! dispatcher. No Discord types here.

use crate::content::Facet;

/// One command. Adding a command is one entry in [`COMMANDS`] (plus a handler when no
/// existing [`Action`] answers it).
#[derive(Debug, PartialEq, Eq)]
pub struct CommandDef {
    pub name: &'static str,
    /// What members read: Discord's description under the command, and its `/help` line.
    pub description: &'static str,
    /// In the order Discord lists them and positional words fill them.
    pub options: &'static [OptionDef],
    pub access: Access,
    pub action: Action,
}

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every member, in servers and elsewhere.
    Everyone,
    /// Moderators only (`reload.permission` or a moderator role), in servers only. Discord
    /// hides it from others by default, and the bot checks again, since server admins can
    /// change what Discord shows.
    Moderators,
}

/// How a command is answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Filters by the facets its options name and ranks within its topic.
    Facets(FacetCommand),
    /// Searches the whole guide for a question.
    Ask,
    /// The overview of what the bot answers.
    Help,
    /// Rebuilds the index from `data/` (moderators).
    Reload,
    /// The content-gap report from recorded questions (moderators).
    Gaps,
}

/// A facet command's topic, and how its data is named in answers.
#[derive(Debug, PartialEq, Eq)]
pub struct FacetCommand {
    /// The `topic` facet value its passages carry.
    pub topic: &'static str,
    /// The answer's heading: "Salary · Senior · India".
    pub title: &'static str,
    /// "We have no {what} for …"
    pub what: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
pub struct OptionDef {
    pub name: &'static str,
    /// What members read under the option in Discord.
    pub description: &'static str,
    pub kind: OptionKind,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Words: values of this facet (autocompleted from the values the guide holds) filter,
    /// other words are searched for.
    Facet(Facet),
    /// Free text of at most this many characters (a question).
    Text { max_chars: u16 },
    /// A whole number in `min..=max` (Discord checks it as it is typed).
    Integer { min: u32, max: u32 },
    /// A yes/no switch about how to answer, not what: not part of the request.
    Flag,
    /// A member the answer is addressed to: how it is delivered, not what it says; not part
    /// of the request either.
    Member,
}

impl OptionKind {
    /// Whether the option is part of what is asked (its words), rather than how the answer
    /// is delivered.
    pub fn is_request(self) -> bool {
        !matches!(self, OptionKind::Flag | OptionKind::Member)
    }
}

/// Longest value Discord accepts for a facet option: a value or a few words.
pub const FACET_MAX_CHARS: u16 = 100;

/// "Answer for this member", on every command that answers from the guide.
const FOR: OptionDef = OptionDef {
    name: "for",
    description: "Address the answer to this member (they are notified; nobody else is)",
    kind: OptionKind::Member,
    required: false,
};

/// "Show the answer only to you", on every command members run.
const PRIVATE: OptionDef = OptionDef {
    name: "private",
    description: "Show the answer only to you",
    kind: OptionKind::Flag,
    required: false,
};

const fn facet(name: &'static str, description: &'static str, facet: Facet) -> OptionDef {
    OptionDef {
        name,
        description,
        kind: OptionKind::Facet(facet),
        required: false,
    }
}

pub const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "salary",
        description: "Salary figures from the guide, by career level and region.",
        options: &[
            facet("level", "Career level, e.g. senior", Facet::Levels),
            facet("region", "Region or country, e.g. india", Facet::Regions),
            FOR,
            PRIVATE,
        ],
        access: Access::Everyone,
        action: Action::Facets(FacetCommand {
            topic: "salary",
            title: "Salary",
            what: "salary data",
        }),
    },
    CommandDef {
        name: "certs",
        description: "Certifications worth taking, and what each is good for.",
        options: &[
            facet(
                "provider",
                "Cloud or course provider, e.g. aws or gcp",
                Facet::Providers,
            ),
            FOR,
            PRIVATE,
        ],
        access: Access::Everyone,
        action: Action::Facets(FacetCommand {
            topic: "certs",
            title: "Certifications",
            what: "certification advice",
        }),
    },
    CommandDef {
        name: "levels",
        description: "What people at each career level are responsible for.",
        options: &[
            facet(
                "level",
                "Career level, e.g. junior or senior",
                Facet::Levels,
            ),
            FOR,
            PRIVATE,
        ],
        access: Access::Everyone,
        action: Action::Facets(FacetCommand {
            topic: "levels",
            title: "Career levels",
            what: "level description",
        }),
    },
    CommandDef {
        name: "ask",
        description: "Ask anything about the career; answers come from the community's guide.",
        options: &[
            OptionDef {
                name: "question",
                description: "Your question, e.g. which MLOps tools should I learn first",
                kind: OptionKind::Text { max_chars: 300 },
                required: true,
            },
            FOR,
            PRIVATE,
        ],
        access: Access::Everyone,
        action: Action::Ask,
    },
    CommandDef {
        name: "faq",
        description: "Frequently asked questions, by topic.",
        options: &[
            facet("topic", "Topic, e.g. salary or tools", Facet::Topic),
            FOR,
            PRIVATE,
        ],
        access: Access::Everyone,
        action: Action::Facets(FacetCommand {
            topic: "faq",
            title: "FAQ",
            what: "FAQ answer",
        }),
    },
    CommandDef {
        name: "help",
        description: "What I can answer, and how to ask.",
        options: &[PRIVATE],
        access: Access::Everyone,
        action: Action::Help,
    },
    CommandDef {
        name: "reload",
        description: "Moderators: reload the guides from disk, or check them with dry_run.",
        options: &[OptionDef {
            name: "dry_run",
            description:
                "Only validate and show what would change; keep serving the current guides",
            kind: OptionKind::Flag,
            required: false,
        }],
        access: Access::Moderators,
        action: Action::Reload,
    },
    CommandDef {
        name: "gaps",
        description: "Moderators: what the guide fails to answer, with synonym suggestions and a CSV of it all.",
        options: &[
            OptionDef {
                name: "days",
                description: "Look back this many days (default 30)",
                kind: OptionKind::Integer { min: 1, max: 3650 },
                required: false,
            },
            OptionDef {
                name: "limit",
                description: "Rows of each list in the message (default 10; the CSV has them all)",
                kind: OptionKind::Integer { min: 1, max: 100 },
                required: false,
            },
        ],
        access: Access::Moderators,
        action: Action::Gaps,
    },
];

/// A command on a message's Apps menu: answers the message's text as the slash command
/// `answers_as` answers a question.
#[derive(Debug, PartialEq, Eq)]
pub struct MessageCommandDef {
    /// What the Apps menu shows (Discord allows spaces and capitals here).
    pub name: &'static str,
    /// Its `/help` line.
    pub help: &'static str,
    pub answers_as: &'static str,
}

/// Every message command. They answer as a slash command does, so pages, votes and
/// recording are that command's.
pub const MESSAGE_COMMANDS: &[MessageCommandDef] = &[MessageCommandDef {
    name: "Ask careerbot",
    help:
        "On any message (Apps menu): answers the question in it, as /ask would, for everyone to see",
    answers_as: "ask",
}];

/// The message command named `name`.
pub fn find_message_command(name: &str) -> Option<&'static MessageCommandDef> {
    MESSAGE_COMMANDS.iter().find(|c| c.name == name)
}

/// Every command, in order: [`COMMANDS`] (and, in this crate's unit tests, [`PRETEND`],
/// which shows that a registry entry is all a new command needs).
pub fn all() -> impl Iterator<Item = &'static CommandDef> + Clone {
    COMMANDS.iter().chain(PRETEND)
}

#[cfg(not(test))]
const PRETEND: &[CommandDef] = &[];

/// A command that exists only in unit tests, added as a new facet command would be: one
/// entry, no handler (see `tests::a_pretend_command_is_one_entry`).
#[cfg(test)]
const PRETEND: &[CommandDef] = &[CommandDef {
    name: "pretend",
    description: "Tools worth learning, by topic.",
    options: &[facet("topic", "Topic, e.g. mlops", Facet::Topic), PRIVATE],
    access: Access::Everyone,
    action: Action::Facets(FacetCommand {
        topic: "tools",
        title: "Tools",
        what: "tool advice",
    }),
}];

/// The commands every member may run, in order: what `/help` lists.
pub fn for_members() -> impl Iterator<Item = &'static CommandDef> {
    all().filter(|c| c.access == Access::Everyone)
}

/// The command named `name` (lower case, no slash).
pub fn find(name: &str) -> Option<&'static CommandDef> {
    all().find(|c| c.name == name)
}

impl CommandDef {
    /// The options that carry the request (words), in order; switches are left out.
    pub fn word_options(&self) -> impl Iterator<Item = &'static OptionDef> + Clone {
        let options: &'static [OptionDef] = self.options;
        options.iter().filter(|o| o.kind.is_request())
    }

    pub fn option(&self, name: &str) -> Option<&'static OptionDef> {
        let options: &'static [OptionDef] = self.options;
        options.iter().find(|o| o.name == name)
    }

    /// The facets the options fill, in option order (facet commands).
    pub fn facets(&self) -> Vec<Facet> {
        self.word_options()
            .filter_map(|o| match o.kind {
                OptionKind::Facet(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    /// The topic a facet command covers.
    pub fn topic(&self) -> Option<&'static str> {
        match &self.action {
            Action::Facets(spec) => Some(spec.topic),
            _ => None,
        }
    }
}

impl OptionDef {
    /// The most characters Discord lets a member type into it (switches: none).
    pub fn max_chars(&self) -> Option<u16> {
        match self.kind {
            OptionKind::Facet(_) => Some(FACET_MAX_CHARS),
            OptionKind::Text { max_chars } => Some(max_chars),
            OptionKind::Integer { .. } | OptionKind::Flag | OptionKind::Member => None,
        }
    }

    /// Whether Discord offers completions while it is typed: facet values.
    pub fn autocompletes(&self) -> bool {
        matches!(self.kind, OptionKind::Facet(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`PRETEND`] is only a registry entry, yet the terminal parser, `/help`, the facet
    /// handler, Discord's registration payload, autocomplete and paging ids all know it.
    #[test]
    fn message_commands_answer_as_a_command_with_a_word_option() {
        for m in MESSAGE_COMMANDS {
            let option = find(m.answers_as).and_then(|d| d.word_options().next());
            assert!(option.is_some(), "{}", m.name);
            assert_eq!(find_message_command(m.name), Some(m));
        }
    }

    #[test]
    fn a_pretend_command_is_one_entry() {
        use crate::answer::{answer, Command, Outcome, Request};
        let (config, vocabulary, engine) = crate::app::shipped();
        let words = |line: &str| -> Vec<String> { line.split(' ').map(str::to_string).collect() };

        let command = Command::from_words(&words("/pretend mlops")).unwrap();
        assert_eq!(command.value("topic"), Some("mlops"));
        assert!(for_members().any(|c| c.name == "pretend"));

        let listing = Command::from_words(&words("/pretend")).unwrap();
        let a = answer(
            &engine,
            &vocabulary,
            &config.answers,
            &Request::new(listing),
        )
        .unwrap();
        assert_eq!((a.outcome, a.heading.as_str()), (Outcome::Found, "Tools"));
        assert!(a
            .results
            .iter()
            .all(|h| h.facets.topic.iter().any(|t| t == "tools")));

        let registered = serde_json::to_value(crate::bot::commands::create(&config)).unwrap();
        let pretend = registered
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "pretend")
            .expect("registered with Discord");
        assert_eq!(pretend["options"][0]["autocomplete"], true);
        assert_eq!(
            crate::service::option_facet("pretend", "topic"),
            Some((Facet::Topic, Some("tools")))
        );
        let id = crate::service::PageId {
            also: None,
            owner: 1,
            page: 1,
            command,
        };
        assert_eq!(
            crate::service::PageId::parse(&id.encode().unwrap()),
            Some(id)
        );
    }

    /// What Discord requires of names and descriptions, checked here rather than as a
    /// rejected registration.
    #[test]
    fn every_command_is_one_discord_accepts() {
        let mut names = std::collections::HashSet::new();
        for c in all() {
            assert!(names.insert(c.name), "{} twice", c.name);
            let valid_name = |n: &str| {
                (1..=32).contains(&n.len())
                    && n.chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            };
            assert!(valid_name(c.name), "{}", c.name);
            assert!(
                (1..=100).contains(&c.description.chars().count()),
                "{}",
                c.name
            );
            let mut options = std::collections::HashSet::new();
            for o in c.options {
                assert!(options.insert(o.name), "{}: {} twice", c.name, o.name);
                assert!(valid_name(o.name), "{}: {}", c.name, o.name);
                assert!((1..=100).contains(&o.description.chars().count()));
            }
            // Discord lists required options first.
            let first_optional = c.options.iter().position(|o| !o.required);
            if let Some(i) = first_optional {
                assert!(c.options[i..].iter().all(|o| !o.required), "{}", c.name);
            }
            if let Action::Facets(_) = c.action {
                assert!(!c.facets().is_empty(), "{} fills no facet", c.name);
            }
        }
    }
}
