//! Answers from the shipped content: every fact of the seed guide is reachable, facet
//! commands filter exactly, and missing data is admitted, not guessed, whether answers
//! rank by words only or by meaning too.

use careerbot::answer::Outcome;

use super::util::{all_pages, ask, ids};

/// The first result's whole text.
fn top_text(line: &str) -> String {
    let a = ask(line);
    assert_eq!(a.outcome, Outcome::Found, "{line}: {a:#?}");
    a.results[0].text.clone()
}

// Each test runs twice: by words only (`words::…`) and with the model (`meaning::…`).
crate::both_rankings! {
    #[test]
    fn salary_senior_india_shows_the_figures() {
        let a = ask("/salary senior india");
        assert_eq!(a.outcome, Outcome::Found);
        assert_eq!(a.heading, "Salary · Senior · India");
        let top = &a.results[0];
        assert_eq!(top.id, "ml-engineer/salary#senior-india");
        assert!(top.text.contains("5–8 years"), "{}", top.text);
        assert!(
            top.text.contains("product companies in India: ₹50–100 LPA"),
            "{}",
            top.text
        );
        assert!(top.text.contains("₹80–150 LPA"), "{}", top.text);
        assert!(top.text.contains("stock included"), "{}", top.text);
        // The LLM premium is part of the salary answer too.
        let all: String = a.results.iter().map(|h| h.text.as_str()).collect();
        assert!(all.contains("15–25%"), "{all}");
        // Every result is salary content for senior engineers in India.
        for hit in &a.results {
            assert!(
                hit.facets.topic.contains(&"salary".to_string()),
                "{}",
                hit.id
            );
            assert!(
                hit.facets.levels.contains(&"senior".to_string()),
                "{}",
                hit.id
            );
            assert!(
                hit.facets.regions.contains(&"india".to_string()),
                "{}",
                hit.id
            );
        }
        // Matched words are highlighted in the snippet.
        let s = &top.snippet;
        let marked: Vec<&str> = s.highlights.iter().map(|r| &s.text[r.clone()]).collect();
        assert!(marked.contains(&"India"), "{marked:?}");
    }

    #[test]
    fn salary_options_are_read_flexibly() {
        // An abbreviation, a region given first, a typo: all reach the same passage.
        for line in [
            "/salary sr india",
            "/salary india",
            "/salary seniour india",
            "/salary region:india level:senior",
        ] {
            let a = ask(line);
            assert_eq!(a.results[0].id, "ml-engineer/salary#senior-india", "{line}");
        }
        let a = ask("/salary seniour india");
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("Senior") && n.contains("seniour")),
            "{:?}",
            a.notes
        );
    }

    #[test]
    fn salary_without_data_says_so_and_lists_what_we_have() {
        let a = ask("/salary junior us");
        assert_eq!(a.outcome, Outcome::NoData);
        assert!(a.results.is_empty());
        assert_eq!(
            a.notes,
            vec!["We have no salary data for Junior in United States."]
        );
        assert_eq!(a.available, vec!["Senior · India"]);

        let a = ask("/salary senior canada");
        assert_eq!(a.outcome, Outcome::NoData);
        assert!(a.notes[0].contains("Senior in Canada"), "{:?}", a.notes);

        // A word that is no level or region is searched, not guessed into one; the guide does
        // not have it, and says so.
        let a = ask("/salary wizard");
        assert_eq!(a.outcome, Outcome::NotFound);
        assert!(a.results.is_empty());
        assert_eq!(a.notes, vec!["The guide does not mention `wizard`."]);
        assert!(a.suggestions.is_empty(), "{:?}", a.suggestions);
    }

    #[test]
    fn facet_commands_search_words_that_are_not_facet_values() {
        // A topic word, a tool and a course author's name find their certification.
        for (line, id) in [
            ("/certs pipelines", "ml-engineer/certifications#google-pmle"),
            ("/certs vertex ai", "ml-engineer/certifications#google-pmle"),
            (
                "/certs andrew ng",
                "ml-engineer/certifications#deep-learning-specialization",
            ),
            ("/levels infrastructure", "ml-engineer/levels#senior"),
            ("/levels mentors", "ml-engineer/levels#senior"),
            ("/salary multinationals", "ml-engineer/salary#senior-india"),
            ("/salary mnc", "ml-engineer/salary#senior-india"),
            ("/faq mlflow", "ml-engineer/faq#mlops-tools"),
        ] {
            let a = ask(line);
            assert_eq!(a.outcome, Outcome::Found, "{line}: {:?}", a.notes);
            assert_eq!(a.results[0].id, id, "{line}");
            // Found within the command's own topic: nothing to explain.
            assert!(a.notes.is_empty(), "{line}: {:?}", a.notes);
            for hit in &a.results {
                assert!(
                    hit.facets
                        .topic
                        .iter()
                        .any(|t| t == "certs" || t == "levels" || t == "salary" || t == "faq"),
                    "{line}: {}",
                    hit.id
                );
            }
        }
        assert_eq!(
            ask("/certs pipelines").heading,
            "Certifications · pipelines"
        );

        // A known value and a free word together: the value filters, the word ranks.
        let a = ask("/certs gcp pipelines");
        assert_eq!(ids(&a), vec!["ml-engineer/certifications#google-pmle"]);

        // Words no passage of the topic has are looked for in the whole guide, and the answer
        // says so.
        let a = ask("/certs kubernetes");
        assert_eq!(a.outcome, Outcome::Found);
        assert_eq!(
            a.notes,
            vec!["Nothing in Certifications mentions `kubernetes`; showing matches from the whole guide."]
        );
        assert!(a.results[0].text.contains("Kubernetes"), "{:?}", ids(&a));

        // "No data" keeps its meaning: a known value with no passage, said even when the words
        // then come from elsewhere.
        let a = ask("/certs azure pipelines");
        assert_eq!(
            a.notes[0],
            "We have no certification advice for Microsoft Azure."
        );
        assert_eq!(a.outcome, Outcome::Found);

        // A word the guide lacks is said to be missing; the grammar reads right. By meaning,
        // the level that owns architecture answers, labelled as such.
        let a = ask("/levels architecture");
        if super::super::util::meaning() {
            assert_eq!(a.outcome, Outcome::Found);
            assert_eq!(
                a.notes,
                vec!["No passage in Career levels uses these words; the closest in meaning:"]
            );
            assert_eq!(a.results[0].id, "ml-engineer/levels#staff-principal");
        } else {
            assert_eq!(a.outcome, Outcome::NotFound);
            assert_eq!(a.notes, vec!["The guide does not mention `architecture`."]);
        }
        let a = ask("/levels principal");
        assert_eq!(a.outcome, Outcome::Found);
    }

    #[test]
    fn real_words_are_never_corrected_into_other_words() {
        // "employment" is two edits from the guide's "deployment", and a real word: it is not
        // rewritten, and no "did you mean" is offered for it.
        let a = ask("/ask employment");
        assert!(a.suggestions.is_empty(), "{:?}", a.suggestions);
        if super::super::util::meaning() && a.outcome == Outcome::Found {
            // Passages close in meaning may answer, saying that no word matched.
            assert_eq!(
                a.notes,
                vec!["No passage uses these words; the closest in meaning:"]
            );
        } else {
            assert_eq!(a.outcome, Outcome::NotFound);
            assert_eq!(a.notes, vec!["The guide does not mention `employment`."]);
        }
        // A misspelling is still corrected, and said to be.
        let a = ask("/ask deploymnet");
        assert_eq!(a.outcome, Outcome::Found);
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("deployment (for `deploymnet`)")),
            "{:?}",
            a.notes
        );
    }

    #[test]
    fn words_sharing_a_stem_are_not_merged() {
        // Snowball stems "experiments" and "experience" alike; an experiment question must not
        // be answered with the experience passages, and the other way round.
        for (line, word) in [
            ("/ask experiments", "experiment"),
            ("/ask experience", "experience"),
        ] {
            for hit in ask(line).results {
                assert!(
                    hit.text.to_lowercase().contains(word),
                    "{line}: {}: {}",
                    hit.id,
                    hit.text
                );
            }
        }
        // Forms of one word still find each other.
        let a = ask("/ask experimenting");
        assert!(
            a.results.iter().any(|h| h.text.contains("experiments")),
            "{:?}",
            ids(&a)
        );
    }

    #[test]
    fn certs_filter_by_provider() {
        let a = ask("/certs gcp");
        assert_eq!(ids(&a), vec!["ml-engineer/certifications#google-pmle"]);
        assert!(a.results[0].text.contains("Vertex AI"));

        let a = ask("/certs aws");
        assert_eq!(ids(&a), vec!["ml-engineer/certifications#aws-ml-specialty"]);
        assert!(a.results[0]
            .title
            .contains("AWS Certified Machine Learning – Specialty"));

        assert_eq!(ids(&ask("/certs google cloud")), ids(&ask("/certs gcp")));
        assert_eq!(ids(&ask("/certs amazon")), ids(&ask("/certs aws")));
        let coursera_answer = ask("/certs coursera");
        let mut coursera = ids(&coursera_answer);
        coursera.sort();
        assert_eq!(
            coursera,
            vec![
                "ml-engineer/certifications#deep-learning-specialization",
                "ml-engineer/certifications#mlops-specialization"
            ]
        );
        assert_eq!(
            ids(&ask("/certs hugging face")),
            vec!["ml-engineer/certifications#hugging-face-nlp"]
        );

        let a = ask("/certs azure");
        assert_eq!(a.outcome, Outcome::NoData);
        assert!(
            a.available.contains(&"Google Cloud".to_string()),
            "{:?}",
            a.available
        );
    }

    #[test]
    fn certs_without_provider_list_all_five_over_pages() {
        let titles: Vec<String> = all_pages("/certs").into_iter().map(|h| h.title).collect();
        for cert in [
            "AWS Certified Machine Learning – Specialty",
            "Google Professional ML Engineer",
            "Deep Learning Specialization (Coursera, Andrew Ng)",
            "MLOps Specialization (Coursera, DeepLearning.AI)",
            "Hugging Face NLP Course Certificate",
        ] {
            assert!(
                titles.iter().any(|t| t == cert),
                "{cert} missing from {titles:?}"
            );
        }
        assert_eq!(Some(titles.len()), ask("/certs").total);
    }

    #[test]
    fn levels_answer_each_level_alone() {
        let cases = [
            (
                "/levels junior",
                "ml-engineer/levels#junior",
                "FastAPI or Flask",
            ),
            ("/levels mid", "ml-engineer/levels#mid", "end to end"),
            (
                "/levels senior",
                "ml-engineer/levels#senior",
                "Mentors junior ML engineers",
            ),
            (
                "/levels staff",
                "ml-engineer/levels#staff-principal",
                "standards for the whole organisation",
            ),
            (
                "/levels principal",
                "ml-engineer/levels#staff-principal",
                "AI engineering forums",
            ),
        ];
        for (line, id, fact) in cases {
            let a = ask(line);
            assert_eq!(ids(&a), vec![id], "{line}");
            assert!(
                a.results[0].text.contains(fact),
                "{line}: {}",
                a.results[0].text
            );
        }
        let all = ask("/levels");
        assert_eq!(all.total, Some(5), "intro and four levels");
    }

    #[test]
    fn ask_answers_every_faq() {
        // (question, a fact only that FAQ answer holds, word for word)
        let cases = [
            (
                "/ask what is the difference between an ML engineer and a data scientist",
                "separate career ladders",
            ),
            (
                "/ask is LLM experience required",
                "RAG, fine-tuning, prompt engineering",
            ),
            ("/ask do ML engineers need strong math", "linear algebra"),
            (
                "/ask what mlops tools should I learn first",
                "Start with MLflow",
            ),
            (
                "/ask what is a realistic salary for a senior ML engineer in India",
                "₹50–100",
            ),
        ];
        for (line, fact) in cases {
            let a = ask(line);
            assert!(a.results[0].text.contains(fact), "{line}: {:?}", ids(&a));
        }
        // The salary question is also in the FAQ itself, among the top answers.
        let a = ask("/ask what is a realistic salary for a senior ML engineer in India");
        assert!(
            ids(&a).contains(&"ml-engineer/faq#senior-salary-india"),
            "{:?}",
            ids(&a)
        );
    }

    #[test]
    fn every_seed_fact_is_answerable() {
        // (question, words the first answer must contain)
        let cases = [
            (
                "/ask what does an ml engineer do",
                "notebook to millions of users",
            ),
            ("/ask ml engineering demand 2025", "highest demand"),
            (
                "/ask feature engineering at scale",
                "feature engineering at scale",
            ),
            ("/ask mlflow experiment tracking", "MLflow"),
            (
                "/ask design ML platform infrastructure",
                "infrastructure of the ML platform",
            ),
            (
                "/ask multi-year AI infrastructure bets",
                "span several years",
            ),
            ("/ask unit tests for ML components", "unit tests"),
            (
                "/ask production systems transition docker kubernetes",
                "serving models",
            ),
            (
                "/ask move into research publish papers",
                "Read papers every day",
            ),
            ("/ask start an AI startup", "all-time high"),
            ("/ask fancy data science", "software engineering"),
            ("/ask model monitoring drift", "drifting"),
            ("/ask latency 2 seconds", "2 seconds"),
            ("/ask monolithic pipelines", "Modular pipelines"),
            ("/ask business metric", "business metric"),
            (
                "/ask deep learning specialization andrew ng",
                "foundational credibility",
            ),
            (
                "/ask most practical mlops certification",
                "production ML engineering",
            ),
            ("/ask hugging face nlp course", "focus on LLMs"),
            ("/ask feature stores feast tecton", "Feast, Tecton"),
            ("/ask llm pay premium", "15–25%"),
            ("/ask mnc salary stock", "₹80–150 LPA"),
        ];
        for (line, fact) in cases {
            let text = top_text(line);
            let text_lc = text.to_lowercase();
            let fact_lc = fact.to_lowercase();
            assert!(
                text_lc.contains(&fact_lc),
                "{line}: expected {fact:?} in {text:?}"
            );
        }
    }

    #[test]
    fn typos_synonyms_and_stems_still_answer() {
        let a = ask("/ask kubernetis");
        assert_eq!(a.outcome, Outcome::Found);
        assert!(a.notes[0].contains("kubernetes"), "{:?}", a.notes);
        assert!(a.results.iter().any(|h| h.text.contains("Kubernetes")));

        // Synonym: k8s means Kubernetes.
        let a = ask("/ask k8s");
        assert!(
            a.results.iter().any(|h| h.text.contains("Kubernetes")),
            "{:?}",
            ids(&a)
        );

        // Abbreviation and synonym together: "gcp" finds text that only says GCP or Google Cloud.
        let a = ask("/ask google cloud certification");
        assert_eq!(a.results[0].id, "ml-engineer/certifications#google-pmle");

        // Stemming: "monitored" matches "monitoring".
        let a = ask("/ask monitored models");
        assert!(
            a.results.iter().any(|h| h.id.ends_with("#no-monitoring")),
            "{:?}",
            ids(&a)
        );

        // Short words get no typo budget: "flsk" is not silently read as "flask"...
        let a = ask("/ask flsk");
        assert_eq!(a.outcome, Outcome::NotFound);
        // ...but it is offered.
        assert_eq!(a.suggestions, vec!["flask"]);
    }

    #[test]
    fn partial_matches_still_answer() {
        // "blockchain" is not in the guide; "mlflow" is.
        let a = ask("/ask blockchain mlflow");
        assert_eq!(a.outcome, Outcome::Found);
        assert_eq!(a.results[0].id, "ml-engineer/faq#mlops-tools");
    }

    #[test]
    fn nothing_found_is_said_plainly() {
        let a = ask("/ask blockchain");
        assert_eq!(a.outcome, Outcome::NotFound);
        assert!(a.results.is_empty());
    }

    #[test]
    fn faq_by_topic_and_by_words() {
        let a = ask("/faq");
        assert_eq!(a.total, Some(5));
        let a = ask("/faq tools");
        assert_eq!(ids(&a), vec!["ml-engineer/faq#mlops-tools"]);
        let a = ask("/faq salary");
        assert_eq!(ids(&a), vec!["ml-engineer/faq#senior-salary-india"]);
        // Not a topic: searched as words within the FAQ, and only answers with them count.
        let a = ask("/faq statistics");
        assert_eq!(a.results[0].id, "ml-engineer/faq#math");
        assert_eq!(a.total, Some(1));
        let a = ask("/faq quokkas");
        assert_eq!(a.outcome, Outcome::NotFound);
        assert_eq!(a.notes, vec!["The guide does not mention `quokkas`."]);
        // A topic with no FAQ answer is "no data", with the topics the FAQ does cover.
        let a = ask("/faq mistakes");
        assert_eq!(a.outcome, Outcome::NoData);
        assert_eq!(a.notes, vec!["We have no FAQ answer for Common mistakes."]);
        assert!(
            a.available.contains(&"Tools".to_string()),
            "{:?}",
            a.available
        );
    }

    #[test]
    fn help_lists_commands_and_what_we_hold() {
        let a = ask("/help");
        assert_eq!(a.outcome, Outcome::Help);
        let help = a.help.unwrap();
        assert_eq!(help.semantic, super::super::util::meaning());
        let regions = &help
            .facets
            .iter()
            .find(|(f, _)| f.key() == "regions")
            .unwrap()
            .1;
        assert_eq!(
            regions,
            &vec!["India".to_string()],
            "only regions we have content for"
        );
        let levels = &help
            .facets
            .iter()
            .find(|(f, _)| f.key() == "levels")
            .unwrap()
            .1;
        assert_eq!(
            levels,
            &vec!["Junior", "Mid-level", "Senior", "Staff", "Principal"]
        );
    }

    #[test]
    fn pages_do_not_repeat_and_cover_everything() {
        for line in ["/faq", "/ask ml engineering"] {
            let hits = all_pages(line);
            let mut ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "{line}: a passage repeated");
            assert!(n > 3, "{line}: expected several pages");
        }
        assert_eq!(Some(all_pages("/faq").len()), ask("/faq").total);
    }
}

/// Release notes, changelogs and blog posts repeat the docs' words about a feature, often
/// more of them; the docs page answers how it works now, and the news still answers when
/// asked for.
#[test]
fn docs_rank_above_release_notes_and_changelogs_that_repeat_their_words() {
    use super::util::{ask_engine, config_with, engine_for, fixtures};
    let data = fixtures().join("news/data");
    let index = tempfile::tempdir().unwrap();
    let ask_with = |news: f32, line: &str| {
        let mut config = config_with(&data, index.path());
        config.search.weights.news = news;
        ask_engine(&engine_for(&config), &config, line)
    };
    let question = "/ask run the tests against every python version with a matrix";
    // By words alone the release note wins: it says more of them.
    let plain = ask_with(1.0, question);
    assert_eq!(
        ids(&plain)[0],
        "blog/posts/release-2-0#matrix-improvements",
        "{plain:#?}"
    );
    let a = ask_with(careerbot::config::RankingWeights::default().news, question);
    assert_eq!(a.outcome, Outcome::Found, "{a:#?}");
    assert_eq!(ids(&a)[0], "guide/environments#matrix", "{a:#?}");
    // The news still answers: it follows, and asking for the release finds it first.
    assert_eq!(a.results.len(), 3, "{a:#?}");
    let a = ask_with(
        careerbot::config::RankingWeights::default().news,
        "/ask release 2.0 matrix improvements",
    );
    assert_eq!(
        ids(&a)[0],
        "blog/posts/release-2-0#matrix-improvements",
        "{a:#?}"
    );
}
