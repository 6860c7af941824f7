//! Whatever a user types, the answer path neither fails, panics, nor matches everything.

use careerbot::answer::{self, Command, Outcome, Request};
use proptest::prelude::*;

use super::util::{ask, shipped};

fn ask_text(text: &str) -> answer::Answer {
    let s = shipped();
    let request = Request::new(Command::ask(text));
    answer::answer(&s.engine, &s.vocabulary, &s.config.answers, &request).expect("never an error")
}

#[test]
fn query_syntax_is_plain_words() {
    let all = shipped().engine.passage_count();
    for q in [
        "salary: india",
        "foo:a bar:b",
        "\"unbalanced",
        "AND OR NOT",
        "-salary",
        "c++ (kubernetes",
        "*",
        "title:* OR body:*",
        "[1 TO 9]",
        "{}^~!\\/<>",
        "mlflow^100",
    ] {
        let matched = super::util::all_pages(&format!("/ask {q}")).len();
        assert!(matched < all, "{q:?} matched every passage");
    }
    // Syntax characters around real words do not stop them matching.
    let a = ask_text("\"(mlflow)\"");
    assert_eq!(a.results[0].id, "ml-engineer/faq#mlops-tools");
    let a = ask_text("salary: india");
    assert_eq!(a.outcome, Outcome::Found);
}

/// The note a nothing-found answer gives when no word of the question can be searched.
const ASK_WITH_KEYWORDS: &str = "Ask with a few keywords, for example `/ask mlops tools`.";

#[test]
fn odd_inputs_answer_without_error() {
    let long = "kubernetes ".repeat(500);
    let very_long_word = "x".repeat(5000);
    // (input, the passage that must come first, or the note a nothing-found answer gives)
    let found = |id: &'static str| Ok::<&str, &str>(id);
    let nothing = |note: &'static str| Err::<&str, &str>(note);
    let cases = [
        ("", nothing(ASK_WITH_KEYWORDS)),
        ("   ", nothing(ASK_WITH_KEYWORDS)),
        ("🚀🤖💰", nothing(ASK_WITH_KEYWORDS)),
        ("the of and what is a", nothing(ASK_WITH_KEYWORDS)),
        (
            "ما هو راتب مهندس",
            nothing("The guide does not mention `ما`, `هو`, `راتب`, `مهندس`."),
        ),
        (
            "\u{0}\u{1b}[31m",
            nothing("The guide does not mention `31m`."),
        ),
        // Words too long to be words are not searched.
        (very_long_word.as_str(), nothing(ASK_WITH_KEYWORDS)),
        // Full-width letters are folded; a zero-width space separates words.
        (
            "ＭＬＯｐｓ",
            found("ml-engineer/certifications#mlops-specialization"),
        ),
        (
            "senior\u{200b}india",
            found("ml-engineer/salary#senior-india"),
        ),
    ];
    for (q, expected) in cases {
        let a = ask_text(q);
        let short: String = q.chars().take(40).collect();
        match expected {
            Ok(first) => {
                assert_eq!(a.outcome, Outcome::Found, "{short:?}");
                assert_eq!(a.results[0].id, first, "{short:?}");
            }
            Err(note) => {
                assert_eq!(a.outcome, Outcome::NotFound, "{short:?}");
                assert!(a.results.is_empty(), "{short:?}");
                assert_eq!(a.notes.last().map(String::as_str), Some(note), "{short:?}");
            }
        }
    }
    // A 5,000-character repetition answers as the word once does.
    let (a, once) = (ask_text(&long), ask_text("kubernetes"));
    assert_eq!(a.outcome, Outcome::Found);
    assert_eq!(a.results[0].id, once.results[0].id);
}

#[test]
fn facet_options_accept_anything() {
    // Junk around option words changes nothing: each line answers as its clean form does.
    for (line, clean) in [
        ("/salary 🚀 \u{202e}india", "/salary india"),
        ("/certs :::", "/certs"),
        ("/levels \"senior", "/levels senior"),
        ("/faq *", "/faq"),
    ] {
        let (a, b) = (ask(line), ask(clean));
        assert_eq!(a.outcome, Outcome::Found, "{line}");
        let ids = |a: &answer::Answer| a.results.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        assert_eq!((&a.heading, ids(&a)), (&b.heading, ids(&b)), "{line}");
    }
    // A value that is no region is searched for, words and all.
    let a = ask("/salary region:level:senior");
    assert_eq!(a.heading, "Salary · level:senior");
    assert_eq!(a.results[0].id, "ml-engineer/salary#senior-india");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_question_answers(q in "\\PC{0,200}") {
        let a = ask_text(&q);
        // Found means passages, and nothing found means none; each passage at most once.
        prop_assert_eq!(a.outcome == Outcome::Found, !a.results.is_empty());
        let mut ids: Vec<&str> = a.results.iter().map(|h| h.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), a.results.len());
        for hit in &a.results {
            for r in &hit.snippet.highlights {
                prop_assert!(hit.snippet.text.is_char_boundary(r.start) && hit.snippet.text.is_char_boundary(r.end));
            }
        }
    }

    #[test]
    fn any_command_line_parses_or_is_a_user_error(words in proptest::collection::vec("\\PC{0,20}", 0..6)) {
        let s = shipped();
        if let Ok(command) = Command::from_words(&words) {
            let a = answer::answer(&s.engine, &s.vocabulary, &s.config.answers, &Request::new(command));
            prop_assert!(a.is_ok());
        }
    }

    #[test]
    fn any_page_number_is_safe(page in 0usize..10_000) {
        let s = shipped();
        let a = answer::answer(&s.engine, &s.vocabulary, &s.config.answers, &Request {
            command: Command::from_words(&["/faq".to_string()]).unwrap(),
            page,
        }).unwrap();
        // Pages within the total hold passages and say whether more follow; pages past it
        // are empty and say none do.
        let pages = a.pages().expect("a facet listing counts its passages");
        prop_assert_eq!(a.results.is_empty(), page >= pages);
        prop_assert_eq!(a.has_more, page + 1 < pages);
    }
}

#[test]
fn the_largest_page_number_is_safe() {
    let s = shipped();
    let a = answer::answer(
        &s.engine,
        &s.vocabulary,
        &s.config.answers,
        &Request {
            command: Command::from_words(&["/faq".to_string()]).unwrap(),
            page: usize::MAX,
        },
    )
    .unwrap();
    assert!(a.results.is_empty());
}
