//! The Discord path end to end: the real serenity/poise bot against the fake Discord on
//! loopback — registration, answers, autocomplete, paging, mentions, load, resume, failures.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::fake_discord::{self, FakeDiscord, MEMBER_PERMISSIONS};
use super::harness::{Logs, TestBot};

const ALICE: u64 = 111_111_111_111_111_111;
const BOB: u64 = 222_222_222_222_222_222;

fn opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

async fn ask(bot: &TestBot, name: &str, options: Value, user: u64) -> fake_discord::Callback {
    let payload = bot.fake.command(name, options, user, MEMBER_PERMISSIONS);
    let id = bot.fake.dispatch(payload);
    let cb = bot.fake.callback(id).await;
    assert_eq!(cb.status, 204, "{name}: {:#?}", cb.body);
    cb
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registers_every_command_with_its_options() {
    let bot = TestBot::start(|_| {}).await;
    let call = bot.fake.registered().await;
    assert_eq!(
        call.path,
        format!("/applications/{}/commands", fake_discord::APP_ID),
        "global by default"
    );
    let commands = call.body.as_array().unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "salary",
            "certs",
            "levels",
            "ask",
            "faq",
            "help",
            "reload",
            "gaps",
            "Ask careerbot"
        ]
    );
    // Members' commands work in servers and, installed by a member, in DMs and private
    // chats; the moderators' only in servers where the app is installed.
    let install = |c: &Value| (c["integration_types"].clone(), c["contexts"].clone());
    for c in commands {
        let moderators = ["reload", "gaps"].contains(&c["name"].as_str().unwrap());
        let expected = if moderators {
            (json!([0]), json!([0]))
        } else {
            (json!([0, 1]), json!([0, 1, 2]))
        };
        assert_eq!(install(c), expected, "{}", c["name"]);
    }
    let message = &commands[8];
    assert_eq!(message["type"], 3, "a message command: {message}");
    for c in &commands[..8] {
        assert!(!c["description"].as_str().unwrap().is_empty(), "{c}");
        for o in c["options"].as_array().unwrap() {
            assert!(!o["description"].as_str().unwrap().is_empty(), "{o}");
        }
    }
    let salary = &commands[0]["options"];
    let option = |n: &str| {
        salary
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(option("level")["type"], 3);
    assert_eq!(option("level")["autocomplete"], true);
    assert_eq!(option("level")["required"], false);
    assert_eq!(option("region")["autocomplete"], true);
    assert_eq!(option("private")["type"], 5);
    let ask = &commands[3]["options"][0];
    assert_eq!(
        (ask["name"].as_str(), ask["required"].as_bool()),
        (Some("question"), Some(true))
    );
    assert!(
        bot.fake.unknown_routes().is_empty(),
        "{:?}",
        bot.fake.unknown_routes()
    );
    // The whole payload, as Discord receives it from the registry.
    insta::assert_json_snapshot!("registered_commands", call.body);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registers_in_configured_servers() {
    let bot = TestBot::start(|c| c.discord.guild_ids = vec![fake_discord::GUILD_ID]).await;
    let call = bot.fake.registered().await;
    assert_eq!(
        call.path,
        format!(
            "/applications/{}/guilds/{}/commands",
            fake_discord::APP_ID,
            fake_discord::GUILD_ID
        )
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_the_mission_examples() {
    let bot = TestBot::start(|_| {}).await;
    let cb = ask(
        &bot,
        "salary",
        json!([opt("level", "senior"), opt("region", "india")]),
        ALICE,
    )
    .await;
    assert_eq!(cb.kind(), 4);
    assert!(!cb.ephemeral());
    let text = cb.text();
    assert!(text.contains("Salary · Senior · India"), "{text}");
    assert!(text.contains("₹50–100 LPA"), "{text}");
    assert!(text.contains("₹80–150 LPA"), "{text}");
    assert!(
        text.contains("Source: ML Engineer Career Path 2025"),
        "{text}"
    );
    assert!(text.contains("**India**"), "matched words are bold: {text}");

    let text = ask(&bot, "certs", json!([opt("provider", "gcp")]), ALICE)
        .await
        .text();
    assert!(text.contains("Google Professional ML Engineer"), "{text}");
    assert!(!text.contains("AWS Certified"), "{text}");

    let text = ask(
        &bot,
        "ask",
        json!([opt("question", "what mlops tools should I learn first")]),
        ALICE,
    )
    .await
    .text();
    assert!(text.contains("Start with MLflow"), "{text}");

    let text = ask(
        &bot,
        "salary",
        json!([opt("level", "junior"), opt("region", "us")]),
        ALICE,
    )
    .await
    .text();
    assert!(
        text.contains("We have no salary data for Junior in United States."),
        "{text}"
    );
    assert!(text.contains("We do have: Senior · India."), "{text}");

    // /help is private by default (config), and private:false makes it public.
    let cb = ask(&bot, "help", json!([]), ALICE).await;
    assert!(cb.ephemeral());
    assert!(cb.text().contains("/salary [level] [region]"));
    let cb = ask(
        &bot,
        "help",
        json!([{"name": "private", "type": 5, "value": false}]),
        ALICE,
    )
    .await;
    assert!(!cb.ephemeral());
    let cb = ask(
        &bot,
        "certs",
        json!([opt("provider", "aws"), {"name": "private", "type": 5, "value": true}]),
        ALICE,
    )
    .await;
    assert!(cb.ephemeral());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autocomplete_offers_what_the_index_holds() {
    let bot = TestBot::start(|_| {}).await;
    let choices = |cb: fake_discord::Callback| -> Vec<(String, String)> {
        assert_eq!(cb.kind(), 8);
        cb.data()["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let fake = &bot.fake;
    let complete = |name: &str, option: &str, typed: &str| {
        let payload = fake.autocomplete(name, option, typed, ALICE);
        let id = fake.dispatch(payload);
        async move { fake.callback(id).await }
    };
    let got = choices(complete("certs", "provider", "goo").await);
    assert_eq!(
        got[0],
        ("Google Cloud (gcp)".to_string(), "gcp".to_string())
    );
    assert!(got.len() <= 25);

    // An empty box shows the values filed under the command's topic.
    let got = choices(complete("salary", "level", "").await);
    assert_eq!(
        got,
        vec![("Senior (senior)".to_string(), "senior".to_string())]
    );
    let got = choices(complete("levels", "level", "").await);
    let values: Vec<&str> = got.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["junior", "mid", "senior", "staff", "principal"]);

    // Typos and labels still find their value; nonsense finds nothing.
    let got = choices(complete("levels", "level", "snior").await);
    assert_eq!(got[0].1, "senior");
    let got = choices(complete("certs", "provider", "hugging").await);
    assert_eq!(got[0].1, "hugging-face");
    assert!(choices(complete("certs", "provider", "zzzz").await).is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_never_ping_anyone() {
    let bot = TestBot::start(|_| {}).await;
    let question = "@everyone @here <@123456789> <@&987654321> salary india";
    let cb = ask(&bot, "ask", json!([opt("question", question)]), ALICE).await;
    let mentions = &cb.data()["allowed_mentions"];
    assert_eq!(mentions["parse"], json!([]), "{mentions}");
    assert_eq!(mentions["users"], json!([]));
    assert_eq!(mentions["roles"], json!([]));
    let text = cb.text();
    assert!(text.contains("@\u{200b}everyone"), "{text}");
    assert!(!text.contains("@everyone"), "{text}");

    // Error replies too.
    let cb = ask(&bot, "ask", json!([opt("question", "   ")]), ALICE).await;
    assert!(cb.ephemeral());
    assert_eq!(cb.data()["allowed_mentions"]["parse"], json!([]));
    assert!(cb.text().contains("ask me a question"), "{}", cb.text());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn more_results_pages_for_the_asker_only() {
    let bot = TestBot::start(|_| {}).await;
    let cb = ask(&bot, "faq", json!([]), ALICE).await;
    assert!(cb.text().contains("Page 1 of 2"), "{}", cb.text());
    let buttons = cb.data()["components"][0]["components"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(buttons.len(), 1);
    assert_eq!(buttons[0]["label"], "More results");
    let custom_id = buttons[0]["custom_id"].as_str().unwrap().to_string();

    // Someone else pressing it gets a private refusal; the message is not touched.
    let id = bot.fake.dispatch(bot.fake.button(&custom_id, BOB));
    let refused = bot.fake.callback(id).await;
    assert_eq!(refused.kind(), 4);
    assert!(refused.ephemeral());
    assert!(
        refused.text().contains("Only the person who asked"),
        "{}",
        refused.text()
    );

    // The asker turns the page: the message is updated in place.
    let id = bot.fake.dispatch(bot.fake.button(&custom_id, ALICE));
    let page2 = bot.fake.callback(id).await;
    assert_eq!(page2.status, 204);
    assert_eq!(page2.kind(), 7);
    let text = page2.text();
    assert!(text.contains("Page 2 of 2"), "{text}");
    assert!(text.contains("4. "), "numbering continues: {text}");
    let back = page2.data()["components"][0]["components"][0].clone();
    assert_eq!(back["label"], "Previous");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_interactions_each_get_their_own_answer() {
    let bot = TestBot::start(|_| {}).await;
    let cases: [(&str, Value, &str); 5] = [
        (
            "certs",
            json!([opt("provider", "gcp")]),
            "Google Professional ML Engineer",
        ),
        (
            "certs",
            json!([opt("provider", "aws")]),
            "AWS Certified Machine Learning",
        ),
        (
            "salary",
            json!([opt("level", "senior"), opt("region", "india")]),
            "₹80–150 LPA",
        ),
        (
            "levels",
            json!([opt("level", "junior")]),
            "FastAPI or Flask",
        ),
        (
            "ask",
            json!([opt("question", "model monitoring drift")]),
            "drifting",
        ),
    ];
    let mut expected: HashMap<u64, &str> = HashMap::new();
    for i in 0..200 {
        let (name, options, fact) = &cases[i % cases.len()];
        let payload = bot
            .fake
            .command(name, options.clone(), 1_000 + i as u64, MEMBER_PERMISSIONS);
        expected.insert(bot.fake.dispatch(payload), fact);
    }
    for (id, fact) in &expected {
        let cb = bot.fake.callback(*id).await;
        assert_eq!(cb.status, 204, "{id}: {:#?}", cb.body);
        assert!(
            cb.text().contains(fact),
            "{id} expected {fact:?}: {}",
            cb.text()
        );
        assert_eq!(bot.fake.callbacks_for(*id).len(), 1, "exactly one callback");
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resumes_after_the_gateway_closes_and_answers_again() {
    let bot = TestBot::start(|_| {}).await;
    ask(&bot, "certs", json!([opt("provider", "aws")]), ALICE).await;
    let resumes = bot.fake.resumes();
    let identifies = bot.fake.identifies();
    bot.fake.close_gateway(4000);
    bot.fake.wait_resumed(resumes).await;
    assert_eq!(
        bot.fake.identifies(),
        identifies,
        "resumed, not re-identified"
    );
    let text = ask(&bot, "certs", json!([opt("provider", "gcp")]), ALICE)
        .await
        .text();
    assert!(text.contains("Google Professional ML Engineer"));
    bot.stop().await;
}

#[test]
fn a_failed_callback_is_logged_retried_and_the_bot_keeps_serving() {
    let logs = Logs::new();
    logs.run(async {
        let bot = TestBot::start(|_| {}).await;
        let payload = bot.fake.command(
            "certs",
            json!([opt("provider", "gcp")]),
            ALICE,
            MEMBER_PERMISSIONS,
        );
        let id: u64 = payload["id"].as_str().unwrap().parse().unwrap();
        bot.fake.fail_callback(id, 500);
        bot.fake.dispatch(payload);
        // The first attempt gets the 500; the retry delivers the answer.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while bot.fake.callbacks_for(id).len() < 2 {
            assert!(std::time::Instant::now() < deadline, "no retry");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let attempts = bot.fake.callbacks_for(id);
        assert_eq!(attempts[0].status, 500);
        assert_eq!(attempts[1].status, 204);
        assert!(attempts[1]
            .text()
            .contains("Google Professional ML Engineer"));
        let logs = logs.text();
        assert!(
            logs.lines()
                .any(|l| l.contains("WARN") && l.contains("server error") && l.contains("certs")),
            "the failure is logged"
        );
        // And the bot keeps serving.
        let text = ask(&bot, "levels", json!([opt("level", "senior")]), ALICE)
            .await
            .text();
        assert!(text.contains("Mentors junior ML engineers"));
        bot.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_answers_defer_first_then_edit() {
    // An answer "not ready" at once (threshold 0) takes the deferred path.
    let bot = TestBot::start(|c| c.discord.defer_after_ms = 0).await;
    let payload = bot.fake.command(
        "certs",
        json!([opt("provider", "gcp")]),
        ALICE,
        MEMBER_PERMISSIONS,
    );
    let id = bot.fake.dispatch(payload);
    let cb = bot.fake.callback(id).await;
    assert_eq!((cb.status, cb.kind()), (204, 5), "deferred: {:#?}", cb.body);
    let calls = bot.fake.webhook_calls(id, 1).await;
    let text = fake_discord::embed_text(&calls[0].body);
    assert!(text.contains("Google Professional ML Engineer"), "{text}");
    assert_eq!(calls[0].body["allowed_mentions"]["parse"], json!([]));

    // Page turns take the same path: a deferred update, then an edit of the message.
    let id = bot.fake.dispatch(
        bot.fake
            .command("faq", json!([]), ALICE, MEMBER_PERMISSIONS),
    );
    bot.fake.callback(id).await;
    let first = bot.fake.webhook_calls(id, 1).await;
    let custom_id = first[0].body["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let press = bot.fake.dispatch(bot.fake.button(&custom_id, ALICE));
    let cb = bot.fake.callback(press).await;
    assert_eq!(
        (cb.status, cb.kind()),
        (204, 6),
        "deferred update: {:#?}",
        cb.body
    );
    let edits = bot.fake.webhook_calls(press, 1).await;
    assert_eq!(edits[0].method, "PATCH");
    assert!(fake_discord::embed_text(&edits[0].body).contains("Page 2 of 2"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cooldown_makes_repeat_public_answers_private() {
    let bot = TestBot::start(|c| c.discord.cooldown_seconds = 3600).await;
    let first = ask(&bot, "certs", json!([opt("provider", "gcp")]), ALICE).await;
    assert!(!first.ephemeral());
    let second = ask(&bot, "certs", json!([opt("provider", "aws")]), ALICE).await;
    assert!(
        second.ephemeral(),
        "inside the cooldown the answer is private"
    );
    assert!(
        second.text().contains("only visible to you"),
        "{}",
        second.text()
    );
    assert!(second.text().contains("AWS Certified"), "still answered");
    // Someone else is not affected.
    assert!(!ask(&bot, "certs", json!([opt("provider", "aws")]), BOB)
        .await
        .ephemeral());
    bot.stop().await;
}

/// "Ask careerbot" on a member's message: a public answer that names the author without
/// pinging them and links their message; the author may turn its pages as well as the
/// member who asked, nobody else; a message with nothing to answer gets a private reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ask_careerbot_on_a_message() {
    const CAROL: u64 = 700_000_000_000_000_003;
    let bot = TestBot::start(|_| {}).await;
    let fake = &bot.fake;
    let question = "how much do senior ML engineers make in india? ```rust\nfn main() {}\n```";
    let id = fake.dispatch(fake.message_command("Ask careerbot", CAROL, question, ALICE));
    let cb = fake.callback(id).await;
    assert_eq!(
        (cb.status, cb.kind(), cb.ephemeral()),
        (204, 4, false),
        "{:#?}",
        cb.body
    );
    let content = cb.data()["content"].as_str().unwrap();
    let link = format!(
        "https://discord.com/channels/{}/{}/",
        fake_discord::GUILD_ID,
        fake_discord::CHANNEL_ID
    );
    assert!(
        content.starts_with(&format!("Answer for <@{CAROL}>'s [question]({link}")),
        "{content}"
    );
    assert_eq!(cb.data()["allowed_mentions"]["users"], json!([]), "no ping");
    assert_eq!(cb.data()["allowed_mentions"]["parse"], json!([]));
    assert!(
        cb.text().contains("Senior ML engineers in India"),
        "{}",
        cb.text()
    );
    let more = FakeDiscord::button_id(cb.data(), |b| b["label"] == "More results").unwrap();
    let refused = fake
        .callback(fake.dispatch(fake.press(&more, BOB, cb.data())))
        .await;
    assert!(refused.ephemeral(), "{:#?}", refused.body);
    let page2 = fake
        .callback(fake.dispatch(fake.press(&more, CAROL, cb.data())))
        .await;
    assert_eq!(
        page2.kind(),
        7,
        "the author turns the page: {:#?}",
        page2.body
    );
    let back = FakeDiscord::button_id(page2.data(), |b| b["label"] == "Previous").unwrap();
    let page1 = fake
        .callback(fake.dispatch(fake.press(&back, ALICE, page2.data())))
        .await;
    assert_eq!(page1.kind(), 7, "and the asker still may");

    for nothing in ["https://example.com/salaries", "```\nSELECT 1;\n```", ""] {
        let id = fake.dispatch(fake.message_command("Ask careerbot", CAROL, nothing, ALICE));
        let cb = fake.callback(id).await;
        assert!(cb.ephemeral(), "{nothing}");
        assert!(
            cb.text().contains("no question I can read"),
            "{}",
            cb.text()
        );
    }
    bot.stop().await;
}

/// `for:@member`: the answer is addressed to them, the only mention it allows, and they may
/// turn its pages; a bot, or a member who cannot see the channel, is refused privately.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_for_a_member() {
    const CAROL: u64 = 700_000_000_000_000_004;
    let bot = TestBot::start(|_| {}).await;
    let fake = &bot.fake;
    let faq = || fake.command("faq", json!([]), ALICE, MEMBER_PERMISSIONS);
    let payload = FakeDiscord::for_member(faq(), CAROL, false, MEMBER_PERMISSIONS);
    let cb = fake.callback(fake.dispatch(payload)).await;
    assert_eq!(
        (cb.status, cb.kind(), cb.ephemeral()),
        (204, 4, false),
        "{:#?}",
        cb.body
    );
    assert_eq!(cb.data()["content"], format!("For <@{CAROL}>:"));
    let mentions = &cb.data()["allowed_mentions"];
    assert_eq!(
        mentions["users"],
        json!([CAROL.to_string()]),
        "only the member"
    );
    assert_eq!(
        (&mentions["parse"], &mentions["roles"]),
        (&json!([]), &json!([]))
    );
    let more = FakeDiscord::button_id(cb.data(), |b| b["label"] == "More results").unwrap();
    let refused = fake
        .callback(fake.dispatch(fake.press(&more, BOB, cb.data())))
        .await;
    assert!(refused.ephemeral());
    let page2 = fake
        .callback(fake.dispatch(fake.press(&more, CAROL, cb.data())))
        .await;
    assert_eq!(
        page2.kind(),
        7,
        "the member turns the page: {:#?}",
        page2.body
    );

    let to_a_bot = FakeDiscord::for_member(faq(), 42, true, MEMBER_PERMISSIONS);
    let cb = fake.callback(fake.dispatch(to_a_bot)).await;
    assert!(
        cb.ephemeral() && cb.text().contains("is a bot"),
        "{}",
        cb.text()
    );
    let elsewhere = FakeDiscord::for_member(faq(), CAROL, false, "0");
    let cb = fake.callback(fake.dispatch(elsewhere)).await;
    assert!(cb.ephemeral(), "{:#?}", cb.body);
    assert!(
        cb.text().contains("cannot see this channel"),
        "{}",
        cb.text()
    );
    bot.stop().await;
}

/// The app installed by a member and used in a DM: answers are private by default, and the
/// moderators' commands are refused there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_dms_answers_are_private() {
    let bot = TestBot::start(|_| {}).await;
    let fake = &bot.fake;
    let ask = FakeDiscord::in_dm(fake.command(
        "salary",
        json!([{"name": "level", "type": 3, "value": "senior"}]),
        ALICE,
        MEMBER_PERMISSIONS,
    ));
    let cb = fake.callback(fake.dispatch(ask)).await;
    assert_eq!((cb.kind(), cb.ephemeral()), (4, true), "{:#?}", cb.body);
    assert!(cb.text().contains("Senior"), "{}", cb.text());
    let public = FakeDiscord::in_dm(fake.command(
        "salary",
        json!([{"name": "level", "type": 3, "value": "senior"}, {"name": "private", "type": 5, "value": false}]),
        ALICE,
        MEMBER_PERMISSIONS,
    ));
    let cb = fake.callback(fake.dispatch(public)).await;
    assert!(!cb.ephemeral(), "asked for public");
    let reload = FakeDiscord::in_dm(fake.command("reload", json!([]), ALICE, MEMBER_PERMISSIONS));
    let cb = fake.callback(fake.dispatch(reload)).await;
    assert!(cb.ephemeral());
    assert!(
        cb.text().contains("cannot run this command in DMs"),
        "{}",
        cb.text()
    );
    bot.stop().await;
}

mod fake_rules {
    //! The fake itself enforces Discord's rules, so the tests above would catch a bot that
    //! answers twice, too late, or too big.
    use super::super::fake_discord::{validate_message, validate_response, FakeDiscord};
    use serde_json::{json, Value};
    use std::time::Duration;

    async fn post(fake: &FakeDiscord, id: u64, token: &str, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!(
                "{}/api/v10/interactions/{id}/{token}/callback",
                fake.base()
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn callbacks_are_once_only_and_within_the_window() {
        let fake = FakeDiscord::start().await;
        let ok = json!({"type": 4, "data": {"content": "hi"}});
        fake.expect_interaction(1, "t1");
        assert_eq!(post(&fake, 1, "t1", ok.clone()).await.0, 204);
        let (status, body) = post(&fake, 1, "t1", ok.clone()).await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(40060)));
        let (status, body) = post(&fake, 2, "t2", ok.clone()).await;
        assert_eq!((status, body["code"].as_u64()), (404, Some(10062)));
        fake.set_window(Duration::from_millis(10));
        fake.expect_interaction(3, "t3");
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (status, body) = post(&fake, 3, "t3", ok.clone()).await;
        assert_eq!((status, body["code"].as_u64()), (404, Some(10062)));
        fake.expect_interaction(4, "t4");
        fake.set_window(Duration::from_secs(3));
        let big = json!({"type": 4, "data": {"embeds": [{"description": "x".repeat(5000)}]}});
        let (status, body) = post(&fake, 4, "t4", big).await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(50035)));
    }

    #[test]
    fn oversize_messages_are_rejected() {
        assert!(validate_message(&json!({"content": "x".repeat(2001)})).is_err());
        assert!(validate_message(&json!({"embeds": [{"description": "x".repeat(4097)}]})).is_err());
        let fields: Vec<_> = (0..26)
            .map(|_| json!({"name": "n", "value": "v"}))
            .collect();
        assert!(validate_message(&json!({"embeds": [{"fields": fields}]})).is_err());
        let big: Vec<_> = (0..7)
            .map(|_| json!({"name": "n", "value": "v".repeat(1000)}))
            .collect();
        assert!(
            validate_message(&json!({"embeds": [{"fields": big}]})).is_err(),
            "6000 total"
        );
        assert!(
            validate_message(&json!({"embeds": [{"title": "ok", "description": "fine"}]})).is_ok()
        );
        let button = json!({"type": 2, "style": 2, "custom_id": "x"});
        assert!(
            validate_message(&json!({"components": [{"type": 1, "components": [button]}]}))
                .is_err(),
            "a button with neither label nor emoji"
        );
    }

    #[test]
    fn modals_follow_discords_rules() {
        let input = |label: &str| json!({"type": 4, "custom_id": "i", "style": 2, "label": label});
        let modal = |title: &str, label: &str| {
            json!({"type": 9, "data": {"custom_id": "f", "title": title,
                "components": [{"type": 1, "components": [input(label)]}]}})
        };
        assert!(validate_response(3, &modal("Why?", "Tell us")).is_ok());
        assert!(
            validate_response(5, &modal("Why?", "Tell us")).is_err(),
            "not after a modal"
        );
        assert!(validate_response(3, &modal(&"t".repeat(46), "Tell us")).is_err());
        assert!(validate_response(3, &modal("Why?", &"l".repeat(46))).is_err());
    }
}
