//! The delivery thread: works through the outbox of email and WhatsApp deliveries, one at a
//! time, retrying failures with a doubling wait. It never runs on a sync worker, so a channel
//! that is down never slows an order sync.

use std::sync::Arc;
use std::time::Duration;

use super::NotifySettings;
use super::channels::Channels;
use crate::Result;
use crate::domain::{Channel, now_millis};
use crate::metrics::Metrics;
use crate::store::{Store, notifications};
use crate::sync::Signal;

/// How long a claimed delivery stays out of other claims while it is being sent.
const CLAIM_HOLD: i64 = 120_000;

/// How long the thread sleeps when there is nothing to send (or a step failed).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The notification outbox and the channels that empty it.
pub struct Delivery {
    store: Store,
    settings: Arc<NotifySettings>,
    channels: Channels,
    metrics: Arc<Metrics>,
    signal: Signal,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    /// Deliveries from `store` over `channels`.
    pub fn new(
        store: Store,
        settings: NotifySettings,
        channels: Channels,
        metrics: Arc<Metrics>,
    ) -> Delivery {
        Delivery {
            store,
            settings: Arc::new(settings),
            channels,
            metrics,
            signal: Signal::default(),
        }
    }

    /// The notification settings (triggers, caps, channels), for whoever raises notifications.
    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// The same settings, shared: for a store write that raises notifications (it runs on the
    /// writer thread and must own what it uses).
    pub fn shared_settings(&self) -> Arc<NotifySettings> {
        self.settings.clone()
    }

    /// New deliveries were queued: wake the thread.
    pub fn wake(&self) {
        self.signal.wake();
    }

    /// Ask the thread to stop after its current delivery.
    pub fn stop(&self) {
        self.signal.stop();
    }

    /// The thread's loop; returns once [`Delivery::stop`] was called.
    pub fn run(&self) {
        while !self.signal.stopping() {
            let seen = self.signal.generation();
            match self.deliver_once() {
                Ok(true) => continue,
                Ok(false) => self.signal.wait(seen, IDLE_WAIT),
                Err(e) => {
                    tracing::error!(error = %e, "notification delivery step failed");
                    self.signal.wait(seen, IDLE_WAIT);
                }
            }
        }
    }

    /// Send one due delivery. Returns whether there was one.
    pub fn deliver_once(&self) -> Result<bool> {
        let now = now_millis();
        let Some(due) = self
            .store
            .write(move |tx| notifications::claim_due_delivery(tx, now, CLAIM_HOLD))?
        else {
            return Ok(false);
        };
        let result = match (due.channel, due.recipient.as_deref()) {
            (_, None) => Err(
                "no recipient (set the business's notification_email or whatsapp_number)"
                    .to_string(),
            ),
            (Channel::Email, Some(to)) => self.channels.email(
                to,
                &format!("possync: {}", due.title),
                &format!("{}\n\n{}\n\n-- possync", due.title, due.message),
            ),
            (Channel::WhatsApp, Some(to)) => self
                .channels
                .whatsapp(to, &format!("{}\n{}", due.title, due.message)),
        };
        self.metrics.delivery(due.channel.as_str(), result.is_ok());
        if let Err(e) = &result {
            tracing::warn!(delivery = %due.id, channel = %due.channel, error = %e, "notification delivery failed");
        }
        let attempts = due.attempts + 1;
        let retry_at = (result.is_err() && attempts < self.settings.max_attempts)
            .then(|| self.settings.next_attempt(due.attempts, now_millis()));
        let id = due.id;
        self.store
            .write(move |tx| notifications::finish_delivery(tx, &id, result, retry_at))?;
        Ok(true)
    }
}
