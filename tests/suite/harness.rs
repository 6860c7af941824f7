//! Starts the real bot (serenity + poise) against the fake Discord, and captures logs.
#![allow(dead_code, reason = "shared helpers: each test uses some of them")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use careerbot::bot::{self, core::Shared};
use careerbot::config::Config;
use careerbot::{app, content, search::Engine};
use tokio::sync::oneshot;

use super::fake_discord::FakeDiscord;
use super::util::{config_with, root};

/// Installs the process-wide log sink, so tests that do not look at logs stay quiet. Tests
/// that assert on log lines use their own [`Logs`] instead: a shared buffer would let a
/// test pass on another test's lines.
pub fn logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ =
            tracing::subscriber::set_global_default(subscriber(Arc::new(Mutex::new(Vec::new()))));
    });
}

fn subscriber(buf: Arc<Mutex<Vec<u8>>>) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_env_filter("careerbot=debug,serenity=warn,poise=warn")
        .with_writer(move || LogWriter(Arc::clone(&buf)))
        .with_ansi(false)
        .finish()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One test's own log. [`Logs::run`] runs the test on a runtime whose every thread (its
/// workers, its blocking pool, and the test's thread while it waits) logs into this buffer
/// only, so whatever the bot logs from any task lands here and nowhere else.
pub struct Logs {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl Logs {
    pub fn new() -> Logs {
        logs();
        Logs {
            buf: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn run<F: std::future::Future>(&self, test: F) -> F::Output {
        use tracing::subscriber::set_default;
        let buf = Arc::clone(&self.buf);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            // The guard lives as long as the thread: forget it rather than drop it.
            .on_thread_start(move || std::mem::forget(set_default(subscriber(Arc::clone(&buf)))))
            .build()
            .unwrap();
        let _here = set_default(subscriber(Arc::clone(&self.buf)));
        let out = runtime.block_on(test);
        runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        out
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// One test's own metrics: [`Metrics::run`] runs the test on a runtime whose every thread
/// counts into this recorder only; give `handle` to the `Shared` under test
/// (`Shared::with_metrics`) and its `/metrics` shows this test's counts exactly.
pub struct Metrics {
    recorder: &'static metrics_exporter_prometheus::PrometheusRecorder,
    pub handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl Metrics {
    pub fn new() -> Metrics {
        logs();
        // Leaked: every thread of the test's runtime holds it for its whole life.
        let recorder: &'static _ =
            Box::leak(Box::new(careerbot::ops::prometheus().build_recorder()));
        Metrics {
            handle: recorder.handle(),
            recorder,
        }
    }

    pub fn run<F: std::future::Future>(&self, test: F) -> F::Output {
        let recorder = self.recorder;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .on_thread_start(move || {
                std::mem::forget(metrics::set_default_local_recorder(recorder))
            })
            .build()
            .unwrap();
        let _here = metrics::set_default_local_recorder(self.recorder);
        let out = runtime.block_on(test);
        runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        out
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

    /// Stops the bot and waits (10 s at most) for it to end; returns whether it ended.
    pub async fn stop(mut self) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task)
            .await
            .is_ok()
    }
}

#[test]
fn each_test_reads_only_its_own_log_lines() {
    let (a, b) = (Logs::new(), Logs::new());
    a.run(async {
        tracing::info!(target: "careerbot::test", "on the test's thread");
        tokio::spawn(async { tracing::info!(target: "careerbot::test", "on a worker") })
            .await
            .unwrap();
        tokio::task::spawn_blocking(|| tracing::info!(target: "careerbot::test", "blocking"))
            .await
            .unwrap();
    });
    b.run(async { tracing::info!(target: "careerbot::test", "in another test") });
    let a = a.text();
    for line in ["on the test's thread", "on a worker", "blocking"] {
        assert!(a.contains(line), "{line}: {a}");
    }
    assert!(!a.contains("in another test"), "{a}");
    assert!(b.text().contains("in another test"));
}
