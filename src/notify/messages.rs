//! What each notification says: what went wrong and what to do, with the order reference.

use std::time::Duration;

use super::{Kind, Notice};
use crate::domain::money::major_units;
use crate::domain::{BusinessId, ProviderKind, SyncAction};
use crate::store::{Order, SyncLog};

fn order_ref(order: &Order) -> String {
    let exponent = order.currency.exponent();
    format!(
        "order {} ({}, {} {})",
        &order.id.as_str()[..8.min(order.id.as_str().len())],
        order.customer_name,
        order.currency,
        major_units(order.total, exponent)
    )
}

/// Whether the POS may hold the order although possync never heard so: a push got no answer
/// (a timeout, a cut connection) or was retried to the end. Only a push that never reached
/// the POS (no connection, no such host) is surely missing from it.
fn may_have_arrived(e: &str) -> bool {
    let never_sent = e.contains("could not connect") || e.contains("did not resolve");
    !never_sent
        && (e.contains("timeout")
            || e.contains("did not answer")
            || e.contains("network")
            || e.contains("reset")
            || e.contains("gave up"))
}

/// What the seller should do about an error, by its kind.
fn advice(error: &str, order: &Order) -> String {
    let e = error.to_lowercase();
    if e.contains("catalog") || e.contains("item") || e.contains("mapping") || e.contains("1002") {
        "Check the item mapping for this business (PATCH /pos/integration) — a mapped POS item may have been deleted — then sync the order again.".into()
    } else if may_have_arrived(&e) {
        format!(
            "The POS may have the order already: a push got no answer in time. Check the POS \
             first for an order with reference {} (note \"MenuMaker {}\"); only if it is not \
             there, enter it by hand or sync it again once the POS is back.",
            order.id, order.id
        )
    } else if e.contains("connect") || e.contains("resolve") {
        "The POS could not be reached for a long time. Enter the order in the POS by hand, or sync it again once the POS is back.".into()
    } else {
        "Enter the order in the POS by hand, or fix the cause and sync the order again.".into()
    }
}

/// An integration keeps failing. `gave_up`: the attempt that reached the count was the
/// order's last (its log failed), so the text must not promise a retry.
pub fn sync_failing(
    business_id: &BusinessId,
    provider: ProviderKind,
    failures: i64,
    error: &str,
    gave_up: bool,
) -> Notice {
    let next = if gave_up {
        "That order will not be retried on its own; check that the POS is online and that possync \
         can reach it, then sync the failed orders again."
    } else {
        "possync keeps retrying on its own; check that the POS is online and that possync can \
         reach it."
    };
    Notice {
        business_id: business_id.clone(),
        kind: Kind::SyncFailing,
        title: format!("Orders are not reaching {}", provider.display_name()),
        message: format!(
            "The last {failures} attempts to push orders to {} failed. Latest: {error}. {next}",
            provider.display_name()
        ),
        order_id: None,
        sync_log_id: None,
    }
}

/// A log failed for good.
pub fn sync_failed(order: &Order, log: &SyncLog, provider: ProviderKind, error: &str) -> Notice {
    Notice {
        business_id: order.business_id.clone(),
        kind: Kind::SyncFailed,
        title: format!("An order did not reach {}", provider.display_name()),
        message: format!(
            "possync could not send {} to {}: {error}. {}",
            order_ref(order),
            provider.display_name(),
            advice(error, order)
        ),
        order_id: Some(order.id.clone()),
        sync_log_id: Some(log.id.clone()),
    }
}

/// Credentials refused.
pub fn reconnect_required(
    business_id: &BusinessId,
    provider: ProviderKind,
    detail: &str,
    order: Option<(&Order, &SyncLog)>,
) -> Notice {
    let about = order
        .map(|(o, l)| match l.action {
            SyncAction::Create => format!(" {} was not sent.", order_ref(o)),
            SyncAction::Cancel => {
                format!(" The cancellation of {} did not reach it.", order_ref(o))
            }
        })
        .unwrap_or_default();
    Notice {
        business_id: business_id.clone(),
        kind: Kind::ReconnectRequired,
        title: format!("Reconnect {}", provider.display_name()),
        message: format!(
            "{} refused possync's credentials ({detail}).{about} Reconnect {} in possync; then sync \
             any failed orders again.",
            provider.display_name(),
            provider.display_name()
        ),
        order_id: order.map(|(o, _)| o.id.clone()),
        sync_log_id: order.map(|(_, l)| l.id.clone()),
    }
}

/// A token that cannot be refreshed is about to expire.
pub fn token_expiring(business_id: &BusinessId, provider: ProviderKind, expires: &str) -> Notice {
    Notice {
        business_id: business_id.clone(),
        kind: Kind::TokenExpiring,
        title: format!("The {} connection expires soon", provider.display_name()),
        message: format!(
            "possync's access to {} expires at {expires} and cannot be renewed automatically. \
             Reconnect {} before then so orders keep flowing.",
            provider.display_name(),
            provider.display_name()
        ),
        order_id: None,
        sync_log_id: None,
    }
}

/// An attempt that may have reached a POS without idempotency.
pub fn possible_duplicate(order: &Order, log: &SyncLog, provider: ProviderKind) -> Notice {
    Notice {
        business_id: order.business_id.clone(),
        kind: Kind::PossibleDuplicate,
        title: format!("Check {} for a duplicate order", provider.display_name()),
        message: format!(
            "A push of {} to {} got no answer after it was sent, so the POS may already have it; \
             possync retries it. Check the POS for a duplicate (note: \"MenuMaker {}\") and cancel one.",
            order_ref(order),
            provider.display_name(),
            order.id
        ),
        order_id: Some(order.id.clone()),
        sync_log_id: Some(log.id.clone()),
    }
}

/// A cancellation the POS could not take (Dine POS has no API for it; Square refused it): the
/// order is still live there, so the seller must cancel it on the POS, and refund it there if
/// it was paid. Names the POS's order number.
pub fn cancel_by_hand(order: &Order, log: &SyncLog, provider: ProviderKind, error: &str) -> Notice {
    let pos = provider.display_name();
    let number = log.pos_order_id.as_deref().unwrap_or("(no POS number)");
    Notice {
        business_id: order.business_id.clone(),
        kind: Kind::CancelByHand,
        title: format!("Cancel order {number} on {pos} by hand"),
        message: format!(
            "{} was canceled in MenuMaker, but possync could not cancel it on {pos}: {error}. \
             Cancel order {number} on the POS by hand so the kitchen does not cook it, and \
             refund it there if it was paid.",
            order_ref(order),
        ),
        order_id: Some(order.id.clone()),
        sync_log_id: Some(log.id.clone()),
    }
}

/// The POS shows an order canceled that possync was never asked to cancel.
pub fn canceled_in_pos(order: &Order, provider: ProviderKind, state: &str) -> Notice {
    Notice {
        business_id: order.business_id.clone(),
        kind: Kind::CanceledInPos,
        title: format!("Order canceled in {}", provider.display_name()),
        message: format!(
            "{} shows {} as canceled ({state}), but MenuMaker did not cancel it. If the \
             customer still expects it, tell the kitchen; if it is really off, cancel it in \
             MenuMaker too (and refund the customer there if they paid).",
            provider.display_name(),
            order_ref(order),
        ),
        order_id: Some(order.id.clone()),
        sync_log_id: None,
    }
}

/// A lane's circuit opened: `failures` attempts in a row got no answer. Orders are held, not
/// lost; one is tried every `probe_every`, and those still held after `window` fail.
pub fn pos_unreachable(
    business_id: &BusinessId,
    provider: ProviderKind,
    failures: i64,
    error: &str,
    probe_every: Duration,
    window: Duration,
) -> Notice {
    let pos = provider.display_name();
    Notice {
        business_id: business_id.clone(),
        kind: Kind::PosUnreachable,
        title: format!("{pos} is not answering: orders are held"),
        message: format!(
            "The last {failures} attempts to send orders to {pos} got no answer (latest: {error}). \
             possync holds new orders instead of sending each one into the void, tries once every \
             {}, and sends every held order, in the order placed, as soon as {pos} answers again. \
             Check that the POS is online and that possync can reach it. Orders still held after \
             {} fail, and you will be told about each.",
            humantime::format_duration(probe_every),
            humantime::format_duration(window),
        ),
        order_id: None,
        sync_log_id: None,
    }
}
