//! Signed `/ask` interactions per second, and latency, against the HTTP endpoint on
//! loopback — the load generator runs on the same machine (in this process). The 64-client
//! run is repeated with 2,000 idle connections held open (hostile clients that send
//! nothing), and the ratio of the two throughputs reported.
//!
//! Run: `cargo bench --bench http` (add `-- SECONDS` to change the 5 s per run).

mod common;
#[path = "../tests/suite/fake_discord.rs"]
mod fake_discord;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use careerbot::http::{self, Endpoint};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::json;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const QUESTIONS: &[&str] = &[
    "what mlops tools should I learn first",
    "senior salary india",
    "is llm experience required",
    "do ml engineers need math",
    "difference between ml engineer and data scientist",
    "google cloud certification",
    "model monitoring drift",
    "kubernetes docker serving",
];

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    // Server and idle clients share this process: 4,000 descriptors and more.
    let limit = careerbot::listener::raise_open_file_limit();
    assert!(
        limit >= 2 * IDLE as u64 + 512,
        "needs an open-file limit above {}",
        2 * IDLE + 512
    );
    // The server gets its own runtime; the load generator another: both share the 2 cores.
    let server = common::two_core_runtime();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(common::shipped_data(), tmp.path().join("index"));
    // The idle clients must stay for the whole run, not be closed on their deadline.
    config.http.idle_timeout_ms = 600_000;
    let shared = common::serving(config);
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let endpoint = Arc::new(Endpoint::new(
        shared,
        http::verifier_from_hex(&hex(key.verifying_key().as_bytes())).unwrap(),
        Arc::new(careerbot::bot::http_client("", Some("http://127.0.0.1:9"))),
    ));
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/interactions");
    server.spawn(http::serve(endpoint, listener, std::future::pending()));

    // Pre-signed requests, each a distinct interaction (the endpoint refuses replays);
    // signing is Discord's cost, not ours.
    let ts = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let pool = (seconds as usize) * 60_000;
    let requests: Vec<(Vec<u8>, String)> = (0..pool)
        .map(|i| {
            let body = serde_json::to_vec(&interaction(i, QUESTIONS[i % QUESTIONS.len()])).unwrap();
            let mut msg = ts.as_bytes().to_vec();
            msg.extend_from_slice(&body);
            (body, hex(&key.sign(&msg).to_bytes()))
        })
        .collect();

    let client_rt = common::two_core_runtime();
    println!("concurrency   requests   per second    p50 µs    p99 µs   (signed /ask on the shipped content, {seconds} s each)");
    let mut next = 0;
    let mut run = |concurrency: usize, label: &str| {
        let slice = Arc::new(requests[next..next + pool / 3].to_vec());
        next += pool / 3;
        let (n, rate, p50, p99) = client_rt.block_on(load(
            &url,
            &ts,
            &slice,
            concurrency,
            Duration::from_secs(seconds),
        ));
        println!("{concurrency:>11}   {n:>8}   {rate:>10.0}   {p50:>7.0}   {p99:>7.0}   {label}");
        rate
    };
    run(1, "");
    let clean = run(64, "");
    let idle = client_rt.block_on(async {
        let mut held = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        held
    });
    let crowded = run(64, "with 2,000 idle connections open");
    println!(
        "throughput with {IDLE} idle connections: {:.0} % of without",
        100.0 * crowded / clean
    );
    drop(idle);
}

/// Idle connections held open during the last run.
const IDLE: usize = 2000;

fn interaction(i: usize, question: &str) -> serde_json::Value {
    let user = 10_000 + i as u64;
    json!({
        "id": (1_000_000 + i).to_string(),
        "application_id": fake_discord::APP_ID.to_string(),
        "type": 2,
        "data": {"id": "5003", "name": "ask", "type": 1, "options": [{"name": "question", "type": 3, "value": question}]},
        "guild_id": fake_discord::GUILD_ID.to_string(),
        "channel_id": fake_discord::CHANNEL_ID.to_string(),
        "member": {"user": fake_discord::user_json(user), "roles": [], "deaf": false, "mute": false, "flags": 0,
                   "permissions": fake_discord::MEMBER_PERMISSIONS, "joined_at": "2025-01-01T00:00:00.000000+00:00"},
        "app_permissions": "1099511627775",
        "token": format!("tok-{i}"),
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "attachment_size_limit": 8388608
    })
}

async fn load(
    url: &str,
    ts: &str,
    requests: &Arc<Vec<(Vec<u8>, String)>>,
    concurrency: usize,
    duration: Duration,
) -> (usize, f64, f64, f64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    // Warm-up: open the connections.
    let warmup = concurrency.max(32);
    for (body, sig) in requests.iter().take(warmup) {
        send(&client, url, ts, body, sig).await;
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let url = url.to_string();
        let ts = ts.to_string();
        let requests = Arc::clone(requests);
        workers.push(tokio::spawn(async move {
            let warmup = warmup;
            let mut samples = Vec::new();
            let mut i = w + warmup;
            while started.elapsed() < duration && i < requests.len() {
                let (body, sig) = &requests[i];
                let t = Instant::now();
                send(&client, &url, &ts, body, sig).await;
                samples.push(t.elapsed());
                i += concurrency;
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = all.len();
    let (p50, p99) = common::p50_p99(&mut all);
    (n, n as f64 / elapsed, p50, p99)
}

async fn send(client: &reqwest::Client, url: &str, ts: &str, body: &[u8], sig: &str) {
    let r = client
        .post(url)
        .header("X-Signature-Ed25519", sig)
        .header("X-Signature-Timestamp", ts)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"{"), "not an interaction response");
}
