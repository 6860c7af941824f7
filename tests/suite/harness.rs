//! Starts the real bot (serenity + poise) against the fake Discord, and captures logs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use careerbot::bot::{self, core::Shared};
use careerbot::config::Config;
use careerbot::{app, content, search::Engine};
use tokio::sync::oneshot;

use super::fake_discord::FakeDiscord;
use super::util::{config_with, root};

/// Every log line of the test process, for "was it logged" assertions.
pub fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INIT: OnceLock<()> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("careerbot=debug,serenity=warn,poise=warn")
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .try_init();
    });
    logs
}

pub fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logs().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A bot connected to its own fake Discord, with its own copy of the content.
pub struct TestBot {
    pub fake: FakeDiscord,
    pub shared: Arc<Shared>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestBot {
    /// The shipped content and config; cooldowns off unless `tweak` sets them.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestBot {
        Self::start_with_data(&root().join("data"), tweak).await
    }

    pub async fn start_with_data(data: &Path, tweak: impl FnOnce(&mut Config)) -> TestBot {
        Self::start_on(FakeDiscord::start().await, data, tweak).await
    }

    /// Like [`TestBot::start_with_data`], against a fake set up beforehand.
    pub async fn start_on(
        fake: FakeDiscord,
        data: &Path,
        tweak: impl FnOnce(&mut Config),
    ) -> TestBot {
        logs();
        let dir = tempfile::tempdir().unwrap();
        let data_copy = dir.path().join("data");
        super::util::copy_dir(data, &data_copy);
        let mut config = config_with(&data_copy, &dir.path().join("index"));
        config.discord.api_base = Some(fake.base());
        config.discord.cooldown_seconds = 0;
        tweak(&mut config);
        let report = content::load_dir(&config.data_dir, &app::vocabulary(&config));
        assert!(!report.has_errors(), "{:?}", report.diagnostics);
        let engine = Engine::build(&config, &report.content).unwrap();
        let shared = Shared::new(config, engine);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bot::run(Arc::clone(&shared), "ZmFrZQ.fake.token", async {
            let _ = stopped.await;
        }));
        fake.registered().await;
        TestBot {
            fake,
            shared,
            dir,
            stop: Some(stop),
            task,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.shared.config.data_dir.clone()
    }

    /// Stops the bot and waits for it to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task).await;
    }
}
