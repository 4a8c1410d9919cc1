//! POS clients. Each turns an order into its provider's request (a pure payload builder),
//! sends it with blocking ureq on a worker thread, and classifies the answer into the retry
//! policy's outcome kinds. The engine knows nothing provider-specific: it finds a provider in
//! the [`registry`], and a provider never touches the store (what it remembers goes through a
//! [`ContactCache`] the caller hands it).

pub mod catalog;
pub mod dine;
pub mod governor;
pub mod http;
pub mod kitchen;
pub mod oauth;
pub mod registry;
pub mod square;
pub mod state;
pub mod zoho;

use std::time::Duration;

use serde_json::Value;

use crate::crypto::Secret;
use crate::domain::{Integration, IntegrationId, Order, ProviderKind, Step, SyncAction};
use oauth::PosOAuth;

pub use registry::{OAuth, Registry};

/// One POS, built from the settings by its folder.
pub struct Provider {
    /// Which POS this is.
    pub kind: ProviderKind,
    /// Pushes orders.
    pub client: Box<dyn PosClient>,
    /// Connects and refreshes with OAuth; `None` for a POS without OAuth (Dine) or whose client
    /// id and secret are not configured.
    pub oauth: Option<Box<dyn PosOAuth>>,
    /// Reads the POS's catalog (and locations); `None` for a POS without a catalog (Dine).
    pub catalog: Option<Box<dyn catalog::PosCatalog>>,
}

/// How one step of a push ended, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The step is done; what it learned is in [`PushResult::learned`].
    Success,
    /// No answer, a timeout, 408 or 5xx: worth trying again.
    Transient { error: String },
    /// No answer after the body went out, from a POS without idempotency: the order may be
    /// there. Retried like a transient failure, but recorded as `ambiguous`.
    Ambiguous { error: String },
    /// 429: try again no sooner than `retry_after` (when the POS said so).
    RateLimited {
        error: String,
        retry_after: Option<Duration>,
    },
    /// 400/404/409/422 or a request the POS calls invalid: trying again cannot help.
    Rejected { error: String },
    /// 401 that no token refresh could cure.
    AuthFailed { error: String },
    /// 403: the token lacks a permission. A refresh cannot add one, so the seller must
    /// reconnect (and grant it) before trying again.
    Forbidden { error: String },
    /// The POS's state moved under the step (Square's `VERSION_MISMATCH`): what it read is
    /// out of date, so the step before it is taken again at once. The provider bounds how
    /// often ([`Done::stale`]).
    Stale { error: String },
    /// The POS refused the step as built, and the provider has another way to the same end
    /// (Square refusing `CANCELED` on the order itself: its fulfillments alone are canceled).
    /// The provider's next step is taken at once; it takes that way once per attempt.
    Fallback { error: String },
}

impl Outcome {
    /// The error text of anything but a success.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Success => None,
            Outcome::Transient { error }
            | Outcome::Ambiguous { error }
            | Outcome::RateLimited { error, .. }
            | Outcome::Rejected { error }
            | Outcome::AuthFailed { error }
            | Outcome::Forbidden { error }
            | Outcome::Stale { error }
            | Outcome::Fallback { error } => Some(error),
        }
    }
}

/// A result of one step, stored on the log the moment it is known, so that a retry (or a
/// restart after a crash) resumes at the first step not yet done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The POS's id for the order.
    PosOrderId(String),
    /// The POS's id for the payment recorded against the order (Square).
    PosPaymentId(String),
    /// The POS marked the order paid without a payment (Square's PayOrder for a zero total).
    OrderPaid,
    /// A cancellation: the POS's id for the refund of that payment (Square).
    PosRefundId(String),
    /// A cancellation: the order as the POS holds it now (Square's RetrieveOrder), for the
    /// update that follows. Kept for this attempt only: the next one reads again, since the
    /// order may have changed meanwhile.
    OrderRead(Value),
    /// A cancellation: what was read is out of date; read again.
    ReadStale,
    /// A cancellation: the POS refused to cancel the order itself; its fulfillments alone are
    /// canceled instead (Square, providers §F6). Kept for this attempt only, as a read is.
    OrderCancelRefused,
    /// A cancellation: the POS holds the order canceled.
    Canceled,
    /// A cancellation without the POS's order id: the POS has no such order (Zoho's lookup by
    /// reference number found none after a push that got no answer), so nothing is left to do.
    NotInPos,
}

/// What a log has done so far: each step's result, as its log stores it (and, for a
/// cancellation, what this attempt read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// The POS's id for the order, once it is created (a cancellation starts with it).
    pub pos_order_id: Option<String>,
    /// The payment's id, once it is recorded (Square; a cancellation starts with it).
    pub pos_payment_id: Option<String>,
    /// Square: the order was marked paid without a payment (a zero total), in this attempt.
    /// Not kept on the log: that step is the push's last, so its success settles the log in
    /// the same write, and an attempt that never learned it asks again under the same
    /// idempotency key and gets Square's first answer.
    pub paid: bool,
    /// A cancellation: the refund's id, once the payment is given back (Square).
    pub pos_refund_id: Option<String>,
    /// A cancellation: the order as read in this attempt, until it goes stale.
    pub read: Option<Value>,
    /// A cancellation: how often in this attempt a read went stale.
    pub stale: u32,
    /// A cancellation: the POS refused to cancel the order itself in this attempt, so its
    /// fulfillments alone are canceled (and, once done, the order stays open in the POS).
    pub fulfillment_only: bool,
    /// A cancellation: the POS holds the order canceled.
    pub canceled: bool,
    /// A cancellation: the POS has no such order, so there was nothing to cancel.
    pub not_in_pos: bool,
}

impl Done {
    /// Take in what a step learned.
    pub fn learn(&mut self, facts: &[Fact]) {
        for fact in facts {
            match fact {
                Fact::PosOrderId(id) => self.pos_order_id = Some(id.clone()),
                Fact::PosPaymentId(id) => self.pos_payment_id = Some(id.clone()),
                Fact::OrderPaid => self.paid = true,
                Fact::PosRefundId(id) => self.pos_refund_id = Some(id.clone()),
                Fact::OrderRead(order) => self.read = Some(order.clone()),
                Fact::ReadStale => {
                    self.read = None;
                    self.stale += 1;
                }
                Fact::OrderCancelRefused => self.fulfillment_only = true,
                Fact::Canceled => self.canceled = true,
                Fact::NotInPos => self.not_in_pos = true,
            }
        }
    }

    /// A cancellation that succeeded: whether the order itself stays open in the POS (only
    /// its fulfillments canceled); `None` until it has succeeded.
    pub fn pos_order_open(&self) -> Option<bool> {
        self.canceled.then_some(self.fulfillment_only)
    }
}

/// What one step of a push produced.
#[derive(Debug, Clone)]
pub struct PushResult {
    /// The HTTP status of the last request, when an answer came.
    pub http_status: Option<u16>,
    /// How the step ended.
    pub outcome: Outcome,
    /// What the step learned, even when it then failed (an order Square created with a total
    /// other than ours is still Square's order).
    pub learned: Vec<Fact>,
}

impl PushResult {
    /// A step that ended with `outcome` and learned nothing.
    pub fn ended(http_status: Option<u16>, outcome: Outcome) -> PushResult {
        PushResult {
            http_status,
            outcome,
            learned: Vec::new(),
        }
    }

    /// A create step the POS answered with its order id.
    pub fn created(http_status: u16, pos_order_id: String) -> PushResult {
        PushResult {
            http_status: Some(http_status),
            outcome: Outcome::Success,
            learned: vec![Fact::PosOrderId(pos_order_id)],
        }
    }
}

/// Where a provider remembers the customer records it made in the POS (Zoho contacts), per
/// integration, so that one customer gets one record however many orders they place.
pub trait ContactCache: Sync {
    /// The contact remembered under `key`.
    fn contact(&self, integration_id: &IntegrationId, key: &str) -> crate::Result<Option<String>>;

    /// Remember `contact_id` under `key`; the contact remembered there now (another worker's,
    /// when it remembered one first).
    fn remember(
        &self,
        integration_id: &IntegrationId,
        key: &str,
        contact_id: &str,
    ) -> crate::Result<String>;
}

/// Everything a push needs.
pub struct PushContext<'a> {
    /// Whether the log makes the order in the POS or cancels it there.
    pub action: SyncAction,
    /// The order to push (or cancel: its reason is on it).
    pub order: &'a Order,
    /// The POS connection it goes to (location, mapping, settings).
    pub integration: &'a Integration,
    /// The bearer (Square, Zoho) or webhook secret (Dine) to send.
    pub access_token: &'a Secret,
    /// The business's IANA time zone (Zoho dates the order in it).
    pub timezone: &'a str,
    /// 1 for the first attempt of this log.
    pub attempt_number: i64,
    /// Whether an earlier attempt or an earlier log may already have put the order in the POS
    /// (a provider without idempotency keys then looks before it creates).
    pub may_exist: bool,
    /// For provider-side caches (Zoho contacts).
    pub contacts: &'a dyn ContactCache,
    /// For providers with idempotency keys: the body an earlier push of this order sent, to be
    /// resent unchanged (a changed body under the same key is refused).
    pub frozen_request: Option<&'a Value>,
    /// What earlier steps of this log have done.
    pub done: &'a Done,
}

/// A POS that possync can push orders into.
pub trait PosClient: Send + Sync {
    /// The body a push of `order` would send now (no secrets in it).
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        timezone: &str,
        contacts: &dyn ContactCache,
    ) -> crate::Result<Value>;

    /// The step a log takes next, given `ctx.action` and `ctx.done`; `None` once every step
    /// is done. The default is one step each: create the order, or cancel it.
    fn next_step(&self, ctx: &PushContext<'_>) -> Option<Step> {
        match ctx.action {
            SyncAction::Create => ctx.done.pos_order_id.is_none().then_some(Step::CreateOrder),
            SyncAction::Cancel => (!ctx.done.canceled).then_some(Step::CancelOrder),
        }
    }

    /// Take one step of a push. Blocking: call only on a worker thread.
    fn push(&self, ctx: &PushContext<'_>, step: Step) -> PushResult;

    /// Whether the order shows on the POS after the steps in `done` (`None`: the POS shows
    /// every order it has, so the question does not arise).
    fn visible(&self, _integration: &Integration, _done: &Done) -> Option<bool> {
        None
    }

    /// The body of every step a push would send after `first` (the create body), for the
    /// preview; ids the POS has not given yet are named in words.
    fn later_requests(
        &self,
        _order: &Order,
        _integration: &Integration,
        _first: &Value,
        _done: &Done,
    ) -> Vec<(Step, Value)> {
        Vec::new()
    }

    /// Whether every push of one order must send the same body (an idempotency key makes the
    /// provider compare them).
    fn freezes_request(&self) -> bool {
        false
    }

    /// Look in the POS for the order before its log gives up after pushes that got no
    /// answer (one may have created it): the POS's order id when it has it. Blocking. The
    /// default cannot look.
    fn find_order(&self, _ctx: &PushContext<'_>) -> Option<String> {
        None
    }

    /// Read the state of the orders `pos_order_ids` back from the POS (§F8). Blocking. `None`
    /// for a POS that cannot say (Dine POS).
    fn read_states(
        &self,
        _integration: &Integration,
        _access_token: &Secret,
        _pos_order_ids: &[String],
    ) -> Option<state::StateReads> {
        None
    }
}

/// Cut `text` to at most `max` characters (never inside a character).
pub fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_counts_characters() {
        assert_eq!(super::cut("Rahul Kumar", 5), "Rahul");
        assert_eq!(super::cut("₹₹₹", 2), "₹₹");
        assert_eq!(super::cut("ab", 30), "ab");
    }
}
