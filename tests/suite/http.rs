//! HTTP interactions mode: Ed25519-verified requests answered by the same core as the
//! gateway; refusals that run no handler; `/healthz` and `/metrics`; sharding reaching
//! serenity.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use careerbot::bot::core::Shared;
use careerbot::config::ShardsConfig;
use careerbot::http::{self, Endpoint};
use careerbot::{app, content, search::Engine};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use super::fake_discord::{FakeDiscord, MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS};
use super::harness::{Metrics, TestBot};
use super::util::{config_with, root};

/// A fresh key pair for this test run.
pub(super) fn key_pair() -> SigningKey {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    SigningKey::from_bytes(&seed)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn now() -> String {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

pub(super) struct Server {
    pub(super) base: String,
    /// The private ops listener (`/metrics`).
    pub(super) ops: String,
    pub(super) key: SigningKey,
    pub(super) fake: FakeDiscord,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(super) async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    /// Cooldowns off and a 16 KiB body limit, unless `tweak` changes them.
    pub(super) async fn start_with(tweak: impl FnOnce(&mut careerbot::config::Config)) -> Server {
        Self::start_observed(tweak, careerbot::ops::metrics_handle().clone()).await
    }

    /// With `/metrics` read from `metrics` (a test's own recorder: see `harness::Metrics`).
    pub(super) async fn start_observed(
        tweak: impl FnOnce(&mut careerbot::config::Config),
        metrics: metrics_exporter_prometheus::PrometheusHandle,
    ) -> Server {
        Self::start_replica(tweak, metrics, key_pair()).await
    }

    /// One of several replicas of one application: they verify requests with `key`'s public
    /// half, as Discord's public key.
    pub(super) async fn start_replica(
        tweak: impl FnOnce(&mut careerbot::config::Config),
        metrics: metrics_exporter_prometheus::PrometheusHandle,
        key: SigningKey,
    ) -> Server {
        super::harness::logs();
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_with(&root().join("data"), &dir.path().join("index"));
        config.discord.cooldown_seconds = 0;
        config.http.max_body_bytes = 16 * 1024;
        tweak(&mut config);
        let report = content::load_dir(&config.data_dir, &app::vocabulary(&config));
        let engine = Engine::build(&config, &report.content).unwrap();
        let shared = Shared::with_metrics(config, engine, metrics);
        let endpoint = Arc::new(Endpoint::new(
            Arc::clone(&shared),
            http::verifier_from_hex(&hex(key.verifying_key().as_bytes())).unwrap(),
            Arc::new(careerbot::bot::http_client("", Some(&fake.base()))),
        ));
        let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ops_base = format!("http://{}", ops.local_addr().unwrap());
        tokio::spawn(careerbot::ops::serve(Arc::clone(&shared), ops));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(http::serve(endpoint, listener, std::future::pending()));
        Server {
            base,
            ops: ops_base,
            key,
            fake,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub(super) async fn post_raw(
        &self,
        body: Vec<u8>,
        signature: Option<String>,
        timestamp: Option<String>,
    ) -> (u16, Vec<u8>) {
        let mut req = self
            .client
            .post(format!("{}/interactions", self.base))
            .body(body);
        if let Some(s) = signature {
            req = req.header("X-Signature-Ed25519", s);
        }
        if let Some(t) = timestamp {
            req = req.header("X-Signature-Timestamp", t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    pub(super) fn sign(&self, key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex(&key.sign(&message).to_bytes())
    }

    /// A correctly signed request; returns the status and the JSON response.
    pub(super) async fn post(&self, payload: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(payload).unwrap();
        let ts = now();
        let sig = self.sign(&self.key, &ts, &body);
        let (status, bytes) = self.post_raw(body, Some(sig), Some(ts)).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `GET` on the public listener.
    pub(super) async fn get(&self, path: &str) -> (u16, String) {
        self.get_from(&self.base, path).await
    }

    /// `GET /metrics` on the private ops listener.
    pub(super) async fn metrics(&self) -> String {
        let (status, text) = self.get_from(&self.ops, "/metrics").await;
        assert_eq!(status, 200, "{text}");
        text
    }

    pub(super) async fn get_from(&self, base: &str, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

pub(super) fn opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ping_gets_pong() {
    let s = Server::start().await;
    let (status, body) = s
        .post(&json!({"id": "1", "application_id": "2", "type": 1, "token": "t", "version": 1}))
        .await;
    assert_eq!((status, body), (200, json!({"type": 1})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_match_the_gateway_mode() {
    let s = Server::start().await;
    let bot = TestBot::start(|_| {}).await;
    for (name, options) in [
        (
            "salary",
            json!([opt("level", "senior"), opt("region", "india")]),
        ),
        ("certs", json!([opt("provider", "gcp")])),
        (
            "ask",
            json!([opt("question", "what mlops tools should I learn first")]),
        ),
        ("faq", json!([])),
    ] {
        let payload = s
            .fake
            .command(name, options.clone(), 42, MEMBER_PERMISSIONS);
        let (status, over_http) = s.post(&payload).await;
        assert_eq!(status, 200);
        assert_eq!(over_http["type"], 4);

        let id = bot
            .fake
            .dispatch(bot.fake.command(name, options, 42, MEMBER_PERMISSIONS));
        let over_gateway = bot.fake.callback(id).await;
        assert_eq!(
            over_http["data"]["embeds"],
            over_gateway.data()["embeds"],
            "{name}"
        );
        assert_eq!(
            over_http["data"]["components"],
            over_gateway.data()["components"],
            "{name}"
        );
        assert_eq!(over_http["data"]["allowed_mentions"]["parse"], json!([]));
    }
    let (_, salary) = s
        .post(&s.fake.command(
            "salary",
            json!([opt("level", "senior"), opt("region", "india")]),
            1,
            MEMBER_PERMISSIONS,
        ))
        .await;
    assert!(super::fake_discord::embed_text(&salary["data"]).contains("₹50–100 LPA"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autocomplete_and_buttons_work_over_http() {
    let s = Server::start().await;
    let (_, r) = s
        .post(&s.fake.autocomplete("certs", "provider", "aw", 1))
        .await;
    assert_eq!(r["type"], 8);
    assert_eq!(r["data"]["choices"][0]["value"], "aws");

    let (_, first) = s
        .post(&s.fake.command("faq", json!([]), 7, MEMBER_PERMISSIONS))
        .await;
    let custom_id = first["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, turned) = s.post(&s.fake.button(&custom_id, 7)).await;
    assert_eq!(turned["type"], 7);
    assert!(super::fake_discord::embed_text(&turned["data"]).contains("Page 2 of 2"));
    let (_, refused) = s.post(&s.fake.button(&custom_id, 8)).await;
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
}

/// "Ask careerbot" over HTTP: the same reading of the message as the gateway's; with
/// `ping_author`, the author (and only the author) may be notified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn message_commands_work_over_http() {
    let s = Server::start_with(|c| c.discord.ping_author = true).await;
    let author: u64 = 700_000_000_000_000_009;
    let payload = s.fake.message_command(
        "Ask careerbot",
        author,
        "which certifications should I take? see https://example.com",
        7,
    );
    let (status, body) = s.post(&payload).await;
    assert_eq!((status, body["type"].as_u64()), (200, Some(4)), "{body}");
    let content = body["data"]["content"].as_str().unwrap();
    assert!(
        content.starts_with(&format!("Answer for <@{author}>'s [question]")),
        "{content}"
    );
    assert_eq!(
        body["data"]["allowed_mentions"]["users"],
        json!([author.to_string()])
    );
    assert_eq!(body["data"]["allowed_mentions"]["parse"], json!([]));
    assert!(
        super::fake_discord::embed_text(&body["data"]).contains("Certifications"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_are_refused_before_any_handler_runs() {
    // A handler that answers publicly starts the member's cooldown: the mark a refused
    // request must not leave.
    let s = Server::start_with(|c| c.discord.cooldown_seconds = 3600).await;
    let payload = serde_json::to_vec(&s.fake.command(
        "certs",
        json!([opt("provider", "gcp")]),
        1,
        MEMBER_PERMISSIONS,
    ))
    .unwrap();
    let ts = now();
    let good = s.sign(&s.key, &ts, &payload);

    // Another key.
    let other = key_pair();
    assert_eq!(
        s.post_raw(
            payload.clone(),
            Some(s.sign(&other, &ts, &payload)),
            Some(ts.clone())
        )
        .await
        .0,
        401
    );
    // A body changed after signing.
    let mut tampered = payload.clone();
    let at = tampered.iter().position(|&b| b == b'g').unwrap();
    tampered[at] = b'a';
    assert_eq!(
        s.post_raw(tampered, Some(good.clone()), Some(ts.clone()))
            .await
            .0,
        401
    );
    // Missing headers.
    assert_eq!(
        s.post_raw(payload.clone(), None, Some(ts.clone())).await.0,
        401
    );
    assert_eq!(
        s.post_raw(payload.clone(), Some(good.clone()), None)
            .await
            .0,
        401
    );
    // Stale (an hour old, correctly signed) and garbage timestamps.
    let old = (ts.parse::<u64>().unwrap() - 3600).to_string();
    assert_eq!(
        s.post_raw(
            payload.clone(),
            Some(s.sign(&s.key, &old, &payload)),
            Some(old)
        )
        .await
        .0,
        401
    );
    assert_eq!(
        s.post_raw(
            payload.clone(),
            Some(s.sign(&s.key, "soon", &payload)),
            Some("soon".into())
        )
        .await
        .0,
        401
    );
    // A signature that is not hex.
    assert_eq!(
        s.post_raw(payload.clone(), Some("zz".repeat(64)), Some(ts.clone()))
            .await
            .0,
        401
    );

    // Signed but malformed: 400.
    let junk = b"{not json".to_vec();
    assert_eq!(
        s.post_raw(
            junk.clone(),
            Some(s.sign(&s.key, &ts, &junk)),
            Some(ts.clone())
        )
        .await
        .0,
        400
    );
    let wrong_shape = br#"{"type": "banana"}"#.to_vec();
    assert_eq!(
        s.post_raw(
            wrong_shape.clone(),
            Some(s.sign(&s.key, &ts, &wrong_shape)),
            Some(ts.clone())
        )
        .await
        .0,
        400
    );
    // Over the body limit: 413.
    // The server answers 413 without reading the rest and closes the connection: the client
    // sees the status or, when it is still sending, the connection closed under it. Either
    // way, refused. (A client of its own, so no later request reuses that connection.)
    let huge = vec![b' '; 64 * 1024];
    let sent = reqwest::Client::new()
        .post(format!("{}/interactions", s.base))
        .header("X-Signature-Ed25519", s.sign(&s.key, &ts, &huge))
        .header("X-Signature-Timestamp", ts.clone())
        .body(huge)
        .send()
        .await;
    match sent {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }

    // The good request is this member's first answer, so public: no refused request ran a
    // handler. Sent again, it is a replay.
    let (status, body) = s
        .post_raw(payload.clone(), Some(good.clone()), Some(ts.clone()))
        .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, body["type"].as_u64()), (200, Some(4)));
    assert_eq!(body["data"]["flags"], 0, "public: {body}");
    assert_eq!(s.post_raw(payload, Some(good), Some(ts)).await.0, 401);
    // And a handler that runs does leave the mark: the next answer is private.
    let again = s
        .post(&s.fake.command(
            "certs",
            json!([opt("provider", "aws")]),
            1,
            MEMBER_PERMISSIONS,
        ))
        .await
        .1;
    assert_eq!(again["data"]["flags"], 64, "{again}");
}

#[test]
fn metrics_move_and_health_is_ready() {
    let metrics = Metrics::new();
    metrics.run(metrics_move(metrics.handle.clone()));
}

/// Counts read from this test's own recorder: exact, whatever other tests answer meanwhile.
async fn metrics_move(handle: metrics_exporter_prometheus::PrometheusHandle) {
    let s = Server::start_observed(|_| {}, handle).await;
    let (status, health) = s.get_from(&s.ops, "/healthz").await;
    assert_eq!(status, 200, "{health}");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["passages"], 30);
    assert_eq!(health["shards"], Value::Null, "no gateway in HTTP mode");
    // The public listener says up or down, nothing more.
    let (status, public) = s.get("/healthz").await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(
        serde_json::from_str::<Value>(&public).unwrap(),
        json!({"status": "ok"})
    );
    assert_eq!(s.get("/metrics").await.0, 404, "metrics stay private");

    let count = |text: &str, series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let series = r#"careerbot_interactions_total{command="levels",outcome="found"}"#;
    let before = count(&s.metrics().await, series);
    for _ in 0..3 {
        s.post(&s.fake.command(
            "levels",
            json!([opt("level", "senior")]),
            5,
            MEMBER_PERMISSIONS,
        ))
        .await;
    }
    s.post(&s.fake.command(
        "ask",
        json!([opt("question", "quokka")]),
        5,
        MEMBER_PERMISSIONS,
    ))
    .await;
    let text = s.metrics().await;
    assert_eq!(count(&text, series), before + 3.0, "{text}");
    assert!(
        text.contains(r#"careerbot_zero_result_answers_total{command="ask"}"#),
        "{text}"
    );
    assert!(text.contains("careerbot_answer_seconds_bucket"), "{text}");
    assert!(text.contains("careerbot_passages_indexed"), "{text}");
    assert!(text.contains("careerbot_content_info{version="), "{text}");
    assert_eq!(s.post_raw(b"{}".to_vec(), None, None).await.0, 401);
    let text = s.metrics().await;
    assert!(
        text.contains(r#"careerbot_http_rejected_total{reason="missing signature headers"}"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_over_http_is_deferred_then_edited() {
    let s = Server::start().await;
    let refused = s
        .post(&s.fake.command("reload", json!([]), 9, MEMBER_PERMISSIONS))
        .await
        .1;
    assert_eq!(refused["type"], 4);
    assert!(super::fake_discord::embed_text(&refused["data"]).contains("Only moderators"));

    let payload = s.fake.command(
        "reload",
        json!([{"name": "dry_run", "type": 5, "value": true}]),
        9,
        MODERATOR_PERMISSIONS,
    );
    let id: u64 = payload["id"].as_str().unwrap().parse().unwrap();
    let (status, deferred) = s.post(&payload).await;
    assert_eq!((status, deferred["type"].as_u64()), (200, Some(5)));
    assert_eq!(deferred["data"]["flags"], 64);
    // Discord now knows the interaction was answered; the edit can land.
    s.fake.acknowledge(id, payload["token"].as_str().unwrap());
    let calls = s.fake.webhook_calls(id, 1).await;
    let text = super::fake_discord::embed_text(&calls.last().unwrap().body);
    assert!(text.contains("Dry run"), "{text}");
    assert_eq!(calls.last().unwrap().method, "PATCH");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_health_follows_the_shards() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let bot = TestBot::start(|c| {
        c.ops.listen = Some(addr);
        c.http.idle_timeout_ms = 300;
    })
    .await;
    // The gateway's ops listener has the same deadlines as the public one.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "a silent connection to the ops listener is closed: {read:?}"
    );
    let get = || async move {
        let r = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let mut ready = get().await;
    for _ in 0..50 {
        if ready.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        ready = get().await;
    }
    assert_eq!(ready.0, 200, "{:?}", ready.1);
    assert_eq!(ready.1["shards"], json!({"connected": 1, "total": 1}));
    bot.stop().await;
    // The endpoint stops with the bot: a load balancer sees it gone, not "ready".
    let after = reqwest::get(format!("http://{addr}/healthz")).await;
    assert!(after.is_err(), "still answering after stop: {after:?}");
}

/// With `shards = "auto"`, ready means every shard Discord recommends is connected, not
/// every shard started so far: serenity boots them five seconds apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_health_waits_for_every_recommended_shard() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let fake = FakeDiscord::start().await;
    fake.recommend_shards(2);
    let bot = TestBot::start_on(fake, &root().join("data"), |c| {
        c.ops.listen = Some(addr);
        c.discord.shards = ShardsConfig::Auto;
    })
    .await;
    let get = || async move {
        let r = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    // Generous: serenity waits five seconds before the second shard, and a loaded CI
    // machine adds to that.
    let poll = |until: fn(&(u16, Value)) -> bool| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        let mut last = get().await;
        while !until(&last) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            last = get().await;
        }
        last
    };
    let one_up = poll(|(_, body)| body["shards"]["connected"] == 1).await;
    assert_eq!(
        one_up,
        (503, one_up.1.clone()),
        "one of two shards is not ready"
    );
    assert_eq!(one_up.1["shards"], json!({"connected": 1, "total": 2}));
    let all_up = poll(|(status, _)| *status == 200).await;
    assert_eq!(all_up.1["shards"], json!({"connected": 2, "total": 2}));
    // No third shard follows five seconds later (serenity's shard range is inclusive).
    let shards = || -> Vec<Value> {
        let payloads = bot.fake.identify_payloads();
        payloads.iter().map(|d| d["shard"].clone()).collect()
    };
    for _ in 0..80 {
        if shards().len() > 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shards = shards();
    assert_eq!(shards, vec![json!([0, 2]), json!([1, 2])]);
    assert_eq!(get().await.0, 200);
    bot.stop().await;
}

/// An empty but valid content set is a loaded index: the replica answers ("nothing found"),
/// so it is ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_is_ready_with_an_empty_guide() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = config_with(&data, &dir.path().join("index"));
    let report = content::load_dir(&config.data_dir, &app::vocabulary(&config));
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let engine = Engine::build(&config, &report.content).unwrap();
    let shared = Shared::new(config, engine);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(careerbot::ops::serve(shared, listener));
    let r = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["passages"].as_u64()),
        (Some("ok"), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explicit_shards_reach_serenity() {
    let bot = TestBot::start(|c| {
        c.discord.shards = ShardsConfig::Fixed {
            total: 4,
            range: (2, 3),
        }
    })
    .await;
    let identify = bot.fake.identify_payloads();
    assert_eq!(identify.len(), 1);
    assert_eq!(identify[0]["shard"], json!([2, 4]), "{}", identify[0]);
    bot.stop().await;

    let bot = TestBot::start(|_| {}).await;
    assert_eq!(
        bot.fake.identify_payloads()[0]["shard"],
        json!([0, 1]),
        "autosharded from /gateway/bot"
    );
    bot.stop().await;
}
