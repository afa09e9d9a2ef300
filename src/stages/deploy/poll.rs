//! How long to wait between two reads of a deployment: short right after a change, when the
//! next transition is likely near, and backing off while nothing happens.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Poller {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Poller {
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Poller {
            min,
            max,
            current: min,
        }
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
    }

    /// The wait before the next read; `changed` says whether the last read saw anything new.
    pub fn next(&mut self, changed: bool) -> Duration {
        self.current = if changed {
            self.min
        } else {
            (self.current.mul_f64(1.5)).min(self.max)
        };
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_to_the_cap_and_resets_on_change() {
        let mut p = Poller::new(Duration::from_secs(2), Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|_| p.next(false).as_millis() as u64).collect();
        assert_eq!(waits, vec![3000, 4500, 6750, 10000, 10000, 10000]);
        assert_eq!(p.next(true), Duration::from_secs(2));
    }
}
