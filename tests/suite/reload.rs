//! `/reload` through the fake Discord: moderators only (checked by the bot, not just by
//! Discord's visibility), diffs, errors with file and line while the old content keeps
//! answering, dry runs, serialised reloads, the audit trail, and answers during reloads.

use std::sync::Arc;
use std::time::Duration;

use careerbot::reload::Trigger;
use serde_json::{json, Value};

use super::fake_discord::{self, embed_text, MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS};
use super::harness::{Logs, TestBot};

const MOD: u64 = 333_333_333_333_333_333;
const MEMBER: u64 = 444_444_444_444_444_444;

fn opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// Runs `/reload` as `user` and returns the text the moderator finally sees.
async fn reload(bot: &TestBot, user: u64, permissions: &str, dry_run: bool) -> String {
    let options = if dry_run {
        json!([{"name": "dry_run", "type": 5, "value": true}])
    } else {
        json!([])
    };
    let id = bot
        .fake
        .dispatch(bot.fake.command("reload", options, user, permissions));
    let cb = bot.fake.callback(id).await;
    assert_eq!(cb.status, 204, "{:#?}", cb.body);
    if cb.kind() == 4 {
        assert!(cb.ephemeral());
        return cb.text();
    }
    assert_eq!(cb.kind(), 5, "a reload defers first");
    assert!(cb.ephemeral(), "reload replies are private");
    let calls = bot.fake.webhook_calls(id, 1).await;
    embed_text(&calls[0].body)
}

async fn ask_text(bot: &TestBot, question: &str) -> String {
    let id = bot.fake.dispatch(bot.fake.command(
        "ask",
        json!([opt("question", question)]),
        MEMBER,
        MEMBER_PERMISSIONS,
    ));
    let cb = bot.fake.callback(id).await;
    assert_eq!(cb.status, 204);
    cb.text()
}

#[test]
fn only_moderators_may_reload_whatever_discord_shows() {
    let logs = Logs::new();
    logs.run(async {
        let bot = TestBot::start(|c| c.reload.moderator_roles = vec![777]).await;
        // Hidden from ordinary members by default...
        let registered = bot.fake.registered().await.body;
        let command = registered
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "reload")
            .unwrap()
            .clone();
        assert_eq!(command["default_member_permissions"], "32", "Manage Server");

        // ...but Discord delivered it anyway (an admin changed visibility): refused by the bot.
        let before = bot.shared.engine();
        let text = reload(&bot, MEMBER, MEMBER_PERMISSIONS, false).await;
        assert!(text.contains("Only moderators can reload"), "{text}");
        assert!(
            Arc::ptr_eq(&before, &bot.shared.engine()),
            "nothing was reloaded"
        );
        assert!(logs.text().contains("reload refused"));

        let text = reload(&bot, MOD, MODERATOR_PERMISSIONS, false).await;
        assert!(text.contains("Reloaded"), "{text}");
        assert!(text.contains("No passage changed."), "{text}");

        // A moderator role counts as much as the permission.
        let id = bot.fake.dispatch(bot.fake.command_with_roles(
            "reload",
            json!([]),
            MEMBER,
            MEMBER_PERMISSIONS,
            &[777],
        ));
        assert_eq!(
            bot.fake.callback(id).await.kind(),
            5,
            "accepted and deferred"
        );
        bot.fake.webhook_calls(id, 1).await;
        bot.stop().await;
    });
}

#[test]
fn reload_shows_the_diff_and_serves_the_new_content() {
    let logs = Logs::new();
    logs.run(async {
        let bot = TestBot::start(|c| c.reload.log_channel = Some(555)).await;
        let data = bot.data_dir().join("ml-engineer");
        // Add a passage, edit one, delete one.
        std::fs::write(
            data.join("interviews.md"),
            "+++\ntopic = \"faq\"\n+++\n# Interviews\n\n## Whiteboard rounds {#whiteboard}\n\nPractise zanzibar drills.\n",
        )
        .unwrap();
        let mistakes = std::fs::read_to_string(data.join("mistakes.md")).unwrap();
        let mistakes = mistakes
            .replace("A model that takes 2 seconds to respond is often unusable.", "A model that takes 2 seconds to respond is often unusable, say users.")
            .replace("## Monolithic ML pipelines {#monolithic-pipelines}\n\nBuilding ML pipelines as one monolith. Modular pipelines that can be tested are the\nstandard.\n\n", "");
        std::fs::write(data.join("mistakes.md"), mistakes).unwrap();
        assert!(ask_text(&bot, "monolithic pipelines")
            .await
            .contains("Monolithic ML pipelines"));

        let text = reload(&bot, MOD, MODERATOR_PERMISSIONS, false).await;
        assert!(text.contains("Reloaded"), "{text}");
        assert!(
            text.contains("Added (1)\n`ml-engineer/interviews#whiteboard` — Whiteboard rounds"),
            "{text}"
        );
        assert!(
            text.contains("Changed (1)\n`ml-engineer/mistakes#ignoring-latency`"),
            "{text}"
        );
        assert!(
            text.contains("Removed (1)\n`ml-engineer/mistakes#monolithic-pipelines`"),
            "{text}"
        );
        assert!(
            text.contains("Documents 7 → 8 · passages 30 → 30"),
            "{text}"
        );
        assert!(text.contains("Content version: `"), "{text}");

        assert!(ask_text(&bot, "zanzibar drills")
            .await
            .contains("Whiteboard rounds"));
        assert!(!ask_text(&bot, "monolithic pipelines")
            .await
            .contains("Monolithic ML pipelines"));

        // The audit trail: a structured log event and a line in the moderators' channel.
        let logs = logs.text();
        assert!(
            logs.lines().any(|l| l.contains("careerbot::audit")
                && l.contains("result=\"ok\"")
                && l.contains("added=1")),
            "{logs}"
        );
        let posted = bot.fake.channel_message(1).await;
        let line = posted[0].body["content"].as_str().unwrap();
        assert!(
            line.contains("reload by member333333333333333333"),
            "{line}"
        );
        assert!(
            line.contains("passages 1 added, 1 changed, 1 removed"),
            "{line}"
        );
        assert_eq!(posted[0].path, "/channels/555/messages");
        assert_eq!(posted[0].body["allowed_mentions"]["parse"], json!([]));
        bot.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broken_content_is_reported_and_the_old_content_keeps_answering() {
    let bot = TestBot::start(|_| {}).await;
    let file = bot.data_dir().join("ml-engineer/certifications.md");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        good.replace("topic = \"certs\"", "topic = \"certs\nregions = [\"mars\"]"),
    )
    .unwrap();
    std::fs::write(
        bot.data_dir().join("extra.md"),
        "---\nregions: [mars]\n---\n# Extra\n\nText.\n",
    )
    .unwrap();

    let text = reload(&bot, MOD, MODERATOR_PERMISSIONS, false).await;
    assert!(
        text.contains("Reload rejected: still serving content"),
        "{text}"
    );
    assert!(text.contains("2 error(s)"), "{text}");
    assert!(
        text.contains("data/ml-engineer/certifications.md:3:"),
        "{text}"
    );
    assert!(text.contains("invalid TOML front matter"), "{text}");
    assert!(
        text.contains("data/extra.md:2:1: error: unknown region `mars`"),
        "{text}"
    );
    assert!(text.contains("hint:"), "{text}");
    // Still answering from the old index.
    let id = bot.fake.dispatch(bot.fake.command(
        "certs",
        json!([opt("provider", "gcp")]),
        MEMBER,
        MEMBER_PERMISSIONS,
    ));
    assert!(bot
        .fake
        .callback(id)
        .await
        .text()
        .contains("Google Professional ML Engineer"));

    // Fixed: the reload goes through.
    std::fs::write(&file, good).unwrap();
    std::fs::remove_file(bot.data_dir().join("extra.md")).unwrap();
    let text = reload(&bot, MOD, MODERATOR_PERMISSIONS, false).await;
    assert!(text.contains("Reloaded"), "{text}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_errors_come_as_an_attached_file() {
    let bot = TestBot::start(|_| {}).await;
    for i in 0..80 {
        std::fs::write(
            bot.data_dir().join(format!("broken-{i:02}.md")),
            "+++\nlevel = \"x\"\n+++\n# B\n\nText.\n",
        )
        .unwrap();
    }
    let id = bot.fake.dispatch(
        bot.fake
            .command("reload", json!([]), MOD, MODERATOR_PERMISSIONS),
    );
    bot.fake.callback(id).await;
    let calls = bot.fake.webhook_calls(id, 1).await;
    let text = embed_text(&calls[0].body);
    assert!(text.contains("80 error(s)"), "{text}");
    assert!(
        text.contains("more: all 80 are in the attached file"),
        "{text}"
    );
    let (name, bytes) = &calls[0].files[0];
    assert_eq!(name, "content-errors.txt");
    let file = String::from_utf8_lossy(bytes);
    assert_eq!(file.matches("unknown front-matter key `level`").count(), 80);
    assert!(file.contains("data/broken-79.md:2:1:"), "{file}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_shows_the_diff_without_swapping() {
    let bot = TestBot::start(|_| {}).await;
    std::fs::write(bot.data_dir().join("new.md"), "# New\n\nQuokka facts.\n").unwrap();
    let before = bot.shared.engine();
    let text = reload(&bot, MOD, MODERATOR_PERMISSIONS, true).await;
    assert!(text.contains("Dry run"), "{text}");
    assert!(text.contains("Added (1)\n`new` — New"), "{text}");
    assert!(Arc::ptr_eq(&before, &bot.shared.engine()));
    assert!(ask_text(&bot, "quokka").await.contains("I found nothing"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reloads_are_serialised() {
    let bot = TestBot::start(|_| {}).await;
    std::fs::write(bot.data_dir().join("new.md"), "# New\n\nQuokka facts.\n").unwrap();
    let who = || Trigger::Signal;
    let (a, b) = tokio::join!(
        bot.shared.reload(who(), false),
        bot.shared.reload(who(), false)
    );
    let added = |o: &careerbot::reload::Outcome| o.result.as_ref().unwrap().diff.added.len();
    // Had they interleaved, both would have seen the old index and reported the addition.
    let mut counts = [added(&a), added(&b)];
    counts.sort();
    assert_eq!(counts, [0, 1]);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_keep_flowing_during_ten_reloads() {
    let bot = Arc::new(TestBot::start(|_| {}).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let bot = Arc::clone(&bot);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut answered = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let id = bot.fake.dispatch(bot.fake.command(
                    "ask",
                    json!([opt("question", "mlflow experiment tracking")]),
                    MEMBER,
                    MEMBER_PERMISSIONS,
                ));
                let cb = bot.fake.callback(id).await;
                assert_eq!(cb.status, 204, "{:#?}", cb.body);
                assert!(cb.text().contains("MLflow"), "{}", cb.text());
                answered += 1;
            }
            answered
        })
    };
    for i in 0..10 {
        // Alternate the content so every reload really swaps.
        std::fs::write(
            bot.data_dir().join("toggle.md"),
            format!("# Toggle\n\nVersion {i}.\n"),
        )
        .unwrap();
        let outcome = bot.shared.reload(Trigger::Signal, false).await;
        assert!(outcome.is_ok());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let answered = client.await.unwrap();
    assert!(answered >= 10, "only {answered} answers during the reloads");
}

#[test]
fn the_watcher_reloads_on_file_changes() {
    let logs = Logs::new();
    logs.run(async {
        let bot = TestBot::start(|c| {
            c.reload.watch = true;
            c.reload.debounce_ms = 100;
        })
        .await;
        std::fs::write(
            bot.data_dir().join("watched.md"),
            "# Watched\n\nOcelot notes.\n",
        )
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if ask_text(&bot, "ocelot").await.contains("Watched") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the watcher never reloaded"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(logs.text().contains("trigger=file watcher"));
        bot.stop().await;
    });
}

#[test]
fn fixture_sanity() {
    assert_eq!(
        fake_discord::MODERATOR_PERMISSIONS.parse::<u64>().unwrap() & 32,
        32
    );
    assert_eq!(
        fake_discord::MEMBER_PERMISSIONS.parse::<u64>().unwrap() & (32 | 8),
        0
    );
}
