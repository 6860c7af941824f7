//! Reload time (load + rebuild + swap) for the shipped content and synthetic corpora, and
//! answer latency while reloads run versus without. Before each reload of a synthetic corpus
//! 1 % of its passages change, as a moderator's edit does, so there is new text to index
//! (and, with semantic ranking, to embed).
//!
//! Run: `cargo bench --bench reload` (add sizes, e.g. `-- 10000`, to choose corpora;
//! `0` is the shipped content). `CAREERBOT_BENCH_SEMANTIC=1` reloads with the model (the
//! first build embeds every passage once; each reload then embeds only the changed ones).
//! A reload is *live* when the new content answers; with the model, the changed passages'
//! vectors follow in the background, and *complete* is when they are in.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use careerbot::answer::{Command, Request};
use careerbot::bot::core::Shared;
use careerbot::reload::Trigger;

use common::{p50_p99, question, Rng};

const RELOADS: usize = 5;

fn main() {
    // `RUST_LOG=careerbot=info` shows the reloads' own log lines (what each one embedded).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let sizes = common::sizes(&[0, 10_000, 100_000]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("corpus     passages  live p50 / max ms   complete p50 / max ms   live under answers p50 / max ms   answer p50/p99 µs idle   answer p50/p99 µs during reload   p99 ratio");
    for n in sizes {
        runtime.block_on(bench(n));
    }
}

async fn bench(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let data = if n == 0 {
        common::shipped_data()
    } else {
        let d = tmp.path().join("data");
        common::write_corpus(&d, n, 42);
        d
    };
    let shared = common::serving(common::config(data, tmp.path().join("index")));
    let passages = shared.engine().passage_count();

    let words = common::vocabulary();
    let mut rng = Rng::new(5);
    let questions: Arc<Vec<String>> =
        Arc::new((0..4000).map(|_| question(&mut rng, &words)).collect());

    // Answers without reloads.
    let idle = answer_loop(&shared, &questions, None);
    // Small corpora reload in milliseconds: run more of them so the window is long enough.
    let reloads = if n == 0 { RELOADS * 10 } else { RELOADS };
    let data = tmp.path().join("data");

    // Reloads alone, then while answers run: embedding competes with questions for the cores.
    let mut alone = Vec::new();
    let mut complete = Vec::new();
    for round in 0..reloads {
        let (live, all) = reload(&shared, n, &data, round).await;
        alone.push(live);
        complete.push(all);
    }

    // Answers while reloads run back to back.
    let busy = Arc::new(AtomicBool::new(true));
    let during = {
        let shared = Arc::clone(&shared);
        let questions = Arc::clone(&questions);
        let busy = Arc::clone(&busy);
        std::thread::spawn(move || answer_loop(&shared, &questions, Some(&busy)))
    };
    let mut busy_times = Vec::new();
    for round in reloads..2 * reloads {
        busy_times.push(reload(&shared, n, &data, round).await.0);
    }
    busy.store(false, Ordering::SeqCst);
    let during = during.join().unwrap();

    alone.sort();
    complete.sort();
    busy_times.sort();
    let ms = |times: &[Duration]| {
        (
            times[times.len() / 2].as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
        )
    };
    let ((a50, amax), (c50, cmax), (b50, bmax)) = (ms(&alone), ms(&complete), ms(&busy_times));
    let (i50, i99) = idle;
    let (d50, d99) = during;
    let name = if n == 0 {
        "shipped".to_string()
    } else {
        format!("{n}")
    };
    println!(
        "{name:<10} {passages:>8}  {a50:>6.0} / {amax:>6.0}       {c50:>8.0} / {cmax:>6.0}           {b50:>8.0} / {bmax:>6.0}                   {i50:>8.0} / {i99:>6.0}          {d50:>8.0} / {d99:>6.0}                 {:.2}×",
        d99 / i99
    );
}

/// One reload after editing 1 % of a synthetic corpus (the shipped content stays as it is):
/// how long until the new content answers, and until its vectors are in too.
async fn reload(shared: &Arc<Shared>, n: usize, data: &Path, round: usize) -> (Duration, Duration) {
    if n > 0 {
        edit_one_percent(data, n, round);
    }
    let t = Instant::now();
    let outcome = shared.reload(Trigger::Signal, false).await;
    assert!(outcome.is_ok());
    let live = t.elapsed();
    shared.reloads_settled().await;
    (live, t.elapsed())
}

/// Appends a sentence to the last passage of `passages / 100` files, so 1 % of the passages
/// change; different files each round.
fn edit_one_percent(data: &Path, passages: usize, round: usize) {
    let files = passages.div_ceil(common::PASSAGES_PER_FILE);
    let edits = (passages / 100).clamp(1, files);
    for i in 0..edits {
        let f = (i * files / edits + round) % files;
        let path = data.join(format!("guide-{f:05}.md"));
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        writeln!(file, "Revised in round {round} with note {i}.\n").unwrap();
    }
}

/// Answers questions one after another, like a steady stream of members; returns p50/p99.
/// With `busy`, runs until it is cleared (at least one pass over a few hundred questions).
fn answer_loop(shared: &Shared, questions: &[String], busy: Option<&AtomicBool>) -> (f64, f64) {
    let mut samples: Vec<Duration> = Vec::new();
    let mut i = 0;
    loop {
        let q = &questions[i % questions.len()];
        let request = Request::new(Command::ask(q));
        let t = Instant::now();
        let asker = careerbot::service::Asker::new(1, None, None);
        let reply = shared.reply(asker, &request, false, None).unwrap();
        std::hint::black_box(reply);
        samples.push(t.elapsed());
        i += 1;
        match busy {
            None if i >= 3000 => break,
            Some(b) if !b.load(Ordering::SeqCst) && i >= 300 => break,
            _ => {}
        }
    }
    p50_p99(&mut samples)
}
