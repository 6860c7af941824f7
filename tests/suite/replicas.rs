//! Two HTTP replicas of one application on one PostgreSQL server (started by the test on
//! 127.0.0.1): a member's cooldown holds on both, a request replayed to the other replica
//! is refused, and a `/reload` on one reaches the other.

use std::time::Duration;

use serde_json::{json, Value};

use super::fake_discord::{embed_text, MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS};
use super::http::{key_pair, opt, Server};
use super::postgres::Postgres;
use super::util::{copy_dir, root};

/// Waits (bounded) until the replica's shared store is connected.
async fn sharing(replica: &Server) {
    for _ in 0..500 {
        let (_, health) = replica.get_from(&replica.ops, "/healthz").await;
        let health: Value = serde_json::from_str(&health).unwrap_or(Value::Null);
        if health["replicas"]["shared_store"] == "ok" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the replica never connected to the shared store");
}

/// An `/ask` interaction. Every payload comes from replica `a`'s fake Discord, so that ids
/// are unique across both replicas, as Discord's are (the replay check is shared).
fn ask(a: &Server, member: u64, question: &str) -> Value {
    a.fake.command(
        "ask",
        json!([opt("question", question)]),
        member,
        MEMBER_PERMISSIONS,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_one_postgres_share_cooldowns_replays_and_reloads() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    copy_dir(&root().join("data"), data.path());
    let key = key_pair();
    let start = || {
        Server::start_replica(
            |c| {
                c.database.url = Some(pg.url.clone());
                c.discord.cooldown_seconds = 60;
                c.data_dir = data.path().to_path_buf();
            },
            careerbot::ops::metrics_handle().clone(),
            key.clone(),
        )
    };
    let (a, b) = (start().await, start().await);
    sharing(&a).await;
    sharing(&b).await;

    // A public answer on one replica starts the member's cooldown on both.
    let (_, first) = a.post(&ask(&a, 5, "mlops tools")).await;
    assert_eq!(
        first["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "{first}"
    );
    let (_, second) = b.post(&ask(&a, 5, "mlops tools")).await;
    assert_eq!(second["data"]["flags"], 64, "{second}");
    assert!(
        embed_text(&second["data"]).contains("You asked a moment ago"),
        "{second}"
    );
    let (_, other) = b.post(&ask(&a, 6, "mlops tools")).await;
    assert_eq!(
        other["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "another member: public"
    );

    // A request seen by one replica is a replay on the other.
    let payload = ask(&a, 7, "resume");
    assert_eq!(a.post(&payload).await.0, 200);
    assert_eq!(
        b.post(&payload).await.0,
        401,
        "replayed on the other replica"
    );

    // A moderator's /reload on one replica reaches the other.
    let before = b.post(&ask(&a, 8, "quokka wrangling")).await.1;
    assert!(
        !embed_text(&before["data"]).contains("pays in smiles"),
        "{before}"
    );
    std::fs::write(
        data.path().join("zz-replicas.md"),
        "# Quokka wrangling\n\nQuokka wrangling pays in smiles; this guide covers it only in a test.\n",
    )
    .unwrap();
    let reload = a
        .fake
        .command("reload", json!([]), 9, MODERATOR_PERMISSIONS);
    let id: u64 = reload["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(a.post(&reload).await.1["type"], 5, "deferred");
    a.fake.acknowledge(id, reload["token"].as_str().unwrap());
    a.fake.webhook_calls(id, 1).await;
    let mut member = 100;
    loop {
        member += 1;
        let (_, after) = b.post(&ask(&a, member, "quokka wrangling")).await;
        if embed_text(&after["data"]).contains("pays in smiles") {
            break;
        }
        assert!(member < 300, "the other replica never reloaded: {after}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // With the store stopped, each replica decides from its own memory: answers still come.
    pg.stop();
    for member in [5, 500] {
        let (status, alone) = b.post(&ask(&a, member, "mlops tools")).await;
        assert_eq!((status, alone["type"].as_u64()), (200, Some(4)), "{alone}");
    }
}
