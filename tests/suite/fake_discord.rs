//! A fake Discord on 127.0.0.1: the REST routes and the gateway WebSocket the bot uses,
//! with Discord's rules enforced (3-second callback window, one callback per interaction,
//! message and embed limits) so the tests catch what real Discord would reject.
#![allow(
    dead_code,
    reason = "a shared fake: each test uses some of its routes and knobs"
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, patch, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

pub const APP_ID: u64 = 900_000_000_000_000_001;
pub const BOT_ID: u64 = 900_000_000_000_000_002;
pub const GUILD_ID: u64 = 900_000_000_000_000_003;
pub const CHANNEL_ID: u64 = 900_000_000_000_000_004;
/// Manage Server (0x20) and more: what a moderator has.
pub const MODERATOR_PERMISSIONS: &str = "1099511627775";
/// View channel, send messages, use application commands: an ordinary member.
pub const MEMBER_PERMISSIONS: &str = "2147486720";
/// Discord's window for the first response to an interaction.
pub const CALLBACK_WINDOW: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Callback {
    pub interaction_id: u64,
    pub body: Value,
    /// What the fake answered.
    pub status: u16,
    pub after: Duration,
}

impl Callback {
    /// `data` of the response (message, update, or autocomplete choices).
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn kind(&self) -> u64 {
        self.body["type"].as_u64().unwrap_or(0)
    }
    /// All embed text of the response, for content assertions.
    pub fn text(&self) -> String {
        embed_text(self.data())
    }
    pub fn ephemeral(&self) -> bool {
        self.data()["flags"].as_u64().unwrap_or(0) & 64 != 0
    }
}

/// Title, description, fields, footer and content of a message payload, joined.
pub fn embed_text(data: &Value) -> String {
    let mut out = String::new();
    out.push_str(data["content"].as_str().unwrap_or(""));
    for e in data["embeds"].as_array().into_iter().flatten() {
        for key in ["title", "description"] {
            out.push('\n');
            out.push_str(e[key].as_str().unwrap_or(""));
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            out.push('\n');
            out.push_str(f["name"].as_str().unwrap_or(""));
            out.push('\n');
            out.push_str(f["value"].as_str().unwrap_or(""));
        }
        out.push('\n');
        out.push_str(e["footer"]["text"].as_str().unwrap_or(""));
    }
    out
}

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// Attachments: `(file name, bytes)`.
    pub files: Vec<(String, Vec<u8>)>,
}

enum GatewayCommand {
    Dispatch(&'static str, Value),
    Close(u16),
}

struct Interaction {
    created: Instant,
    token: String,
    acknowledged: bool,
    /// Discord's interaction type (2 command, 3 component, 5 modal submit, …).
    kind: u64,
}

#[derive(Default)]
struct Inner {
    registered: Vec<Call>,
    callbacks: Vec<Callback>,
    webhooks: Vec<Call>,
    channel_messages: Vec<Call>,
    unknown_routes: Vec<String>,
    interactions: HashMap<u64, Interaction>,
    fail_callbacks: HashMap<u64, u16>,
    gateway: Option<mpsc::UnboundedSender<GatewayCommand>>,
    /// Discord's 3 s, shortened by tests of the rule itself.
    window: Option<Duration>,
    identify_payloads: Vec<Value>,
    /// Messages `GET /channels/{channel}/messages/{id}` serves, by `(channel, id)`.
    messages: HashMap<(u64, u64), Value>,
    /// Intent bits an IDENTIFY may not ask for: the session is closed with 4014, as Discord
    /// does when a privileged intent is off in the developer portal.
    refused_intents: u64,
    /// Channels whose message posts fail: `(status, Discord code, message)`.
    failing_channels: HashMap<u64, (u16, u32, String)>,
    /// Channels of the posts [`FakeDiscord::fail_channel`] made fail, in order.
    refused_posts: Vec<String>,
}

struct Shared {
    addr: SocketAddr,
    inner: Mutex<Inner>,
    changed: Notify,
    seq: AtomicU64,
    next_id: AtomicU64,
    identifies: AtomicUsize,
    resumes: AtomicUsize,
    connections: AtomicUsize,
    /// The shard count `GET /gateway/bot` recommends.
    recommended_shards: AtomicUsize,
    /// The application's flags (`GET /oauth2/applications/@me`).
    app_flags: AtomicU64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake; dropped with the test's runtime.
pub struct FakeDiscord {
    shared: Arc<Shared>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            addr,
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
            seq: AtomicU64::new(0),
            next_id: AtomicU64::new(1_000_000_000_000_000_000),
            identifies: AtomicUsize::new(0),
            resumes: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            recommended_shards: AtomicUsize::new(1),
            app_flags: AtomicU64::new(MESSAGE_CONTENT_LIMITED),
        });
        let app = Router::new()
            .route("/", any(gateway))
            .route("/api/v10/gateway", get(get_gateway))
            .route("/api/v10/gateway/bot", get(get_gateway_bot))
            .route("/api/v10/oauth2/applications/@me", get(get_application))
            .route("/api/v10/applications/{app}/commands", put(put_commands))
            .route(
                "/api/v10/applications/{app}/guilds/{guild}/commands",
                put(put_commands),
            )
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                post(post_callback),
            )
            .route("/api/v10/webhooks/{app}/{token}", post(post_followup))
            .route(
                "/api/v10/webhooks/{app}/{token}/messages/{message}",
                patch(patch_message).get(get_message),
            )
            .route(
                "/api/v10/channels/{channel}/messages",
                post(post_channel_message),
            )
            .route(
                "/api/v10/channels/{channel}/messages/{message}",
                get(get_channel_message),
            )
            .fallback(unknown)
            .with_state(Arc::clone(&shared));
        // Small request/response exchanges: never let Nagle hold a segment back.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeDiscord { shared }
    }

    /// `http://127.0.0.1:PORT`: what `DISCORD_API_BASE` points at.
    pub fn base(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Waits for the bot to register its commands (it is then ready for interactions).
    pub async fn registered(&self) -> Call {
        self.wait(Duration::from_secs(30), |inner| {
            inner.registered.last().cloned()
        })
        .await
        .expect("the bot never registered its commands")
    }

    /// A fresh snowflake.
    pub fn id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// A snowflake made now: Discord ids carry their creation time.
    pub fn snowflake_now(&self) -> u64 {
        snowflake_now()
    }

    /// Sends a gateway event.
    pub fn send_event(&self, event: &'static str, data: Value) {
        let sender = self
            .shared
            .lock()
            .gateway
            .clone()
            .expect("no gateway session");
        sender
            .send(GatewayCommand::Dispatch(event, data))
            .expect("gateway session ended");
    }

    /// A member opens a post in forum `forum`: its starter message (id = the thread's)
    /// becomes readable, then THREAD_CREATE is sent. Returns the thread id.
    pub fn new_post(&self, forum: u64, author: u64, bot: bool, title: &str, body: &str) -> u64 {
        let thread = self.snowflake_now();
        self.put_message(starter_json(thread, thread, author, bot, body));
        self.send_event("THREAD_CREATE", thread_json(thread, forum, author, title));
        thread
    }

    /// Makes `message` readable at `GET /channels/{its channel_id}/messages/{its id}`.
    pub fn put_message(&self, message: Value) {
        let id = |k: &str| message[k].as_str().unwrap().parse::<u64>().unwrap();
        let key = (id("channel_id"), id("id"));
        self.shared.lock().messages.insert(key, message);
    }

    /// Waits for the `n`th IDENTIFY; returns every IDENTIFY's payload.
    pub async fn identified(&self, n: usize) -> Vec<Value> {
        self.wait(Duration::from_secs(10), |inner| {
            (inner.identify_payloads.len() >= n).then(|| inner.identify_payloads.clone())
        })
        .await
        .expect("no IDENTIFY")
    }

    /// Sets the application's flags, as the developer portal's toggles do.
    pub fn set_app_flags(&self, flags: u64) {
        self.shared.app_flags.store(flags, Ordering::SeqCst);
    }

    /// Refuses IDENTIFYs asking for any of `intents` (close code 4014).
    pub fn refuse_intents(&self, intents: u64) {
        self.shared.lock().refused_intents = intents;
    }

    /// Makes posts to `channel` fail with `status` and Discord's JSON `code`.
    pub fn fail_channel(&self, channel: u64, status: u16, code: u32, message: &str) {
        self.shared
            .lock()
            .failing_channels
            .insert(channel, (status, code, message.to_string()));
    }

    /// Waits for `n` posts refused by [`FakeDiscord::fail_channel`]; returns their channels.
    pub async fn refused_posts(&self, n: usize) -> Vec<String> {
        self.wait(Duration::from_secs(10), |inner| {
            (inner.refused_posts.len() >= n).then(|| inner.refused_posts.clone())
        })
        .await
        .expect("no refused post")
    }

    /// Messages posted to channels so far (a snapshot; [`FakeDiscord::channel_message`]
    /// waits for them).
    pub fn channel_messages(&self) -> Vec<Call> {
        self.shared.lock().channel_messages.clone()
    }

    /// Sends INTERACTION_CREATE over the gateway and starts its 3-second window.
    pub fn dispatch(&self, payload: Value) -> u64 {
        let id: u64 = payload["id"].as_str().unwrap().parse().unwrap();
        let token = payload["token"].as_str().unwrap().to_string();
        let sender = {
            let mut inner = self.shared.lock();
            inner.interactions.insert(
                id,
                Interaction {
                    created: Instant::now(),
                    token,
                    acknowledged: false,
                    kind: payload["type"].as_u64().unwrap_or(0),
                },
            );
            inner.gateway.clone().expect("no gateway session")
        };
        sender
            .send(GatewayCommand::Dispatch("INTERACTION_CREATE", payload))
            .expect("gateway session ended");
        id
    }

    /// Slash command interaction from a member of the test server.
    pub fn command(&self, name: &str, options: Value, user: u64, permissions: &str) -> Value {
        self.interaction(
            2,
            json!({"id": self.id().to_string(), "name": name, "type": 1, "options": options}),
            user,
            permissions,
            &[],
        )
    }

    /// Like [`Self::command`], with role ids on the member.
    pub fn command_with_roles(
        &self,
        name: &str,
        options: Value,
        user: u64,
        permissions: &str,
        roles: &[u64],
    ) -> Value {
        self.interaction(
            2,
            json!({"id": self.id().to_string(), "name": name, "type": 1, "options": options}),
            user,
            permissions,
            roles,
        )
    }

    /// Autocomplete interaction: `focused` is the option being typed.
    pub fn autocomplete(&self, name: &str, focused: &str, typed: &str, user: u64) -> Value {
        let options = json!([{"name": focused, "type": 3, "value": typed, "focused": true}]);
        self.interaction(
            4,
            json!({"id": self.id().to_string(), "name": name, "type": 1, "options": options}),
            user,
            MEMBER_PERMISSIONS,
            &[],
        )
    }

    /// A button press on a message the bot sent.
    pub fn button(&self, custom_id: &str, user: u64) -> Value {
        let mut payload = self.interaction(
            3,
            json!({"custom_id": custom_id, "component_type": 2}),
            user,
            MEMBER_PERMISSIONS,
            &[],
        );
        payload["message"] = message_json(self.id(), "", json!([]));
        payload
    }

    /// A button press on a message the bot sent with `message` (a response's `data`): the
    /// press carries the message's components, as Discord's does.
    pub fn press(&self, custom_id: &str, user: u64, message: &Value) -> Value {
        let mut payload = self.button(custom_id, user);
        payload["message"]["components"] = message["components"].clone();
        payload["message"]["embeds"] = message["embeds"].clone();
        payload
    }

    /// The custom id of the button on `message` (a response's `data`) that `pick` chooses.
    pub fn button_id(message: &Value, pick: impl Fn(&Value) -> bool) -> Option<String> {
        message["components"]
            .as_array()?
            .iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find(|b| pick(b))
            .and_then(|b| b["custom_id"].as_str().map(str::to_string))
    }

    /// A message command (`name`, from a message's Apps menu) run by `user` on a message by
    /// `author` saying `content`, with the message resolved as Discord sends it.
    pub fn message_command(&self, name: &str, author: u64, content: &str, user: u64) -> Value {
        let target = self.id();
        let mut message = message_json(target, content, json!([]));
        message["author"] = user_json(author);
        let mut resolved = serde_json::Map::new();
        resolved.insert(target.to_string(), message);
        self.interaction(
            2,
            json!({"id": self.id().to_string(), "name": name, "type": 3,
                "target_id": target.to_string(), "resolved": {"messages": resolved}}),
            user,
            MEMBER_PERMISSIONS,
            &[],
        )
    }

    /// `payload` (a command) with its `for` option naming `target`, resolved as Discord
    /// resolves a user option: the user, and as a member their permissions in the channel.
    pub fn for_member(payload: Value, target: u64, bot: bool, permissions: &str) -> Value {
        let mut payload = payload;
        let id = target.to_string();
        let mut user = user_json(target);
        user["bot"] = json!(bot);
        let options = payload["data"]["options"].as_array_mut().unwrap();
        options.push(json!({"name": "for", "type": 6, "value": id}));
        payload["data"]["resolved"] = json!({
            "users": {id.clone(): user},
            "members": {id: {"roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00",
                "deaf": false, "mute": false, "flags": 0, "pending": false,
                "permissions": permissions}}
        });
        payload
    }

    /// `payload` as it comes from the bot's DMs, the app installed by the member: no server,
    /// no member, the user at the top level.
    pub fn in_dm(payload: Value) -> Value {
        let mut payload = payload;
        let user = payload["member"]["user"].clone();
        let object = payload.as_object_mut().unwrap();
        object.remove("guild_id");
        object.remove("member");
        object.remove("guild_locale");
        object.insert("user".into(), user);
        object.insert(
            "channel".into(),
            json!({"id": CHANNEL_ID.to_string(), "type": 1}),
        );
        object.insert("context".into(), json!(1));
        object.insert(
            "authorizing_integration_owners".into(),
            json!({"1": object["user"]["id"].clone()}),
        );
        payload
    }

    /// A modal submitted: `inputs` are the text inputs' `(custom id, value)`.
    pub fn modal_submit(&self, custom_id: &str, user: u64, inputs: &[(&str, &str)]) -> Value {
        let rows: Vec<Value> = inputs
            .iter()
            .map(|(id, value)| {
                json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})
            })
            .collect();
        self.interaction(
            5,
            json!({"custom_id": custom_id, "components": rows}),
            user,
            MEMBER_PERMISSIONS,
            &[],
        )
    }

    fn interaction(
        &self,
        kind: u8,
        data: Value,
        user: u64,
        permissions: &str,
        roles: &[u64],
    ) -> Value {
        let id = self.id();
        json!({
            "id": id.to_string(),
            "application_id": APP_ID.to_string(),
            "type": kind,
            "data": data,
            "guild_id": GUILD_ID.to_string(),
            "channel_id": CHANNEL_ID.to_string(),
            "channel": {"id": CHANNEL_ID.to_string(), "type": 0, "name": "careers"},
            "member": {
                "user": user_json(user),
                "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                "deaf": false,
                "mute": false,
                "flags": 0,
                "permissions": permissions,
                "joined_at": "2025-01-01T00:00:00.000000+00:00",
                "pending": false
            },
            "app_permissions": "1099511627775",
            "token": format!("tok-{id}"),
            "version": 1,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": 8388608
        })
    }

    /// The first callback for an interaction, waiting up to 10 s.
    pub async fn callback(&self, id: u64) -> Callback {
        self.wait(Duration::from_secs(10), |inner| {
            inner
                .callbacks
                .iter()
                .find(|c| c.interaction_id == id)
                .cloned()
        })
        .await
        .unwrap_or_else(|| panic!("no callback for interaction {id}"))
    }

    /// Every callback attempt for an interaction so far.
    pub fn callbacks_for(&self, id: u64) -> Vec<Callback> {
        self.shared
            .lock()
            .callbacks
            .iter()
            .filter(|c| c.interaction_id == id)
            .cloned()
            .collect()
    }

    /// Webhook calls (followups and edits) for an interaction's token, waiting for `n`.
    pub async fn webhook_calls(&self, id: u64, n: usize) -> Vec<Call> {
        let token = format!("tok-{id}");
        self.wait(Duration::from_secs(20), |inner| {
            let calls: Vec<Call> = inner
                .webhooks
                .iter()
                .filter(|c| c.path.contains(&token))
                .cloned()
                .collect();
            (calls.len() >= n).then_some(calls)
        })
        .await
        .unwrap_or_else(|| panic!("fewer than {n} webhook calls for interaction {id}"))
    }

    pub async fn channel_message(&self, n: usize) -> Vec<Call> {
        self.wait(Duration::from_secs(10), |inner| {
            (inner.channel_messages.len() >= n).then(|| inner.channel_messages.clone())
        })
        .await
        .expect("no channel message")
    }

    /// Starts an interaction's window without sending it to the bot (tests of the rules).
    pub fn expect_interaction(&self, id: u64, token: &str) {
        self.shared.lock().interactions.insert(
            id,
            Interaction {
                created: Instant::now(),
                token: token.to_string(),
                acknowledged: false,
                kind: 2,
            },
        );
    }

    /// Marks an interaction answered, as Discord does when an HTTP endpoint responds: its
    /// webhook (followups, edits) then works.
    pub fn acknowledge(&self, id: u64, token: &str) {
        self.shared.lock().interactions.insert(
            id,
            Interaction {
                created: Instant::now(),
                token: token.to_string(),
                acknowledged: true,
                kind: 2,
            },
        );
    }

    /// IDENTIFY payloads received, in order.
    /// Sets the shard count Discord recommends to bots that start with `shards = "auto"`.
    pub fn recommend_shards(&self, count: usize) {
        self.shared
            .recommended_shards
            .store(count, Ordering::SeqCst);
    }

    pub fn identify_payloads(&self) -> Vec<Value> {
        self.shared.lock().identify_payloads.clone()
    }

    /// Shortens the callback window.
    pub fn set_window(&self, window: Duration) {
        self.shared.lock().window = Some(window);
    }

    /// The next callback for this interaction answers with `status` (once).
    pub fn fail_callback(&self, id: u64, status: u16) {
        self.shared.lock().fail_callbacks.insert(id, status);
    }

    /// Closes the gateway session with a close code (4000: unknown error, resumable).
    pub fn close_gateway(&self, code: u16) {
        if let Some(tx) = self.shared.lock().gateway.clone() {
            let _ = tx.send(GatewayCommand::Close(code));
        }
    }

    pub fn identifies(&self) -> usize {
        self.shared.identifies.load(Ordering::SeqCst)
    }

    pub fn resumes(&self) -> usize {
        self.shared.resumes.load(Ordering::SeqCst)
    }

    /// Waits until a new gateway session has resumed or identified after a close.
    pub async fn wait_resumed(&self, resumes_before: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.resumes() <= resumes_before {
            assert!(Instant::now() < deadline, "the bot never resumed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // RESUMED is sent after the RESUME arrives; give the bot a moment to read it.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    pub fn unknown_routes(&self) -> Vec<String> {
        self.shared.lock().unknown_routes.clone()
    }

    async fn wait<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Inner) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(found) = check(&self.shared.lock()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return check(&self.shared.lock());
            }
        }
    }
}

pub fn user_json(id: u64) -> Value {
    json!({"id": id.to_string(), "username": format!("member{id}"), "discriminator": "0", "global_name": null, "avatar": null})
}

/// Discord's epoch (2015-01-01), in Unix milliseconds.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// The Message Content intent's bit.
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// The application flag of the portal's Message Content toggle (an unverified app's).
pub const MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;

/// A snowflake made now, unique within the process: Discord ids carry their creation time.
pub fn snowflake_now() -> u64 {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let serial = SERIAL.fetch_add(1, Ordering::SeqCst) & 0x3f_ffff;
    ((ms - DISCORD_EPOCH_MS) << 22) | serial
}

/// A public thread (type 11) opened in `parent` by `owner`.
pub fn thread_json(id: u64, parent: u64, owner: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "parent_id": parent.to_string(),
        "owner_id": owner.to_string(),
        "type": 11,
        "name": name,
        "last_message_id": id.to_string(),
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": 4320,
            "archive_timestamp": "2026-01-01T00:00:00.000000+00:00",
            "locked": false,
            "create_timestamp": "2026-01-01T00:00:00.000000+00:00"
        },
        "total_message_sent": 0,
        "applied_tags": [],
        "flags": 0
    })
}

/// A member's (or a bot's) message `id` in `channel`.
pub fn starter_json(id: u64, channel: u64, author: u64, bot: bool, content: &str) -> Value {
    let mut message = message_json(id, content, json!([]));
    message["channel_id"] = json!(channel.to_string());
    message["author"] = user_json(author);
    message["author"]["bot"] = json!(bot);
    message
}

pub fn message_json(id: u64, content: &str, embeds: Value) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": CHANNEL_ID.to_string(),
        "author": {"id": BOT_ID.to_string(), "username": "careerbot", "discriminator": "0", "avatar": null, "bot": true},
        "content": content,
        "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds,
        "pinned": false,
        "type": 0,
        "flags": 0
    })
}

fn discord_error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// A JSON body, or a multipart one (`payload_json` plus `files[n]`) as sent with attachments.
fn parse_body(headers: &axum::http::HeaderMap, bytes: &[u8]) -> (Value, Vec<(String, Vec<u8>)>) {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (
            serde_json::from_slice(bytes).unwrap_or(Value::Null),
            Vec::new(),
        );
    };
    let boundary = format!("--{}", boundary.trim_matches('"'));
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut json = Value::Null;
    let mut files = Vec::new();
    for part in text.split(&boundary) {
        let Some((head, body)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let body = body.strip_suffix("\r\n").unwrap_or(body);
        if head.contains("name=\"payload_json\"") {
            json = serde_json::from_str(body).unwrap_or(Value::Null);
        } else if let Some(name) = head
            .split("filename=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        {
            files.push((name.to_string(), body.as_bytes().to_vec()));
        }
    }
    (json, files)
}

/// What Discord checks in an interaction response: the message limits, and for a modal
/// (type 9) its own rules — never in answer to a modal submit, a title and inputs within
/// their limits.
pub fn validate_response(interaction_kind: u64, body: &Value) -> Result<(), String> {
    if body["type"].as_u64() != Some(9) {
        return validate_message(&body["data"]);
    }
    if interaction_kind == 5 {
        return Err("a modal cannot answer a modal submit".into());
    }
    let data = &body["data"];
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let (title, id) = (chars(&data["title"]), chars(&data["custom_id"]));
    if !(1..=45).contains(&title) || !(1..=100).contains(&id) {
        return Err(format!("modal title {title} / custom_id {id} out of range"));
    }
    let rows = data["components"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        return Err("a modal needs 1 to 5 rows".into());
    }
    for row in &rows {
        for input in row["components"].as_array().into_iter().flatten() {
            let label = chars(&input["label"]);
            let max = input["max_length"].as_u64().unwrap_or(4000);
            if input["type"] != 4 || !(1..=45).contains(&label) || !(1..=4000).contains(&max) {
                return Err(format!("bad modal input: {input}"));
            }
        }
    }
    Ok(())
}

/// Discord's message limits; `Err` is the reason for a 400.
pub fn validate_message(data: &Value) -> Result<(), String> {
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    if chars(&data["content"]) > 2000 {
        return Err("content over 2000".into());
    }
    let embeds = data["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Err("more than 10 embeds".into());
    }
    let mut total = 0;
    for e in &embeds {
        let t = chars(&e["title"]);
        let d = chars(&e["description"]);
        let f = chars(&e["footer"]["text"]);
        if t > 256 || d > 4096 || f > 2048 {
            return Err(format!(
                "embed title {t} / description {d} / footer {f} over the limit"
            ));
        }
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err("more than 25 fields".into());
        }
        total += t + d + f;
        for field in &fields {
            let (n, v) = (chars(&field["name"]), chars(&field["value"]));
            if n == 0 || n > 256 || v == 0 || v > 1024 {
                return Err(format!("field name {n} / value {v} out of range"));
            }
            total += n + v;
        }
    }
    if total > 6000 {
        return Err(format!("embeds total {total} over 6000"));
    }
    for row in data["components"].as_array().into_iter().flatten() {
        let buttons = row["components"].as_array().cloned().unwrap_or_default();
        if buttons.len() > 5 {
            return Err("more than 5 buttons in a row".into());
        }
        for c in &buttons {
            if chars(&c["custom_id"]) > 100 {
                return Err("custom_id over 100".into());
            }
            if c["type"] == 2 && chars(&c["label"]) == 0 && c["emoji"].is_null() {
                return Err("a button needs a label or an emoji".into());
            }
        }
    }
    if let Some(choices) = data["choices"].as_array() {
        if choices.len() > 25 {
            return Err("more than 25 choices".into());
        }
        for c in choices {
            if chars(&c["name"]) > 100
                || c["value"].as_str().is_some_and(|v| v.chars().count() > 100)
            {
                return Err("choice over 100".into());
            }
        }
    }
    Ok(())
}

async fn gateway(State(s): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(s, socket))
}

async fn session(s: Arc<Shared>, mut socket: WebSocket) {
    s.connections.fetch_add(1, Ordering::SeqCst);
    let (tx, mut rx) = mpsc::unbounded_channel();
    s.lock().gateway = Some(tx);
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let url = format!("ws://{}", s.addr);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { return };
                let Message::Text(text) = msg else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                let reply = match frame["op"].as_u64() {
                    Some(1) => json!({"op": 11}),
                    Some(2) => {
                        s.identifies.fetch_add(1, Ordering::SeqCst);
                        let refused = {
                            let mut inner = s.lock();
                            inner.identify_payloads.push(frame["d"].clone());
                            frame["d"]["intents"].as_u64().unwrap_or(0) & inner.refused_intents
                        };
                        s.changed.notify_waiters();
                        if refused != 0 {
                            let close = CloseFrame { code: 4014, reason: "Disallowed intent(s).".into() };
                            let _ = socket.send(Message::Close(Some(close))).await;
                            return;
                        }
                        let seq = s.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        json!({"op": 0, "t": "READY", "s": seq, "d": {
                            "v": 10,
                            "user": {"id": BOT_ID.to_string(), "username": "careerbot", "discriminator": "0", "avatar": null, "bot": true},
                            "guilds": [],
                            "session_id": "fake-session",
                            "resume_gateway_url": url,
                            "application": {"id": APP_ID.to_string(), "flags": 0}
                        }})
                    }
                    Some(6) => {
                        s.resumes.fetch_add(1, Ordering::SeqCst);
                        let seq = s.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        json!({"op": 0, "t": "RESUMED", "s": seq, "d": {}})
                    }
                    _ => continue,
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
                s.changed.notify_waiters();
            }
            command = rx.recv() => {
                match command {
                    Some(GatewayCommand::Dispatch(t, d)) => {
                        let seq = s.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        let frame = json!({"op": 0, "t": t, "s": seq, "d": d});
                        if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    Some(GatewayCommand::Close(code)) => {
                        let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: "test close".into() }))).await;
                        return;
                    }
                    None => return,
                }
            }
        }
    }
}

async fn get_gateway(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"url": format!("ws://{}", s.addr)}))
}

async fn get_gateway_bot(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "url": format!("ws://{}", s.addr),
        "shards": s.recommended_shards.load(Ordering::SeqCst),
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
    }))
}

async fn get_application(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "id": APP_ID.to_string(),
        "name": "careerbot",
        "icon": null,
        "description": "",
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "00",
        "owner": user_json(1),
        "team": null,
        "flags": s.app_flags.load(Ordering::SeqCst)
    }))
}

async fn put_commands(
    State(s): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = match params.get("guild") {
        Some(g) => format!("/applications/{}/guilds/{g}/commands", params["app"]),
        None => format!("/applications/{}/commands", params["app"]),
    };
    let echoed: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            c["id"] = json!((5_000 + i).to_string());
            c["application_id"] = json!(APP_ID.to_string());
            c["version"] = json!("1");
            c["default_member_permissions"] = c
                .get("default_member_permissions")
                .cloned()
                .unwrap_or(Value::Null);
            c["type"] = c.get("type").cloned().unwrap_or(json!(1));
            // Discord answers "" for commands that have none (message and user commands).
            c["description"] = c.get("description").cloned().unwrap_or(json!(""));
            c
        })
        .collect();
    s.lock().registered.push(Call {
        method: "PUT".into(),
        path,
        body,
        files: Vec::new(),
    });
    s.changed.notify_waiters();
    Json(Value::Array(echoed)).into_response()
}

async fn post_callback(
    State(s): State<Arc<Shared>>,
    Path((id, token)): Path<(u64, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let (body, _files) = parse_body(&headers, &body);
    let (status, response, after) = {
        let mut inner = s.lock();
        let window = inner.window.unwrap_or(CALLBACK_WINDOW);
        let fail = inner.fail_callbacks.remove(&id);
        let known = inner.interactions.get_mut(&id).filter(|i| i.token == token);
        match known {
            None => (
                404,
                discord_error(StatusCode::NOT_FOUND, 10062, "Unknown interaction"),
                Duration::ZERO,
            ),
            Some(i) => {
                let after = i.created.elapsed();
                if let Some(code) = fail {
                    (
                        code,
                        discord_error(StatusCode::from_u16(code).unwrap(), 0, "injected failure"),
                        after,
                    )
                } else if after > window {
                    (
                        404,
                        discord_error(StatusCode::NOT_FOUND, 10062, "Unknown interaction"),
                        after,
                    )
                } else if i.acknowledged {
                    (
                        400,
                        discord_error(
                            StatusCode::BAD_REQUEST,
                            40060,
                            "Interaction has already been acknowledged.",
                        ),
                        after,
                    )
                } else if let Err(why) = validate_response(i.kind, &body) {
                    (
                        400,
                        discord_error(
                            StatusCode::BAD_REQUEST,
                            50035,
                            &format!("Invalid Form Body: {why}"),
                        ),
                        after,
                    )
                } else {
                    i.acknowledged = true;
                    (204, StatusCode::NO_CONTENT.into_response(), after)
                }
            }
        }
    };
    s.lock().callbacks.push(Callback {
        interaction_id: id,
        body,
        status,
        after,
    });
    s.changed.notify_waiters();
    response
}

/// Followups and edits need an acknowledged interaction's token.
fn check_webhook(s: &Shared, token: &str, body: &Value) -> Result<(), Box<Response>> {
    let inner = s.lock();
    let acknowledged = inner
        .interactions
        .values()
        .any(|i| i.token == token && i.acknowledged);
    if !acknowledged {
        return Err(Box::new(discord_error(
            StatusCode::NOT_FOUND,
            10015,
            "Unknown Webhook",
        )));
    }
    validate_message(body).map_err(|why| {
        Box::new(discord_error(
            StatusCode::BAD_REQUEST,
            50035,
            &format!("Invalid Form Body: {why}"),
        ))
    })
}

async fn post_followup(
    State(s): State<Arc<Shared>>,
    Path((_app, token)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    webhook(
        s,
        "POST",
        format!("/webhooks/{token}"),
        &token,
        &headers,
        body,
    )
}

async fn patch_message(
    State(s): State<Arc<Shared>>,
    Path((_app, token, message)): Path<(String, String, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    webhook(
        s,
        "PATCH",
        format!("/webhooks/{token}/messages/{message}"),
        &token,
        &headers,
        body,
    )
}

fn webhook(
    s: Arc<Shared>,
    method: &str,
    path: String,
    token: &str,
    headers: &axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let (body, files) = parse_body(headers, &body);
    let checked = check_webhook(&s, token, &body);
    let id = s.next_id.fetch_add(1, Ordering::SeqCst);
    let embeds = body["embeds"].clone();
    let content = body["content"].as_str().unwrap_or("").to_string();
    s.lock().webhooks.push(Call {
        method: method.into(),
        path,
        body,
        files,
    });
    s.changed.notify_waiters();
    match checked {
        Ok(()) => Json(message_json(
            id,
            &content,
            if embeds.is_null() { json!([]) } else { embeds },
        ))
        .into_response(),
        Err(r) => *r,
    }
}

async fn get_message(
    Path((_app, _token, _message)): Path<(String, String, String)>,
) -> Json<Value> {
    Json(message_json(1, "", json!([])))
}

async fn get_channel_message(
    State(s): State<Arc<Shared>>,
    Path((channel, message)): Path<(u64, u64)>,
) -> Response {
    match s.lock().messages.get(&(channel, message)) {
        Some(m) => Json(m.clone()).into_response(),
        None => discord_error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
    }
}

async fn post_channel_message(
    State(s): State<Arc<Shared>>,
    Path(channel): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let failing = channel
        .parse::<u64>()
        .ok()
        .and_then(|c| s.lock().failing_channels.get(&c).cloned());
    if let Some((status, code, message)) = failing {
        s.lock().refused_posts.push(channel.clone());
        s.changed.notify_waiters();
        return discord_error(StatusCode::from_u16(status).unwrap(), code, &message);
    }
    let (body, files) = parse_body(&headers, &body);
    if let Err(why) = validate_message(&body) {
        return discord_error(StatusCode::BAD_REQUEST, 50035, &why);
    }
    let id = s.next_id.fetch_add(1, Ordering::SeqCst);
    let content = body["content"].as_str().unwrap_or("").to_string();
    s.lock().channel_messages.push(Call {
        method: "POST".into(),
        path: format!("/channels/{channel}/messages"),
        body,
        files,
    });
    s.changed.notify_waiters();
    Json(message_json(id, &content, json!([]))).into_response()
}

async fn unknown(State(s): State<Arc<Shared>>, req: axum::extract::Request) -> Response {
    s.lock()
        .unknown_routes
        .push(format!("{} {}", req.method(), req.uri()));
    discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found")
}
