//! Riding out a database server's restart: a command whose error can be retried (a lost
//! connection, a server stopping or starting, a lock or serialization conflict; see
//! [`Error::retryable`](crate::error::Error::retryable)) runs again, up to `times` more times,
//! after pauses that double from half a second up to half a minute.
//!
//! Retrying is safe because a write lands whole or not at all, and because ingest is idempotent by
//! content: when the connection was lost after the server committed, the retry finds the build's
//! reports already stored and changes nothing.

use std::time::Duration;

use crate::error::{Error, Result};

/// The first pause, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// How often to retry: `--retry N`, else `retry` in the settings, else not at all.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Retry {
    pub times: u32,
    /// How often a conflict between concurrent writers (a deadlock, a serialization failure;
    /// [`Error::conflict`](crate::error::Error::conflict)) is retried when `times` is fewer.
    pub conflicts: u32,
}

/// How often an ingest retries a conflict between concurrent writers without `--retry`.
pub(crate) const CONFLICT_RETRIES: u32 = 3;

impl Retry {
    pub(crate) fn new(flag: Option<u32>, setting: Option<u32>) -> Retry {
        Retry {
            times: flag.or(setting).unwrap_or(0),
            conflicts: 0,
        }
    }

    /// Retries conflicts between concurrent writers up to `n` times whatever `times` says.
    pub(crate) fn with_conflicts(self, n: u32) -> Retry {
        Retry {
            conflicts: n,
            ..self
        }
    }

    /// The most retries any error can get.
    pub(crate) fn most(self) -> u32 {
        self.times.max(self.conflicts)
    }

    /// Runs `attempt` until it succeeds, fails in a way a retry cannot mend, or has been retried
    /// `times` times; before each retry, tells `notice` the error, the retry's number and the pause.
    pub(crate) fn run<T>(
        self,
        mut attempt: impl FnMut() -> Result<T>,
        mut notice: impl FnMut(&Error, u32, Duration),
    ) -> Result<T> {
        let mut retried = 0;
        loop {
            match attempt() {
                Err(e)
                    if e.retryable
                        && (retried < self.times || (e.conflict && retried < self.conflicts)) =>
                {
                    retried += 1;
                    let pause = pause(retried);
                    notice(&e, retried, pause);
                    std::thread::sleep(pause);
                }
                outcome => return outcome,
            }
        }
    }
}

/// The pause before retry `n` (from 1): doubling, at most [`LONGEST_PAUSE`], plus up to a quarter
/// more so that many builders cut off at once do not come back at once.
fn pause(n: u32) -> Duration {
    let base = FIRST_PAUSE
        .saturating_mul(1 << n.saturating_sub(1).min(16))
        .min(LONGEST_PAUSE);
    // The process id spreads the builders; the retry's number varies one builder's pauses.
    let spread = (u64::from(std::process::id()) * 2_654_435_761 + u64::from(n) * 40_503) % 1000;
    base + base.mul_f64(spread as f64 / 4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn pauses_double_up_to_half_a_minute_with_a_spread() {
        for n in 1..40 {
            let base = FIRST_PAUSE
                .saturating_mul(1 << (n - 1).min(16))
                .min(LONGEST_PAUSE);
            let p = pause(n);
            assert!(p >= base && p <= base.mul_f64(1.25), "{n}: {p:?}");
        }
        assert!(pause(1) < Duration::from_millis(630));
        assert!(pause(12) >= LONGEST_PAUSE);
    }

    #[test]
    fn only_retryable_errors_are_retried_and_only_so_often() {
        let mut calls = 0;
        let out: Result<()> = Retry {
            times: 5,
            conflicts: 0,
        }
        .run(
            || {
                calls += 1;
                Err(Error::database("bad schema"))
            },
            |_, _, _| {},
        );
        assert!(out.is_err());
        assert_eq!(calls, 1);

        let mut notices = Vec::new();
        let mut calls = 0;
        let out = Retry {
            times: 1,
            conflicts: 0,
        }
        .run(
            || {
                calls += 1;
                Err::<(), _>(Error::database("lost").retryable("gone"))
            },
            |_, n, _| notices.push(n),
        );
        assert!(out.unwrap_err().retryable);
        assert_eq!((calls, notices), (2, vec![1]));

        let mut calls = 0;
        let out = Retry {
            times: 3,
            conflicts: 0,
        }
        .run(
            || {
                calls += 1;
                if calls < 2 {
                    Err(Error::database("lost").retryable("gone"))
                } else {
                    Ok(calls)
                }
            },
            |_, _, _| {},
        );
        assert_eq!(out.unwrap(), 2);
    }

    #[test]
    fn conflicts_are_retried_without_times_but_other_errors_are_not() {
        let retry = Retry::new(None, None).with_conflicts(2);
        let mut calls = 0;
        let out: Result<()> = retry.run(
            || {
                calls += 1;
                Err(Error::database("lost").retryable("gone"))
            },
            |_, _, _| {},
        );
        assert!(out.is_err());
        assert_eq!(calls, 1);
        let mut calls = 0;
        let out: Result<()> = retry.run(
            || {
                calls += 1;
                Err(Error::database("deadlock").conflicting("both"))
            },
            |_, _, _| {},
        );
        assert!(out.unwrap_err().conflict);
        assert_eq!(calls, 3);
    }
}
