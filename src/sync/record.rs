//! The `record` stage of an attempt: one write transaction per push that stores the attempt's
//! row and what the step learned and, when the log is settled, its new state, the integration's
//! health and pause and the notifications; kept apart from the stages before it because it is
//! the only one that writes what the POS answered, and it must get that write through (a disk
//! that refuses it is waited out, not left to the lease).

use std::sync::atomic::Ordering;

use super::attempt::{Pushed, Ready, Verdict};
use super::engine::Engine;
use super::outcome;
use super::policy::Decision;
use crate::domain::{AttemptOutcome, ProviderKind, SyncAction, now_millis};
use crate::providers::{Done, Fact};
use crate::store::outbox::{self, LogUpdate, NewAttempt};
use crate::store::sync_logs;
use crate::store::{Integration, Order, SyncLog, cancel, notifications};
use crate::{Error, Result};

impl Engine {
    /// [`Engine::record`], tried again with backoff while the disk refuses it: the POS has
    /// answered, so the outcome is kept in memory and stored as soon as the disk allows,
    /// rather than left to the lease's expiry, which would send the order again. Only a stop
    /// of the service gives up, and says so with the POS's order id.
    pub(super) fn record_until_stored(
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

    /// Write the attempt's row and, unless it is pushed again at once, settle the log: its
    /// new state, the integration's health and pause, and the notifications, in one
    /// transaction.
    pub(super) fn record(
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
        let visible = self.visible(log, integration, &done);
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
            if held {
                cancel::after_push(tx, log, log.max_retries, now_at)?;
            }
            let mut raised = lanes.record_attempt(tx, log, &pushed_outcome, &settings, now_at)?;
            if let Some(until) = decision.pause_until() {
                outbox::pause_integration(tx, &integration_id, until)?;
            }
            outbox::record_integration_result(tx, &integration_id, decision.error(), now_at)?;
            let failures = match decision.error() {
                Some(_) => Some(outbox::integration_failures(tx, &integration_id)?),
                None => None,
            };
            let kinds = outcome::notice_kinds(
                log.action,
                decision,
                outcome_now,
                failures,
                settings.after_failures,
            );
            for notice in outcome::notices(&kinds, order, log, provider, decision, failures) {
                raised |= notifications::raise(tx, &notice, &settings, now_at)?.is_some();
            }
            Ok((held, raised, update))
        })?;
        self.metrics.attempt(provider, *outcome);
        if let (Decision::Succeed, SyncAction::Create) = (decision, log.action) {
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
    pub(super) fn settle_without_push(
        &self,
        log: &SyncLog,
        ready: &Ready,
        update: Option<LogUpdate>,
    ) -> Result<()> {
        let Some(update) = update else {
            return Ok(());
        };
        let visible = self.visible(log, &ready.integration, &ready.done);
        let now = now_millis();
        let (held_log, done) = (log.clone(), ready.done.clone());
        let settled = update.clone();
        self.store.write(move |tx| {
            store_progress(tx, &held_log, &done, visible)?;
            if outbox::finish_attempt(tx, &held_log, &settled, 0, now)? {
                cancel::after_push(tx, &held_log, held_log.max_retries, now)?;
            }
            Ok(())
        })?;
        tracing::info!(log = %log.id, update = ?update, "sync log settled without a call");
        Ok(())
    }

    /// Fail a log that cannot be attempted (its order is gone, its integration disconnected).
    pub(super) fn fail_without_attempt(&self, log: &SyncLog, why: &str) -> Result<()> {
        let now = now_millis();
        let (held, error) = (log.clone(), why.to_string());
        self.store.write(move |tx| {
            if outbox::finish_attempt(tx, &held, &LogUpdate::Failed { error }, 0, now)? {
                cancel::after_push(tx, &held, held.max_retries, now)?;
            }
            Ok(())
        })?;
        tracing::warn!(log = %log.id, reason = why, "sync log failed without an attempt");
        Ok(())
    }
}

impl Engine {
    /// Whether the POS shows the order after a create log's steps in `done` (a cancellation
    /// leaves the create log's answer as it was).
    fn visible(&self, log: &SyncLog, integration: &Integration, done: &Done) -> Option<bool> {
        match log.action {
            SyncAction::Create => self.client(integration.provider).visible(integration, done),
            SyncAction::Cancel => None,
        }
    }
}

/// Store what the steps in `done` learned (and whether the POS shows the order, once known).
fn store_progress(
    tx: &rusqlite::Transaction<'_>,
    log: &SyncLog,
    done: &Done,
    visible: Option<bool>,
) -> Result<()> {
    let progress = sync_logs::Progress {
        pos_order_id: done.pos_order_id.as_deref(),
        pos_payment_id: done.pos_payment_id.as_deref(),
        pos_visible: visible,
        pos_refund_id: done.pos_refund_id.as_deref(),
        pos_order_open: done.pos_order_open(),
    };
    sync_logs::record_progress(tx, &log.id, progress)
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
    let (outcome, action) = (outcome.as_str(), log.action.as_str());
    match update {
        LogUpdate::Success { .. } => tracing::info!(
            %order_id, %sync_log_id, provider, action, outcome, http_status, duration_ms,
            status = "success", "order reached its POS"
        ),
        LogUpdate::Retry { error, .. } => tracing::warn!(
            %order_id, %sync_log_id, provider, action, outcome, http_status, duration_ms, error = error.as_str(),
            status = "retry", "sync attempt failed; retrying later"
        ),
        LogUpdate::Failed { error } => tracing::error!(
            %order_id, %sync_log_id, provider, action, outcome, http_status, duration_ms, error = error.as_str(),
            status = "failed", "sync failed; giving up"
        ),
    }
}
