//! Recorded questions and the content-gap report, against a real SQLite file and a real
//! PostgreSQL server that the test starts on 127.0.0.1 (`initdb` + `pg_ctl` in a temporary
//! folder). In CI the PostgreSQL test must run: missing binaries fail it there.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use careerbot::answer::{Command as BotCommand, Request};
use careerbot::config::Config;
use careerbot::feedback::{self, Db, Record};
use careerbot::service::{Asker, FormSubmit, Shared, VoteId, Voted, COMMENT_INPUT};
use sqlx::Row;

use super::postgres::Postgres;
use super::util::{config_with, engine_for, root};

/// Asks as a member of server 11 would; the answer's vote id.
fn ask(shared: &Shared, member: u64, line: &str) -> Option<i64> {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let request = Request::new(BotCommand::from_words(&words).unwrap());
    let asker = Asker::new(member, Some(11), Some(22));
    shared.reply(asker, &request, false, None).unwrap().vote
}

/// Waits (bounded) until `n` questions are stored.
async fn stored(db: &Db, n: i64) {
    for _ in 0..1500 {
        if db.count().await.is_ok_and(|c| c >= n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} questions were not recorded in time");
}

/// Members ask through the service as Discord would; the report groups what nothing
/// answered, pairs a failed question with the one that worked next, and never stores a
/// member id.
async fn records_and_reports(config: Config, db: Db) {
    let engine = engine_for(&config);
    let shared = Shared::new(config, engine);
    shared.start_recording();
    ask(&shared, 7, "/ask quokka");
    ask(&shared, 7, "/ask mlops");
    ask(&shared, 8, "/ask   Quokka ");
    ask(&shared, 8, "/salary junior us");
    let certs = ask(&shared, 9, "/certs gcp").expect("answers carry a vote id");
    stored(&db, 5).await;

    // Two members vote the certification answer down (one says why, then votes again),
    // one up; votes are upserts, one per member and answer, on either store.
    let vote = |member, up| {
        let id = VoteId {
            question: certs,
            up,
        };
        matches!(shared.vote(member, Some(11), id), Voted::AskWhy(_)) != up
    };
    assert!(vote(7, false) && vote(8, false) && vote(9, true));
    let said = FormSubmit {
        custom_id: careerbot::service::Form::looking_for(certs).custom_id,
        values: vec![(COMMENT_INPUT.into(), " AWS certs\u{0}, not GCP ".into())],
    };
    shared.vote_comment(7, Some(11), &said);
    assert!(vote(7, false));
    let mut voted = Vec::new();
    for _ in 0..500 {
        voted = db
            .gaps(feedback::now() - 3600, 10, Some(11))
            .await
            .unwrap()
            .voted_down;
        if voted.first().is_some_and(|v| !v.comments.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(voted.len(), 1, "{voted:?}");
    assert_eq!((voted[0].down, voted[0].up), (2, 1));
    assert_eq!(voted[0].questions, ["/certs gcp"]);
    assert_eq!(voted[0].comments, ["AWS certs, not GCP"]);

    // Another server's moderators see none of it.
    let elsewhere = db.gaps(feedback::now() - 3600, 10, Some(99)).await.unwrap();
    assert!(elsewhere.unanswered.is_empty() && elsewhere.suggestions.is_empty());
    let gaps = db.gaps(feedback::now() - 3600, 10, Some(11)).await.unwrap();
    let unanswered: Vec<(&str, &str, i64)> = gaps
        .unanswered
        .iter()
        .map(|u| (u.command.as_str(), u.question.as_str(), u.count))
        .collect();
    assert_eq!(
        unanswered,
        [("ask", "quokka", 2), ("salary", "junior us", 1)],
        "{gaps:?}"
    );
    assert_eq!(gaps.suggestions.len(), 1, "{gaps:?}");
    let s = &gaps.suggestions[0];
    assert_eq!((s.failed.as_str(), s.worked.as_str()), ("quokka", "mlops"));
    assert_eq!(s.synonym.as_deref(), Some("quokka ~ mlops"));

    // What a row holds: the passages shown, the content version, hashed members only.
    let (rows, members) = raw_rows(&db).await;
    assert_eq!(rows, 5);
    assert!(members.iter().all(|m| m.len() == 64), "{members:?}");
    assert!(!members
        .iter()
        .any(|m| ["7", "8", "9"].contains(&m.as_str())));
    let csv = careerbot::render::gaps::csv(&gaps);
    assert!(csv.contains("unanswered,ask,quokka,2,"), "{csv}");
}

/// Every stored row's member column, read with plain SQL.
async fn raw_rows(db: &Db) -> (usize, Vec<String>) {
    let rows = sqlx::query("SELECT member, passages, content_version FROM questions")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let members = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    for r in &rows {
        let version: String = r.try_get(2).unwrap();
        assert_eq!(version.len(), 16, "the content version is recorded");
    }
    (rows.len(), members)
}

/// Replicas starting at once on a fresh store: each opens it, and it is migrated once.
async fn opened_together(config: &Config) {
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { feedback::open(&config).await.map(|_| ()) })
        })
        .collect();
    for open in opening {
        open.await.unwrap().expect("every replica opens the store");
    }
}

/// A service's config tweak: record questions into the store in `dir`, as
/// [`recording_config`] does.
fn recording_into(dir: &Path) -> impl FnOnce(&mut Config) + '_ {
    move |c| {
        c.feedback.enabled = true;
        c.database.path = dir.join("careerbot.db");
    }
}

/// The store a service given [`recording_into`]`(dir)` records into.
async fn store_in(dir: &Path) -> Db {
    feedback::open(&recording_config(dir)).await.unwrap()
}

fn recording_config(dir: &Path) -> Config {
    let mut config = config_with(&root().join("data"), &dir.join("index"));
    config.feedback.enabled = true;
    config.database.path = dir.join("careerbot.db");
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_are_recorded_and_reported_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let config = recording_config(dir.path());
    opened_together(&config).await;
    let db = feedback::open(&config).await.unwrap();
    records_and_reports(config.clone(), db.clone()).await;

    // The terminal report reads the same file.
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        format!(
            "data_dir = {:?}\nindex_dir = {:?}\n[database]\npath = {:?}\n",
            config.data_dir, config.index_dir, config.database.path
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--config")
        .arg(&file)
        .args(["gaps", "--days", "1", "--format", "json"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["unanswered"][0]["question"], "quokka");
    assert_eq!(json["unanswered"][0]["count"], 2);
    let table = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--config")
        .arg(&file)
        .args(["gaps"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("2×  /ask quokka"), "{table}");
    assert!(table.contains("suggest: quokka ~ mlops"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_are_recorded_and_reported_on_postgres() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = recording_config(dir.path());
    config.database.url = Some(pg.url.clone());
    opened_together(&config).await;
    let db = feedback::open(&config).await.unwrap();
    assert_eq!(db.kind, feedback::Kind::Postgres);
    records_and_reports(config, db).await;
}

/// An answer counts as changed when the content version changed with it, not when one
/// version answered two ways (the model warming up); per command and question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_answer_needs_a_new_content_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir.path().join("careerbot.db")).await.unwrap();
    let now = feedback::now();
    let row = |i: i64, command: &str, version: &str, passage: &str| Record {
        id: i,
        at: now - 100 + i,
        command: command.into(),
        question: "senior india".into(),
        outcome: "found".into(),
        passages: vec![(passage.into(), 1.0)],
        notes: Vec::new(),
        content_version: version.into(),
        guild_id: Some(1),
        channel_id: None,
        member_id: None,
        member: None,
    };
    db.insert(&[
        row(1, "salary", "v1", "salary#a"),
        row(2, "salary", "v1", "salary#b"),
        row(3, "levels", "v1", "levels#a"),
        row(4, "levels", "v2", "levels#a"),
    ])
    .await
    .unwrap();
    let gaps = db.gaps(now - 3600, 10, Some(1)).await.unwrap();
    assert!(gaps.changed.is_empty(), "{:?}", gaps.changed);
    db.insert(&[row(5, "salary", "v2", "salary#c")])
        .await
        .unwrap();
    let gaps = db.gaps(now - 3600, 10, Some(1)).await.unwrap();
    assert_eq!(gaps.changed.len(), 1, "{:?}", gaps.changed);
    assert_eq!(gaps.changed[0].passages, ["salary#a", "salary#c"]);
    assert_eq!(gaps.changed[0].asked, 3);
}

/// A suggestion pairs a failed question with the member's next question, when that one
/// worked, was of the same command and came within five minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_pair_a_failure_with_the_next_question_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir.path().join("careerbot.db")).await.unwrap();
    let now = feedback::now() - 3000;
    let row = |i: i64, member: &str, at: i64, command: &str, question: &str, found: bool| Record {
        id: i,
        at: now + at,
        command: command.into(),
        question: question.into(),
        outcome: if found { "found" } else { "not_found" }.into(),
        passages: Vec::new(),
        notes: Vec::new(),
        content_version: "v1".into(),
        guild_id: Some(1),
        channel_id: None,
        member_id: None,
        member: Some(member.into()),
    };
    db.insert(&[
        // Two rephrasings, then one that works: only the last rephrasing pairs with it.
        row(1, "a", 0, "ask", "quokka pay", false),
        row(2, "a", 10, "ask", "wombat pay", false),
        row(3, "a", 20, "ask", "salary", true),
        row(4, "a", 30, "ask", "salary india", true),
        // Too late, another command, another member's answer: no pair.
        row(5, "b", 0, "ask", "ctc", false),
        row(6, "b", 400, "ask", "salary", true),
        row(7, "c", 0, "ask", "ctc", false),
        row(8, "c", 5, "salary", "senior", true),
        row(9, "d", 0, "ask", "ctc", false),
        row(10, "e", 5, "ask", "salary", true),
        // Another server's members do not count in this server's report.
        Record {
            guild_id: Some(2),
            ..row(11, "f", 0, "ask", "quokka pay", false)
        },
        Record {
            guild_id: Some(2),
            ..row(12, "f", 5, "ask", "salary", true)
        },
    ])
    .await
    .unwrap();
    let gaps = db.gaps(now - 60, 10, Some(1)).await.unwrap();
    let pairs: Vec<(&str, &str, i64)> = gaps
        .suggestions
        .iter()
        .map(|s| (s.failed.as_str(), s.worked.as_str(), s.count))
        .collect();
    assert_eq!(pairs, [("wombat pay", "salary", 1)]);
    let everywhere = db.gaps(now - 60, 10, None).await.unwrap().suggestions;
    assert_eq!(everywhere.len(), 2, "{everywhere:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_questions_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let db = feedback::open(&recording_config(dir.path())).await.unwrap();
    let day = 24 * 3600;
    let record = |age_days: i64| Record {
        id: feedback::new_id(),
        at: feedback::now() - age_days * day,
        command: "ask".into(),
        question: "quokka".into(),
        outcome: "not_found".into(),
        passages: Vec::new(),
        notes: Vec::new(),
        content_version: "0123456789abcdef".into(),
        guild_id: None,
        channel_id: None,
        member_id: None,
        member: None,
    };
    db.insert(&[record(100), record(10)]).await.unwrap();
    assert_eq!(db.purge(feedback::now() - 90 * day).await.unwrap(), 1);
    assert_eq!(db.count().await.unwrap(), 1);
    // Opening again applies no migration twice.
    drop(db);
    let db = feedback::open(&recording_config(dir.path())).await.unwrap();
    assert_eq!(db.count().await.unwrap(), 1);
}

/// Through the fake Discord: members' questions are recorded; `/gaps` is refused to a member
/// and answered privately to a moderator, with the top of each list and the CSV attached;
/// `/help` says what is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gaps_over_discord_for_moderators_only() {
    use super::fake_discord::{embed_text, MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS};
    let db_dir = tempfile::tempdir().unwrap();
    let bot = super::harness::TestBot::start(recording_into(db_dir.path())).await;
    let ask = |member: u64, question: &str| {
        bot.fake.dispatch(bot.fake.command(
            "ask",
            serde_json::json!([{"name": "question", "type": 3, "value": question}]),
            member,
            MEMBER_PERMISSIONS,
        ))
    };
    for (member, question) in [(5, "quokka"), (5, "mlops"), (6, "quokka")] {
        let id = ask(member, question);
        bot.fake.callback(id).await;
    }
    let help =
        bot.fake.dispatch(
            bot.fake
                .command("help", serde_json::json!([]), 5, MEMBER_PERMISSIONS),
        );
    let help = bot.fake.callback(help).await.text();
    assert!(help.contains("votes are kept 90 days"), "{help}");
    let db = store_in(db_dir.path()).await;
    stored(&db, 4).await;

    let refused =
        bot.fake.dispatch(
            bot.fake
                .command("gaps", serde_json::json!([]), 5, MEMBER_PERMISSIONS),
        );
    let cb = bot.fake.callback(refused).await;
    assert!(cb.ephemeral());
    assert!(cb.text().contains("Only moderators"), "{}", cb.text());

    let id = bot.fake.dispatch(bot.fake.command(
        "gaps",
        serde_json::json!([{"name": "days", "type": 4, "value": 7}]),
        9,
        MODERATOR_PERMISSIONS,
    ));
    let cb = bot.fake.callback(id).await;
    assert_eq!(cb.kind(), 5, "deferred: it reads the database");
    assert!(cb.ephemeral(), "the report is private");
    let calls = bot.fake.webhook_calls(id, 1).await;
    let text = embed_text(&calls[0].body);
    assert!(text.contains("Content gaps · last 7 day(s)"), "{text}");
    assert!(text.contains("2× `/ask quokka`"), "{text}");
    assert!(text.contains("quokka ~ mlops"), "{text}");
    let (name, bytes) = &calls[0].files[0];
    assert_eq!(name, "content-gaps.csv");
    let csv = String::from_utf8_lossy(bytes);
    assert!(csv.starts_with("list,command,question,count"), "{csv}");
    assert!(csv.contains("unanswered,ask,quokka,2,"), "{csv}");

    let bad = bot.fake.dispatch(bot.fake.command(
        "gaps",
        serde_json::json!([{"name": "days", "type": 4, "value": 99_999}]),
        9,
        MODERATOR_PERMISSIONS,
    ));
    bot.fake.callback(bad).await;
    let calls = bot.fake.webhook_calls(bad, 1).await;
    let said = format!("{}", calls[0].body);
    assert!(
        said.contains("must be a whole number from 1 to 3650"),
        "{said}"
    );
    bot.stop().await;
}

/// PostgreSQL stops while members keep asking: every answer still comes, the questions wait
/// in memory, and all of them are written once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_costs_no_answer_and_loses_no_record_within_the_bound() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = recording_config(dir.path());
    config.database.url = Some(pg.url.clone());
    config.feedback.queue = 100;
    let db = feedback::open(&config).await.unwrap();
    let engine = engine_for(&config);
    let shared = Shared::new(config, engine);
    shared.start_recording();
    let recorder = Arc::clone(shared.recorder.get().unwrap());
    ask(&shared, 1, "/ask mlops");
    stored(&db, 1).await;

    // Members keep asking, 40 a second, while the server is down for ten seconds.
    // `ask` unwraps: an answer that failed would fail the test here.
    let mut asked = 1;
    let mut load = |seconds: u64| {
        let shared = Arc::clone(&shared);
        let start = asked;
        asked += seconds * 40;
        async move {
            for i in start..start + seconds * 40 {
                ask(&shared, 2 + i % 7, "/ask which mlops tools should I learn");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    };
    load(1).await;
    pg.stop();
    load(10).await;
    assert!(
        !recorder.healthy(),
        "/healthz says the database is degraded"
    );
    pg.restart();
    load(1).await;

    // Everything within the bound (the queue of 100, and as many in the writer's hands) is
    // written once the server is back; what came beyond it is dropped and counted.
    let db = feedback::open(&{
        let mut c = recording_config(dir.path());
        c.database.url = Some(pg.url.clone());
        c
    })
    .await
    .unwrap();
    let asked = asked as i64;
    let mut written = 0;
    for _ in 0..1500 {
        written = db.count().await.unwrap();
        if written + recorder.dropped() as i64 == asked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dropped = recorder.dropped() as i64;
    assert_eq!(
        written + dropped,
        asked,
        "each record written once or counted as dropped"
    );
    assert!(
        dropped > 0,
        "ten seconds at 40 a second is beyond a queue of 100"
    );
    assert!(
        written >= 1 + 100 + 40,
        "the queue, then the last second: {written}"
    );
    let mut healthy = false;
    for _ in 0..200 {
        healthy = recorder.healthy();
        if healthy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "/healthz says ok again");
}

/// Over the HTTP endpoint: `/gaps` is deferred and finished over REST with the CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gaps_over_http() {
    use super::fake_discord::{MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS};
    let dir = tempfile::tempdir().unwrap();
    let s = super::http::Server::start_with(recording_into(dir.path())).await;
    let ask = s.fake.command(
        "ask",
        serde_json::json!([super::http::opt("question", "quokka")]),
        5,
        MEMBER_PERMISSIONS,
    );
    assert_eq!(s.post(&ask).await.0, 200);
    stored(&store_in(dir.path()).await, 1).await;

    let member = s
        .fake
        .command("gaps", serde_json::json!([]), 5, MEMBER_PERMISSIONS);
    let (_, refused) = s.post(&member).await;
    assert!(refused.to_string().contains("Only moderators"), "{refused}");
    let payload = s
        .fake
        .command("gaps", serde_json::json!([]), 9, MODERATOR_PERMISSIONS);
    let id = payload["id"].as_str().unwrap().parse::<u64>().unwrap();
    let (status, deferred) = s.post(&payload).await;
    assert_eq!(
        (status, deferred["type"].as_u64()),
        (200, Some(5)),
        "{deferred}"
    );
    let calls = s.fake.webhook_calls(id, 1).await;
    let (name, bytes) = &calls[0].files[0];
    assert_eq!(name, "content-gaps.csv");
    assert!(String::from_utf8_lossy(bytes).contains("unanswered,ask,quokka,1,"));
}

/// The votes stored so far: `(up, comment)` per member, in member-hash order.
async fn stored_votes(db: &Db) -> Vec<(i64, Option<String>)> {
    sqlx::query("SELECT up, comment FROM votes ORDER BY member")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect()
}

/// Waits (bounded) until the stored votes satisfy `done`.
async fn votes_until(db: &Db, done: impl Fn(&[(i64, Option<String>)]) -> bool) {
    let mut last = Vec::new();
    for _ in 0..1500 {
        last = stored_votes(db).await;
        if done(&last) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the votes were not stored in time: {last:?}");
}

fn emoji(name: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |b| b["emoji"]["name"] == name
}

/// 👍 / 👎 through the fake Discord: any member votes on a public answer, privately
/// acknowledged, and may change their vote; 👎 opens the "What were you looking for?" form;
/// a page turn keeps the buttons; `/gaps` lists the answer voted down with what was missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn votes_over_discord() {
    use super::fake_discord::{embed_text, FakeDiscord, MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS};
    let db_dir = tempfile::tempdir().unwrap();
    let bot = super::harness::TestBot::start(recording_into(db_dir.path())).await;
    let fake = &bot.fake;
    let id = fake.dispatch(fake.command("faq", serde_json::json!([]), 5, MEMBER_PERMISSIONS));
    let message = fake.callback(id).await.data().clone();
    let up = FakeDiscord::button_id(&message, emoji("👍")).expect("👍 on the answer");
    let down = FakeDiscord::button_id(&message, emoji("👎")).expect("👎 on the answer");
    let more = FakeDiscord::button_id(&message, |b| b["label"] == "More results").unwrap();

    // Another member's 👍, acknowledged privately; the message is not re-sent.
    let cb = fake
        .callback(fake.dispatch(fake.press(&up, 6, &message)))
        .await;
    assert_eq!((cb.status, cb.kind(), cb.ephemeral()), (204, 4, true));
    assert!(cb.text().contains("Thanks for the 👍"), "{}", cb.text());

    // The asker's 👎 opens the form, and they say what they were looking for.
    let cb = fake
        .callback(fake.dispatch(fake.press(&down, 5, &message)))
        .await;
    assert_eq!((cb.status, cb.kind()), (204, 9), "{:#?}", cb.body);
    assert_eq!(cb.data()["title"], "What were you looking for?");
    let form = cb.data()["custom_id"].as_str().unwrap().to_string();
    let input = cb.data()["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let said = [(input.as_str(), "visa sponsorship for ML roles")];
    let cb = fake
        .callback(fake.dispatch(fake.modal_submit(&form, 5, &said)))
        .await;
    assert_eq!((cb.status, cb.kind(), cb.ephemeral()), (204, 4, true));
    assert!(
        cb.text().contains("what you were looking for"),
        "{}",
        cb.text()
    );

    // The other member changes their vote to 👎 and closes the form unanswered.
    let cb = fake
        .callback(fake.dispatch(fake.press(&down, 6, &message)))
        .await;
    assert_eq!((cb.status, cb.kind()), (204, 9));

    // Turning the page keeps the answer's vote buttons.
    let cb = fake
        .callback(fake.dispatch(fake.press(&more, 5, &message)))
        .await;
    assert_eq!((cb.status, cb.kind()), (204, 7));
    assert_eq!(
        FakeDiscord::button_id(cb.data(), emoji("👎")),
        Some(down.clone())
    );

    // One vote per member, both now 👎, the asker's with the text.
    let db = store_in(db_dir.path()).await;
    votes_until(&db, |v| {
        v.len() == 2
            && v.iter().all(|(up, _)| *up == 0)
            && v.iter().filter(|(_, c)| c.is_some()).count() == 1
    })
    .await;
    let comments: Vec<_> = stored_votes(&db)
        .await
        .into_iter()
        .filter_map(|v| v.1)
        .collect();
    assert_eq!(comments, ["visa sponsorship for ML roles"]);

    let id = fake.dispatch(fake.command("gaps", serde_json::json!([]), 9, MODERATOR_PERMISSIONS));
    fake.callback(id).await;
    let calls = fake.webhook_calls(id, 1).await;
    let text = embed_text(&calls[0].body);
    assert!(text.contains("Voted down (1)"), "{text}");
    assert!(text.contains("2× 👎"), "{text}");
    assert!(text.contains("visa sponsorship for ML roles"), "{text}");
    let csv = String::from_utf8_lossy(&calls[0].files[0].1).into_owned();
    assert!(csv.contains("voted_down,,/faq,2,"), "{csv}");
    bot.stop().await;
}

/// Over the HTTP endpoint: the buttons, the 👎 form and its submission are answered in
/// the response body, and the vote is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn votes_over_http() {
    use super::fake_discord::{FakeDiscord, MEMBER_PERMISSIONS};
    let dir = tempfile::tempdir().unwrap();
    let s = super::http::Server::start_with(recording_into(dir.path())).await;
    let ask = s.fake.command(
        "salary",
        serde_json::json!([super::http::opt("level", "senior")]),
        5,
        MEMBER_PERMISSIONS,
    );
    let (status, answer) = s.post(&ask).await;
    assert_eq!(status, 200);
    let down = FakeDiscord::button_id(&answer["data"], emoji("👎")).expect("👎 on the answer");
    let (_, form) = s.post(&s.fake.press(&down, 7, &answer["data"])).await;
    assert_eq!(form["type"], 9, "{form}");
    let form_id = form["data"]["custom_id"].as_str().unwrap();
    let submit = s
        .fake
        .modal_submit(form_id, 7, &[(feedback_input(&form), "equity at startups")]);
    let (_, thanks) = s.post(&submit).await;
    assert_eq!(
        (thanks["type"].as_u64(), thanks["data"]["flags"].as_u64()),
        (Some(4), Some(64))
    );

    let db = store_in(dir.path()).await;
    votes_until(&db, |v| v == [(0, Some("equity at startups".to_string()))]).await;
}

fn feedback_input(form: &serde_json::Value) -> &str {
    form["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
}

/// A clean stop writes what is still queued, without waiting for the writer's next round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_writes_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let config = recording_config(dir.path());
    let db = feedback::open(&config).await.unwrap();
    let shared = Shared::new(config.clone(), engine_for(&config));
    shared.start_recording();
    for member in 0..300 {
        ask(&shared, member, "/ask mlops");
    }
    shared.finish().await;
    assert_eq!(
        db.count().await.unwrap(),
        300,
        "written before finish returned"
    );
}
