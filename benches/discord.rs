//! Round trip through the real bot: from the fake Discord writing INTERACTION_CREATE on the
//! gateway to it receiving the interaction callback, on the shipped content; and a forum
//! suggestion, from THREAD_CREATE to the suggestion's post (the starter message read over
//! REST in between).
//!
//! Run: `cargo bench --bench discord` (`CAREERBOT_BENCH_SEMANTIC=1` ranks by meaning too)

mod common;
#[path = "../tests/suite/fake_discord.rs"]
mod fake_discord;

use std::sync::Arc;
use std::time::Duration;

use careerbot::bot;
use serde_json::json;

use fake_discord::{FakeDiscord, MEMBER_PERMISSIONS};

const N: usize = 1000;
const FORUM: u64 = 800_000_000_000_000_001;
const CONCURRENCY: usize = 32;

fn main() {
    careerbot::semantic::prepare_process();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

fn commands() -> Vec<(&'static str, serde_json::Value)> {
    let o = |n: &str, v: &str| json!({"name": n, "type": 3, "value": v});
    vec![
        (
            "salary",
            json!([o("level", "senior"), o("region", "india")]),
        ),
        ("certs", json!([o("provider", "gcp")])),
        (
            "ask",
            json!([o("question", "what mlops tools should I learn first")]),
        ),
        ("levels", json!([o("level", "junior")])),
    ]
}

async fn run() {
    let fake = Arc::new(FakeDiscord::start().await);
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(common::shipped_data(), tmp.path().join("index"));
    config.discord.api_base = Some(fake.base());
    config.suggest.enabled = true;
    config.suggest.channels = vec![FORUM];
    let shared = common::serving(config);
    tokio::spawn(bot::run(
        Arc::clone(&shared),
        "ZmFrZQ.fake.token",
        std::future::pending(),
    ));
    fake.registered().await;
    let cmds = Arc::new(commands());

    // Warm-up.
    for i in 0..100 {
        round_trip(&fake, &cmds, i).await;
    }

    let mut seq = Vec::with_capacity(N);
    for i in 0..N {
        seq.push(round_trip(&fake, &cmds, i).await);
    }
    let (p50, p99) = common::p50_p99(&mut seq);
    println!("sequential      {N} interactions   p50 {p50:>8.0} µs   p99 {p99:>8.0} µs");

    // The message command against /ask on the same questions, alternating.
    let (mut asked, mut on_message) = (Vec::new(), Vec::new());
    for i in 0..N / 2 {
        let question = format!("what mlops tools should I learn first ({i})");
        let user = 20_000 + i as u64;
        let slash = fake.command(
            "ask",
            json!([{"name": "question", "type": 3, "value": question}]),
            user,
            MEMBER_PERMISSIONS,
        );
        asked.push(timed(&fake, slash).await);
        let message = fake.message_command("Ask careerbot", 7, &question, user);
        on_message.push(timed(&fake, message).await);
    }
    let (a50, a99) = common::p50_p99(&mut asked);
    let (m50, m99) = common::p50_p99(&mut on_message);
    println!(
        "Ask careerbot   {} interactions   p50 {m50:>8.0} µs   p99 {m99:>8.0} µs   (/ask on the same questions: p50 {a50:.0} µs, p99 {a99:.0} µs)",
        N / 2
    );

    // Forum suggestions: each a new post the guide answers, decided and posted.
    let mut suggested = Vec::with_capacity(N / 2);
    for i in 0..N / 2 {
        let started = std::time::Instant::now();
        fake.new_post(
            FORUM,
            30_000 + i as u64,
            false,
            // A new text each time (with meaning, each is embedded), whose mark is a word no
            // guide has: every post reads, and ranks, alike.
            &format!("Salary for senior ML engineers in India? (q{i})"),
            "What do senior ML engineers earn in India these days?",
        );
        let posted = fake.channel_message(i + 1).await;
        suggested.push(started.elapsed());
        assert_eq!(posted.len(), i + 1, "one suggestion per post");
    }
    let (s50, s99) = common::p50_p99(&mut suggested);
    println!(
        "forum suggestion {} posts         p50 {s50:>8.0} µs   p99 {s99:>8.0} µs   (THREAD_CREATE to the suggestion posted)",
        N / 2
    );

    let started = std::time::Instant::now();
    let mut workers = Vec::new();
    for w in 0..CONCURRENCY {
        let fake = Arc::clone(&fake);
        let cmds = Arc::clone(&cmds);
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w..N).step_by(CONCURRENCY) {
                out.push(round_trip(&fake, &cmds, i).await);
            }
            out
        }));
    }
    let mut conc = Vec::with_capacity(N);
    for w in workers {
        conc.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    let (p50, p99) = common::p50_p99(&mut conc);
    println!(
        "{CONCURRENCY}-concurrent   {N} interactions   p50 {p50:>8.0} µs   p99 {p99:>8.0} µs   ({:.0} interactions/s)",
        N as f64 / elapsed.as_secs_f64()
    );
}

/// One interaction's round trip, as the fake measures it.
async fn timed(fake: &FakeDiscord, payload: serde_json::Value) -> Duration {
    let id = fake.dispatch(payload);
    let cb = fake.callback(id).await;
    assert_eq!(cb.status, 204, "{:?}", cb.body);
    cb.after
}

/// One interaction; the fake measures from writing it to receiving the callback.
async fn round_trip(
    fake: &FakeDiscord,
    cmds: &[(&'static str, serde_json::Value)],
    i: usize,
) -> Duration {
    let (name, options) = &cmds[i % cmds.len()];
    let mut options = options.clone();
    if *name == "ask" {
        // A new question each time: with semantic ranking on, each one is embedded (the
        // question cache would otherwise answer all but the first).
        options[0]["value"] = json!(format!("what mlops tools should I learn first ({i})"));
    }
    let payload = fake.command(name, options, 10_000 + i as u64, MEMBER_PERMISSIONS);
    timed(fake, payload).await
}
