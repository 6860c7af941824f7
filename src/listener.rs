//! Serves a router on a TCP listener that anyone can reach: every connection has a deadline,
//! the number open at once is capped below the open-file limit, and when the cap or the
//! limit is hit anyway the oldest idle connections make room, never a request under way.
//! The interactions endpoint and the ops listener both run on it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::config::HttpConfig;
use crate::throttle::Throttled;

/// Connections the ops listener takes at once: a Prometheus scraper and a health checker or
/// two need far fewer.
pub const OPS_CONNECTIONS: usize = 32;

/// Descriptors kept back from the connection cap for everything else the process opens
/// (index files, Discord's REST client, the file watcher, logs): a tenth of the limit, at
/// least this many.
const RESERVED_DESCRIPTORS: usize = 128;

/// Longest pause of the accept loop when descriptors run out and nothing can be shed.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Stops a spawned task when dropped: a listener lives exactly as long as what owns it.
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a listener guards itself.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Names the listener in logs and metrics (`interactions`, `ops`).
    pub name: &'static str,
    pub header_timeout: Duration,
    /// The handler answers 408 at this; past it (and a second's grace) the listener closes
    /// the connection itself, whatever the route.
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
}

impl Guard {
    /// The public interactions listener: `[http]`, the cap derived from the open-file
    /// limit when `max_connections` is 0.
    pub fn interactions(http: &HttpConfig) -> Guard {
        let fits = derived_cap(open_file_limit());
        let max_connections = match http.max_connections {
            0 => fits,
            n => {
                if n > fits {
                    tracing::warn!(
                        max_connections = n,
                        fits,
                        "http.max_connections is above what the open-file limit leaves room for: accepting may fail for lack of descriptors (the oldest idle connections then make room)"
                    );
                }
                n
            }
        };
        Guard {
            name: "interactions",
            max_connections,
            ..Guard::ops(http)
        }
    }

    /// The private ops listener: the same timeouts, a small cap.
    pub fn ops(http: &HttpConfig) -> Guard {
        Guard {
            name: "ops",
            header_timeout: Duration::from_millis(http.header_timeout_ms),
            body_timeout: Duration::from_millis(http.body_timeout_ms),
            idle_timeout: Duration::from_millis(http.idle_timeout_ms),
            max_header_bytes: http.max_header_bytes,
            max_connections: OPS_CONNECTIONS,
        }
    }
}

/// The connection cap for an open-file limit: the limit less a tenth (at least
/// [`RESERVED_DESCRIPTORS`]) and the ops listener's share.
pub fn derived_cap(limit: u64) -> usize {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let reserve = (limit / 10).max(RESERVED_DESCRIPTORS) + OPS_CONNECTIONS;
    limit.saturating_sub(reserve).max(16)
}

/// The soft open-file limit (`RLIMIT_NOFILE`), or 1024 where it cannot be read.
pub fn open_file_limit() -> u64 {
    limits().map_or(1024, |(soft, _)| soft)
}

fn limits() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    ok.then_some((limit.rlim_cur, limit.rlim_max))
}

/// Raises the soft open-file limit to the hard one, as most servers do at start: a soft
/// limit of 1024 is a few hundred idle clients away from refusing Discord. Logs the limit
/// and returns it.
pub fn raise_open_file_limit() -> u64 {
    let Some((soft, hard)) = limits() else {
        tracing::warn!("cannot read the open-file limit; assuming 1024");
        return 1024;
    };
    if soft >= hard {
        tracing::info!(limit = soft, "open-file limit");
        return soft;
    }
    let raised = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads one rlimit through a valid pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        tracing::info!(
            limit = hard,
            was = soft,
            "open-file limit raised to the hard limit"
        );
        hard
    } else {
        let error = std::io::Error::last_os_error();
        tracing::warn!(limit = soft, hard, %error, "cannot raise the open-file limit");
        soft
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets
/// requests under way finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    guard: Guard,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let open = Arc::new(Connections::new(guard.name));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let _reaper = AbortOnDrop(tokio::spawn(reap(Arc::clone(&open), guard.clone())));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        // Our own deadlines (the reaper) count from a head's first byte, not from accept.
        .header_read_timeout(None)
        .max_header_size(guard.max_header_bytes)
        .max_buf_size(guard.max_header_bytes.max(8192));
    let http = Arc::new(http);
    let mut shutdown = pin!(shutdown);
    let mut backoff = Duration::from_millis(10);
    // Owns the connections: if this future is dropped, they go with it.
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        if !make_room(&open, &guard, &mut shutdown).await {
            break;
        }
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, _)) => {
                backoff = Duration::from_millis(10);
                // Interaction responses are small and latency-bound: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                let conn = open.add();
                let task = Task {
                    open: Arc::clone(&open),
                    conn,
                    router: router.clone(),
                    http: Arc::clone(&http),
                    stopping: stopping.clone(),
                };
                tasks.spawn(task.run(tcp));
            }
            // A client gone between SYN and accept, and the like: nothing to do.
            Err(e) if is_client_gone(&e) => {
                tracing::debug!(listener = guard.name, error = %e, "accept failed")
            }
            Err(e) => {
                let limit = out_of_descriptors(&e);
                open.warn(&e.to_string());
                if limit && open.shed_one() {
                    metrics::counter!("careerbot_http_rejected_total", "reason" => "descriptor limit")
                        .increment(1);
                    // Its descriptor is free once its task has dropped it.
                    let _ = tokio::time::timeout(backoff, open.freed.notified()).await;
                } else {
                    // Nothing to free, or a failure freeing cannot help: wait, longer each time.
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Waits until a connection may be accepted, shedding the oldest idle one when the cap is
/// reached. `false` when `shutdown` came first.
async fn make_room(
    open: &Connections,
    guard: &Guard,
    shutdown: &mut Pin<&mut (impl Future<Output = ()> + Send)>,
) -> bool {
    while open.len() >= guard.max_connections {
        if open.shed_one() {
            metrics::counter!("careerbot_http_rejected_total", "reason" => "connection cap")
                .increment(1);
        }
        open.warn(&format!(
            "{} connections open, the cap (http.max_connections)",
            guard.max_connections
        ));
        tokio::select! {
            _ = shutdown.as_mut() => return false,
            _ = open.freed.notified() => {}
            // Requests under way end on their own: look again even if none has.
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    true
}

fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Accept failures that concern one client only (retry at once).
fn is_client_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    )
}

/// Closes connections past their deadline, a few times per shortest deadline.
async fn reap(open: Arc<Connections>, guard: Guard) {
    let tick = (guard.header_timeout.min(guard.idle_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        open.expire(&guard);
    }
}

/// Where a connection stands, in the order connections are shed to make room: idle ones
/// first, then those whose head or body is still arriving; never one being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Phase {
    /// No request under way: just accepted, or kept alive after a response.
    Idle = 0,
    /// A request's head has begun to arrive and is not complete.
    Head = 1,
    /// The head is in; the body is arriving.
    Body = 2,
    /// A request is being answered, up to the last byte of its response.
    Busy = 3,
}

/// Milliseconds since the process first asked: a cheap clock to store in an atomic.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The phase in the top two bits, when it began in the rest: one atomic, so that the reaper
/// never pairs a phase with another phase's start.
const PHASE_SHIFT: u32 = 62;

struct Conn {
    id: u64,
    state: AtomicU64,
    closing: AtomicBool,
    close: tokio::sync::Notify,
}

impl Conn {
    fn new(id: u64) -> Conn {
        Conn {
            id,
            state: AtomicU64::new(now_ms()),
            closing: AtomicBool::new(false),
            close: tokio::sync::Notify::new(),
        }
    }

    /// The phase and when it began (ms, see [`now_ms`]).
    fn state(&self) -> (Phase, u64) {
        let state = self.state.load(Ordering::Acquire);
        let phase = match state >> PHASE_SHIFT {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Body,
            _ => Phase::Busy,
        };
        (phase, state & ((1 << PHASE_SHIFT) - 1))
    }

    fn phase(&self) -> Phase {
        self.state().0
    }

    fn enter(&self, phase: Phase) {
        self.state.store(
            ((phase as u64) << PHASE_SHIFT) | now_ms(),
            Ordering::Release,
        );
    }

    /// Bytes arrived: a head begins if nothing was under way.
    fn heard(&self) {
        if self.phase() == Phase::Idle {
            self.enter(Phase::Head);
        }
    }

    /// Asks its task to close it; `false` if that was already asked.
    fn shut(&self) -> bool {
        let first = !self.closing.swap(true, Ordering::AcqRel);
        if first {
            self.close.notify_one();
        }
        first
    }
}

/// The connections open on one listener, oldest first.
struct Connections {
    name: &'static str,
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    /// Signalled whenever a connection ends.
    freed: tokio::sync::Notify,
    /// Running out of room is logged at most once a minute.
    warned: Throttled,
}

impl Connections {
    fn new(name: &'static str) -> Connections {
        Connections {
            name,
            open: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
            freed: tokio::sync::Notify::new(),
            warned: Throttled::default(),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.map().len()
    }

    fn add(&self) -> Arc<Conn> {
        let conn = Arc::new(Conn::new(self.next.fetch_add(1, Ordering::Relaxed)));
        let mut map = self.map();
        map.insert(conn.id, Arc::clone(&conn));
        self.publish(map.len());
        conn
    }

    fn remove(&self, id: u64) {
        let mut map = self.map();
        map.remove(&id);
        self.publish(map.len());
        drop(map);
        self.freed.notify_one();
    }

    fn publish(&self, open: usize) {
        metrics::gauge!("careerbot_http_connections", "listener" => self.name).set(open as f64);
    }

    /// Closes one connection to make room: the one idle longest, else the one whose head,
    /// then body, has been arriving longest; `false` when every one is being answered.
    fn shed_one(&self) -> bool {
        self.map()
            .values()
            .filter(|c| !c.closing.load(Ordering::Acquire))
            .map(|c| (c.state(), c))
            .filter(|((phase, _), _)| *phase != Phase::Busy)
            .min_by_key(|((phase, since), _)| (*phase, *since))
            .is_some_and(|(_, c)| c.shut())
    }

    /// Closes connections whose head, body or idle time is past the deadline.
    fn expire(&self, guard: &Guard) {
        let now = now_ms();
        let ms = |d: Duration| d.as_millis() as u64;
        for conn in self.map().values() {
            let (phase, since) = conn.state();
            let waited = now.saturating_sub(since);
            let (deadline, reason) = match phase {
                Phase::Idle => (ms(guard.idle_timeout), None),
                Phase::Head => (ms(guard.header_timeout), Some("header timeout")),
                Phase::Body => (ms(guard.body_timeout) + 1000, Some("body timeout")),
                Phase::Busy => continue,
            };
            if waited > deadline && conn.shut() {
                if let Some(reason) = reason {
                    metrics::counter!("careerbot_http_rejected_total", "reason" => reason)
                        .increment(1);
                }
                tracing::debug!(
                    listener = self.name,
                    ?phase,
                    "closed a connection past its deadline"
                );
            }
        }
    }

    /// Logs running out of room, at most once a minute, with how often it happened since.
    fn warn(&self, what: &str) {
        let Some(since) = self.warned.ready() else {
            return;
        };
        tracing::warn!(
            listener = self.name,
            open = self.len(),
            more_since_last_log = since,
            "out of room for connections ({what}): closing the oldest idle ones, requests under way go on"
        );
    }
}

/// One accepted connection, served until it ends, is shed, or the listener stops.
struct Task {
    open: Arc<Connections>,
    conn: Arc<Conn>,
    router: Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Task {
    async fn run(mut self, tcp: TcpStream) {
        let conn = Arc::clone(&self.conn);
        let router = self.router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let conn = Arc::clone(&conn);
            let router = router.clone();
            async move {
                let request = request.map(|body| {
                    conn.enter(match body.is_end_stream() {
                        true => Phase::Busy,
                        false => Phase::Body,
                    });
                    axum::body::Body::new(Arriving {
                        body,
                        conn: Arc::clone(&conn),
                    })
                });
                let response = router.oneshot(request).await;
                // Idle once hyper has written the last byte and dropped the body.
                let done = Answered(Arc::clone(&conn));
                response.map(|r| {
                    r.map(|body| {
                        axum::body::Body::new(body.map_frame(move |frame| {
                            let _until_written = &done;
                            frame
                        }))
                    })
                })
            }
        });
        let io = TokioIo::new(Watched {
            tcp,
            conn: Arc::clone(&self.conn),
        });
        let mut serving = pin!(self.http.serve_connection(io, service));
        let mut draining = false;
        let result = loop {
            tokio::select! {
                result = serving.as_mut() => break result,
                // Shed or past its deadline. Phases change only while `serving` is polled,
                // so this one holds: a request being answered finishes first.
                _ = self.conn.close.notified() => {
                    if self.conn.phase() != Phase::Busy {
                        break Ok(());
                    }
                    draining = true;
                    serving.as_mut().graceful_shutdown();
                }
                changed = self.stopping.changed(), if !draining => {
                    draining = true;
                    if changed.is_ok() {
                        serving.as_mut().graceful_shutdown();
                    }
                }
            }
        };
        if let Err(e) = result {
            if e.is_parse_too_large() {
                metrics::counter!("careerbot_http_rejected_total", "reason" => "header too large")
                    .increment(1);
            }
            tracing::debug!(listener = self.open.name, error = %e, "connection ended with an error");
        }
    }
}

/// Marks its connection idle when dropped: hyper drops a response body once written.
struct Answered(Arc<Conn>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.enter(Phase::Idle);
    }
}

/// A request body that marks its connection busy once it has all arrived.
struct Arriving {
    body: Incoming,
    conn: Arc<Conn>,
}

impl hyper::body::Body for Arriving {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        let ended = matches!(polled, Poll::Ready(None)) || self.body.is_end_stream();
        if ended && self.conn.phase() == Phase::Body {
            self.conn.enter(Phase::Busy);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Task {
    /// However the connection ends (a panicking handler or an aborted listener included), it
    /// stops counting against the cap.
    fn drop(&mut self) {
        self.open.remove(self.conn.id);
    }
}

/// A TCP stream that tells its connection when bytes arrive.
struct Watched {
    tcp: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.heard();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_limit() {
        assert_eq!(derived_cap(1024), 1024 - 128 - OPS_CONNECTIONS);
        assert_eq!(derived_cap(20_000), 20_000 - 2_000 - OPS_CONNECTIONS);
        assert_eq!(derived_cap(100), 16, "never below a usable floor");
    }

    #[test]
    fn shedding_takes_the_longest_idle_then_slow_heads_and_bodies_never_the_busy() {
        let open = Connections::new("test");
        let at = |conn: &Conn, phase: Phase, since: u64| {
            conn.state
                .store(((phase as u64) << PHASE_SHIFT) | since, Ordering::Release)
        };
        let (busy, body, head, recent, old) =
            (open.add(), open.add(), open.add(), open.add(), open.add());
        at(&busy, Phase::Busy, 1);
        at(&body, Phase::Body, 2);
        at(&head, Phase::Head, 3);
        // Accepted before `old` but active since (Discord reusing its connection): it
        // outlasts one idle longer.
        at(&recent, Phase::Idle, 500);
        at(&old, Phase::Idle, 100);
        let all = [&busy, &body, &head, &recent, &old];
        let mut closed = Vec::new();
        while open.shed_one() {
            let next = all
                .iter()
                .find(|c| c.closing.load(Ordering::Acquire) && !closed.contains(&c.id))
                .unwrap();
            closed.push(next.id);
        }
        assert_eq!(closed, [old.id, recent.id, head.id, body.id]);
        assert!(
            !busy.closing.load(Ordering::Acquire),
            "a request being answered is never cut"
        );
    }

    #[test]
    fn a_phase_and_its_start_are_read_together() {
        let conn = Conn::new(7);
        conn.enter(Phase::Body);
        let (phase, since) = conn.state();
        assert_eq!(phase, Phase::Body);
        assert!(since <= now_ms());
    }
}
