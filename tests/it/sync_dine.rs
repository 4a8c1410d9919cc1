//! The sync engine against a mock Dine POS aggregator webhook over real HTTP
//! (providers/README.md §C, §F5): the body, retries, refusals, and the at-least-once guarantee
//! (an ambiguous attempt is retried, flagged, and may duplicate the order).

use crate::common;

use std::time::Duration;

use common::Client;
use common::mock_dine::{DineFault, MockDine, Recorded};
use common::provider_env::{ProviderEnv, outcomes};
use serde_json::{Value, json};

/// `AGG-YYYYMMDD-NNN`.
fn is_order_number(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0] == "AGG"
        && parts[1].len() == 8
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() == 3
        && parts[2].bytes().all(|b| b.is_ascii_digit())
}

type Env = ProviderEnv<MockDine>;

impl Env {
    /// Requests the mock received for one order.
    fn requests_for(&self, order_id: &str) -> Vec<Recorded> {
        self.mock.requests_for(order_id)
    }
}

// ------------------------------------------------------------------------------------------------
// The body and the preview
// ------------------------------------------------------------------------------------------------

#[test]
fn auto_sync_sends_the_exact_f5_body() {
    let env = ProviderEnv::dine(&[]);
    let naan = env.app.dish(&env.token, &env.business, "Butter Naan", 4000);
    let integration = env.app.patch(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
        json!({"item_mapping": {naan.clone(): "prod-naan-01"}}),
    );
    integration.expect(200);

    let (order_id, data) = env.place(json!({
        "customer_name": "Rahul Kumar",
        "customer_phone": "+919876543210",
        "special_instructions": "Ring the bell",
        "items": [
            {"dish_id": env.dish, "quantity": 2, "note": "Extra spicy"},
            {"dish_id": naan, "quantity": 1},
        ],
    }));
    assert_eq!(data["sync_log"]["provider"], "dine");
    let log = env.wait_status(&order_id, "success");

    let expected = json!({
        "hotelId": env.mock.hotel_id(),
        "source": "menumaker",
        "items": [
            {"name": "Paneer Butter Masala", "quantity": 2, "price": 300.5},
            {"productId": "prod-naan-01", "name": "Butter Naan", "quantity": 1, "price": 40.0},
        ],
        "total": 641.0,
        "customerName": "Rahul Kumar",
        "notes": format!("Pickup ASAP. MenuMaker {order_id} — Ring the bell"),
    });
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, expected, "the §F5 body");
    assert_eq!(
        requests[0].header("x-webhook-secret"),
        Some(env.mock.secret().as_str())
    );
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    assert!(
        !requests[0].body.to_string().contains("+919876543210"),
        "Dine gets no phone"
    );

    let held = env.mock.orders_for(&order_id);
    assert_eq!(held.len(), 1);
    assert!(is_order_number(&held[0]["orderNumber"]), "{held:#?}");
    assert_eq!(log["pos_order_id"], held[0]["orderNumber"]);

    let preview = env.preview(&order_id);
    assert_eq!(preview["provider"], "dine");
    assert_eq!(preview["request"], expected, "the preview is what was sent");
    env.assert_no_problems();
}

#[test]
fn without_customer_info_or_instructions_no_name_and_a_bare_note() {
    let env = ProviderEnv::dine_unconnected(&[], "INR");
    let integration = env.connect(json!({"sync_customer_info": false}));
    assert_eq!(integration["sync_customer_info"], json!(false));
    let (order_id, _) = env.place(json!({
        "customer_name": "Rahul Kumar",
        "customer_phone": "+919876543210",
        "items": [{"dish_id": env.dish, "quantity": 3}],
    }));
    env.wait_status(&order_id, "success");
    let expected = json!({
        "hotelId": env.mock.hotel_id(),
        "source": "menumaker",
        "items": [{"name": "Paneer Butter Masala", "quantity": 3, "price": 300.5}],
        "total": 901.5,
        "notes": format!("Pickup ASAP. MenuMaker {order_id}"),
    });
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, expected);
    assert!(!requests[0].body.to_string().contains("Rahul"));
    assert_eq!(env.preview(&order_id)["request"], expected);
    env.assert_no_problems();
}

#[test]
fn jpy_prices_are_whole_yen() {
    let env = ProviderEnv::dine_unconnected(&[], "JPY");
    env.connect(json!({}));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let body = &env.requests_for(&order_id)[0].body;
    assert_eq!(
        body["items"],
        json!([{"name": "Paneer Butter Masala", "quantity": 2, "price": 1500}])
    );
    assert_eq!(body["total"], json!(3000));
    assert!(body["total"].is_u64() && body["items"][0]["price"].is_u64());
    assert_eq!(env.preview(&order_id)["request"], *body);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// Retries and refusals
// ------------------------------------------------------------------------------------------------

#[test]
fn two_500s_then_success() {
    let env = ProviderEnv::dine(&[]);
    env.mock.push_fault(DineFault::Status(500));
    env.mock.push_fault(DineFault::Status(500));
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    assert_eq!(log["retry_count"], json!(2));
    env.attempts_were(
        &log,
        &[
            (json!(500), "retry"),
            (json!(500), "retry"),
            (json!(201), "success"),
        ],
    );
    assert_eq!(env.mock.orders_for(&order_id).len(), 1);
    env.assert_no_problems();
}

#[test]
fn exhausted_retries_fail_the_log() {
    let env = ProviderEnv::dine(&["--max-retries", "1"]);
    env.mock.push_fault(DineFault::Status(500));
    env.mock.push_fault(DineFault::Status(503));
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], json!(1));
    assert!(
        log["error_message"]
            .as_str()
            .unwrap()
            .contains("gave up after 2 attempts"),
        "{log:#}"
    );
    env.attempts_were(&log, &[(json!(500), "retry"), (json!(503), "failed")]);
    assert!(env.mock.orders().is_empty());
    env.assert_no_problems();
}

/// A push Dine refuses for good: how it is set up and what possync must make of it.
struct Refusal {
    what: &'static str,
    /// Connect fields over the mock's good ones.
    connect: Value,
    /// A fault the mock answers the push with, when the connect alone does not cause it.
    fault: Option<DineFault>,
    status: u16,
    outcome: &'static str,
    /// Text the log's error message carries.
    says: &'static str,
    /// Whether the seller is asked to reconnect (integration error and notification).
    reconnect: bool,
}

#[test]
fn a_refused_push_fails_at_once_and_is_never_retried() {
    let cases = [
        Refusal {
            what: "a refused secret",
            connect: json!({"access_token": "agg-secret-changeme"}),
            fault: None,
            status: 401,
            outcome: "auth_failed",
            says: "reconnect",
            reconnect: true,
        },
        Refusal {
            what: "a 400",
            connect: json!({}),
            fault: Some(DineFault::Status(400)),
            status: 400,
            outcome: "failed",
            says: "400",
            reconnect: false,
        },
        Refusal {
            what: "an unknown hotel (Dine's message reaches the seller)",
            connect: json!({"location_id": "000000000000000000000000"}),
            fault: None,
            status: 404,
            outcome: "failed",
            says: "Hotel not found",
            reconnect: false,
        },
    ];
    for case in cases {
        let what = case.what;
        let env = ProviderEnv::dine_unconnected(&[], "INR");
        env.connect(case.connect);
        if let Some(fault) = case.fault {
            env.mock.push_fault(fault);
        }
        let order_id = env.order();
        let log = env.wait_status(&order_id, "failed");
        assert_eq!(log["retry_count"], json!(0), "{what}");
        assert_eq!(
            outcomes(&env.attempts(log["id"].as_str().unwrap())),
            vec![(json!(case.status), case.outcome.to_string())],
            "{what}"
        );
        assert!(
            log["error_message"].as_str().unwrap().contains(case.says),
            "{what}: {log:#}"
        );
        if case.reconnect {
            let integration = env.integration();
            assert!(
                integration["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("reconnect"),
                "{what}: {integration:#}"
            );
            assert!(
                env.business_notifications()
                    .iter()
                    .any(|n| n["kind"] == "reconnect_required"),
                "{what}: {:#?}",
                env.business_notifications()
            );
        }
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(
            env.requests_for(&order_id).len(),
            1,
            "{what}: never retried"
        );
        assert!(env.mock.orders().is_empty(), "{what}");
        env.assert_no_problems();
    }
}

// ------------------------------------------------------------------------------------------------
// Ambiguity: at least once, flagged
// ------------------------------------------------------------------------------------------------

#[test]
fn a_timeout_after_commit_is_ambiguous_retried_and_duplicates_the_order() {
    let env = ProviderEnv::dine(&["--provider-timeout", "1s"]);
    env.mock
        .push_fault(DineFault::TimeoutAfterCommit(Duration::from_millis(1800)));
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let attempts = env.attempts_were(&log, &[(Value::Null, "ambiguous"), (json!(201), "success")]);
    assert!(
        attempts[0]["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("duplicate"),
        "{attempts:#?}"
    );
    // At least once: Dine took the order twice, and possync says so.
    let held = env.mock.orders_for(&order_id);
    assert_eq!(held.len(), 2, "{held:#?}");
    assert_eq!(log["pos_order_id"], held[1]["orderNumber"]);
    let flagged: Vec<Value> = env
        .business_notifications()
        .into_iter()
        .filter(|n| n["kind"] == "possible_duplicate")
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:#?}");
    assert_eq!(flagged[0]["order_id"], json!(order_id));
    assert!(
        flagged[0]["message"].as_str().unwrap().contains(&order_id),
        "{flagged:#?}"
    );
    env.assert_no_problems();
}

#[test]
fn a_reset_after_the_body_was_sent_is_ambiguous_even_without_a_commit() {
    let env = ProviderEnv::dine(&[]);
    env.mock.push_fault(DineFault::ConnectionReset);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    env.attempts_were(&log, &[(Value::Null, "ambiguous"), (json!(201), "success")]);
    assert_eq!(env.requests_for(&order_id).len(), 2);
    assert_eq!(env.mock.orders_for(&order_id).len(), 1);
    assert!(
        env.business_notifications()
            .iter()
            .any(|n| n["kind"] == "possible_duplicate" && n["order_id"] == json!(order_id))
    );
    env.assert_no_problems();
}

#[test]
fn a_reset_after_commit_duplicates_the_order() {
    let env = ProviderEnv::dine(&[]);
    env.mock.push_fault(DineFault::ResetAfterCommit);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    env.attempts_were(&log, &[(Value::Null, "ambiguous"), (json!(201), "success")]);
    assert_eq!(env.mock.orders_for(&order_id).len(), 2);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// The other sync endpoints
// ------------------------------------------------------------------------------------------------

#[test]
fn manual_sync_history_and_stats_work_for_dine() {
    let env = ProviderEnv::dine_unconnected(&[], "INR");
    env.connect(json!({"auto_sync_orders": false}));
    let order_id = env.order();
    assert!(env.mock.requests().is_empty());
    env.manual_sync_shows_in_history_and_stats(&order_id, "dine");
    assert_eq!(env.mock.orders_for(&order_id).len(), 1);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// The mock itself: its rules catch what they should (else "no problems" proves nothing)
// ------------------------------------------------------------------------------------------------

/// A webhook POST to the mock as any sender would make it; a body that is not JSON comes
/// back as a JSON string.
fn post(url: &str, secret: Option<&str>, body: &str) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = secret.iter().map(|s| ("x-webhook-secret", *s)).collect();
    let resp = Client::browser().send(
        "POST",
        url,
        &headers,
        Some(("application/json", body.as_bytes().to_vec())),
    );
    let json = serde_json::from_str(&resp.text).unwrap_or(Value::String(resp.text));
    (resp.status, json)
}

#[test]
fn the_mock_dine_enforces_section_f5() {
    let mock = MockDine::start();
    let url = format!("{}/api/aggregator/order", mock.base_url());
    let secret = mock.secret();
    let good = json!({
        "hotelId": mock.hotel_id(), "source": "menumaker",
        "items": [{"name": "Paneer", "quantity": 2, "price": 300.5},
                  {"productId": "p-1", "name": "Naan", "quantity": 1, "price": 40.0}],
        "total": 641.0, "customerName": "Rahul", "notes": "MenuMaker 1",
    });
    let problems = || mock.problems().len();

    // The secret: missing is a problem, wrong is not.
    assert_eq!(post(&url, None, &good.to_string()).0, 401);
    assert_eq!(problems(), 1);
    assert_eq!(
        post(&url, Some("agg-secret-changeme"), &good.to_string()).0,
        401
    );
    assert_eq!(problems(), 1);

    // 201 with AGG-YYYYMMDD-NNN, numbered per day.
    let (status, body) = post(&url, Some(&secret), &good.to_string());
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["success"], json!(true));
    assert!(is_order_number(&body["orderNumber"]), "{body}");
    assert!(body["orderNumber"].as_str().unwrap().ends_with("-001"));
    let (_, body) = post(&url, Some(&secret), &good.to_string());
    assert!(body["orderNumber"].as_str().unwrap().ends_with("-002"));
    assert_eq!(problems(), 1);

    // Unknown hotel: 404, not a problem.
    let mut other = good.clone();
    other["hotelId"] = json!("000000000000000000000000");
    assert_eq!(post(&url, Some(&secret), &other.to_string()).0, 404);
    assert_eq!(problems(), 1);

    // Malformed bodies: 400 and a problem each.
    let mut cases = Vec::new();
    let mut no_items = good.clone();
    no_items["items"] = json!([]);
    cases.push(no_items);
    let mut string_price = good.clone();
    string_price["items"][0]["price"] = json!("300.50");
    string_price["total"] = json!(340.0);
    cases.push(string_price);
    let mut wrong_total = good.clone();
    wrong_total["total"] = json!(64100);
    cases.push(wrong_total);
    let mut paise = good.clone();
    paise["items"][0]["price"] = json!(300.505);
    paise["total"] = json!(641.01);
    cases.push(paise);
    let mut source = good.clone();
    source["source"] = json!("swiggy");
    cases.push(source);
    let mut no_notes = good.clone();
    no_notes.as_object_mut().unwrap().remove("notes");
    cases.push(no_notes);
    let mut no_hotel = good.clone();
    no_hotel.as_object_mut().unwrap().remove("hotelId");
    cases.push(no_hotel);
    for case in cases {
        let before = problems();
        let (status, body) = post(&url, Some(&secret), &case.to_string());
        assert_eq!(status, 400, "{case}: {body}");
        assert!(body["message"].is_string());
        assert!(problems() > before, "{case}");
    }
    assert_eq!(post(&url, Some(&secret), "{not json").0, 400);
    assert_eq!(mock.orders().len(), 2);
}
