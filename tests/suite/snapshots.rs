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
