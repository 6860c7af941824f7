//! Index build time and answer latency on synthetic corpora of 10k and 100k passages, with
//! tantivy's raw top-5 search on the same index as the yardstick.
//!
//! Run: `cargo bench --bench search` (add `-- 10000` to run one size only).

mod common;

use std::time::Instant;

use careerbot::answer::{self, Command, Request};
use careerbot::app;
use careerbot::content;
use careerbot::search::Engine;
use tantivy::collector::TopDocs;

use common::{p50_p99, question, Rng, LEVELS, REGIONS};

const QUERIES: usize = 3000;
const WARMUP: usize = 300;

fn main() {
    careerbot::semantic::prepare_process();
    let sizes = common::sizes(&[10_000, 100_000]);
    println!("size      step                                p50 µs     p99 µs");
    for n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        common::write_corpus(&data, n, 42);
        let mut config = common::config(data, tmp.path().join("index"));
        // Words only here; the model is attached below with stand-in passage vectors.
        config.search.semantic.enabled = false;

        let t = Instant::now();
        let report = content::load_dir(&config.data_dir, &app::vocabulary(&config));
        let load = t.elapsed();
        assert!(!report.has_errors(), "{:?}", report.diagnostics.first());
        let t = Instant::now();
        let mut engine = Engine::build(&config, &report.content).unwrap();
        let build = t.elapsed();
        println!(
            "{n:<9} load markdown              {:>9.0} ms ({} passages)",
            load.as_secs_f64() * 1e3,
            engine.passage_count()
        );
        println!(
            "{n:<9} build index (to disk)            {:>9.0} ms",
            build.as_secs_f64() * 1e3
        );

        let vocabulary = app::vocabulary(&config);
        let words = common::vocabulary();
        let mut rng = Rng::new(9);
        let questions: Vec<String> = (0..QUERIES + WARMUP)
            .map(|_| question(&mut rng, &words))
            .collect();

        // Yardsticks: tantivy's lenient parser (OR of words), top 5, no documents fetched;
        // once over the same fields answers search, once over the body alone. Each question
        // is timed by the yardsticks and by `/ask` in turn (the order rotating), so a noisy
        // moment on the machine weighs on all three alike and their ratios hold still.
        let parsers = [engine.raw_parser(true), engine.raw_parser(false)];
        let raw = |parser: &tantivy::query::QueryParser, q: &str| {
            let t = Instant::now();
            let searcher = engine.searcher();
            let (query, _) = parser.parse_query_lenient(q);
            let top = searcher
                .search(&query, &TopDocs::with_limit(5).order_by_score())
                .unwrap();
            std::hint::black_box(top);
            t.elapsed()
        };
        let ask = |engine: &Engine, q: &str| {
            let request = Request::new(Command::ask(q));
            let t = Instant::now();
            let a = answer::answer(engine, &vocabulary, &config.answers, &request).unwrap();
            std::hint::black_box(a);
            t.elapsed()
        };
        let mut times: [Vec<std::time::Duration>; 3] = Default::default();
        for (i, q) in questions.iter().enumerate() {
            let mut one = [std::time::Duration::ZERO; 3];
            for k in 0..3 {
                let which = (i + k) % 3;
                one[which] = match which {
                    0 | 1 => raw(&parsers[which], q),
                    _ => ask(&engine, q),
                };
            }
            if i >= WARMUP {
                for (t, d) in times.iter_mut().zip(one) {
                    t.push(d);
                }
            }
        }
        let [raw_all, raw_body, asked] = &mut times;
        let (raw50, raw99) = p50_p99(raw_all);
        let (body50, body99) = p50_p99(raw_body);
        let (ask50, ask99) = p50_p99(asked);
        for (label, p50, p99) in [
            ("raw tantivy top-5, same fields", raw50, raw99),
            ("raw tantivy top-5, body only", body50, body99),
        ] {
            println!("{n:<9} {label:<32} {p50:>9.1}  {p99:>9.1}");
        }
        println!(
            "{n:<9} {:<32} {ask50:>9.1}  {ask99:>9.1}   vs same fields: p50 {:.2}×, p99 {:.2}×; vs body only: p50 {:.2}×, p99 {:.2}×",
            "/ask answer (top 3 + snippets)",
            ask50 / raw50,
            ask99 / raw99,
            ask50 / body50,
            ask99 / body99
        );

        // `/ask` p50 and p99 over QUERIES questions after WARMUP, cycling through the first
        // `distinct` questions.
        let time_ask = |engine: &Engine, distinct: usize| {
            let mut times = Vec::with_capacity(QUERIES);
            for i in 0..QUERIES + WARMUP {
                let d = ask(engine, &questions[i % distinct]);
                if i >= WARMUP {
                    times.push(d);
                }
            }
            p50_p99(&mut times)
        };

        if std::env::var_os("BENCH_DETAIL").is_some() {
            let mut an = Vec::new();
            let mut se = Vec::new();
            for q in &questions[WARMUP..] {
                let t = Instant::now();
                std::hint::black_box(engine.analyze(q).unwrap());
                an.push(t.elapsed());
                let t = Instant::now();
                std::hint::black_box(
                    engine
                        .search(&careerbot::search::SearchRequest {
                            text: q,
                            limit: 3,
                            ..Default::default()
                        })
                        .unwrap(),
                );
                se.push(t.elapsed());
            }
            // The slowest questions, each timed again (best of 5) against raw tantivy's time
            // for the same text, to see what the tail is made of.
            let parser = engine.raw_parser(true);
            let best = |f: &dyn Fn()| {
                (0..5)
                    .map(|_| {
                        let t = Instant::now();
                        f();
                        t.elapsed()
                    })
                    .min()
                    .unwrap()
            };
            let mut slow: Vec<(std::time::Duration, std::time::Duration, &String)> = questions
                [WARMUP..]
                .iter()
                .map(|q| {
                    let ask = best(&|| {
                        let request = Request::new(Command::ask(q));
                        std::hint::black_box(
                            answer::answer(&engine, &vocabulary, &config.answers, &request)
                                .unwrap(),
                        );
                    });
                    let raw = best(&|| {
                        let (query, _) = parser.parse_query_lenient(q);
                        std::hint::black_box(
                            engine
                                .searcher()
                                .search(&query, &TopDocs::with_limit(5).order_by_score())
                                .unwrap(),
                        );
                    });
                    (ask, raw, q)
                })
                .collect();
            slow.sort_by_key(|&(ask, _, _)| std::cmp::Reverse(ask));
            for (ask, raw, q) in slow.iter().take(15) {
                println!(
                    "{n:<9}   slow: /ask {:>6.0} µs, raw {:>6.0} µs  {q:?}",
                    ask.as_secs_f64() * 1e6,
                    raw.as_secs_f64() * 1e6
                );
            }
            let (a50, a99) = p50_p99(&mut an);
            let (s50, s99) = p50_p99(&mut se);
            println!(
                "{n:<9} {:<32} {a50:>9.1}  {a99:>9.1}",
                "  of which: analyze"
            );
            println!(
                "{n:<9} {:<32} {s50:>9.1}  {s99:>9.1}",
                "  of which: search + snippets"
            );
        }
        let mut salary = Vec::with_capacity(QUERIES);
        for i in 0..QUERIES + WARMUP {
            let request = Request::new(
                Command::from_options(
                    "salary",
                    [
                        ("level", rng.pick(LEVELS).to_string()),
                        ("region", rng.pick(REGIONS).to_string()),
                    ],
                )
                .unwrap(),
            );
            let t = Instant::now();
            let a = answer::answer(&engine, &vocabulary, &config.answers, &request).unwrap();
            std::hint::black_box(a);
            if i >= WARMUP {
                salary.push(t.elapsed());
            }
        }
        let (s50, s99) = p50_p99(&mut salary);
        println!(
            "{n:<9} {:<32} {s50:>9.1}  {s99:>9.1}",
            "/salary answer (filter + rank)"
        );

        let Some(model) = common::model() else {
            println!(
                "{n:<9} (semantic ranking skipped: install the model or set CAREERBOT_MODEL_DIR)"
            );
            continue;
        };
        // Passage vectors are random unit vectors (embedding 100k passages for real would take
        // an hour): what is measured is the question's embedding, the scan and the fusion.
        let t = Instant::now();
        let embed = |texts: &[&str]| {
            Ok::<_, careerbot::semantic::EmbedError>(
                texts.iter().map(|t| common::random_unit(t)).collect(),
            )
        };
        assert!(engine.attach_vectors(model, &embed));
        engine.set_semantic(careerbot::config::SemanticConfig {
            enabled: true,
            ..config.search.semantic.clone()
        });
        println!(
            "{n:<9} attach random passage vectors   {:>9.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        // Every question new (the question cache misses), then 100 questions asked again and
        // again (it hits).
        for (label, distinct) in [
            ("/ask with meaning, new questions", QUERIES + WARMUP),
            ("/ask with meaning, cached question", 100),
        ] {
            let (m50, m99) = time_ask(&engine, distinct);
            println!(
                "{n:<9} {label:<32} {m50:>9.1}  {m99:>9.1}   vs words only: p50 {:.1}×, p99 {:.1}×",
                m50 / ask50,
                m99 / ask99
            );
        }
    }
}
