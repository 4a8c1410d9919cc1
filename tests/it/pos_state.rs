//! The POS-state job (providers §F8): what the kitchen does on its POS comes back as the
//! order's `pos_state`; a cancellation made in the POS that MenuMaker did not ask for raises
//! `canceled_in_pos`; terminal orders are read no more; reads are counted.

use crate::common;

use std::time::Duration;

use common::provider_env::ProviderEnv;
use common::wait::wait_some;
use serde_json::Value;

/// The job every second, so a test sees a state within moments.
const EVERY_SECOND: &[&str] = &["--pos-state-schedule", "* * * * * *"];

const WAIT: Duration = Duration::from_secs(20);

impl<M> ProviderEnv<M> {
    /// The order as `GET /orders/{id}` shows it.
    fn order_now(&self, order_id: &str) -> Value {
        let resp = self
            .app
            .get(&format!("/api/v1/orders/{order_id}"), Some(&self.token));
        resp.expect(200);
        resp.data()["order"].clone()
    }

    /// Wait until the order's `pos_state` is `state`; the order.
    fn wait_pos_state(&self, order_id: &str, state: &str) -> Value {
        wait_some(WAIT, &format!("pos_state {state}"), || {
            let order = self.order_now(order_id);
            (order["pos_state"] == state).then_some(order)
        })
    }

    /// The business's notifications of `kind`.
    fn notifications_of(&self, kind: &str) -> Vec<Value> {
        self.business_notifications()
            .into_iter()
            .filter(|n| n["kind"] == kind)
            .collect()
    }

    /// `possync_pos_state_reads_total{provider, result="ok"}` now.
    fn reads_counted(&self, provider: &str) -> f64 {
        let resp = self.app.get("/metrics", None);
        resp.expect(200);
        let name =
            format!(r#"possync_pos_state_reads_total{{provider="{provider}",result="ok"}} "#);
        resp.text
            .lines()
            .find_map(|l| l.strip_prefix(&name))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

#[test]
fn the_kitchen_marking_a_square_order_prepared_shows_as_pos_state_and_a_pos_cancel_is_told() {
    let env = ProviderEnv::square(EVERY_SECOND);
    let order = env.order();
    let log = env.wait_status(&order, "success");
    let square_id = log["pos_order_id"].as_str().unwrap().to_string();
    env.wait_pos_state(&order, "PROPOSED");

    env.mock.set_fulfillment_state(&square_id, "PREPARED", None);
    let seen = env.wait_pos_state(&order, "PREPARED");
    assert_eq!(seen["status"], "open");
    assert!(env.notifications_of("canceled_in_pos").is_empty());
    assert!(env.reads_counted("square") >= 2.0);

    // The restaurant cancels it on the POS: MenuMaker did not, so the seller is told.
    env.mock
        .set_fulfillment_state(&square_id, "CANCELED", Some("CANCELED"));
    env.wait_pos_state(&order, "CANCELED");
    let told = wait_some(WAIT, "a canceled_in_pos notification", || {
        let found = env.notifications_of("canceled_in_pos");
        (!found.is_empty()).then_some(found)
    });
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["order_id"], order.as_str());
    assert!(
        told[0]["message"].as_str().unwrap().contains(&order[..8]),
        "{}",
        told[0]["message"]
    );

    // A terminal state is read no more.
    let batches = || {
        env.mock
            .order_update_requests()
            .iter()
            .filter(|r| r.path.ends_with("/batch-retrieve"))
            .count()
    };
    let before = batches();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(batches() <= before + 1, "reads went on after CANCELED");
    for request in env.mock.order_update_requests() {
        let ids = request.body["order_ids"].as_array().unwrap();
        assert!(!ids.is_empty() && ids.len() <= 100, "{:?}", request.body);
        assert_eq!(
            request.body["location_id"],
            common::mock_square::DEFAULT_LOCATION_ID
        );
    }
    env.assert_no_problems();
}

#[test]
fn a_zoho_sales_order_status_shows_as_pos_state_and_a_void_in_zoho_is_told() {
    let env = ProviderEnv::zoho(EVERY_SECOND);
    let order = env.order();
    let log = env.wait_status(&order, "success");
    let so = log["pos_order_id"].as_str().unwrap().to_string();
    env.wait_pos_state(&order, "draft");

    env.mock.set_sales_order_status(&so, "confirmed");
    env.wait_pos_state(&order, "confirmed");
    assert!(env.reads_counted("zoho") >= 2.0);

    env.mock.set_sales_order_status(&so, "void");
    env.wait_pos_state(&order, "void");
    let told = wait_some(WAIT, "a canceled_in_pos notification", || {
        let found = env.notifications_of("canceled_in_pos");
        (!found.is_empty()).then_some(found)
    });
    assert_eq!(told[0]["order_id"], order.as_str());
    assert!(env.mock.voids().is_empty(), "possync voided nothing");
    env.assert_no_problems();
}
