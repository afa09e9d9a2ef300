//! How long to wait between two reads of a deployment: short right after a change, when the
//! next transition is likely near, and backing off while nothing happens.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Poller {
    min: Duration,
    max: Duration,
    current: Duration,
    /// ±10% on every wait, so that many services watched at once do not poll in lockstep.
    jitter: bool,
}

impl Poller {
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Poller {
            min,
            max,
            current: min,
            jitter: false,
        }
    }

    /// Waits no longer than `cap` (`wait-max-delay-seconds`), never below the minimum.
    pub fn at_most(mut self, cap: Option<Duration>) -> Self {
        if let Some(cap) = cap {
            self.max = cap.max(self.min);
            self.current = self.current.min(self.max);
        }
        self
    }

    pub fn with_jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// The production intervals, overridable through `GREENLIGHT_POLL_MIN_MS` and
    /// `GREENLIGHT_POLL_MAX_MS` for the emulator, whose clock can run many times faster.
    pub fn from_env() -> Self {
        let ms = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(Duration::from_millis(default), Duration::from_millis)
        };
        Poller::new(
            ms("GREENLIGHT_POLL_MIN_MS", 2_000),
            ms("GREENLIGHT_POLL_MAX_MS", 15_000),
        )
        .with_jitter()
    }

    /// Like `next`, but no later than just after `due`, when the next transition is expected
    /// (the end of a canary interval, say), and never sooner than the minimum.
    pub fn next_before(&mut self, changed: bool, due: Option<Duration>) -> Duration {
        let wait = self.next(changed);
        match due {
            // A little past the expected moment, so the read sees the change.
            Some(d) => wait.min((d + Duration::from_millis(500)).max(self.min)),
            None => wait,
        }
    }

    /// The wait before the next read; `changed` says whether the last read saw anything new.
    pub fn next(&mut self, changed: bool) -> Duration {
        self.current = if changed {
            self.min
        } else {
            (self.current.mul_f64(1.5)).min(self.max)
        };
        if self.jitter {
            // A random factor in [0.9, 1.1) from the standard library's per-process random
            // hash keys: good enough to spread polls, no dependency for it.
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(self.current.as_nanos() as u64);
            let unit = (h.finish() % 10_000) as f64 / 10_000.0;
            return self.current.mul_f64(0.9 + 0.2 * unit);
        }
        self.current
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cap_bounds_the_backoff_but_not_below_the_minimum() {
        let mut p = Poller::new(Duration::from_secs(2), Duration::from_secs(15))
            .at_most(Some(Duration::from_secs(5)));
        let waits: Vec<Duration> = (0..6).map(|_| p.next(false)).collect();
        assert_eq!(waits.last(), Some(&Duration::from_secs(5)), "{waits:?}");
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(5)),
            "{waits:?}"
        );
        let mut p = Poller::new(Duration::from_secs(2), Duration::from_secs(15))
            .at_most(Some(Duration::from_secs(1)));
        assert_eq!(p.next(false), Duration::from_secs(2));
        let mut p = Poller::new(Duration::from_secs(2), Duration::from_secs(15))
            .at_most(Some(Duration::from_secs(120)));
        let last = (0..20).map(|_| p.next(false)).last();
        assert_eq!(last, Some(Duration::from_secs(120)));
    }

    use super::*;

    #[test]
    fn backs_off_to_the_cap_and_resets_on_change() {
        let mut p = Poller::new(Duration::from_secs(2), Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|_| p.next(false).as_millis() as u64).collect();
        assert_eq!(waits, vec![3000, 4500, 6750, 10000, 10000, 10000]);
        assert_eq!(p.next(true), Duration::from_secs(2));
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut p = Poller::new(Duration::from_secs(10), Duration::from_secs(10)).with_jitter();
        let waits: Vec<Duration> = (0..50).map(|_| p.next(false)).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= Duration::from_secs(9) && *w < Duration::from_secs(11))
        );
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 10, "{waits:?}");
    }

    #[test]
    fn an_expected_transition_shortens_the_wait() {
        let mut p = Poller::new(Duration::from_secs(2), Duration::from_secs(15));
        for _ in 0..10 {
            p.next(false);
        }
        assert_eq!(p.next_before(false, None), Duration::from_secs(15));
        assert_eq!(
            p.next_before(false, Some(Duration::from_secs(4))),
            Duration::from_millis(4_500)
        );
        assert_eq!(
            p.next_before(false, Some(Duration::ZERO)),
            Duration::from_secs(2),
            "never below the minimum"
        );
    }
}
