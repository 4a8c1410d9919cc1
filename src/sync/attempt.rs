//! One attempt of a claimed log, in named stages with typed hand-offs:
//! `load` (one read: [`Loaded`]) → `prepare` (the writes a push depends on: [`Ready`]) → then,
//! for each step the provider names from what is already done: `push` (one provider call, no
//! transaction held: [`Pushed`]) → `decide` (the pure policy: [`Verdict`]) → `record` (one
//! write transaction, which stores what the step learned; in [`super::record`]). A step that succeeds with another to
//! come is followed at once by the next; a refused token that can be refreshed is recorded,
//! refreshed, and the same step pushed once more. The engine knows no step by name: a retry, or
//! a restart after a crash, resumes at the first step not yet done.

use std::time::Instant;

use serde_json::Value;

use super::engine::Engine;
use super::outcome;
use super::policy::{self, Decision};
use crate::Result;
use crate::crypto::Secret;
use crate::domain::{AttemptOutcome, Millis, Step, SyncAction, now_millis};
use crate::providers::{Done, Fact, Outcome, PushContext, PushResult};
use crate::store::outbox::{self, LogUpdate};
use crate::store::sync_logs;
use crate::store::{Integration, Order, SyncLog, businesses, integrations, orders};

/// The most provider calls one attempt makes (every step, plus a push again after a token
/// refresh): a provider whose steps never end is stopped here.
const MAX_CALLS: usize = 8;

/// Everything an attempt needs, from one read.
struct Loaded {
    order: Order,
    integration: Integration,
    /// The business's IANA time zone.
    timezone: String,
    access_token: Secret,
    has_refresh_token: bool,
    /// Attempts the log had before this one.
    attempts: i64,
    /// Whether another log of this order and integration exists.
    other_logs: bool,
    body: Body,
}

/// The body of a provider that must resend the same body under one idempotency key.
enum Body {
    /// The provider builds its body on every push.
    Unfrozen,
    /// This log's stored body (a retry): sent without a write.
    Stored(String),
    /// The body an earlier log of this order sent, to be stored on this log.
    Known(String),
    /// No body yet: build it and store it before the first push.
    New,
}

/// What `load` found.
enum Load {
    Ready(Box<Loaded>),
    /// The log cannot be attempted, and why.
    Unusable(&'static str),
}

/// A push ready to go: its token fresh and its body stored.
pub(super) struct Ready {
    /// Whether the log creates the order in the POS or cancels it there.
    pub(super) action: SyncAction,
    pub(super) order: Order,
    pub(super) integration: Integration,
    pub(super) timezone: String,
    pub(super) access_token: Secret,
    /// Whether a refused token can still be refreshed in this attempt.
    pub(super) refreshable: bool,
    /// The number of the next push of this log (1 for its first).
    pub(super) attempt_number: i64,
    pub(super) other_logs: bool,
    pub(super) frozen: Option<Value>,
    /// What the log's steps have done, kept current as they do more.
    pub(super) done: Done,
}

/// What one push produced, and when.
pub(super) struct Pushed {
    pub(super) step: Step,
    pub(super) result: PushResult,
    pub(super) started_at: Millis,
    pub(super) duration_ms: i64,
}

/// The policy's verdict on a push, and the moment it was made.
pub(super) struct Verdict {
    pub(super) decision: Decision,
    pub(super) outcome: AttemptOutcome,
    pub(super) now: Millis,
}

impl Engine {
    /// Attempt a claimed log: push it, record the attempt and settle the log.
    pub(super) fn attempt(&self, log: SyncLog) -> Result<()> {
        let loaded = match self.load(&log)? {
            Load::Ready(loaded) => *loaded,
            Load::Unusable(why) => return self.fail_without_attempt(&log, why),
        };
        let mut ready = self.prepare(&log, loaded)?;
        let mut refreshable = ready.refreshable;
        for _ in 0..MAX_CALLS {
            let Some(step) = self
                .client(ready.integration.provider)
                .next_step(&self.context(&ready))
            else {
                // Every step was stored before this attempt (its holder lost the lease).
                let update = outcome::log_update(&Decision::Succeed, &ready.done);
                return self.settle_without_push(&log, &ready, update);
            };
            let mut pushed = self.push(&ready, step);
            ready.done.learn(&pushed.result.learned);
            let mut verdict = self.decide(&log, &ready, &pushed, refreshable);
            if let Decision::RefreshThenRetry { error } = &verdict.decision {
                let error = error.clone();
                self.record_until_stored(&log, &ready, &pushed, &verdict)?;
                refreshable = false;
                match self.tokens.refresh(&ready.integration) {
                    Ok(token) => {
                        ready.access_token = token;
                        ready.attempt_number += 1;
                        continue;
                    }
                    Err(refresh) => {
                        pushed.result.outcome = outcome::unrefreshed(&error, refresh);
                        verdict = self.decide(&log, &ready, &pushed, false);
                    }
                }
            }
            if step == Step::CreateOrder
                && let Some(pos_order_id) = self.found_before_giving_up(&ready, &pushed, &verdict)
            {
                pushed.result.outcome = Outcome::Success;
                pushed.result.learned = vec![Fact::PosOrderId(pos_order_id)];
                ready.done.learn(&pushed.result.learned);
                verdict = self.decide(&log, &ready, &pushed, false);
            }
            self.record_until_stored(&log, &ready, &pushed, &verdict)?;
            if verdict.decision != Decision::Continue {
                return Ok(());
            }
            ready.attempt_number += 1;
        }
        let update = LogUpdate::Failed {
            error: format!("the POS's steps did not end after {MAX_CALLS} calls"),
        };
        self.settle_without_push(&log, &ready, Some(update))
    }

    /// A log about to fail after a push that got no answer (or a 5xx): the POS may have the
    /// order all the same, so look before telling the seller it is missing.
    fn found_before_giving_up(
        &self,
        ready: &Ready,
        pushed: &Pushed,
        verdict: &Verdict,
    ) -> Option<String> {
        let unanswered = matches!(
            pushed.result.outcome,
            Outcome::Transient { .. } | Outcome::Ambiguous { .. }
        );
        let giving_up = matches!(
            verdict.decision,
            Decision::Fail {
                reconnect: false,
                ..
            }
        );
        if !(unanswered && giving_up) {
            return None;
        }
        let found = self
            .client(ready.integration.provider)
            .find_order(&self.context(ready))?;
        tracing::info!(
            order_id = %ready.order.id,
            pos_order_id = %found,
            "the POS has the order after pushes that got no answer: recorded as pushed"
        );
        Some(found)
    }

    /// Read the log's order, integration, business, tokens, attempt count, sibling logs and
    /// frozen body at once.
    fn load(&self, log: &SyncLog) -> Result<Load> {
        self.store.read(|c| {
            let order = orders::order_by_id(c, &log.order_id)?;
            let integration = integrations::integration_by_id(c, &log.integration_id)?;
            let business = businesses::business_by_id(c, &log.business_id)?;
            let attempts = outbox::attempt_count(c, &log.id)?;
            let other_logs =
                outbox::has_other_logs(c, &log.order_id, &log.integration_id, &log.id)?;
            let (Some(order), Some(integration), Some(business)) = (order, integration, business)
            else {
                return Ok(Load::Unusable(
                    "the order or its integration no longer exists",
                ));
            };
            if !integration.is_active {
                return Ok(Load::Unusable("integration disconnected"));
            }
            let tokens = integrations::integration_tokens(c, &self.keyring, &integration.id)?;
            let Some(access_token) = tokens.access_token else {
                return Ok(Load::Unusable("integration disconnected"));
            };
            // A cancellation's bodies are built from the order and what its steps read.
            let frozen = log.action == SyncAction::Create
                && self.client(integration.provider).freezes_request();
            let body = if frozen {
                match (
                    sync_logs::request_body_of(c, &log.id)?,
                    sync_logs::reusable_body(c, &order.id, &integration.id)?,
                ) {
                    (Some(own), _) => Body::Stored(own),
                    (None, Some(known)) => Body::Known(known),
                    (None, None) => Body::New,
                }
            } else {
                Body::Unfrozen
            };
            Ok(Load::Ready(Box::new(Loaded {
                order,
                integration,
                timezone: business.timezone,
                access_token,
                has_refresh_token: tokens.refresh_token.is_some(),
                attempts,
                other_logs,
                body,
            })))
        })
    }

    /// Refresh a token about to expire and store the body a frozen push will send (so a crash
    /// mid-push resends the same body).
    fn prepare(&self, log: &SyncLog, loaded: Loaded) -> Result<Ready> {
        let Loaded {
            order,
            integration,
            timezone,
            access_token,
            has_refresh_token,
            attempts,
            other_logs,
            body,
        } = loaded;
        let done = Done {
            pos_order_id: log.pos_order_id.clone(),
            pos_payment_id: log.pos_payment_id.clone(),
            pos_refund_id: log.pos_refund_id.clone(),
            ..Done::default()
        };
        let refreshable = self
            .tokens
            .refreshable(integration.provider, has_refresh_token);
        let access_token = self
            .tokens
            .fresh_for_push(&integration, access_token, refreshable);
        let text = match body {
            Body::Unfrozen => None,
            Body::Stored(text) => Some(text),
            Body::Known(text) => Some(self.freeze(log, text)?),
            Body::New => {
                let built = self.client(integration.provider).build_request(
                    &order,
                    &integration,
                    &timezone,
                    &self.store,
                )?;
                Some(self.freeze(log, built.to_string())?)
            }
        };
        Ok(Ready {
            action: log.action,
            frozen: text.and_then(|text| serde_json::from_str(&text).ok()),
            order,
            integration,
            timezone,
            access_token,
            refreshable,
            attempt_number: attempts + 1,
            other_logs,
            done,
        })
    }

    fn freeze(&self, log: &SyncLog, text: String) -> Result<String> {
        let id = log.id.clone();
        self.store.write(move |tx| {
            sync_logs::set_request_body(tx, &id, &text)?;
            Ok(text)
        })
    }

    /// One provider call: `step` of the push.
    fn push(&self, ready: &Ready, step: Step) -> Pushed {
        let started_at = now_millis();
        let clock = Instant::now();
        let result = self
            .client(ready.integration.provider)
            .push(&self.context(ready), step);
        Pushed {
            step,
            result,
            started_at,
            duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// What the provider is handed for `ready`.
    fn context<'a>(&'a self, ready: &'a Ready) -> PushContext<'a> {
        PushContext {
            action: ready.action,
            order: &ready.order,
            integration: &ready.integration,
            access_token: &ready.access_token,
            timezone: &ready.timezone,
            attempt_number: ready.attempt_number,
            may_exist: ready.attempt_number > 1 || ready.other_logs,
            contacts: &self.store,
            frozen_request: ready.frozen.as_ref(),
            done: &ready.done,
        }
    }

    /// The policy's verdict on `pushed`, now: a step that succeeded is followed by the next
    /// when the provider names one after what is done now.
    fn decide(&self, log: &SyncLog, ready: &Ready, pushed: &Pushed, refreshable: bool) -> Verdict {
        let now = now_millis();
        let decision = policy::decide(
            pushed.result.outcome.clone(),
            log.retry_count,
            log.max_retries,
            refreshable,
            &self.settings.retry,
            now,
        );
        let more = decision == Decision::Succeed
            && self
                .client(ready.integration.provider)
                .next_step(&self.context(ready))
                .is_some();
        let decision = policy::then(decision, more);
        Verdict {
            outcome: outcome::attempt_outcome(&pushed.result.outcome, &decision),
            decision,
            now,
        }
    }
}
