//! A log line at most once a minute for something that can happen thousands of times a
//! second (a full queue, a listener out of room), with a count of what was held back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Throttled {
    last: Mutex<Option<Instant>>,
    held: AtomicU64,
}

impl Throttled {
    /// `Some(times held back since the last line)` when a line may be logged now.
    pub fn ready(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(Instant::now());
        Some(self.held.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_minute_and_a_count_of_the_rest() {
        let t = Throttled::default();
        assert_eq!(t.ready(), Some(0));
        assert_eq!(t.ready(), None);
        assert_eq!(t.ready(), None);
        *t.last.lock().unwrap() = Some(Instant::now() - Duration::from_secs(61));
        assert_eq!(t.ready(), Some(2));
    }
}
