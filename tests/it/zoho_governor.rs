//! The Zoho governor (API.md Part two, "Delivery lanes"): at most `--zoho-requests-per-minute`
//! requests per Zoho organisation, every Inventory call counted; work beyond it waits its turn
//! instead of meeting Zoho's 429, and a turn further off than `--provider-timeout` is not waited
//! for (the push is retried when the budget frees).

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::mock_zoho::{MockZoho, Recorded};
use common::provider_env::ProviderEnv;
use common::wait::wait_for;
use serde_json::{Value, json};

/// The second organisation the tokens can see.
const OTHER_ORG: &str = "60019077541";

/// Inventory requests per organisation, in arrival order.
fn by_organisation(mock: &MockZoho) -> HashMap<String, Vec<Recorded>> {
    let mut by_org: HashMap<String, Vec<Recorded>> = HashMap::new();
    for request in mock.requests().into_iter().filter(Recorded::is_inventory) {
        if let Some(org) = request.query_value("organization_id") {
            by_org.entry(org.to_string()).or_default().push(request);
        }
    }
    by_org
}

/// An order for a customer Zoho has not seen (a new phone): a contact lookup, a contact
/// create and a sales order, three calls.
fn order_for_new_customer(env: &ProviderEnv<MockZoho>, business: &str, dish: &str, n: usize) {
    let resp = env.app.post(
        "/api/v1/orders",
        Some(&env.token),
        json!({
            "business_id": business,
            "customer_name": "Rahul Kumar",
            "customer_phone": format!("+91987650{n:04}"),
            "items": [{"dish_id": dish, "quantity": 1}],
        }),
    );
    resp.expect(201);
}

#[test]
fn many_orders_of_one_organisation_wait_their_turn_and_two_organisations_do_not_share_one() {
    // 30 a minute: a burst of 3, then one call every 60 s / 27 ≈ 2.2 s. The mock answers 429
    // past 30 a minute per organisation, as Zoho does past 100.
    let per_minute = 30.0;
    let (burst, interval) = (3.0, 60.0 / 27.0);
    let env = ProviderEnv::zoho(&["--zoho-requests-per-minute", "30"]);
    env.mock.set_rate_limit(30, Duration::from_secs(60));
    env.mock
        .add_organization(OTHER_ORG, "Spice Garden Koramangala");
    let other = env.app.business(&env.token, "Spice Garden Koramangala");
    let other_dish = env.app.dish(&env.token, &other, "Dal Makhani", 25000);
    env.app
        .post(
            "/api/v1/pos/connect",
            Some(&env.token),
            json!({"business_id": other, "provider": "zoho", "merchant_id": OTHER_ORG,
                   "access_token": env.mock.current_access_token(),
                   "refresh_token": env.mock.refresh_token()}),
        )
        .expect(200);

    // 40 orders each, 120 calls each without a governor: four minutes of budget.
    for n in 0..40 {
        order_for_new_customer(&env, &env.business, &env.dish, n);
        order_for_new_customer(&env, &other, &other_dish, 100 + n);
    }
    let ours = env.mock.organization_id();
    let seen = wait_for(
        Duration::from_secs(60),
        "each organisation had its burst and three more turns",
        || {
            let by_org = by_organisation(&env.mock);
            let counts: Vec<usize> = [ours.as_str(), OTHER_ORG]
                .iter()
                .map(|org| by_org.get(*org).map_or(0, Vec::len))
                .collect();
            if counts.iter().all(|&c| c >= 6) {
                Ok(by_org)
            } else {
                Err(format!("requests per organisation so far: {counts:?}"))
            }
        },
    );
    let all: Vec<&Recorded> = seen.values().flatten().collect();
    let first = all.iter().map(|r| r.at).min().unwrap();
    let last = all.iter().map(|r| r.at).max().unwrap();
    let elapsed = last.duration_since(first).as_secs_f64();
    // Within a minute the mock would have answered 429 past 30 of one organisation.
    for (org, requests) in &seen {
        assert!(
            requests.len() <= 30,
            "organisation {org} got {} calls within {elapsed:.1} s",
            requests.len()
        );
        let in_first_seconds = requests
            .iter()
            .filter(|r| r.at.duration_since(first) < Duration::from_millis(500))
            .count();
        assert!(
            in_first_seconds <= burst as usize,
            "organisation {org}: {in_first_seconds} calls in the first half second, burst {burst}"
        );
    }
    // One shared budget could not have served both organisations this many calls this fast.
    let one_budget = burst + elapsed / interval + 1.0;
    assert!(
        all.len() as f64 > one_budget,
        "{} calls in {elapsed:.1} s; one budget of {per_minute}/min allows {one_budget:.1}",
        all.len()
    );
    // Waiting is not failing: nothing went to retry (a 429 or a refused turn would have).
    for business in [&env.business, &other] {
        let resp = env.app.get(
            &format!("/api/v1/orders?business_id={business}&limit=100"),
            Some(&env.token),
        );
        resp.expect(200);
        let orders = resp.data()["orders"].as_array().unwrap().clone();
        assert_eq!(orders.len(), 40);
        for order in &orders {
            let status = order["sync_log"]["status"].as_str().unwrap_or("none");
            assert!(
                ["pending", "syncing", "success"].contains(&status),
                "an order waiting for its organisation's turn is {status}: {order:#}"
            );
        }
    }
    env.assert_no_problems();
}

#[test]
fn a_turn_further_off_than_the_provider_timeout_is_retried_when_the_budget_frees() {
    // 2 a minute: one call, then the next a minute later; a push waits at most 1 s for it.
    let env = ProviderEnv::zoho_unconnected(
        &[
            "--zoho-requests-per-minute",
            "2",
            "--provider-timeout",
            "1s",
        ],
        "INR",
    );
    let walk_in = env.mock.add_contact("Walk-in", None);
    env.connect(json!({ "default_customer_id": walk_in }));
    let first = env.order();
    env.wait_status(&first, "success");
    let before = Instant::now();
    let second = env.order();
    let log = env.wait_log(&second, "retry");
    let attempts = env.attempts_were(&log, &[(Value::Null, "rate_limited")]);
    let error = attempts[0]["error_message"].as_str().unwrap();
    assert!(
        error.contains("budget of 2 Zoho requests a minute"),
        "{error}"
    );
    // Retried when the minute is up, not at the next retry interval, and nothing was sent.
    let next: jiff::Timestamp = log["next_retry_at"].as_str().unwrap().parse().unwrap();
    let wait =
        next.duration_since(jiff::Timestamp::now()).as_secs_f64() + before.elapsed().as_secs_f64();
    assert!((40.0..=65.0).contains(&wait), "retried in {wait:.1} s");
    assert!(env.creates_for_reference(&second).is_empty());
    env.assert_no_problems();
}

impl ProviderEnv<MockZoho> {
    /// `POST /salesorders` requests naming this order.
    fn creates_for_reference(&self, order_id: &str) -> Vec<Recorded> {
        self.mock.create_requests_for(order_id)
    }
}
