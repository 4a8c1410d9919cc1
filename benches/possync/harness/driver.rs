//! The load driver: orders through `POST /orders` from a pool of client threads (ureq, one
//! thread each), at a fixed rate (open loop) or as fast as the clients go.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::{Shop, agent, http_post};
use super::clock::now_ms;
use super::dist::Dist;
use crate::mock_pos::MockPos;

/// One order sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Bench ms when the request went out (the order's creation time, client side).
    pub sent_ms: f64,
    /// How late the send was against its slot (fixed rate), ms.
    pub lag_ms: f64,
    /// Bench ms when the answer was read.
    pub done_ms: f64,
    /// The HTTP status (0: no answer).
    pub status: u16,
    /// The order's id, from the 201.
    pub order_id: Option<String>,
    /// Its sync log's id, from the 201.
    pub log_id: Option<String>,
}

impl Sent {
    /// How long the intake took to answer, ms.
    pub fn intake_ms(&self) -> f64 {
        self.done_ms - self.sent_ms
    }
}

/// How the orders are sent.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// `count` orders, one every 1/rate seconds (open loop).
    Rate { rate: f64, count: usize },
    /// As fast as the clients go: `count` orders or until `within` passes.
    Max { count: usize, within: Duration },
}

/// What a drive sent, and how long it took.
pub struct Driven {
    /// Every order sent, in no particular order.
    pub sent: Vec<Sent>,
    /// From the first send to the last answer, s.
    pub secs: f64,
}

impl Driven {
    /// The orders the API took (201).
    pub fn acked(&self) -> impl Iterator<Item = &Sent> {
        self.sent.iter().filter(|s| s.status == 201)
    }

    /// The ids of the orders the API took.
    pub fn acked_ids(&self) -> Vec<String> {
        self.acked().filter_map(|s| s.order_id.clone()).collect()
    }

    /// Sends that did not get a 201.
    pub fn errors(&self) -> usize {
        self.sent.iter().filter(|s| s.status != 201).count()
    }

    /// Intake latency of the orders taken.
    pub fn intake(&self) -> Dist {
        Dist::of(self.acked().map(Sent::intake_ms).collect())
    }

    /// Orders taken per second.
    pub fn throughput(&self) -> f64 {
        self.acked().count() as f64 / self.secs.max(1e-9)
    }

    /// Created → POS received (CreateOrder's first successful arrival) and created → on the POS
    /// (CreatePayment answered: Square shows the order from then on), in ms.
    pub fn to_pos(&self, mock: &MockPos) -> (Dist, Dist) {
        use std::io::Write;
        let state = mock.lock();
        let mut received = Vec::new();
        let mut answered = Vec::new();
        let mut dump = dump_file();
        for s in self.acked() {
            let Some(id) = &s.order_id else { continue };
            let arrived = state
                .arrivals
                .get(id)
                .and_then(|v| v.iter().find(|a| !a.failed))
                .map(|a| a.at_ms);
            let on_pos = state.answered.get(id).copied();
            received.extend(arrived.map(|t| t - s.sent_ms));
            answered.extend(on_pos.map(|t| t - s.sent_ms));
            if let Some(f) = dump.as_mut() {
                let ms = |t: Option<f64>| t.unwrap_or(-1.0);
                let ordered = state.ordered.get(id).copied();
                writeln!(
                    f,
                    "{},{},{},{},{}",
                    s.sent_ms,
                    s.done_ms,
                    ms(arrived),
                    ms(ordered),
                    ms(on_pos)
                )
                .unwrap();
            }
        }
        (Dist::of(received), Dist::of(answered))
    }

    /// Each step's share of created → on the POS, in ms: created → CreateOrder answered, and
    /// CreateOrder answered → CreatePayment answered.
    pub fn steps(&self, mock: &MockPos) -> (Dist, Dist) {
        let state = mock.lock();
        let mut ordered = Vec::new();
        let mut paid = Vec::new();
        for s in self.acked() {
            let Some(id) = &s.order_id else { continue };
            let (Some(o), Some(p)) = (state.ordered.get(id), state.answered.get(id)) else {
                continue;
            };
            ordered.push(o - s.sent_ms);
            paid.push(p - o);
        }
        (Dist::of(ordered), Dist::of(paid))
    }
}

/// The `n`th order's body: two dishes, a note and instructions.
fn order_body(shop: &Shop, n: usize) -> Value {
    json!({
        "business_id": shop.business,
        "customer_name": format!("Bench guest {n}"),
        "customer_phone": "+919876543210",
        "special_instructions": "Ring the bell twice",
        "items": [
            {"dish_id": shop.dishes[0], "quantity": 2, "note": "Extra spicy"},
            {"dish_id": shop.dishes[1], "quantity": 3},
        ],
    })
}

/// Send orders to `shop` by `plan` from `clients` threads; returns when all are answered.
pub fn drive(shop: &Shop, plan: Plan, clients: usize) -> Driven {
    drive_until(shop, plan, clients, &AtomicBool::new(false))
}

/// As [`drive`], and every client stops at its next order once `stop` is set.
pub fn drive_until(shop: &Shop, plan: Plan, clients: usize, stop: &AtomicBool) -> Driven {
    drive_spread(std::slice::from_ref(shop), plan, clients, stop)
}

/// As [`drive_until`], order `i` going to `shops[i % shops.len()]` (all of one seller).
pub fn drive_spread(shops: &[Shop], plan: Plan, clients: usize, stop: &AtomicBool) -> Driven {
    let shop = &shops[0];
    let count = match plan {
        Plan::Rate { count, .. } | Plan::Max { count, .. } => count,
    };
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(count));
    let url = format!("{}/orders", shop.api);
    let start = Instant::now();
    let start_ms = now_ms();
    // The slot of order `i` (bench ms), or `None` when the client should stop instead.
    let wait_for_slot = |i: usize| -> Option<f64> {
        match plan {
            Plan::Rate { rate, .. } => {
                let slot = start + Duration::from_secs_f64(i as f64 / rate);
                while Instant::now() < slot && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(
                        slot.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(50)),
                    );
                }
                let stopped = stop.load(Ordering::Relaxed);
                (!stopped).then(|| start_ms + i as f64 * 1000.0 / rate)
            }
            Plan::Max { within, .. } => (start.elapsed() <= within).then(now_ms),
        }
    };
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let agent = agent();
                let mut local = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let Some(slot_ms) = wait_for_slot(i) else {
                        break;
                    };
                    let body = order_body(&shops[i % shops.len()], i);
                    let sent_ms = now_ms();
                    let (status, answer) = http_post(&agent, &url, Some(&shop.token), &body);
                    let done_ms = now_ms();
                    let data = &answer["data"];
                    local.push(Sent {
                        sent_ms,
                        lag_ms: sent_ms - slot_ms,
                        done_ms,
                        status,
                        order_id: data["order"]["id"].as_str().map(str::to_string),
                        log_id: data["sync_log"]["id"].as_str().map(str::to_string),
                    });
                }
                results
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(local);
            });
        }
    });
    let sent = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    let last = sent.iter().map(|s| s.done_ms).fold(start_ms, f64::max);
    Driven {
        sent,
        secs: (last - start_ms) / 1000.0,
    }
}

/// With `POSSYNC_BENCH_DUMP=DIR`, the next `DIR/orders-N.csv` (its header written): each
/// order's bench ms when sent, answered, received by the POS, and its two calls answered.
fn dump_file() -> Option<std::fs::File> {
    use std::io::Write;
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::var("POSSYNC_BENCH_DUMP").ok()?;
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let mut f = std::fs::File::create(format!("{dir}/orders-{n}.csv")).expect("dump file");
    writeln!(f, "sent_ms,done_ms,received_ms,ordered_ms,answered_ms").unwrap();
    Some(f)
}
