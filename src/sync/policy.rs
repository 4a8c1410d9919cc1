//! The retry policy: one pure function from what happened to what to do next.

use std::time::Duration;

use crate::domain::Millis;

// The providers classify answers into outcomes; the policy decides from them.
pub use crate::providers::Outcome;

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Wait between retries of transient failures (`--retry-interval`, 5 minutes).
    pub interval: Duration,
    /// First back-off after a 429 without `Retry-After`; doubles with each retry.
    pub rate_limit_backoff: Duration,
    /// The longest any back-off grows.
    pub max_backoff: Duration,
}

/// What to do with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every step is done: the POS has the order.
    Succeed,
    /// This step is done and another follows: take it at once, in the same attempt.
    Continue,
    /// Try again at `at`; with `pause_until`, the whole integration waits that long.
    Retry {
        at: Millis,
        error: String,
        pause_until: Option<Millis>,
    },
    /// Give up; `reconnect` when the seller must connect the POS again.
    Fail { error: String, reconnect: bool },
    /// The POS refused the token and it can be refreshed: refresh it and push again at once
    /// (once per attempt; a second refusal fails).
    RefreshThenRetry { error: String },
}

impl Decision {
    /// The error that led to anything but a success.
    pub fn error(&self) -> Option<&str> {
        match self {
            Decision::Succeed | Decision::Continue => None,
            Decision::Retry { error, .. }
            | Decision::Fail { error, .. }
            | Decision::RefreshThenRetry { error } => Some(error),
        }
    }

    /// Until when the whole integration waits (a 429).
    pub fn pause_until(&self) -> Option<Millis> {
        match self {
            Decision::Retry { pause_until, .. } => *pause_until,
            _ => None,
        }
    }
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn gave_up(error: &str, retry_count: i64) -> String {
    match retry_count {
        0 => format!("{error} (no retries allowed)"),
        n => format!("{error} (gave up after {} attempts)", n + 1),
    }
}

/// Decide from `retry_count` (retries already scheduled) and `max_retries` what follows an
/// attempt that ended with `outcome` at `now`; `refreshable` when the token can still be
/// refreshed within this attempt.
pub fn decide(
    outcome: Outcome,
    retry_count: i64,
    max_retries: i64,
    refreshable: bool,
    settings: &RetrySettings,
    now: Millis,
) -> Decision {
    let exhausted = retry_count >= max_retries;
    match outcome {
        Outcome::Success => Decision::Succeed,
        // Read again and retry at once; the provider turns a third stale answer into a
        // transient failure, so this cannot loop.
        Outcome::Stale { .. } => Decision::Continue,
        // The provider's other way is taken at once; it takes it once per attempt.
        Outcome::Fallback { .. } => Decision::Continue,
        Outcome::AuthFailed { error } if refreshable => Decision::RefreshThenRetry { error },
        // A refreshed token carries the same permissions: only the seller can add one.
        Outcome::Forbidden { error } => Decision::Fail {
            error: format!(
                "{error}; possync lacks a permission on the POS: reconnect the POS and grant it"
            ),
            reconnect: true,
        },
        Outcome::Rejected { error } => Decision::Fail {
            error,
            reconnect: false,
        },
        Outcome::AuthFailed { error } => Decision::Fail {
            error: format!("{error}; the POS refused possync's credentials: reconnect the POS"),
            reconnect: true,
        },
        Outcome::Transient { error } | Outcome::Ambiguous { error } if exhausted => {
            Decision::Fail {
                error: gave_up(&error, retry_count),
                reconnect: false,
            }
        }
        Outcome::Transient { error } | Outcome::Ambiguous { error } => Decision::Retry {
            at: now.saturating_add(millis(settings.interval)),
            error,
            pause_until: None,
        },
        Outcome::RateLimited { error, .. } if exhausted => Decision::Fail {
            error: gave_up(&error, retry_count),
            reconnect: false,
        },
        Outcome::RateLimited { error, retry_after } => {
            let doubling =
                2u32.saturating_pow(u32::try_from(retry_count).unwrap_or(u32::MAX).min(20));
            let backoff = settings
                .rate_limit_backoff
                .saturating_mul(doubling)
                .min(settings.max_backoff);
            // Retry-After wins, even beyond our own cap: the POS knows its limits.
            let wait = retry_after.unwrap_or(backoff);
            let at = now.saturating_add(millis(wait));
            Decision::Retry {
                at,
                error,
                pause_until: Some(at),
            }
        }
    }
}

/// What follows a step that led to `decision` when `more` steps remain: a step that succeeded
/// is followed at once by the next one; anything else stands.
pub fn then(decision: Decision, more: bool) -> Decision {
    match decision {
        Decision::Succeed if more => Decision::Continue,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_000_000;
    const S: RetrySettings = RetrySettings {
        interval: Duration::from_secs(300),
        rate_limit_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(3600),
    };

    fn transient() -> Outcome {
        Outcome::Transient {
            error: "HTTP 503".into(),
        }
    }

    fn limited(retry_after: Option<u64>) -> Outcome {
        Outcome::RateLimited {
            error: "HTTP 429".into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn decides_as_the_guide_says() {
        let retry_at = |secs: i64, pause: bool| {
            move |d: &Decision| match d {
                Decision::Retry {
                    at, pause_until, ..
                } => *at == NOW + secs * 1000 && pause_until.is_some() == pause,
                _ => false,
            }
        };
        let fails = |reconnect: bool| move |d: &Decision| matches!(d, Decision::Fail { reconnect: r, .. } if *r == reconnect);
        type Check = Box<dyn Fn(&Decision) -> bool>;
        let table: Vec<(&str, Outcome, i64, i64, Check)> = vec![
            (
                "success succeeds",
                Outcome::Success,
                3,
                12,
                Box::new(|d| *d == Decision::Succeed),
            ),
            (
                "403 fails at once asking to reconnect",
                Outcome::Forbidden {
                    error: "HTTP 403".into(),
                },
                0,
                12,
                Box::new(fails(true)),
            ),
            (
                "5xx retries after the interval",
                transient(),
                0,
                12,
                Box::new(retry_at(300, false)),
            ),
            (
                "the 12th retry is still scheduled",
                transient(),
                11,
                12,
                Box::new(retry_at(300, false)),
            ),
            (
                "after 12 retries a 5xx fails",
                transient(),
                12,
                12,
                Box::new(fails(false)),
            ),
            (
                "max_retries 0 fails at once",
                transient(),
                0,
                0,
                Box::new(fails(false)),
            ),
            (
                "400 fails at once",
                Outcome::Rejected {
                    error: "HTTP 400".into(),
                },
                0,
                12,
                Box::new(fails(false)),
            ),
            (
                "401 fails asking to reconnect",
                Outcome::AuthFailed {
                    error: "HTTP 401".into(),
                },
                0,
                12,
                Box::new(fails(true)),
            ),
            (
                "429 honours Retry-After and pauses",
                limited(Some(120)),
                0,
                12,
                Box::new(retry_at(120, true)),
            ),
            (
                "429 Retry-After beyond the cap is honoured",
                limited(Some(7200)),
                0,
                12,
                Box::new(retry_at(7200, true)),
            ),
            (
                "429 without Retry-After backs off 10s",
                limited(None),
                0,
                12,
                Box::new(retry_at(10, true)),
            ),
            (
                "429 backs off exponentially",
                limited(None),
                3,
                12,
                Box::new(retry_at(80, true)),
            ),
            (
                "429 back-off is capped",
                limited(None),
                11,
                12,
                Box::new(retry_at(3600, true)),
            ),
            (
                "429 after 12 retries fails",
                limited(Some(1)),
                12,
                12,
                Box::new(fails(false)),
            ),
        ];
        for (name, outcome, retry_count, max, check) in table {
            let decision = decide(outcome, retry_count, max, false, &S, NOW);
            assert!(check(&decision), "{name}: got {decision:?}");
        }
    }

    #[test]
    fn a_refreshable_401_refreshes_and_nothing_else_does() {
        let auth = || Outcome::AuthFailed {
            error: "HTTP 401".into(),
        };
        assert_eq!(
            decide(auth(), 12, 12, true, &S, NOW),
            Decision::RefreshThenRetry {
                error: "HTTP 401".into()
            },
            "even with the retries used up"
        );
        assert!(matches!(
            decide(auth(), 0, 12, false, &S, NOW),
            Decision::Fail {
                reconnect: true,
                ..
            }
        ));
        assert!(matches!(
            decide(transient(), 0, 12, true, &S, NOW),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn a_403_is_never_refreshed() {
        let forbidden = Outcome::Forbidden {
            error: "HTTP 403".into(),
        };
        let Decision::Fail { error, reconnect } = decide(forbidden, 0, 12, true, &S, NOW) else {
            panic!("a 403 must fail at once")
        };
        assert!(reconnect && error.contains("reconnect"), "{error}");
    }

    #[test]
    fn a_done_step_with_more_to_come_continues_at_once() {
        assert_eq!(then(Decision::Succeed, true), Decision::Continue);
        assert_eq!(then(Decision::Succeed, false), Decision::Succeed);
        let retry = decide(transient(), 0, 12, false, &S, NOW);
        assert_eq!(
            then(retry.clone(), true),
            retry,
            "a failed step stays failed"
        );
    }

    #[test]
    fn a_stale_read_is_taken_again_at_once_even_with_no_retries_left() {
        let stale = || Outcome::Stale {
            error: "VERSION_MISMATCH".into(),
        };
        assert_eq!(decide(stale(), 0, 12, true, &S, NOW), Decision::Continue);
        assert_eq!(decide(stale(), 12, 12, false, &S, NOW), Decision::Continue);
        let fallback = Outcome::Fallback {
            error: "Square refuses CANCELED on the order".into(),
        };
        assert_eq!(decide(fallback, 12, 12, false, &S, NOW), Decision::Continue);
    }

    #[test]
    fn exhausted_failures_say_how_many_attempts_were_made() {
        let Decision::Fail { error, .. } = decide(transient(), 12, 12, false, &S, NOW) else {
            panic!()
        };
        assert_eq!(error, "HTTP 503 (gave up after 13 attempts)");
    }
}
