//! One attempt of a claimed log, in named stages with typed hand-offs:
//! `load` (one read: [`Loaded`]) → `prepare` (the writes a push depends on: [`Ready`]) → then,
//! for each step the provider names from what is already done: `push` (one provider call, no
//! transaction held: [`Pushed`]) → `decide` (the pure policy: [`Verdict`]) → `record` (one
//! write transaction, which stores what the step learned). A step that succeeds with another to
//! come is followed at once by the next; a refused token that can be refreshed is recorded,
//! refreshed, and the same step pushed once more. The engine knows no step by name: a retry, or
//! a restart after a crash, resumes at the first step not yet done.

use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::Value;

use super::engine::Engine;
use super::outcome;
use super::policy::{self, Decision};
use crate::crypto::Secret;
use crate::domain::{AttemptOutcome, Millis, ProviderKind, Step, now_millis};
use crate::providers::{Done, Fact, Outcome, PushContext, PushResult};
use crate::store::outbox::{self, LogUpdate, NewAttempt};
use crate::store::sync_logs;
use crate::store::{Integration, Order, SyncLog, businesses, integrations, notifications, orders};
use crate::{Error, Result};

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
struct Ready {
    order: Order,
    integration: Integration,
    timezone: String,
    access_token: Secret,
    /// Whether a refused token can still be refreshed in this attempt.
    refreshable: bool,
    /// The number of the next push of this log (1 for its first).
    attempt_number: i64,
    other_logs: bool,
    frozen: Option<Value>,
    /// What the log's steps have done, kept current as they do more.
    done: Done,
}

/// What one push produced, and when.
struct Pushed {
    step: Step,
    result: PushResult,
    started_at: Millis,
    duration_ms: i64,
}

/// The policy's verdict on a push, and the moment it was made.
struct Verdict {
    decision: Decision,
    outcome: AttemptOutcome,
    now: Millis,
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

    /// [`Engine::record`], tried again with backoff while the disk refuses it: the POS has
    /// answered, so the outcome is kept in memory and stored as soon as the disk allows,
    /// rather than left to the lease's expiry, which would send the order again. Only a stop
    /// of the service gives up, and says so with the POS's order id.
    fn record_until_stored(
        &self,
        log: &SyncLog,
        ready: &Ready,
        pushed: &Pushed,
        verdict: &Verdict,
    ) -> Result<()> {
        let mut backoff = super::faults::Backoff::default();
        let mut waiting = false;
        let result = loop {
            match self.record(log, ready, pushed, verdict) {
                Err(e @ Error::Unwritable(_)) => {
                    if !waiting {
                        waiting = true;
                        self.unrecorded.fetch_add(1, Ordering::Relaxed);
                    }
                    self.faults.failed(
                        "recording a push the POS answered failed; kept in memory",
                        &e,
                    );
                    if self.signal().stopping() {
                        tracing::error!(
                            log = %log.id, order = %ready.order.id, error = %e,
                            pos_answer = ?pushed.result.outcome,
                            "stopping with a push the POS answered but possync could not record; \
                             the next start sends it again"
                        );
                        break Err(e);
                    }
                    self.signal().wait_for_stop(backoff.next());
                }
                other => break other,
            }
        };
        if waiting {
            self.unrecorded.fetch_sub(1, Ordering::Relaxed);
            if result.is_ok() {
                self.faults.worked();
                tracing::info!(log = %log.id, "a push kept in memory is recorded now that the disk allows");
            }
        }
        result
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
            let body = if self.client(integration.provider).freezes_request() {
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

    /// Write the attempt's row and, unless it is pushed again at once, settle the log: its
    /// new state, the integration's health and pause, and the notifications, in one
    /// transaction.
    fn record(
        &self,
        log: &SyncLog,
        ready: &Ready,
        pushed: &Pushed,
        verdict: &Verdict,
    ) -> Result<()> {
        let Verdict {
            decision,
            outcome,
            now,
        } = verdict;
        let (order, integration) = (&ready.order, &ready.integration);
        let provider = integration.provider;
        let result = &pushed.result;
        let row = NewAttempt {
            started_at: pushed.started_at,
            duration_ms: pushed.duration_ms,
            http_status: result.http_status.map(i64::from),
            outcome: *outcome,
            error_message: outcome::row_error(&result.outcome, decision),
            pos_order_id: result.learned.iter().find_map(|fact| match fact {
                Fact::PosOrderId(id) => Some(id.clone()),
                _ => None,
            }),
            step: Some(pushed.step),
        };
        let done = ready.done.clone();
        let Some(update) = outcome::log_update(decision, &done) else {
            // The push goes on in this attempt; what the step learned is stored now.
            let held_log = log.clone();
            self.store.write(move |tx| {
                outbox::insert_attempt(tx, &held_log.id, &row)?;
                store_progress(tx, &held_log, &done, None)
            })?;
            self.metrics.attempt(provider, *outcome);
            return Ok(());
        };
        let visible = self.client(provider).visible(integration, &done);
        // The write owns what it uses: it runs on the writer thread.
        let settings = self.delivery.shared_settings();
        let (held_log, held_order, integration_id) =
            (log.clone(), order.clone(), integration.id.clone());
        let (decision_now, outcome_now, now_at) = (decision.clone(), *outcome, *now);
        let duration_ms = pushed.duration_ms;
        let (lanes, pushed_outcome) = (self.lanes.clone(), result.outcome.clone());
        let (held, raised, update) = self.store.write(move |tx| {
            let (log, order, decision) = (&held_log, &held_order, &decision_now);
            outbox::insert_attempt(tx, &log.id, &row)?;
            store_progress(tx, log, &done, visible)?;
            let held = outbox::finish_attempt(tx, log, &update, duration_ms, now_at)?;
            let mut raised = lanes.record_attempt(tx, log, &pushed_outcome, &settings, now_at)?;
            if let Some(until) = decision.pause_until() {
                outbox::pause_integration(tx, &integration_id, until)?;
            }
            outbox::record_integration_result(tx, &integration_id, decision.error(), now_at)?;
            let failures = match decision.error() {
                Some(_) => Some(outbox::integration_failures(tx, &integration_id)?),
                None => None,
            };
            let kinds =
                outcome::notice_kinds(decision, outcome_now, failures, settings.after_failures);
            for notice in outcome::notices(&kinds, order, log, provider, decision, failures) {
                raised |= notifications::raise(tx, &notice, &settings, now_at)?.is_some();
            }
            Ok((held, raised, update))
        })?;
        self.metrics.attempt(provider, *outcome);
        if let Decision::Succeed = decision {
            let seconds = (now - order.created_at).max(0) as f64 / 1000.0;
            self.metrics.delivered(provider.as_str(), seconds);
        }
        if raised {
            self.delivery.wake();
        }
        if !held {
            tracing::warn!(log = %log.id, "the log's lease ran out during the attempt; its new holder decides");
        }
        let http_status = result.http_status;
        log_settled(
            log,
            order,
            provider,
            *outcome,
            &update,
            http_status,
            pushed.duration_ms,
        );
        Ok(())
    }

    /// Settle a log without a call: every step was already done (`update` is its success), or
    /// the steps did not end. `None` leaves the log to the lease's expiry.
    fn settle_without_push(
        &self,
        log: &SyncLog,
        ready: &Ready,
        update: Option<LogUpdate>,
    ) -> Result<()> {
        let Some(update) = update else {
            return Ok(());
        };
        let visible = self
            .client(ready.integration.provider)
            .visible(&ready.integration, &ready.done);
        let now = now_millis();
        let (held_log, done) = (log.clone(), ready.done.clone());
        let settled = update.clone();
        self.store.write(move |tx| {
            store_progress(tx, &held_log, &done, visible)?;
            outbox::finish_attempt(tx, &held_log, &settled, 0, now)
        })?;
        tracing::info!(log = %log.id, update = ?update, "sync log settled without a call");
        Ok(())
    }

    /// Fail a log that cannot be attempted (its order is gone, its integration disconnected).
    fn fail_without_attempt(&self, log: &SyncLog, why: &str) -> Result<()> {
        let now = now_millis();
        let (held, error) = (log.clone(), why.to_string());
        self.store.write(move |tx| {
            outbox::finish_attempt(tx, &held, &LogUpdate::Failed { error }, 0, now)
        })?;
        tracing::warn!(log = %log.id, reason = why, "sync log failed without an attempt");
        Ok(())
    }
}

/// Store what the steps in `done` learned (and whether the POS shows the order, once known).
fn store_progress(
    tx: &rusqlite::Transaction<'_>,
    log: &SyncLog,
    done: &Done,
    visible: Option<bool>,
) -> Result<()> {
    sync_logs::record_progress(
        tx,
        &log.id,
        done.pos_order_id.as_deref(),
        done.pos_payment_id.as_deref(),
        visible,
    )
}

/// The one line of a settled attempt, its fields apart for a grep or a JSON pipeline: INFO when
/// the order reached its POS, WARN when it goes to `retry`, ERROR when it goes to `failed`.
/// `outcome` is the attempt's (`rate_limited`, `ambiguous`, ...); `http_status` is absent when
/// the POS gave no answer.
fn log_settled(
    log: &SyncLog,
    order: &Order,
    provider: ProviderKind,
    outcome: AttemptOutcome,
    update: &LogUpdate,
    http_status: Option<u16>,
    duration_ms: i64,
) {
    let (sync_log_id, order_id, provider) = (&log.id, &order.id, provider.as_str());
    let outcome = outcome.as_str();
    match update {
        LogUpdate::Success { .. } => tracing::info!(
            %order_id, %sync_log_id, provider, outcome, http_status, duration_ms,
            status = "success", "order reached its POS"
        ),
        LogUpdate::Retry { error, .. } => tracing::warn!(
            %order_id, %sync_log_id, provider, outcome, http_status, duration_ms, error = error.as_str(),
            status = "retry", "sync attempt failed; retrying later"
        ),
        LogUpdate::Failed { error } => tracing::error!(
            %order_id, %sync_log_id, provider, outcome, http_status, duration_ms, error = error.as_str(),
            status = "failed", "sync failed; giving up"
        ),
    }
}
