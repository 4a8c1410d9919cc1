//! The cron jobs the scheduler runs, each on its own cron string (blank turns it off):
//! the retry sweep, token refresh, the POS-state read-back, and the clean-up of dead sessions and OAuth states.

use std::sync::Arc;

use super::{Engine, Job};
use crate::config::{Cron, SyncArgs};
use crate::domain::now_millis;
use crate::store::{accounts, oauth_states, outbox};

/// The jobs of a running service whose schedule is not blank.
pub fn jobs(engine: &Arc<Engine>, settings: &SyncArgs) -> Vec<Job> {
    [
        job(
            "retry-sweep",
            &settings.retry_sweep_schedule,
            retry_sweep(engine.clone()),
        ),
        job(
            "token-refresh",
            &settings.oauth.token_refresh_schedule,
            token_refresh(engine.clone()),
        ),
        job(
            "pos-state",
            &settings.pos_state_schedule,
            pos_state(engine.clone()),
        ),
        job(
            "cleanup",
            &settings.cleanup_schedule,
            cleanup(engine.clone()),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

type Body = Box<dyn Fn() -> crate::Result<String> + Send>;

fn job(name: &'static str, cron: &Cron, run: Body) -> Option<Job> {
    Some(Job {
        name,
        schedule: cron.schedule()?.clone(),
        run,
    })
}

/// Push every due retry now, as the integration guide's cron job does (retries also fire on
/// their own time; this is the safety net).
fn retry_sweep(engine: Arc<Engine>) -> Body {
    Box::new(move || {
        let due = engine
            .store()
            .read(|c| outbox::due_count(c, now_millis()))?;
        engine.wake();
        Ok(format!("{due} sync logs due; workers woken"))
    })
}

/// Refresh the POS tokens that are due.
fn token_refresh(engine: Arc<Engine>) -> Body {
    Box::new(move || engine.refresh_due_tokens())
}

/// Read back the POS state of recently pushed orders (providers §F8).
fn pos_state(engine: Arc<Engine>) -> Body {
    Box::new(move || engine.read_pos_states())
}

/// Delete expired or revoked login tokens and expired OAuth states.
fn cleanup(engine: Arc<Engine>) -> Body {
    Box::new(move || {
        let (tokens, states) = engine.store().write(|tx| {
            let now = now_millis();
            Ok((
                accounts::delete_dead_sessions(tx, now)?,
                oauth_states::delete_expired(tx, now)?,
            ))
        })?;
        Ok(format!(
            "deleted {tokens} expired or revoked login tokens, {states} expired OAuth states"
        ))
    })
}
