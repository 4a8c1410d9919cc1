//! When a manually synced order actually goes to the POS, as "sync now" answers it.

use poem_openapi::{Enum, Object};

use crate::api::formats::Timestamp;
use crate::domain::format_millis;
use crate::sync::dispatch::Dispatch;

/// What the order waits for before it goes to the POS: `sending` (a push is under way), `now`
/// (due now: a worker takes it within moments, after the earlier orders of the business still
/// queued), `paused` (the POS answered 429 and asked possync to wait: it goes at `at`, not
/// before), `held` (the POS stopped answering and its lane's circuit is open: the order goes
/// with the others, in order, once a probe gets an answer; `at` is when the next probe may go),
/// `later` (due at `at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "SyncDispatchState", rename_all = "snake_case")]
pub enum DispatchState {
    Sending,
    Now,
    Paused,
    Held,
    Later,
}

/// When the order goes to the POS, as possync knows it when it answers: `state` says what it
/// waits for, `at` until when, and `message` says it in words.
#[derive(Debug, Object)]
#[oai(rename = "SyncDispatch")]
pub struct DispatchOut {
    // Described on the enum (a doc line here would wrap the $ref in an allOf).
    pub state: DispatchState,
    /// `paused`: when the POS's wait ends; `held`: when the next probe may go (null: any
    /// moment); `later`: when it is due; else null.
    #[oai(nullable)]
    pub at: Option<Timestamp>,
    /// The same in words, for a person.
    pub message: String,
}

impl From<Dispatch> for DispatchOut {
    fn from(d: Dispatch) -> Self {
        let (state, at, message) = match d {
            Dispatch::Sending => (
                DispatchState::Sending,
                None,
                "It is being sent to the POS now.".to_string(),
            ),
            Dispatch::Now => (
                DispatchState::Now,
                None,
                "It goes to the POS now, after any earlier orders of this business still queued."
                    .to_string(),
            ),
            Dispatch::Paused { until } => (
                DispatchState::Paused,
                Some(until),
                format!(
                    "The POS asked possync to wait (HTTP 429, too many requests): it goes at {}, \
                     not before.",
                    format_millis(until)
                ),
            ),
            Dispatch::Held {
                since,
                next_probe_at,
            } => (
                DispatchState::Held,
                next_probe_at,
                format!(
                    "The POS has been unreachable since {}: its orders are held and go in order when \
                     it answers again ({}).",
                    format_millis(since),
                    match next_probe_at {
                        Some(at) => format!("possync tries again at {}", format_millis(at)),
                        None => "possync tries again within moments".to_string(),
                    }
                ),
            ),
            Dispatch::Later { at } => (
                DispatchState::Later,
                Some(at),
                format!("It goes at {}.", format_millis(at)),
            ),
        };
        DispatchOut {
            state,
            at: at.map(Timestamp::from),
            message,
        }
    }
}
