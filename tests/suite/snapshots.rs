//! Snapshots of rendered answers (terminal text and Discord embeds) for the shipped content.

use careerbot::render::{self, discord, Emphasis};

use super::util::ask;

const CASES: &[(&str, &str)] = &[
    ("salary_senior_india", "/salary senior india"),
    ("salary_junior_us", "/salary junior us"),
    ("certs_gcp", "/certs gcp"),
    (
        "ask_mlops_tools",
        "/ask what mlops tools should I learn first",
    ),
    ("ask_typo", "/ask kubernetis"),
    ("ask_nothing", "/ask flsk"),
    ("faq", "/faq"),
    ("help", "/help"),
];

/// Content versions change with every edit of `data/`; the snapshots are about layout.
fn stable(s: String, version: &str) -> String {
    s.replace(version, "<version>")
}

#[test]
fn terminal_text() {
    for (name, line) in CASES {
        let a = ask(line);
        insta::assert_snapshot!(
            format!("text_{name}"),
            stable(render::text(&a, Emphasis::Markdown), &a.content_version)
        );
    }
}

/// `careerbot ask --json`: the field names scripts rely on.
#[test]
fn json_output() {
    for (name, line) in CASES {
        let a = ask(line);
        // Scores move with every ranking change; their presence and place are the contract.
        let mut json: serde_json::Value = serde_json::from_str(&render::json(&a)).unwrap();
        for hit in json["results"].as_array_mut().unwrap() {
            assert!(hit["score"].is_number(), "{hit}");
            hit["score"] = "<score>".into();
        }
        let text = serde_json::to_string_pretty(&json).unwrap();
        insta::assert_snapshot!(format!("json_{name}"), stable(text, &a.content_version));
    }
}

#[test]
fn discord_embeds() {
    for (name, line) in CASES {
        let a = ask(line);
        let view = discord::message(&a, None);
        assert!(view.embed.total_chars() <= discord::limits::TOTAL);
        let json = serde_json::to_string_pretty(&view).unwrap();
        insta::assert_snapshot!(format!("discord_{name}"), stable(json, &a.content_version));
    }
}

/// A forum suggestion, its sources linked (`answers.source_url`), and the same links in
/// the terminal.
#[test]
fn suggestion_with_linked_sources() {
    let mut a = ask("/ask realistic salary for a senior ml engineer in india");
    for hit in &mut a.results {
        hit.link = Some(careerbot::answer::link(
            "https://github.com/acme/guide/blob/main/data",
            &hit.location,
        ));
    }
    let view = discord::suggestion(&a, true);
    assert!(view.embed.total_chars() <= discord::limits::TOTAL);
    let json = serde_json::to_string_pretty(&view).unwrap();
    insta::assert_snapshot!("discord_suggestion", stable(json, &a.content_version));
    insta::assert_snapshot!(
        "text_linked_sources",
        stable(render::text(&a, Emphasis::Markdown), &a.content_version)
    );
}

/// The moderator's reply to `/reload`, for each way a reload ends.
#[test]
fn reload_replies() {
    use careerbot::content::Diagnostic;
    use careerbot::reload::{Applied, Counts, Diff, Outcome, PassageRef, Rejected, Version};
    use std::path::Path;
    use std::time::Duration;

    let data = Path::new("/srv/guides/data");
    let version = |hash: &str| Version {
        hash: hash.into(),
        git_commit: Some("0123456789abcdef0123".into()),
    };
    let passage = |id: &str, title: &str| PassageRef {
        id: id.into(),
        title: title.into(),
    };
    let outcome = |dry_run, result| Outcome {
        dry_run,
        elapsed: Duration::from_millis(42),
        before: Counts {
            documents: 7,
            passages: 30,
        },
        before_version: "1111aaaa".into(),
        result,
    };
    let applied = |diff: Diff, warnings: Vec<Diagnostic>| Applied {
        after: Counts {
            documents: 8,
            passages: 31,
        },
        version: version("2222bbbb"),
        to_embed: diff.added.len() + diff.changed.len(),
        diff,
        warnings,
        engine: None,
    };
    let error = |file: &str, line: usize, message: &str| {
        Diagnostic::error(data.join(file), line, 1, message).with_hint("fix it")
    };
    let rejected = |errors: Vec<Diagnostic>, build_error: Option<String>| Rejected {
        version: version("3333cccc"),
        errors,
        build_error,
    };
    let many: Vec<Diagnostic> = (1..=80)
        .map(|i| error("ml-engineer/salary.md", i, "unknown level `seniorr`"))
        .collect();
    let cases = [
        (
            "reloaded",
            outcome(
                false,
                Ok(applied(
                    Diff {
                        added: vec![passage("guide/new#rounds", "Whiteboard *rounds*")],
                        changed: vec![passage("guide/faq#pay", "Pay")],
                        removed: vec![passage("guide/old#gone", "Gone")],
                    },
                    vec![Diagnostic::warning(
                        data.join("guide/a.md"),
                        3,
                        1,
                        "empty heading",
                    )],
                )),
            ),
        ),
        (
            "dry_run_unchanged",
            outcome(true, Ok(applied(Diff::default(), vec![]))),
        ),
        (
            "rejected_errors",
            outcome(
                false,
                Err(rejected(
                    vec![
                        error("guide/a.md", 2, "unknown facet value"),
                        error("guide/b.md", 9, "duplicate id ```x```"),
                    ],
                    None,
                )),
            ),
        ),
        (
            "rejected_many_errors",
            outcome(false, Err(rejected(many, None))),
        ),
        (
            "build_failed",
            outcome(
                false,
                Err(rejected(
                    vec![],
                    Some("No space left on device (os error 28)".into()),
                )),
            ),
        ),
    ];
    for (name, outcome) in cases {
        let view = careerbot::render::reload::message(&outcome, data);
        assert!(view.embed.total_chars() <= discord::limits::TOTAL, "{name}");
        insta::assert_json_snapshot!(format!("reload_{name}"), view);
    }
}

/// The content-gap report: the terminal table, the CSV, and `/gaps`'s embed and attachment.
#[test]
fn gaps_report() {
    use careerbot::feedback::{Gaps, Suggestion, TopChange, Unanswered, VotedDown};
    let day = 86_400;
    let since = 1_795_824_000 - 30 * day;
    let gaps = Gaps {
        since,
        unanswered: vec![
            Unanswered {
                command: "ask".into(),
                question: "quokka salary".into(),
                count: 12,
                first: since + day,
                last: since + 20 * day,
            },
            Unanswered {
                command: "salary".into(),
                question: "junior us".into(),
                count: 3,
                first: since + 2 * day,
                last: since + 3 * day,
            },
            Unanswered {
                command: "ask".into(),
                question: "=cmd|' /c calc'!A0, \"quoted\"".into(),
                count: 1,
                first: since,
                last: since,
            },
        ],
        voted_down: vec![
            VotedDown {
                passage: Some("salary/india#senior".into()),
                down: 5,
                up: 2,
                questions: vec![
                    "/salary senior india".into(),
                    "/ask senior pay bangalore".into(),
                ],
                comments: vec!["stock vs cash split for *senior* roles".into()],
            },
            VotedDown {
                passage: None,
                down: 1,
                up: 0,
                questions: vec!["/ask quokka".into()],
                comments: Vec::new(),
            },
        ],
        changed: vec![TopChange {
            question: "senior salary india".into(),
            asked: 40,
            passages: vec!["salary/india#senior".into(), "salary/india#base".into()],
        }],
        suggestions: vec![Suggestion::new(
            "ctc bangalore".into(),
            "salary bangalore".into(),
            4,
        )],
    };
    insta::assert_snapshot!("gaps_table", render::gaps::table(&gaps, 30));
    insta::assert_snapshot!("gaps_csv", render::gaps::csv(&gaps));
    let (embed, (name, csv)) = render::gaps::embed(&gaps, 30, 2);
    assert_eq!(name, "content-gaps.csv");
    assert_eq!(csv, render::gaps::csv(&gaps));
    insta::assert_json_snapshot!("gaps_embed", embed);
}
