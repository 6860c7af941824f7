//! Forum suggestions over the gateway: a new thread in a watched channel is read (the
//! thread, then its first message), decided on by [`crate::suggest`], and answered with
//! one message. Every Discord failure is logged once per channel and never retried: a
//! missing permission would fail again the same way. (Slow mode does not hold bots back;
//! a thread gets one message from us anyway.)

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, GuildChannel, Http, Message, MessageId, MessageReference};

use super::core::{self, Shared};
use crate::suggest::{NewThread, Starter};

/// Discord's JSON error codes this handler tells apart.
const UNKNOWN_MESSAGE: isize = 10008;
const MISSING_ACCESS: isize = 50001;
const MISSING_PERMISSIONS: isize = 50013;

/// Handles a THREAD_CREATE: at most one suggestion, posted as a reply to the post.
pub async fn on_thread_create(shared: &Arc<Shared>, http: &Http, thread: &GuildChannel) {
    let started = std::time::Instant::now();
    let meta = thread.thread_metadata;
    let new = NewThread {
        id: thread.id.get(),
        guild: Some(thread.guild_id.get()),
        parent: thread.parent_id.map(|p| p.get()),
        title: thread.name.clone(),
        archived: meta.is_some_and(|m| m.archived),
        locked: meta.is_some_and(|m| m.locked),
    };
    let claimed = match shared.suggest_first(&new) {
        Ok(()) => shared.suggest_claim_shared(new.id).await,
        Err(skip) => Err(skip),
    };
    if let Err(skip) = claimed {
        skip.count(new.id);
        return;
    }
    let starter = match starter_message(shared, http, thread).await {
        Some(m) => m,
        None => {
            crate::suggest::Skip::NoStarter.count(new.id);
            return;
        }
    };
    let reference = (starter.channel_id == thread.id).then_some(starter.id);
    let starter = Starter {
        author: starter.author.id.get(),
        bot: starter.author.bot,
        text: starter.content,
    };
    let decide = {
        let shared = Arc::clone(shared);
        let new = new.clone();
        tokio::task::spawn_blocking(move || shared.suggestion(&new, &starter))
    };
    let suggestion = match decide.await {
        Ok(Ok(suggestion)) => suggestion,
        Ok(Err(skip)) => {
            skip.count(new.id);
            return;
        }
        Err(e) => {
            let error = format!("{:#}", core::task_failure(e));
            tracing::error!(thread = new.id, error, "deciding a suggestion failed");
            return;
        }
    };
    let mut message = suggestion.reply.to_channel_message();
    if let Some(starter) = reference {
        message = message.reference_message(
            MessageReference::from((thread.id, starter)).fail_if_not_exists(false),
        );
    }
    match thread.id.send_message(http, message).await {
        Ok(_) => {
            shared.suggestion_posted(suggestion);
            metrics::counter!("careerbot_suggestions_total", "outcome" => "posted").increment(1);
            metrics::histogram!("careerbot_suggestion_seconds")
                .record(started.elapsed().as_secs_f64());
            tracing::info!(thread = new.id, channel = ?new.parent, "posted a suggestion");
        }
        Err(e) => {
            metrics::counter!("careerbot_suggestions_total", "outcome" => "failed").increment(1);
            let channel = new.parent.unwrap_or(new.id);
            let hint = match core::rest_error(&e).map(|r| r.error.code) {
                Some(MISSING_ACCESS | MISSING_PERMISSIONS) => "give careerbot View Channel, Read Message History, Send Messages in Threads and Embed Links in that channel",
                _ => "Discord refused the reply",
            };
            if shared.suggestions.first_failure(channel, "post") {
                tracing::warn!(channel, thread = new.id, error = %e, hint, "could not post a suggestion (said once per channel; not retried)");
            } else {
                tracing::debug!(channel, thread = new.id, error = %e, "could not post a suggestion");
            }
        }
    }
}

/// The post's first message: in a forum it lives in the thread under the thread's id; a
/// text channel's thread started from a message keeps it in the parent channel.
async fn starter_message(shared: &Shared, http: &Http, thread: &GuildChannel) -> Option<Message> {
    let id = MessageId::new(thread.id.get());
    let mut places: Vec<ChannelId> = vec![thread.id];
    places.extend(thread.parent_id);
    for channel in places {
        match http.get_message(channel, id).await {
            Ok(message) => return Some(message),
            Err(e) if core::rest_error(&e).map(|r| r.error.code) == Some(UNKNOWN_MESSAGE) => {
                continue
            }
            Err(e) => {
                let parent = thread.parent_id.map_or(thread.id.get(), |p| p.get());
                if shared.suggestions.first_failure(parent, "read") {
                    tracing::warn!(channel = parent, thread = %thread.id, error = %e,
                        hint = "give careerbot View Channel and Read Message History in that channel",
                        "could not read a new post (said once per channel; not retried)");
                }
                return None;
            }
        }
    }
    None
}
