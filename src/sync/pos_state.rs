//! The POS-state job (providers/README.md §F8): for orders pushed in the last 24 hours whose
//! state in the POS is not yet terminal, read the state back (Square in batches, Zoho one by
//! one), keep it as the order's `pos_state`, and tell the seller when the POS shows an order
//! canceled that MenuMaker never canceled.

use std::collections::BTreeMap;

use super::engine::Engine;
use crate::Result;
use crate::domain::{IntegrationId, Millis, OrderStatus, now_millis};
use crate::notify::messages;
use crate::providers::state::{PosState, StateReads};
use crate::store::pos_states::{self, Candidate};
use crate::store::{integrations, notifications, orders};

/// How far back pushed orders are read: a day covers any kitchen's working of an order.
const WINDOW: Millis = 24 * 3_600_000;

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Round {
    orders: usize,
    changed: usize,
    canceled_in_pos: usize,
    failed_reads: usize,
}

impl Engine {
    /// Read back the POS state of the orders that need it; a one-line summary for the log.
    pub fn read_pos_states(&self) -> Result<String> {
        let now = now_millis();
        let candidates = self
            .store
            .read(|c| pos_states::candidates(c, now - WINDOW))?;
        let mut by_integration: BTreeMap<IntegrationId, Vec<Candidate>> = BTreeMap::new();
        for candidate in candidates {
            by_integration
                .entry(candidate.integration_id.clone())
                .or_default()
                .push(candidate);
        }
        let mut round = Round::default();
        for (integration_id, orders) in by_integration {
            if self.signal().stopping() {
                break;
            }
            self.read_integration(&integration_id, &orders, &mut round)?;
        }
        Ok(format!(
            "read the POS state of {} orders: {} changed, {} canceled in the POS, {} reads failed",
            round.orders, round.changed, round.canceled_in_pos, round.failed_reads
        ))
    }

    /// One integration's orders: read, then record what was read in one transaction.
    fn read_integration(
        &self,
        integration_id: &IntegrationId,
        candidates: &[Candidate],
        round: &mut Round,
    ) -> Result<()> {
        let found = self.store.read(|c| {
            let Some(integration) = integrations::integration_by_id(c, integration_id)? else {
                return Ok(None);
            };
            let tokens = integrations::integration_tokens(c, &self.keyring, integration_id)?;
            Ok(Some((integration, tokens)))
        })?;
        let Some((integration, tokens)) = found else {
            return Ok(());
        };
        let Some(token) = tokens.access_token.filter(|_| integration.is_active) else {
            return Ok(());
        };
        let refreshable = self
            .tokens
            .refreshable(integration.provider, tokens.refresh_token.is_some());
        let token = self.tokens.fresh_for_push(&integration, token, refreshable);
        let ids: Vec<String> = candidates.iter().map(|c| c.pos_order_id.clone()).collect();
        let Some(reads) = self
            .client(integration.provider)
            .read_states(&integration, &token, &ids)
        else {
            return Ok(());
        };
        let StateReads { states, ok, failed } = reads;
        self.metrics
            .pos_state_reads(integration.provider, ok, failed.len() as u64);
        for error in &failed {
            tracing::warn!(integration = %integration.id, provider = %integration.provider, %error, "reading order states from the POS failed");
        }
        round.failed_reads += failed.len();
        round.orders += states.len();
        let provider = integration.provider;
        let settings = self.delivery.settings().clone();
        // The write runs on the writer thread: it owns what it uses and returns its counts.
        let candidates = candidates.to_vec();
        let (raised, changed, canceled_in_pos) = self.store.write(move |tx| {
            let now = now_millis();
            let (mut raised, mut changed, mut canceled_in_pos) = (0, 0, 0);
            for PosState {
                pos_order_id,
                state,
                canceled,
            } in &states
            {
                let Some(candidate) = candidates.iter().find(|c| &c.pos_order_id == pos_order_id)
                else {
                    continue;
                };
                let Some(recorded) = pos_states::record_state(tx, &candidate.order_id, state, now)?
                else {
                    continue;
                };
                if !recorded.changed {
                    continue;
                }
                changed += 1;
                // A cancellation possync asked for leaves the order `canceled` here first.
                if *canceled && recorded.status == OrderStatus::Open {
                    canceled_in_pos += 1;
                    if let Some(order) = orders::order_by_id(tx, &candidate.order_id)? {
                        let notice = messages::canceled_in_pos(&order, provider, state);
                        raised += usize::from(
                            notifications::raise(tx, &notice, &settings, now)?.is_some(),
                        );
                    }
                }
            }
            Ok((raised, changed, canceled_in_pos))
        })?;
        round.changed += changed;
        round.canceled_in_pos += canceled_in_pos;
        if raised > 0 {
            self.delivery.wake();
        }
        Ok(())
    }
}
