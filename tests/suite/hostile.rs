//! Whatever a user types, the answer path neither fails, panics, nor matches everything.

use careerbot::answer::{self, Command, Outcome, Request};
use proptest::prelude::*;

use super::util::{ask, shipped};

fn ask_text(text: &str) -> answer::Answer {
    let s = shipped();
    let request = Request::new(Command::Ask {
        question: text.to_string(),
    });
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

#[test]
fn odd_inputs_answer_without_error() {
    let long = "kubernetes ".repeat(500);
    let very_long_word = "x".repeat(5000);
    let cases = [
        "",
        "   ",
        long.as_str(),
        very_long_word.as_str(),
        "🚀🤖💰",
        "ما هو راتب مهندس",
        "מהנדס למידת מכונה",
        "the of and what is a",
        "\u{0}\u{1b}[31m",
        "ＭＬＯｐｓ",
        "senior\u{200b}india",
    ];
    for q in cases {
        let a = ask_text(q);
        assert!(
            matches!(a.outcome, Outcome::Found | Outcome::NotFound),
            "{q:?}"
        );
    }
    assert_eq!(ask_text("the of and what is a").outcome, Outcome::NotFound);
    // A 5,000-character repetition still answers.
    assert_eq!(ask_text(&long).outcome, Outcome::Found);
}

#[test]
fn facet_options_accept_anything() {
    for line in [
        "/salary 🚀 \u{202e}india",
        "/certs :::",
        "/levels \"senior",
        "/faq *",
        "/salary region:level:senior",
    ] {
        let a = ask(line);
        assert!(
            matches!(a.outcome, Outcome::Found | Outcome::NoData),
            "{line}: {:?}",
            a.outcome
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_question_answers(q in "\\PC{0,200}") {
        let a = ask_text(&q);
        prop_assert!(a.results.len() <= a.per_page);
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
            command: Command::Faq { topic: None },
            page,
        });
        prop_assert!(a.is_ok());
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
            command: Command::Faq { topic: None },
            page: usize::MAX,
        },
    )
    .unwrap();
    assert!(a.results.is_empty());
}
