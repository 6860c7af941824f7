//! Forum suggestions: the decision on the shipped guide in both ranking modes, and the
//! gateway path end to end against the fake Discord (one reply per new post, never in
//! unlisted channels, for bots or below the floor; nothing when the intent is refused;
//! a refused post logged once).

use std::time::Duration;

use serde_json::{json, Value};

use careerbot::bot::core::Shared;
use careerbot::suggest::{NewThread, Skip, Starter};

use super::fake_discord::{self, FakeDiscord, MEMBER_PERMISSIONS, MESSAGE_CONTENT};
use super::harness::{Logs, Metrics, TestBot};
use super::util::shipped;

const FORUM: u64 = 800_000_000_000_000_001;
const OTHER_FORUM: u64 = 800_000_000_000_000_002;
const ALICE: u64 = 111_111_111_111_111_111;
const HELPER_BOT: u64 = 333_333_333_333_333_333;

const ON_TOPIC: (&str, &str) = (
    "Salary for senior ML engineers in India?",
    "What do senior ML engineers earn in India these days?",
);
const OFF_TOPIC: (&str, &str) = (
    "Sourdough starter smells like nail polish",
    "Is my starter dead or just hungry? I feed it twice a day with rye flour.",
);

fn watching(c: &mut careerbot::config::Config) {
    c.suggest.enabled = true;
    c.suggest.channels = vec![FORUM];
}

/// The shared state over the shipped engine of the ranking mode in use, watching [`FORUM`].
fn watching_shared() -> std::sync::Arc<Shared> {
    let s = shipped();
    let mut config = s.config.clone();
    watching(&mut config);
    Shared::new(config, s.engine.clone())
}

fn thread(title: &str) -> NewThread {
    NewThread {
        id: fake_discord::snowflake_now(),
        guild: Some(fake_discord::GUILD_ID),
        parent: Some(FORUM),
        title: title.into(),
        archived: false,
        locked: false,
    }
}

fn starter(text: &str, bot: bool) -> Starter {
    Starter {
        author: ALICE,
        bot,
        text: text.into(),
    }
}

crate::both_rankings! {
    /// A post the guide answers clears the floor of the mode in use; one it does not
    /// cover stays below it.
    #[test]
    fn the_floor_lets_answers_through_and_keeps_other_posts_out() {
        let shared = watching_shared();

        let post = thread(ON_TOPIC.0);
        shared.suggest_first(&post).unwrap();
        let reply = shared
            .suggestion(&post, &starter(ON_TOPIC.1, false))
            .expect("the salary post gets a suggestion");
        let view = reply.reply.view.unwrap();
        assert_eq!(view.embed.title, "This may help");
        let first = view.embed.fields[0].name.to_lowercase();
        assert!(
            first.contains("senior") && first.contains("india"),
            "{:#?}",
            view.embed.fields
        );
        assert!(view.embed.fields.len() <= 3);
        assert!(view.buttons.is_empty(), "a suggestion has no paging");
        assert_eq!(reply.reply.vote, None, "nothing recorded here: no vote buttons");
        assert_eq!(view.embed.description, "From the guide, for this post.");

        let post = thread(OFF_TOPIC.0);
        shared.suggest_first(&post).unwrap();
        match shared.suggestion(&post, &starter(OFF_TOPIC.1, false)) {
            Err(Skip::BelowFloor(_) | Skip::NothingFound) => {}
            Err(other) => panic!("an off-topic post: {other:?}"),
            Ok(s) => panic!("an off-topic post got {:#?}", s.reply.view),
        }
    }

    /// The checks before any message is read, and a bot's post.
    #[test]
    fn unlisted_old_closed_repeated_and_bot_posts_get_nothing() {
        let shared = watching_shared();
        let post = thread(ON_TOPIC.0);

        let unlisted = NewThread { parent: Some(OTHER_FORUM), ..post.clone() };
        assert_eq!(shared.suggest_first(&unlisted), Err(Skip::Unlisted));
        let old = NewThread { id: 175_928_847_299_117_063, ..post.clone() };
        assert_eq!(shared.suggest_first(&old), Err(Skip::Old));
        let locked = NewThread { locked: true, ..post.clone() };
        assert_eq!(shared.suggest_first(&locked), Err(Skip::Closed));
        let archived = NewThread { archived: true, ..post.clone() };
        assert_eq!(shared.suggest_first(&archived), Err(Skip::Closed));

        assert_eq!(shared.suggest_first(&post), Ok(()));
        assert_eq!(shared.suggest_first(&post), Err(Skip::Repeated));
        assert_eq!(
            shared.suggestion(&post, &starter(ON_TOPIC.1, true)).err().unwrap(),
            Skip::Bot
        );
        let code_only = shared.suggestion(
            &thread("https://example.com/post"),
            &starter("```\nfn main() {}\n```", false),
        );
        assert_eq!(code_only.err().unwrap(), Skip::NoQuestion);

        let s = shipped();
        let off = Shared::new(s.config.clone(), s.engine.clone());
        assert_eq!(off.suggest_first(&thread(ON_TOPIC.0)), Err(Skip::Off));
    }
}

/// This test's count of suggestions that ended with `outcome`.
fn suggestions(metrics: &Metrics, outcome: &str) -> u64 {
    let prefix = format!("careerbot_suggestions_total{{outcome=\"{outcome}\"}} ");
    metrics
        .handle
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits (20 s at most) until `done` holds; `what` says what never happened.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `outcome` has been counted `n` times.
async fn counted(metrics: &Metrics, outcome: &str, n: u64) {
    eventually(&format!("{outcome} counted {n} times"), || {
        suggestions(metrics, outcome) >= n
    })
    .await;
}

/// The shipped guide watched by a bot on `fake` (set up beforehand).
async fn watching_on(fake: FakeDiscord) -> TestBot {
    TestBot::start_on(fake, &super::util::root().join("data"), watching).await
}

fn post_of(call: &fake_discord::Call) -> (&str, &Value) {
    (call.path.as_str(), &call.body)
}

#[test]
fn one_suggestion_per_new_post_and_none_where_it_does_not_belong() {
    let metrics = Metrics::new();
    metrics.run(async {
        let bot = TestBot::start(|c| {
            watching(c);
            // Recorded, so the suggestion carries 👍 / 👎.
            c.feedback.enabled = true;
            c.database.path = c.index_dir.with_file_name("careerbot.db");
            c.answers.source_url = Some("https://github.com/acme/guide/blob/main/data/".into());
        })
        .await;
        let fake = &bot.fake;
        let identify = fake.identified(1).await;
        assert_ne!(
            identify[0]["intents"].as_u64().unwrap() & MESSAGE_CONTENT,
            0,
            "suggestions ask for the Message Content intent"
        );

        let thread = fake.new_post(FORUM, ALICE, false, ON_TOPIC.0, ON_TOPIC.1);
        let posted = fake.channel_message(1).await;
        let (path, body) = post_of(&posted[0]);
        assert_eq!(path, format!("/channels/{thread}/messages"));
        assert_eq!(body["embeds"][0]["title"], "This may help");
        let text = fake_discord::embed_text(body);
        assert!(text.contains("Senior ML engineers in India"), "{body:#}");
        assert!(
            text.contains("](https://github.com/acme/guide/blob/main/data/ml-engineer/"),
            "sources link to answers.source_url: {text}"
        );
        assert_eq!(
            body["message_reference"]["message_id"],
            json!(thread.to_string()),
            "a reply to the post"
        );
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        assert_eq!(
            body["allowed_mentions"]["replied_user"],
            json!(false),
            "no ping"
        );
        let votes: Vec<&str> = body["components"][0]["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["custom_id"].as_str())
            .collect();
        assert_eq!(votes.len(), 2, "👍 and 👎: {votes:?}");
        assert!(votes.iter().all(|id| id.starts_with("v1|")), "{votes:?}");

        // Discord repeats the event (a resume): still one suggestion.
        fake.send_event(
            "THREAD_CREATE",
            fake_discord::thread_json(thread, FORUM, ALICE, ON_TOPIC.0),
        );
        counted(&metrics, "repeated", 1).await;
        fake.new_post(OTHER_FORUM, ALICE, false, ON_TOPIC.0, ON_TOPIC.1);
        counted(&metrics, "unlisted", 1).await;
        fake.new_post(FORUM, HELPER_BOT, true, ON_TOPIC.0, ON_TOPIC.1);
        counted(&metrics, "bot", 1).await;
        fake.new_post(FORUM, ALICE, false, OFF_TOPIC.0, OFF_TOPIC.1);
        eventually("the off-topic post is decided", || {
            suggestions(&metrics, "below_floor") + suggestions(&metrics, "nothing_found") == 1
        })
        .await;
        let archived = fake.snowflake_now();
        let mut closed = fake_discord::thread_json(archived, FORUM, ALICE, ON_TOPIC.0);
        closed["thread_metadata"]["archived"] = json!(true);
        fake.send_event("THREAD_CREATE", closed);
        counted(&metrics, "closed", 1).await;

        assert_eq!(
            fake.channel_messages().len(),
            1,
            "only the first post was answered"
        );
        assert_eq!(suggestions(&metrics, "posted"), 1);

        // A 👎 on the suggestion opens the form, as on any answer.
        let down = FakeDiscord::button_id(body, |b| {
            b["custom_id"]
                .as_str()
                .is_some_and(|id| id.contains("|down|"))
        })
        .unwrap();
        let cb = fake
            .callback(fake.dispatch(fake.press(&down, ALICE, body)))
            .await;
        assert_eq!(cb.kind(), 9, "the 👎 form: {:#?}", cb.body);
        // The post was recorded once it was posted, and its 👎 reaches the gaps report.
        assert!(
            bot.shared
                .recorder
                .get()
                .unwrap()
                .flush(Duration::from_secs(5))
                .await
        );
        let db = careerbot::feedback::open(&bot.shared.config).await.unwrap();
        let gaps = db
            .gaps(
                careerbot::feedback::now() - 3600,
                10,
                Some(fake_discord::GUILD_ID as i64),
            )
            .await
            .unwrap();
        let down = &gaps.voted_down[0];
        assert_eq!(down.down, 1);
        assert!(
            down.questions[0].starts_with("forum post: salary for senior ml engineers"),
            "{down:#?}"
        );

        // /help says that posts answered this way are recorded.
        let help = fake
            .callback(fake.dispatch(fake.command("help", json!([]), ALICE, MEMBER_PERMISSIONS)))
            .await;
        assert!(
            help.text()
                .contains("forum posts the bot suggested an answer on"),
            "{}",
            help.text()
        );
        bot.stop().await;
    });
}

#[test]
fn without_the_message_content_intent_the_bot_runs_with_suggestions_off() {
    let logs = Logs::new();
    logs.run(async {
        let fake = FakeDiscord::start().await;
        fake.refuse_intents(MESSAGE_CONTENT);
        let bot = watching_on(fake).await;
        let fake = &bot.fake;
        let identify = fake.identified(2).await;
        assert_ne!(
            identify[0]["intents"].as_u64().unwrap() & MESSAGE_CONTENT,
            0
        );
        assert_eq!(
            identify[1]["intents"].as_u64().unwrap() & MESSAGE_CONTENT,
            0,
            "the second connection asks without it"
        );
        assert!(!bot.shared.suggestions.is_on());
        let logs_now = logs.text();
        assert!(
            logs_now.lines().any(|l| l.contains("ERROR")
                && l.contains("Discord refuses the Message Content intent")
                && l.contains("Privileged Gateway Intents")),
            "{logs_now}"
        );

        // Commands answer; new posts get nothing.
        let payload = fake.command(
            "salary",
            json!([{"name": "level", "type": 3, "value": "senior"}]),
            ALICE,
            MEMBER_PERMISSIONS,
        );
        let cb = fake.callback(fake.dispatch(payload)).await;
        assert_eq!(cb.status, 204);
        let thread = fake.new_post(FORUM, ALICE, false, ON_TOPIC.0, ON_TOPIC.1);
        // The event is handled, and turned down because suggestions are off.
        let seen = format!("thread={thread}");
        eventually("the post is seen", || logs.text().contains(&seen)).await;
        let text = logs.text();
        let line = text.lines().find(|l| l.contains(&seen)).unwrap();
        assert!(
            line.contains("no suggestion") && line.contains("off"),
            "{line}"
        );
        assert!(fake.channel_messages().is_empty());
        assert!(bot.stop().await, "the rebuilt client stops on shutdown");
    });
}

/// The portal's Message Content toggle is off (the application's flags say so): the bot
/// connects without the intent from the start, says why, and never suggests.
#[test]
fn with_the_portal_toggle_off_the_bot_connects_without_asking() {
    let logs = Logs::new();
    logs.run(async {
        let fake = FakeDiscord::start().await;
        fake.set_app_flags(0);
        let bot = watching_on(fake).await;
        let identify = bot.fake.identified(1).await;
        assert_eq!(identify.len(), 1, "one connection");
        assert_eq!(
            identify[0]["intents"].as_u64().unwrap() & MESSAGE_CONTENT,
            0
        );
        assert!(!bot.shared.suggestions.is_on());
        assert!(logs
            .text()
            .contains("Discord refuses the Message Content intent: forum suggestions are off"));
        assert!(bot.stop().await);
    });
}

#[test]
fn a_refused_post_is_logged_once_and_not_retried() {
    let logs = Logs::new();
    logs.run(async {
        let bot = TestBot::start(watching).await;
        let fake = &bot.fake;
        for n in 1..=2 {
            let thread = fake.snowflake_now();
            fake.fail_channel(thread, 403, 50013, "Missing Permissions");
            fake.put_message(fake_discord::starter_json(
                thread, thread, ALICE, false, ON_TOPIC.1,
            ));
            fake.send_event(
                "THREAD_CREATE",
                fake_discord::thread_json(thread, FORUM, ALICE, ON_TOPIC.0),
            );
            fake.refused_posts(n).await;
        }
        // Both refusals handled: one said at WARN, the other at DEBUG only.
        eventually("both refusals are logged", || {
            logs.text().matches("could not post a suggestion").count() >= 2
        })
        .await;
        // A post that works afterwards; a retry loop would have made a third refused post.
        fake.new_post(FORUM, ALICE, false, ON_TOPIC.0, ON_TOPIC.1);
        fake.channel_message(1).await;
        assert_eq!(fake.refused_posts(2).await.len(), 2, "not retried");
        let logs = logs.text();
        let warned: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("could not post a suggestion"))
            .collect();
        assert_eq!(warned.len(), 1, "said once per channel: {warned:#?}");
        assert!(
            warned[0].contains("Send Messages in Threads"),
            "{}",
            warned[0]
        );
        bot.stop().await;
    });
}
