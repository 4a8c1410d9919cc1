//! Reading an order's state back from its POS (providers/README.md §F8): what a provider
//! reports, and which states end the reading.

/// The state a POS reports for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosState {
    /// The order's id in the POS.
    pub pos_order_id: String,
    /// What `pos_state` shows: Square's fulfillment state (`PREPARED`, …), Zoho's sales order
    /// status (`confirmed`, …).
    pub state: String,
    /// Whether the POS has the order canceled (Square `CANCELED`, Zoho `void`).
    pub canceled: bool,
}

/// What one round of reads of one integration's orders found.
#[derive(Debug, Default)]
pub struct StateReads {
    /// The states the POS reported (an order it no longer has is left out).
    pub states: Vec<PosState>,
    /// HTTP reads that were answered with the states.
    pub ok: u64,
    /// HTTP reads that failed, and why (the orders are read again next round).
    pub failed: Vec<String>,
}

/// States after which an order's state is no longer read: it cannot change any more.
pub const TERMINAL: &[&str] = &["COMPLETED", "CANCELED", "FAILED", "closed", "void"];

/// Whether `state` is one of [`TERMINAL`].
pub fn is_terminal(state: &str) -> bool {
    TERMINAL.contains(&state)
}
