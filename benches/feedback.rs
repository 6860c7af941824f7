//! Recording questions: what it adds to the answer path, whether 2,000 recorded answers a
//! second are written with no drops, and how long `/gaps` takes over 1M recorded questions;
//! on SQLite, and on PostgreSQL when `initdb`/`pg_ctl` are installed (a server of our own
//! on 127.0.0.1).
//!
//! Run: `cargo bench --bench feedback` (add `-- ROWS` to change the 1,000,000).

mod common;
#[path = "../tests/suite/postgres.rs"]
mod postgres;

use std::sync::Arc;
use std::time::{Duration, Instant};

use careerbot::answer::{Command, Request};
use careerbot::config::Config;
use careerbot::feedback::{self, Db, Record};
use careerbot::service::{Asker, Shared};

use common::{p50_p99, question, Rng};

const ANSWERS: usize = 20_000;

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = common::two_core_runtime();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(common::shipped_data(), tmp.path().join("index"));
    config.database.path = tmp.path().join("careerbot.db");
    runtime.block_on(answer_path(&config));

    let pg = postgres::Postgres::start();
    let mut stores = vec![("SQLite", config.clone())];
    if let Some(pg) = &pg {
        let mut c = config.clone();
        c.database.url = Some(pg.url.clone());
        stores.push(("PostgreSQL", c));
    }
    println!("store        2,000 recorded answers/s for 10 s: written / dropped   /gaps over {rows} rows, 30 days (p50 of 5)");
    for (name, config) in stores {
        let (written, dropped) = runtime.block_on(sustained(&config));
        let gaps = runtime.block_on(gaps_over(&config, rows));
        println!(
            "{name:<12} {written:>10} / {dropped:<10}                              {:>8.0} ms",
            gaps.as_secs_f64() * 1e3
        );
    }
}

/// `/ask` answered through the service, with recording off then on: what recording adds.
async fn answer_path(config: &Config) {
    let words = common::vocabulary();
    let mut rng = Rng::new(3);
    let questions: Vec<String> = (0..ANSWERS).map(|_| question(&mut rng, &words)).collect();
    let run = |record: bool| {
        let mut c = config.clone();
        c.feedback.enabled = record;
        let shared = common::serving(c);
        shared.start_recording();
        let mut samples = Vec::with_capacity(ANSWERS);
        for (i, q) in questions.iter().enumerate() {
            let request = Request::new(Command::ask(q));
            let asker = Asker::new(i as u64 % 500, Some(1), Some(2));
            let t = Instant::now();
            let reply = shared.reply(asker, &request, false, None).unwrap();
            samples.push(t.elapsed());
            std::hint::black_box(reply);
        }
        (p50_p99(&mut samples), shared)
    };
    // Warm up the index and the allocator once, unmeasured.
    run(false);
    let ((off50, off99), _) = run(false);
    let ((on50, on99), recording) = run(true);
    // Written before the next measurement starts, so that it counts only its own records.
    recording.finish().await;
    println!(
        "answer path, {ANSWERS} /ask: recording off p50 {off50:.0} µs / p99 {off99:.0} µs; on p50 {on50:.0} µs / p99 {on99:.0} µs (+{:.0} µs at p99)",
        on99 - off99
    );
}

/// Hands the recorder 2,000 records a second for ten seconds; returns (written, dropped).
async fn sustained(config: &Config) -> (i64, i64) {
    let db = feedback::open(config).await.unwrap();
    let before = db.count().await.unwrap();
    let mut c = config.clone();
    c.feedback.enabled = true;
    let shared: Arc<Shared> = common::serving(c);
    shared.start_recording();
    let recorder = Arc::clone(shared.recorder.get().unwrap());
    let sent = 20_000;
    let started = Instant::now();
    for i in 0..sent {
        // Paced in steps of 20 records every 10 ms.
        if i % 20 == 0 {
            let due = Duration::from_millis((i / 20 * 10) as u64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        recorder.record(record(i as i64, feedback::now()));
    }
    let mut written = 0;
    for _ in 0..300 {
        written = db.count().await.unwrap() - before;
        if written >= sent as i64 || recorder.waiting() == 0 && written > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            written = db.count().await.unwrap() - before;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (written, sent as i64 - written)
}

/// Fills the store to `rows` questions over the last 60 days, then times the 30-day report.
async fn gaps_over(config: &Config, rows: usize) -> Duration {
    let db: Db = feedback::open(config).await.unwrap();
    let have = db.count().await.unwrap() as usize;
    let now = feedback::now();
    let mut rng = Rng::new(11);
    let mut batch = Vec::with_capacity(5_000);
    for i in have..rows {
        let at = now - (rng.next() % (60 * 86_400)) as i64;
        batch.push(record(i as i64 + 1_000_000_000, at));
        if batch.len() == 5_000 {
            db.insert(&batch).await.unwrap();
            batch.clear();
        }
    }
    db.insert(&batch).await.unwrap();
    // As the daily purge leaves it.
    db.maintain().await.unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let gaps = db.gaps(now - 30 * 86_400, 20, None).await.unwrap();
        times.push(t.elapsed());
        std::hint::black_box(gaps);
    }
    times.sort();
    times[2]
}

/// A recorded question: one of 5,000 questions, a third of them unanswered, from one of
/// 2,000 members.
fn record(i: i64, at: i64) -> Record {
    let q = i % 5_000;
    Record {
        id: i * 7_919 + 1,
        at,
        command: "ask".into(),
        question: format!("question number {q}"),
        outcome: if q % 3 == 0 { "not_found" } else { "found" }.into(),
        passages: vec![(format!("guide/p{}", q % 300), 1.5)],
        notes: Vec::new(),
        content_version: format!("{:016x}", (at / 86_400) % 4),
        guild_id: Some(1),
        channel_id: Some(2),
        member_id: None,
        member: Some(format!("{:064x}", i % 2_000)),
    }
}
