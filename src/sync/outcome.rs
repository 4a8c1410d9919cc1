//! The pure half of recording an attempt: the outcome its row carries, what its log becomes,
//! what a refused token becomes when it cannot be refreshed, and which notifications it raises.

use super::policy::Decision;
use super::tokens::RefreshError;
use crate::domain::{AttemptOutcome, ProviderKind, SyncAction};
use crate::notify::{Kind, Notice, messages};
use crate::providers::{Done, Outcome};
use crate::store::outbox::LogUpdate;
use crate::store::{Order, SyncLog};

/// The outcome recorded for a push that ended with `outcome` and led to `decision`.
pub fn attempt_outcome(outcome: &Outcome, decision: &Decision) -> AttemptOutcome {
    match decision {
        // A step whose read went stale, or that the POS refused while another way remains, did
        // not happen: the next is taken at once.
        Decision::Continue
            if matches!(outcome, Outcome::Stale { .. } | Outcome::Fallback { .. }) =>
        {
            AttemptOutcome::Retry
        }
        Decision::Succeed | Decision::Continue => AttemptOutcome::Success,
        Decision::Retry {
            pause_until: Some(_),
            ..
        } => AttemptOutcome::RateLimited,
        Decision::Retry { .. } if matches!(outcome, Outcome::Ambiguous { .. }) => {
            AttemptOutcome::Ambiguous
        }
        Decision::Retry { .. } | Decision::RefreshThenRetry { .. } => AttemptOutcome::Retry,
        Decision::Fail {
            reconnect: true, ..
        } => AttemptOutcome::AuthFailed,
        Decision::Fail { .. } => AttemptOutcome::Failed,
    }
}

/// The error text of the attempt's row.
pub fn row_error(outcome: &Outcome, decision: &Decision) -> Option<String> {
    match (outcome, decision) {
        (_, Decision::RefreshThenRetry { error }) => Some(format!(
            "{error}; refreshing the token and retrying at once"
        )),
        (Outcome::Success, _) => None,
        (
            Outcome::Transient { error }
            | Outcome::Ambiguous { error }
            | Outcome::RateLimited { error, .. }
            | Outcome::Rejected { error }
            | Outcome::AuthFailed { error }
            | Outcome::Forbidden { error }
            | Outcome::Stale { error }
            | Outcome::Fallback { error },
            _,
        ) => Some(error.clone()),
    }
}

/// Where the log goes after its steps in `done`; `None` while it stays with this worker (its
/// next step, or the same one with a fresh token, follows at once).
pub fn log_update(decision: &Decision, done: &Done) -> Option<LogUpdate> {
    match decision {
        Decision::Succeed => Some(match &done.pos_order_id {
            Some(pos_order_id) => LogUpdate::Success {
                pos_order_id: Some(pos_order_id.clone()),
            },
            // A cancellation that found the POS never had the order: nothing was left to do.
            None if done.not_in_pos => LogUpdate::Success { pos_order_id: None },
            // A provider that calls its push done must have learned the POS's order id.
            None => LogUpdate::Failed {
                error: "the POS reported success without an order id".into(),
            },
        }),
        Decision::Retry { at, error, .. } => Some(LogUpdate::Retry {
            at: *at,
            error: error.clone(),
        }),
        Decision::Fail { error, .. } => Some(LogUpdate::Failed {
            error: error.clone(),
        }),
        Decision::RefreshThenRetry { .. } | Decision::Continue => None,
    }
}

/// What a refused token (`error`) becomes when the refresh did not work: a refusal asks the
/// seller to reconnect; an accounts server that cannot be reached is not the seller's doing, so
/// the push is tried again later.
pub fn unrefreshed(error: &str, refresh: RefreshError) -> Outcome {
    match refresh {
        RefreshError::Refused(why) => Outcome::AuthFailed {
            error: format!("{error}; token refresh failed: {why}"),
        },
        RefreshError::Unavailable(why) => Outcome::Transient {
            error: format!("{error}; the token could not be refreshed now ({why})"),
        },
    }
}

/// The kinds of notification an attempt of a log of `action` raises, in the order they are
/// raised. `failures` is the integration's run of failed attempts including this one (known
/// when it failed). A cancellation that fails leaves the order live in the POS: the seller
/// must cancel it there by hand.
pub fn notice_kinds(
    action: SyncAction,
    decision: &Decision,
    outcome: AttemptOutcome,
    failures: Option<i64>,
    after_failures: i64,
) -> Vec<Kind> {
    let mut kinds = Vec::new();
    match (decision, action) {
        (
            Decision::Fail {
                reconnect: true, ..
            },
            SyncAction::Create,
        ) => kinds.push(Kind::ReconnectRequired),
        // A cancel is not sent again after a reconnect (a second cancel call queues nothing),
        // so the seller must also cancel it on the POS by hand.
        (
            Decision::Fail {
                reconnect: true, ..
            },
            SyncAction::Cancel,
        ) => kinds.extend([Kind::ReconnectRequired, Kind::CancelByHand]),
        (Decision::Fail { .. }, SyncAction::Create) => kinds.push(Kind::SyncFailed),
        (Decision::Fail { .. }, SyncAction::Cancel) => kinds.push(Kind::CancelByHand),
        _ => {}
    }
    if outcome == AttemptOutcome::Ambiguous {
        kinds.push(Kind::PossibleDuplicate);
    }
    // Exactly once per run of failures: a success resets the count.
    if failures == Some(after_failures) {
        kinds.push(Kind::SyncFailing);
    }
    kinds
}

/// The notifications of [`notice_kinds`], written out for `order` and its `log`.
pub fn notices(
    kinds: &[Kind],
    order: &Order,
    log: &SyncLog,
    provider: ProviderKind,
    decision: &Decision,
    failures: Option<i64>,
) -> Vec<Notice> {
    let error = decision.error().unwrap_or_default();
    kinds
        .iter()
        .filter_map(|kind| match kind {
            Kind::ReconnectRequired => Some(messages::reconnect_required(
                &order.business_id,
                provider,
                error,
                Some((order, log)),
            )),
            Kind::SyncFailed => Some(messages::sync_failed(order, log, provider, error)),
            Kind::PossibleDuplicate => Some(messages::possible_duplicate(order, log, provider)),
            Kind::CancelByHand => Some(messages::cancel_by_hand(order, log, provider, error)),
            Kind::SyncFailing => failures.map(|n| {
                // The attempt that reached the count may have been the order's last.
                let gave_up = matches!(decision, Decision::Fail { .. });
                messages::sync_failing(&order.business_id, provider, n, error, gave_up)
            }),
            // Raised elsewhere: by the token job, the POS-state job, and the lane's breaker.
            Kind::TokenExpiring | Kind::CanceledInPos | Kind::PosUnreachable => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> Outcome {
        Outcome::Transient {
            error: "HTTP 503".into(),
        }
    }

    fn retry(pause: bool) -> Decision {
        Decision::Retry {
            at: 10,
            error: "HTTP 503".into(),
            pause_until: pause.then_some(10),
        }
    }

    fn fail(reconnect: bool) -> Decision {
        Decision::Fail {
            error: "HTTP 400".into(),
            reconnect,
        }
    }

    #[test]
    fn the_recorded_outcome_follows_the_decision() {
        let ambiguous = Outcome::Ambiguous {
            error: "timeout".into(),
        };
        let refresh = Decision::RefreshThenRetry {
            error: "HTTP 401".into(),
        };
        let table: Vec<(&str, Outcome, Decision, AttemptOutcome)> = vec![
            (
                "success",
                Outcome::Success,
                Decision::Succeed,
                AttemptOutcome::Success,
            ),
            (
                "a step done, the next to come",
                Outcome::Success,
                Decision::Continue,
                AttemptOutcome::Success,
            ),
            (
                "a stale read, read again at once",
                Outcome::Stale {
                    error: "VERSION_MISMATCH".into(),
                },
                Decision::Continue,
                AttemptOutcome::Retry,
            ),
            (
                "a refusal with another way, taken at once",
                Outcome::Fallback {
                    error: "Square refuses CANCELED".into(),
                },
                Decision::Continue,
                AttemptOutcome::Retry,
            ),
            (
                "a 5xx retried",
                transient(),
                retry(false),
                AttemptOutcome::Retry,
            ),
            (
                "a 429 pauses",
                transient(),
                retry(true),
                AttemptOutcome::RateLimited,
            ),
            (
                "no answer from a POS without idempotency",
                ambiguous.clone(),
                retry(false),
                AttemptOutcome::Ambiguous,
            ),
            (
                "an ambiguous push out of retries fails",
                ambiguous,
                fail(false),
                AttemptOutcome::Failed,
            ),
            (
                "a 401 refreshed",
                transient(),
                refresh,
                AttemptOutcome::Retry,
            ),
            (
                "a 401 not cured",
                transient(),
                fail(true),
                AttemptOutcome::AuthFailed,
            ),
            ("a 400", transient(), fail(false), AttemptOutcome::Failed),
        ];
        for (name, outcome, decision, expected) in table {
            assert_eq!(attempt_outcome(&outcome, &decision), expected, "{name}");
        }
    }

    #[test]
    fn the_row_error_is_the_pushs_own_or_says_a_refresh_follows() {
        let refresh = Decision::RefreshThenRetry {
            error: "HTTP 401".into(),
        };
        assert_eq!(
            row_error(&transient(), &refresh).as_deref(),
            Some("HTTP 401; refreshing the token and retrying at once")
        );
        assert_eq!(
            row_error(&transient(), &fail(false)).as_deref(),
            Some("HTTP 503"),
            "the push's error, not the decision's"
        );
        assert_eq!(row_error(&Outcome::Success, &retry(false)), None);
        let done = Done {
            pos_order_id: Some("sq-1".into()),
            ..Done::default()
        };
        assert_eq!(log_update(&refresh, &done), None);
        assert_eq!(log_update(&Decision::Continue, &done), None);
        assert_eq!(
            log_update(&Decision::Succeed, &done),
            Some(LogUpdate::Success {
                pos_order_id: Some("sq-1".into())
            })
        );
        assert!(matches!(
            log_update(&Decision::Succeed, &Done::default()),
            Some(LogUpdate::Failed { .. })
        ));
        let not_in_pos = Done {
            not_in_pos: true,
            ..Done::default()
        };
        assert_eq!(
            log_update(&Decision::Succeed, &not_in_pos),
            Some(LogUpdate::Success { pos_order_id: None })
        );
        assert_eq!(
            log_update(&fail(true), &done),
            Some(LogUpdate::Failed {
                error: "HTTP 400".into()
            })
        );
    }

    #[test]
    fn a_refresh_that_did_not_work_asks_to_reconnect_or_tries_later() {
        assert_eq!(
            unrefreshed("HTTP 401", RefreshError::Refused("invalid_grant".into())),
            Outcome::AuthFailed {
                error: "HTTP 401; token refresh failed: invalid_grant".into()
            }
        );
        assert_eq!(
            unrefreshed("HTTP 401", RefreshError::Unavailable("timeout".into())),
            Outcome::Transient {
                error: "HTTP 401; the token could not be refreshed now (timeout)".into()
            }
        );
    }

    #[test]
    fn notifications_follow_the_guides_triggers() {
        use AttemptOutcome as O;
        use Kind::*;
        let succeed = Decision::Succeed;
        type Row = (
            &'static str,
            Decision,
            AttemptOutcome,
            Option<i64>,
            Vec<Kind>,
        );
        let table: Vec<Row> = vec![
            (
                "a success raises nothing",
                succeed,
                O::Success,
                None,
                vec![],
            ),
            (
                "a retry below the threshold",
                retry(false),
                O::Retry,
                Some(2),
                vec![],
            ),
            (
                "the 3rd failure in a row",
                retry(false),
                O::Retry,
                Some(3),
                vec![SyncFailing],
            ),
            (
                "the 4th stays quiet",
                retry(false),
                O::Retry,
                Some(4),
                vec![],
            ),
            (
                "an ambiguous push",
                retry(false),
                O::Ambiguous,
                Some(1),
                vec![PossibleDuplicate],
            ),
            (
                "ambiguous at the threshold",
                retry(false),
                O::Ambiguous,
                Some(3),
                vec![PossibleDuplicate, SyncFailing],
            ),
            (
                "a failure for good",
                fail(false),
                O::Failed,
                Some(1),
                vec![SyncFailed],
            ),
            (
                "a refused token at the threshold",
                fail(true),
                O::AuthFailed,
                Some(3),
                vec![ReconnectRequired, SyncFailing],
            ),
        ];
        for (name, decision, outcome, failures, expected) in table {
            assert_eq!(
                notice_kinds(SyncAction::Create, &decision, outcome, failures, 3),
                expected,
                "{name}"
            );
        }
        // A cancellation that fails asks the seller to cancel on the POS by hand.
        let cancel = |decision: &Decision, outcome, failures| {
            notice_kinds(SyncAction::Cancel, decision, outcome, failures, 3)
        };
        assert_eq!(cancel(&fail(false), O::Failed, Some(1)), vec![CancelByHand]);
        assert_eq!(
            cancel(&fail(true), O::AuthFailed, Some(1)),
            vec![ReconnectRequired, CancelByHand]
        );
        assert_eq!(cancel(&Decision::Succeed, O::Success, None), vec![]);
    }
}
