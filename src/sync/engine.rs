//! One attempt, start to finish: claim, push (no transaction held), record, decide.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::Signal;
use super::policy::{self, Decision, Outcome, RetrySettings};
use crate::config::SyncArgs;
use crate::crypto::Keyring;
use crate::crypto::Secret;
use crate::domain::{Millis, ProviderKind, now_millis};
use crate::metrics::Metrics;
use crate::notify::channels::Channels;
use crate::notify::{Notice, NotifySettings, messages};
use crate::providers::oauth::{OAuth, OAuthError};
use crate::providers::{PosClient, PushContext, PushResult, Registry};
use crate::store::notifications;
use crate::store::sync_logs::{self, LogUpdate, NewAttempt};
use crate::store::{Integration, Order, Store, SyncLog, businesses, integrations, orders};
use crate::{Error, Result};

/// Why a token refresh did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    /// The provider refused (revoked, no refresh token, no client): the seller must reconnect.
    Refused(String),
    /// The provider or the database could not be reached: try again later.
    Unavailable(String),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshError::Refused(why) => write!(f, "refused: {why}"),
            RefreshError::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
}

/// The engine's settings, from [`SyncArgs`].
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub retry: RetrySettings,
    pub max_retries: i64,
    /// How long a claim holds a log; longer than any one attempt can take.
    pub lease: Duration,
}

impl EngineSettings {
    /// Settings from the command line.
    pub fn from_args(args: &SyncArgs) -> EngineSettings {
        EngineSettings {
            retry: RetrySettings {
                interval: args.retry_interval,
                rate_limit_backoff: args.rate_limit_backoff,
                max_backoff: args.max_backoff,
            },
            max_retries: i64::from(args.max_retries),
            lease: args.provider_timeout.saturating_mul(2) + Duration::from_secs(30),
        }
    }
}

/// Pushes orders. Shared by the worker threads, the scheduler and the API (to wake it).
pub struct Engine {
    store: Store,
    keyring: Arc<Keyring>,
    settings: EngineSettings,
    providers: Registry,
    notify: NotifySettings,
    channels: Channels,
    notify_signal: Arc<Signal>,
    signal: Arc<Signal>,
    metrics: Arc<Metrics>,
    /// Worker and delivery threads running now (for `/readyz`).
    pub(super) threads_alive: AtomicUsize,
    /// When the scheduler last went round its loop (for `/readyz`).
    pub(super) scheduler_beat: AtomicI64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    /// An engine over `store` with the given settings.
    pub fn new(store: Store, keyring: Arc<Keyring>, args: &SyncArgs) -> Result<Engine> {
        Ok(Engine {
            store,
            keyring,
            settings: EngineSettings::from_args(args),
            providers: Registry::from_args(args),
            notify: NotifySettings::from_args(&args.notify),
            channels: Channels::from_args(&args.notify, args.provider_timeout)?,
            notify_signal: Arc::new(Signal::default()),
            signal: Arc::new(Signal::default()),
            metrics: Arc::new(Metrics::default()),
            threads_alive: AtomicUsize::new(0),
            scheduler_beat: AtomicI64::new(0),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The store the engine works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The wake-up signal of the workers.
    pub fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    /// Wake the workers (new work was queued).
    pub fn wake(&self) {
        self.signal.wake();
    }

    /// The client for a provider.
    pub fn client(&self, provider: ProviderKind) -> &dyn PosClient {
        self.providers.client(provider)
    }

    /// Claim one due log and push it. Returns the log's id, or `None` when nothing is due.
    pub fn run_once(&self) -> Result<Option<String>> {
        let now = now_millis();
        let lease_until = now.saturating_add(millis(self.settings.lease));
        let Some(log) = self
            .store
            .write(|tx| sync_logs::claim_next(tx, now, lease_until))?
        else {
            return Ok(None);
        };
        let id = log.id.clone();
        self.attempt(log)?;
        Ok(Some(id))
    }

    /// Push every log that is due now, one after another (`possync retries run`).
    pub fn run_due(&self) -> Result<usize> {
        let mut done = 0;
        while self.run_once()?.is_some() {
            done += 1;
        }
        Ok(done)
    }

    /// Make logs whose lease expired due again; with `all`, every `syncing` log (start-up).
    pub fn reclaim(&self, all: bool) -> Result<usize> {
        let now = now_millis();
        let n = self
            .store
            .write(|tx| sync_logs::reclaim_leases(tx, now, all))?;
        if n > 0 {
            tracing::warn!(
                logs = n,
                "reclaimed sync logs whose worker stopped mid-attempt"
            );
            self.wake();
        }
        Ok(n)
    }

    fn attempt(&self, log: SyncLog) -> Result<()> {
        let loaded = self.store.read(|c| {
            let order = orders::order_by_id(c, &log.order_id)?;
            let integration = integrations::integration_by_id(c, &log.integration_id)?;
            let business = businesses::business_by_id(c, &log.business_id)?;
            let attempts = sync_logs::attempt_count(c, &log.id)?;
            let others = sync_logs::has_other_logs(c, &log.order_id, &log.integration_id, &log.id)?;
            Ok((order, integration, business, (attempts, others)))
        })?;
        let (Some(order), Some(integration), Some(business), (attempts, other_logs)) = loaded
        else {
            return self
                .fail_without_attempt(&log, "the order or its integration no longer exists");
        };
        if !integration.is_active {
            return self.fail_without_attempt(&log, "integration disconnected");
        }
        let client = self.client(integration.provider);
        let tokens = self
            .store
            .read(|c| integrations::integration_tokens(c, &self.keyring, &integration.id))?;
        let Some(mut access_token) = tokens.access_token else {
            return self.fail_without_attempt(&log, "integration disconnected");
        };
        let can_refresh =
            tokens.refresh_token.is_some() && self.oauth().configured(integration.provider);

        // Zoho access tokens live an hour: refresh before a push when under 5 minutes remain.
        if can_refresh
            && integration.provider == ProviderKind::Zoho
            && self.oauth().refresh_due(
                integration.provider,
                integration.token_expires_at,
                None,
                now_millis(),
            )
        {
            match self.refresh_tokens(&integration) {
                Ok(token) => access_token = token,
                Err(e) => {
                    tracing::warn!(integration = %integration.id, error = %e, "token refresh before a push failed")
                }
            }
        }

        // A provider that compares bodies under one idempotency key gets the body it was sent
        // before, whatever the settings say now.
        let frozen = if client.freezes_request() {
            // A retry of this log already has its body: no write (no fsync) on that path.
            let (own, known) = self.store.read(|c| {
                Ok((
                    sync_logs::request_body_of(c, &log.id)?,
                    sync_logs::reusable_body(c, &order.id, &integration.id)?,
                ))
            })?;
            let text = match (own, known) {
                (Some(text), _) => text,
                (None, known) => {
                    let text = match known {
                        Some(text) => text,
                        None => client
                            .build_request(&order, &integration, &business.timezone, &self.store)?
                            .to_string(),
                    };
                    self.store
                        .write(|tx| sync_logs::set_request_body(tx, &log.id, &text))?;
                    text
                }
            };
            serde_json::from_str::<serde_json::Value>(&text).ok()
        } else {
            None
        };

        let mut attempt_number = attempts + 1;
        let push = |token: &Secret, attempt_number: i64| {
            let started_at = now_millis();
            let clock = Instant::now();
            let result = client.push(&PushContext {
                order: &order,
                integration: &integration,
                access_token: token,
                timezone: &business.timezone,
                attempt_number,
                may_exist: attempt_number > 1 || other_logs,
                contacts: &self.store,
                frozen_request: frozen.as_ref(),
            });
            (
                result,
                started_at,
                i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
            )
        };
        let (mut result, mut started_at, mut duration_ms) = push(&access_token, attempt_number);

        // A 401 gets one token refresh and an immediate retry of the attempt.
        if let (Outcome::AuthFailed { error }, true) = (&result.outcome, can_refresh) {
            let error = error.clone();
            self.store.write(|tx| {
                sync_logs::insert_attempt(
                    tx,
                    &log.id,
                    &NewAttempt {
                        started_at,
                        duration_ms,
                        http_status: result.http_status.map(i64::from),
                        outcome: "retry",
                        error_message: Some(format!(
                            "{error}; refreshing the token and retrying at once"
                        )),
                        pos_order_id: None,
                    },
                )
            })?;
            self.metrics.attempt(integration.provider.as_str(), "retry");
            match self.refresh_tokens(&integration) {
                Ok(token) => {
                    attempt_number += 1;
                    (result, started_at, duration_ms) = push(&token, attempt_number);
                }
                Err(RefreshError::Refused(why)) => {
                    result = PushResult {
                        http_status: result.http_status,
                        outcome: Outcome::AuthFailed {
                            error: format!("{error}; token refresh failed: {why}"),
                        },
                    };
                }
                // The accounts server is down: not the seller's doing; try again later.
                Err(RefreshError::Unavailable(why)) => {
                    result = PushResult {
                        http_status: result.http_status,
                        outcome: Outcome::Transient {
                            error: format!("{error}; the token could not be refreshed now ({why})"),
                        },
                    };
                }
            }
        }
        self.record(&log, &order, &integration, result, started_at, duration_ms)
    }

    /// Refresh an integration's tokens at its provider and store them; the new access token.
    pub fn refresh_tokens(&self, integration: &Integration) -> Result<Secret, RefreshError> {
        let unavailable = |e: Error| RefreshError::Unavailable(e.to_string());
        let tokens = self
            .store
            .read(|c| integrations::integration_tokens(c, &self.keyring, &integration.id))
            .map_err(unavailable)?;
        let refresh = tokens
            .refresh_token
            .ok_or_else(|| RefreshError::Refused("the integration has no refresh token".into()))?;
        let grant = self
            .oauth()
            .refresh(integration.provider, &refresh)
            .map_err(|e| match e {
                OAuthError::Unreachable(why) => RefreshError::Unavailable(why),
                other => RefreshError::Refused(other.to_string()),
            })?;
        let now = now_millis();
        self.store
            .write(|tx| {
                integrations::store_refreshed_tokens(
                    tx,
                    &self.keyring,
                    &integration.id,
                    &grant,
                    now,
                )
            })
            .map_err(unavailable)?;
        tracing::info!(integration = %integration.id, provider = %integration.provider, "refreshed POS tokens");
        Ok(grant.access_token)
    }

    /// The refresh job: refresh every token that is due (Square: older than 7 days or expiring
    /// within 7; Zoho: under 5 minutes left). A refused refresh marks the integration for a
    /// reconnect.
    pub fn refresh_due_tokens(&self) -> Result<String> {
        let now = now_millis();
        let due: Vec<Integration> = self
            .store
            .read(integrations::refreshable)?
            .into_iter()
            .filter(|i| self.oauth().configured(i.provider))
            .filter(|i| {
                self.oauth().refresh_due(
                    i.provider,
                    i.token_expires_at,
                    i.token_refreshed_at.or(Some(i.created_at)),
                    now,
                )
            })
            .collect();
        let (mut refreshed, mut failed) = (0, 0);
        for integration in &due {
            match self.refresh_tokens(integration) {
                Ok(_) => refreshed += 1,
                Err(RefreshError::Refused(why)) => {
                    failed += 1;
                    self.refresh_failed(integration, &why)?;
                }
                Err(RefreshError::Unavailable(why)) => {
                    failed += 1;
                    tracing::warn!(integration = %integration.id, error = %why, "token refresh failed; retried at the next run");
                }
            }
        }
        let warned = self.warn_expiring_tokens(now)?;
        Ok(format!(
            "refreshed {refreshed} POS tokens, {failed} failed, {warned} expiry warnings"
        ))
    }

    /// A refresh the provider refused: the integration needs a reconnect; tell the seller.
    fn refresh_failed(&self, integration: &Integration, why: &str) -> Result<()> {
        let message = format!(
            "the {} token could not be refreshed ({why}); reconnect the POS",
            integration.provider.display_name()
        );
        let notice =
            messages::reconnect_required(&integration.business_id, integration.provider, why, None);
        let raised = self.store.write(|tx| {
            integrations::set_last_error(tx, &integration.id, &message)?;
            notifications::raise(tx, &notice, &self.notify, now_millis())
        })?;
        if raised.is_some() {
            self.notify_signal.wake();
        }
        Ok(())
    }

    /// Warn (once a day per business) about tokens that expire within 3 days and that possync
    /// cannot refresh (no refresh token, or no OAuth client configured). Returns how many.
    fn warn_expiring_tokens(&self, now: Millis) -> Result<usize> {
        const DAY: Millis = 24 * 3_600_000;
        let expiring: Vec<Integration> = self.store.read(|c| {
            Ok(integrations::active_with_expiry(c)?
                .into_iter()
                .filter(|i| i.token_expires_at.is_some_and(|e| e - now < 3 * DAY))
                .collect())
        })?;
        let mut warned = 0;
        for integration in expiring {
            let refreshable = self.oauth().configured(integration.provider)
                && self
                    .store
                    .read(|c| integrations::integration_tokens(c, &self.keyring, &integration.id))?
                    .refresh_token
                    .is_some();
            if refreshable {
                continue;
            }
            let expires = crate::domain::format_millis(integration.token_expires_at.unwrap_or(now));
            let notice =
                messages::token_expiring(&integration.business_id, integration.provider, &expires);
            let raised = self.store.write(|tx| {
                if notifications::raised_since(
                    tx,
                    &integration.business_id,
                    crate::notify::Kind::TokenExpiring,
                    now - DAY,
                )? {
                    return Ok(None);
                }
                notifications::raise(tx, &notice, &self.notify, now)
            })?;
            if raised.is_some() {
                warned += 1;
                self.notify_signal.wake();
            }
        }
        Ok(warned)
    }

    /// The OAuth clients.
    pub fn oauth(&self) -> OAuth<'_> {
        self.providers.oauth()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether `expected` sync threads are running and the scheduler went round in the last
    /// few seconds.
    pub fn running(&self, expected: usize) -> bool {
        let beat = self.scheduler_beat.load(Ordering::Relaxed);
        self.threads_alive.load(Ordering::Relaxed) >= expected && now_millis() - beat < 5_000
    }

    fn record(
        &self,
        log: &SyncLog,
        order: &Order,
        integration: &Integration,
        result: PushResult,
        started_at: Millis,
        duration_ms: i64,
    ) -> Result<()> {
        let now = now_millis();
        let decision = policy::decide(
            result.outcome.clone(),
            log.retry_count,
            log.max_retries,
            &self.settings.retry,
            now,
        );
        let (label, update, pause_until) = match &decision {
            Decision::Succeed { pos_order_id } => (
                "success",
                LogUpdate::Success {
                    pos_order_id: pos_order_id.clone(),
                },
                None,
            ),
            Decision::Retry {
                at,
                error,
                pause_until,
            } => {
                let label = if pause_until.is_some() {
                    "rate_limited"
                } else if matches!(result.outcome, Outcome::Ambiguous { .. }) {
                    "ambiguous"
                } else {
                    "retry"
                };
                (
                    label,
                    LogUpdate::Retry {
                        at: *at,
                        error: error.clone(),
                    },
                    *pause_until,
                )
            }
            Decision::Fail { error, reconnect } => {
                let label = if *reconnect { "auth_failed" } else { "failed" };
                (
                    label,
                    LogUpdate::Failed {
                        error: error.clone(),
                    },
                    None,
                )
            }
        };
        let (attempt_error, pos_order_id) = match &result.outcome {
            Outcome::Success { pos_order_id } => (None, Some(pos_order_id.clone())),
            Outcome::Transient { error }
            | Outcome::Ambiguous { error }
            | Outcome::RateLimited { error, .. }
            | Outcome::Rejected { error }
            | Outcome::AuthFailed { error } => (Some(error.clone()), None),
        };
        let integration_error = match &decision {
            Decision::Succeed { .. } => None,
            Decision::Retry { error, .. } | Decision::Fail { error, .. } => Some(error.clone()),
        };
        let held = self.store.write(|tx| {
            sync_logs::insert_attempt(
                tx,
                &log.id,
                &NewAttempt {
                    started_at,
                    duration_ms,
                    http_status: result.http_status.map(i64::from),
                    outcome: label,
                    error_message: attempt_error,
                    pos_order_id,
                },
            )?;
            let held = sync_logs::finish_attempt(tx, log, &update, duration_ms, now)?;
            if let Some(until) = pause_until {
                sync_logs::pause_integration(tx, &integration.id, until)?;
            }
            sync_logs::record_integration_result(
                tx,
                &integration.id,
                integration_error.as_deref(),
                now,
            )?;
            let mut raised = false;
            for notice in self.notices(tx, log, order, integration, &decision, label)? {
                raised |= notifications::raise(tx, &notice, &self.notify, now)?.is_some();
            }
            Ok((held, raised))
        })?;
        let (held, raised) = held;
        self.metrics.attempt(integration.provider.as_str(), label);
        if let Decision::Succeed { .. } = decision {
            let seconds = (now - order.created_at).max(0) as f64 / 1000.0;
            self.metrics
                .delivered(integration.provider.as_str(), seconds);
        }
        if raised {
            self.notify_signal.wake();
        }
        if !held {
            tracing::warn!(log = %log.id, "the log's lease ran out during the attempt; its new holder decides");
        }
        tracing::info!(
            log = %log.id, order = %order.id, provider = %integration.provider,
            outcome = label, http_status = ?result.http_status, duration_ms,
            "sync attempt"
        );
        Ok(())
    }

    /// The notifications an attempt calls for (the guide's triggers).
    fn notices(
        &self,
        tx: &rusqlite::Transaction<'_>,
        log: &SyncLog,
        order: &Order,
        integration: &Integration,
        decision: &Decision,
        label: &str,
    ) -> Result<Vec<Notice>> {
        let provider = integration.provider;
        let mut notices = Vec::new();
        match decision {
            Decision::Fail {
                error,
                reconnect: true,
            } => notices.push(messages::reconnect_required(
                &order.business_id,
                provider,
                error,
                Some((order, log)),
            )),
            Decision::Fail {
                error,
                reconnect: false,
            } => {
                notices.push(messages::sync_failed(order, log, provider, error));
            }
            _ => {}
        }
        if label == "ambiguous" {
            notices.push(messages::possible_duplicate(order, log, provider));
        }
        if let Decision::Retry { error, .. } | Decision::Fail { error, .. } = decision {
            let failures: i64 = tx.query_row(
                "SELECT error_count FROM pos_integrations WHERE id = ?1",
                [&integration.id],
                |r| r.get(0),
            )?;
            // Exactly once per run of failures: a success resets the count.
            if failures == self.notify.after_failures {
                let gave_up = matches!(decision, Decision::Fail { .. });
                notices.push(messages::sync_failing(
                    &order.business_id,
                    provider,
                    failures,
                    error,
                    gave_up,
                ));
            }
        }
        Ok(notices)
    }

    /// Send one due notification delivery. Returns whether there was one.
    pub fn deliver_once(&self) -> Result<bool> {
        let now = now_millis();
        let Some(due) = self
            .store
            .write(|tx| notifications::claim_due_delivery(tx, now, 120_000))?
        else {
            return Ok(false);
        };
        let result = match (due.channel.as_str(), due.recipient.as_deref()) {
            (_, None) => Err(
                "no recipient (set the business's notification_email or whatsapp_number)"
                    .to_string(),
            ),
            ("email", Some(to)) => self.channels.email(
                to,
                &format!("possync: {}", due.title),
                &format!("{}\n\n{}\n\n-- possync", due.title, due.message),
            ),
            (_, Some(to)) => self
                .channels
                .whatsapp(to, &format!("{}\n{}", due.title, due.message)),
        };
        self.metrics.delivery(due.channel.as_str(), result.is_ok());
        if let Err(e) = &result {
            tracing::warn!(delivery = %due.id, channel = %due.channel, error = %e, "notification delivery failed");
        }
        let attempts = due.attempts + 1;
        let retry_at = (result.is_err() && attempts < self.notify.max_attempts)
            .then(|| self.notify.next_attempt(due.attempts, now_millis()));
        self.store
            .write(|tx| notifications::finish_delivery(tx, &due.id, result, retry_at))?;
        Ok(true)
    }

    /// The delivery thread's wake-up signal.
    pub fn notify_signal(&self) -> &Arc<Signal> {
        &self.notify_signal
    }

    fn fail_without_attempt(&self, log: &SyncLog, why: &str) -> Result<()> {
        let now = now_millis();
        self.store.write(|tx| {
            sync_logs::finish_attempt(
                tx,
                log,
                &LogUpdate::Failed {
                    error: why.to_string(),
                },
                0,
                now,
            )
        })?;
        tracing::warn!(log = %log.id, reason = why, "sync log failed without an attempt");
        Ok(())
    }
}
