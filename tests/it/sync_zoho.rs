//! The sync engine against a mock Zoho Inventory + Zoho Accounts over real HTTP
//! (providers/README.md §B, §F4): the sales order body, contacts, retries, the lookup that keeps
//! a retry after an ambiguous failure from duplicating the order, and token refresh.

use crate::common;

use std::time::Duration;

use common::mock_zoho::{MockZoho, NOT_AUTHORIZED, Recorded, ZohoEndpoint, ZohoFault};
use common::provider_env::{ProviderEnv, outcomes};
use common::wait::{PATIENCE, wait_for};
use common::{Client, TestApp};
use serde_json::{Value, json};

mod mock_rules;

const SHARED_CONTACT: &str = "MenuMaker online orders";
const PHONE: &str = "+919876543210";

/// The calendar date of an RFC 3339 instant in a time zone.
fn date_in(created_at: &Value, zone: &str) -> String {
    let at: jiff::Timestamp = created_at.as_str().unwrap().parse().unwrap();
    at.to_zoned(jiff::tz::TimeZone::get(zone).unwrap())
        .date()
        .to_string()
}

type Env = ProviderEnv<MockZoho>;

impl Env {
    /// An order of one dish by `name` with `phone`.
    fn order_by(&self, name: &str, phone: Option<&str>) -> String {
        let mut body = json!({
            "customer_name": name,
            "items": [{"dish_id": self.dish, "quantity": 1}],
        });
        if let Some(phone) = phone {
            body["customer_phone"] = json!(phone);
        }
        self.place(body).0
    }

    /// The one sales order the mock holds for `order_id`.
    fn the_sales_order(&self, order_id: &str) -> Value {
        let held = self.mock.sales_orders_for(order_id);
        assert_eq!(
            held.len(),
            1,
            "the mock should hold exactly one sales order for {order_id}: {held:#?}"
        );
        held[0].clone()
    }

    /// `POST /salesorders` requests whose body names this order (faulted ones included).
    fn creates_for(&self, order_id: &str) -> Vec<Recorded> {
        self.mock.create_requests_for(order_id)
    }
}

/// Endpoint names of a list of requests, for readable sequence assertions.
fn endpoints(requests: &[Recorded]) -> Vec<ZohoEndpoint> {
    requests.iter().filter_map(|r| r.endpoint).collect()
}

fn is_19_digits(id: &Value) -> bool {
    id.as_str()
        .is_some_and(|s| s.len() == 19 && s.bytes().all(|b| b.is_ascii_digit()))
}

// ------------------------------------------------------------------------------------------------
// The body, contacts and the preview
// ------------------------------------------------------------------------------------------------

#[test]
fn auto_sync_sends_the_f4_body_and_makes_one_contact_per_phone() {
    let env = ProviderEnv::zoho(&[]);
    let naan = env
        .app
        .dish(&env.token, &env.business, "Butter Naan", 12000);
    let naan_item = env.mock.add_item("Butter Naan", 120.0);
    env.patch_integration(json!({"item_mapping": {naan.clone(): naan_item.clone()}}));
    // The mapping was checked at the door against Zoho's items; the push's calls come after.
    let at_patch = env.mock.requests();
    assert_eq!(
        at_patch.last().and_then(|r| r.endpoint),
        Some(ZohoEndpoint::Items)
    );

    let (order_id, data) = env.place(json!({
        "customer_name": "Rahul Kumar",
        "customer_phone": PHONE,
        "special_instructions": "Ring the bell",
        "items": [
            {"dish_id": env.dish, "quantity": 2, "note": "Extra spicy"},
            {"dish_id": naan, "quantity": 1},
        ],
    }));
    assert_eq!(data["sync_log"]["status"], "pending");
    assert_eq!(data["sync_log"]["provider"], "zoho");
    let log = env.wait_status(&order_id, "success");

    // GET /contacts?phone_contains → POST /contacts → POST /salesorders, each with the token and
    // the organisation.
    let inventory: Vec<Recorded> = env
        .mock
        .requests()
        .into_iter()
        .skip(at_patch.len())
        .filter(Recorded::is_inventory)
        .collect();
    assert_eq!(
        endpoints(&inventory),
        vec![
            ZohoEndpoint::ListContacts,
            ZohoEndpoint::CreateContact,
            ZohoEndpoint::CreateSalesOrder
        ],
        "{inventory:#?}"
    );
    for r in &inventory {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Zoho-oauthtoken {}", env.mock.current_access_token()).as_str())
        );
        assert_eq!(
            r.query_value("organization_id"),
            Some(env.mock.organization_id().as_str())
        );
    }
    assert_eq!(inventory[0].query_value("phone_contains"), Some(PHONE));
    assert_eq!(
        inventory[1].body,
        json!({"contact_name": "Rahul Kumar", "contact_type": "customer",
               "contact_persons": [{"first_name": "Rahul Kumar", "is_primary_contact": true,
                                    "phone": PHONE}]}),
        "the contact made for the customer"
    );
    let contacts = env.mock.contacts();
    assert_eq!(contacts.len(), 1);
    let contact_id = contacts[0]["contact_id"].clone();

    let order = &data["order"];
    let expected = json!({
        "customer_id": contact_id,
        "reference_number": order_id,
        "date": date_in(&order["created_at"], "Asia/Kolkata"),
        "notes": "Pickup ASAP. Ring the bell",
        "line_items": [
            {"name": "Paneer Butter Masala", "description": "Extra spicy", "rate": 300.0,
             "quantity": 2},
            {"item_id": naan_item, "name": "Butter Naan", "rate": 120.0, "quantity": 1},
        ],
    });
    let sent = env.creates_for(&order_id);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, expected, "the §F4 body");
    assert_eq!(
        sent[0].header("content-type"),
        Some("application/json"),
        "JSON body"
    );

    let so = env.the_sales_order(&order_id);
    assert!(is_19_digits(&so["salesorder_id"]), "{so:#}");
    assert_eq!(
        log["pos_order_id"], so["salesorder_id"],
        "a string id, kept whole"
    );
    assert_eq!(so["total"], json!(720.0));

    let preview = env.preview(&order_id);
    assert_eq!(preview["provider"], "zoho");
    assert_eq!(preview["request"], expected, "the preview is what was sent");

    // The same phone again: the remembered contact, no lookup, no second contact.
    let second = env.order();
    env.wait_status(&second, "success");
    assert_eq!(env.mock.contacts().len(), 1, "one contact per phone");
    assert_eq!(env.the_sales_order(&second)["customer_id"], contact_id);
    assert_eq!(
        env.mock.requests_to(ZohoEndpoint::ListContacts).len(),
        1,
        "the contact id is remembered"
    );
    env.assert_no_problems();
}

#[test]
fn an_existing_contact_is_found_by_phone() {
    let env = ProviderEnv::zoho(&[]);
    let existing = env.mock.add_contact("Rahul K.", Some(PHONE));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(
        env.the_sales_order(&order_id)["customer_id"],
        json!(existing)
    );
    assert!(
        env.mock.requests_to(ZohoEndpoint::CreateContact).is_empty(),
        "no contact is made when one has the phone"
    );
    assert_eq!(env.mock.contacts().len(), 1);
    assert_eq!(
        env.preview(&order_id)["request"],
        env.creates_for(&order_id)[0].body
    );
    env.assert_no_problems();
}

#[test]
fn a_name_clash_adds_the_phones_last_digits() {
    let env = ProviderEnv::zoho(&[]);
    env.mock.add_contact("Rahul Kumar", Some("+919800000000"));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let contacts = env.mock.contacts();
    assert_eq!(contacts.len(), 2, "{contacts:#?}");
    assert_eq!(contacts[1]["contact_name"], "Rahul Kumar (3210)");
    assert_eq!(contacts[1]["phone"], PHONE);
    assert_eq!(
        env.the_sales_order(&order_id)["customer_id"],
        contacts[1]["contact_id"]
    );
    env.assert_no_problems();
}

#[test]
fn a_customer_without_a_phone_is_found_or_made_by_name() {
    let env = ProviderEnv::zoho(&[]);
    let first = env.order_by("Asha R", None);
    env.wait_status(&first, "success");
    let lookups = env.mock.requests_to(ZohoEndpoint::ListContacts);
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].query_value("contact_name"), Some("Asha R"));
    let contacts = env.mock.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["contact_name"], "Asha R");
    let second = env.order_by("Asha R", None);
    env.wait_status(&second, "success");
    assert_eq!(env.mock.contacts().len(), 1);
    assert_eq!(
        env.the_sales_order(&second)["customer_id"],
        contacts[0]["contact_id"]
    );
    env.assert_no_problems();
}

#[test]
fn without_customer_info_every_order_goes_to_one_shared_contact() {
    let env = ProviderEnv::zoho(&[]);
    let integration = env.patch_integration(json!({"sync_customer_info": false}));
    assert_eq!(integration["sync_customer_info"], json!(false));

    let first = env.order();
    env.wait_status(&first, "success");
    let second = env.order_by("Meera Iyer", Some("+919811112222"));
    env.wait_status(&second, "success");

    let contacts = env.mock.contacts();
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
    assert_eq!(contacts[0]["contact_name"], SHARED_CONTACT);
    let lookups = env.mock.requests_to(ZohoEndpoint::ListContacts);
    assert_eq!(lookups.len(), 1, "the shared contact is remembered");
    assert_eq!(lookups[0].query_value("contact_name"), Some(SHARED_CONTACT));
    for order_id in [&first, &second] {
        assert_eq!(
            env.the_sales_order(order_id)["customer_id"],
            contacts[0]["contact_id"]
        );
    }
    // No name or phone of a customer reaches Zoho.
    for r in env.mock.requests() {
        for needle in ["Rahul", "Meera", "9876543210", "9811112222"] {
            assert!(
                !r.raw_body.contains(needle) && !r.query.iter().any(|(_, v)| v.contains(needle)),
                "{needle} reached Zoho: {r:#?}"
            );
        }
    }
    let order = env
        .app
        .get(&format!("/api/v1/orders/{first}"), Some(&env.token));
    let expected = json!({
        "customer_id": contacts[0]["contact_id"],
        "reference_number": first,
        "date": date_in(&order.data()["order"]["created_at"], "Asia/Kolkata"),
        "notes": "Pickup ASAP. Ring the bell",
        "line_items": [{"name": "Paneer Butter Masala", "description": "Extra spicy",
                        "rate": 300.0, "quantity": 2}],
    });
    assert_eq!(env.creates_for(&first)[0].body, expected);
    assert_eq!(env.preview(&first)["request"], expected);
    env.assert_no_problems();
}

#[test]
fn an_existing_shared_contact_is_reused() {
    let env = ProviderEnv::zoho_unconnected(&[], "INR");
    let shared = env.mock.add_contact(SHARED_CONTACT, None);
    env.connect(json!({"sync_customer_info": false}));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(env.mock.contacts().len(), 1);
    assert_eq!(env.the_sales_order(&order_id)["customer_id"], json!(shared));
    env.assert_no_problems();
}

#[test]
fn default_customer_id_takes_every_order_without_contact_calls() {
    let env = ProviderEnv::zoho_unconnected(&[], "INR");
    let walk_in = env.mock.add_contact("Online orders", None);
    let integration = env.connect(json!({"default_customer_id": walk_in}));
    assert_eq!(integration["provider"], "zoho");
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(
        env.the_sales_order(&order_id)["customer_id"],
        json!(walk_in)
    );
    assert!(
        env.mock.requests().iter().all(|r| !matches!(
            r.endpoint,
            Some(ZohoEndpoint::ListContacts | ZohoEndpoint::CreateContact)
        )),
        "no contact calls with a default customer"
    );
    assert_eq!(env.mock.contacts().len(), 1);
    // The preview knows the customer before any push.
    let other = env.order_by("Asha R", None);
    env.wait_status(&other, "success");
    assert_eq!(
        env.preview(&other)["request"]["customer_id"],
        json!(walk_in)
    );
    env.assert_no_problems();
}

#[test]
fn jpy_rates_are_whole_yen() {
    let env = ProviderEnv::zoho_unconnected(&[], "JPY");
    env.connect(json!({}));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let sent = env.creates_for(&order_id);
    assert_eq!(
        sent[0].body["line_items"],
        json!([{"name": "Paneer Butter Masala", "description": "Extra spicy",
                "rate": 1500, "quantity": 2}]),
        "¥1500 is 1500, not 15.00"
    );
    assert!(sent[0].body["line_items"][0]["rate"].is_u64());
    assert_eq!(env.the_sales_order(&order_id)["total"], json!(3000.0));
    assert_eq!(env.preview(&order_id)["request"], sent[0].body);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// Retries
// ------------------------------------------------------------------------------------------------

#[test]
fn a_transient_failure_is_retried_into_exactly_one_sales_order() {
    // (what, faults, each attempt's (HTTP status, outcome), POST /salesorders made, token
    // refreshes, the log's retry_count)
    type Case = (
        &'static str,
        Vec<ZohoFault>,
        Vec<(Value, &'static str)>,
        usize,
        usize,
        i64,
    );
    let cases: Vec<Case> = vec![
        (
            "two 500s",
            vec![ZohoFault::Status(500), ZohoFault::Status(500)],
            vec![
                (json!(500), "retry"),
                (json!(500), "retry"),
                (json!(201), "success"),
            ],
            3,
            0,
            2,
        ),
        (
            "HTTP 200 with code 1000 (a transient failure)",
            vec![ZohoFault::internal_error()],
            vec![(json!(200), "retry"), (json!(201), "success")],
            2,
            0,
            1,
        ),
        (
            "a reset before Zoho committed",
            vec![ZohoFault::ConnectionReset],
            vec![(Value::Null, "retry"), (json!(201), "success")],
            2,
            0,
            1,
        ),
        (
            "code 57 with HTTP 200 (takes the refresh path)",
            vec![ZohoFault::http200(57, NOT_AUTHORIZED)],
            vec![(json!(200), "retry"), (json!(201), "success")],
            2,
            1,
            0,
        ),
    ];
    for (what, faults, want, creates, refreshes, retry_count) in cases {
        let env = ProviderEnv::zoho(&[]);
        for fault in faults {
            env.mock.push_fault(fault);
        }
        let order_id = env.order();
        let log = env.wait_status(&order_id, "success");
        let want: Vec<(Value, String)> =
            want.into_iter().map(|(s, o)| (s, o.to_string())).collect();
        assert_eq!(
            outcomes(&env.attempts(log["id"].as_str().unwrap())),
            want,
            "{what}"
        );
        assert_eq!(env.creates_for(&order_id).len(), creates, "{what}");
        assert_eq!(env.mock.refreshes(), refreshes, "{what}");
        assert_eq!(log["retry_count"], json!(retry_count), "{what}");
        let so = env.the_sales_order(&order_id);
        assert_eq!(log["pos_order_id"], so["salesorder_id"], "{what}");
        env.assert_no_problems();
    }
}

#[test]
fn exhausted_retries_fail_the_log() {
    let env = ProviderEnv::zoho(&["--max-retries", "2"]);
    for _ in 0..3 {
        env.mock.push_fault(ZohoFault::Status(503));
    }
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], json!(2));
    assert_eq!(log["max_retries"], json!(2));
    let error = log["error_message"].as_str().unwrap();
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    env.attempts_were(
        &log,
        &[
            (json!(503), "retry"),
            (json!(503), "retry"),
            (json!(503), "failed"),
        ],
    );
    assert!(env.mock.sales_orders().is_empty());
    let kinds: Vec<Value> = env
        .business_notifications()
        .iter()
        .map(|n| n["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("sync_failed")), "{kinds:?}");
    env.assert_no_problems();
}

#[test]
fn a_non_zero_code_with_http_200_fails_at_once() {
    let env = ProviderEnv::zoho(&[]);
    env.mock
        .push_fault(ZohoFault::http200(1002, "Item does not exist."));
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], json!(0));
    let error = log["error_message"].as_str().unwrap();
    assert!(error.contains("Item does not exist."), "{error}");
    assert!(error.contains("1002"), "{error}");
    env.attempts_were(&log, &[(json!(200), "failed")]);
    // Never retried: a few retry intervals later there is still one create.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(env.creates_for(&order_id).len(), 1);
    assert_eq!(env.log(&order_id)["status"], "failed");
    assert!(env.mock.sales_orders().is_empty());
    env.assert_no_problems();
}

#[test]
fn a_429_backs_off_as_retry_after_says() {
    let env = ProviderEnv::zoho(&["--rate-limit-backoff", "100ms"]);
    env.mock.push_fault(ZohoFault::RateLimited {
        retry_after: Some("1".into()),
    });
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    env.attempts_were(
        &log,
        &[(json!(429), "rate_limited"), (json!(201), "success")],
    );
    let limited = env.creates_for(&order_id)[0].at;
    let next = env
        .mock
        .requests()
        .into_iter()
        .find(|r| r.is_inventory() && r.at > limited)
        .expect("a request after the 429");
    let waited = next.at.duration_since(limited);
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured (next request after {waited:?})"
    );
    env.the_sales_order(&order_id);
    env.assert_no_problems();
}

#[test]
fn the_organisation_rate_limit_answers_429_and_possync_waits() {
    let env = ProviderEnv::zoho(&[]);
    let first = env.order();
    env.wait_status(&first, "success");
    // The budget belongs to the organisation, shared with every other client of its Zoho
    // account: another app spends it all (3 requests per 2 s here; 100 a minute in Zoho).
    env.mock.set_rate_limit(3, Duration::from_secs(2));
    let other_app = format!("Zoho-oauthtoken {}", env.mock.current_access_token());
    for _ in 0..3 {
        let url = format!(
            "{}/items?organization_id={}",
            env.mock.api_base_url(),
            env.mock.organization_id()
        );
        assert_eq!(
            raw("GET", &url, &[("authorization", &other_app)], None).0,
            200
        );
    }
    // The same customer again: its one POST /salesorders is over the limit.
    let second = env.order();
    let log = env.wait_status(&second, "success");
    env.attempts_were(
        &log,
        &[(json!(429), "rate_limited"), (json!(201), "success")],
    );
    env.the_sales_order(&second);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// Ambiguous failures: the lookup keeps the push exactly once
// ------------------------------------------------------------------------------------------------

fn assert_resolved_by_lookup(env: &Env, order_id: &str) {
    let log = env.wait_status(order_id, "success");
    let attempts = env.attempts_were(&log, &[(Value::Null, "retry"), (json!(200), "success")]);
    let so = env.the_sales_order(order_id);
    assert_eq!(log["pos_order_id"], so["salesorder_id"]);
    assert_eq!(attempts[1]["pos_order_id"], so["salesorder_id"]);
    assert_eq!(
        env.creates_for(order_id).len(),
        1,
        "the retry found the order and did not create it again"
    );
    let lookups = env.mock.requests_to(ZohoEndpoint::ListSalesOrders);
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].query_value("reference_number"), Some(order_id));
    assert_eq!(
        lookups[0].query_value("organization_id"),
        Some(env.mock.organization_id().as_str())
    );
}

#[test]
fn a_timeout_after_commit_is_resolved_by_the_reference_lookup() {
    let env = ProviderEnv::zoho(&["--provider-timeout", "1s"]);
    env.mock
        .push_fault(ZohoFault::TimeoutAfterCommit(Duration::from_millis(1800)));
    let order_id = env.order();
    assert_resolved_by_lookup(&env, &order_id);
    env.assert_no_problems();
}

#[test]
fn a_reset_after_commit_is_resolved_by_the_reference_lookup() {
    let env = ProviderEnv::zoho(&[]);
    env.mock.push_fault(ZohoFault::ResetAfterCommit);
    let order_id = env.order();
    assert_resolved_by_lookup(&env, &order_id);
    env.assert_no_problems();
}

#[test]
fn concurrent_orders_of_one_new_customer_make_one_contact() {
    // §F4: "remember the contact id per (integration, phone) so concurrent orders do not create
    // two". Each lookup is answered late, so two pushes that look at once both miss (unless
    // possync serialises them). Two slots in the lane let the two pushes run side by side.
    let env = ProviderEnv::zoho(&["--sync-workers", "4", "--lane-concurrency", "2"]);
    for _ in 0..2 {
        env.mock.push_fault_on(
            ZohoEndpoint::ListContacts,
            ZohoFault::Delay(Duration::from_millis(700)),
        );
    }
    let first = env.order();
    let second = env.order();
    let log_a = env.wait_status(&first, "success");
    let log_b = env.wait_status(&second, "success");
    // The two attempts overlapped (else this test proves nothing).
    let span = |log: &Value| {
        let attempts = env.attempts(log["id"].as_str().unwrap());
        let start: jiff::Timestamp = attempts[0]["started_at"].as_str().unwrap().parse().unwrap();
        let ms = attempts[0]["duration_ms"].as_i64().unwrap();
        (start, start + jiff::SignedDuration::from_millis(ms))
    };
    let (a_start, a_end) = span(&log_a);
    let (b_start, b_end) = span(&log_b);
    assert!(
        a_start < b_end && b_start < a_end,
        "the two pushes did not run side by side: {a_start}..{a_end} and {b_start}..{b_end}"
    );
    let a = env.the_sales_order(&first)["customer_id"].clone();
    let b = env.the_sales_order(&second)["customer_id"].clone();
    assert_eq!(a, b, "both orders bill the same contact");
    let contacts = env.mock.contacts();
    assert_eq!(
        contacts.len(),
        1,
        "one customer, one Zoho contact: {contacts:#?}"
    );
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------------------

#[test]
fn an_expired_token_is_refreshed_once_and_the_push_retried_at_once() {
    let env = ProviderEnv::zoho(&[]);
    let old = env.mock.current_access_token();
    env.mock.expire_access_token();
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    assert_eq!(
        log["retry_count"],
        json!(0),
        "the immediate retry is not a scheduled one"
    );
    env.attempts_were(&log, &[(json!(401), "retry"), (json!(201), "success")]);
    assert_eq!(env.mock.refreshes(), 1);
    let refresh = &env.mock.token_requests()[0];
    assert_eq!(refresh.body["grant_type"], "refresh_token");
    assert_eq!(
        refresh.body["refresh_token"],
        json!(env.mock.refresh_token())
    );
    assert_eq!(refresh.body["client_id"], common::mock_zoho::CLIENT_ID);
    assert_eq!(
        refresh.body["client_secret"],
        common::mock_zoho::CLIENT_SECRET
    );
    let new = env.mock.current_access_token();
    assert_ne!(new, old);
    let creates = env.creates_for(&order_id);
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].token(), Some(new.as_str()));
    env.the_sales_order(&order_id);
    // The new token is stored: the next order needs no refresh.
    let next = env.order();
    env.wait_status(&next, "success");
    assert_eq!(env.mock.refreshes(), 1);
    assert_eq!(env.integration()["last_error"], Value::Null);
    env.assert_no_problems();
}

#[test]
fn a_refused_refresh_fails_the_log_and_asks_to_reconnect() {
    let env = ProviderEnv::zoho(&[]);
    env.mock.refuse_refresh(true);
    env.mock.expire_access_token();
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    env.attempts_were(&log, &[(json!(401), "retry"), (json!(401), "auth_failed")]);
    assert!(
        log["error_message"].as_str().unwrap().contains("reconnect"),
        "{log:#}"
    );
    assert_eq!(env.mock.token_requests().len(), 1, "one refresh attempt");
    assert_eq!(env.mock.refreshes(), 0);
    let integration = env.integration();
    let last_error = integration["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("reconnect"), "{integration:#}");
    assert!(
        env.business_notifications()
            .iter()
            .any(|n| n["kind"] == "reconnect_required" && n["order_id"] == json!(order_id)),
        "{:#?}",
        env.business_notifications()
    );
    assert!(env.mock.sales_orders().is_empty());
    env.assert_no_problems();
}

#[test]
fn a_token_expiring_within_five_minutes_is_refreshed_before_the_push() {
    let env = ProviderEnv::zoho_unconnected(&[], "INR");
    let old = env.mock.current_access_token();
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(2);
    env.connect(json!({"token_expires_at": soon.to_string()}));
    let order_id = env.order();
    env.wait_status(&order_id, "success");

    let requests = env.mock.requests();
    assert_eq!(
        requests[0].endpoint,
        Some(ZohoEndpoint::Token),
        "the refresh comes before any Inventory call: {requests:#?}"
    );
    assert_eq!(env.mock.refreshes(), 1);
    let new = env.mock.current_access_token();
    assert_ne!(new, old);
    for r in requests.iter().filter(|r| r.is_inventory()) {
        assert_eq!(
            r.token(),
            Some(new.as_str()),
            "{} carries the new token",
            r.path
        );
    }
    let expires: jiff::Timestamp = env.integration()["token_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = expires.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_mins(55) && left <= jiff::SignedDuration::from_mins(60),
        "the new token lives an hour: {left:?}"
    );
    env.assert_no_problems();
}

#[test]
fn oauth_connect_exchanges_a_code_finds_the_organisation_and_disconnect_revokes() {
    let env = ProviderEnv::zoho_unconnected(&[], "INR");
    let resp = env.app.get(
        &format!(
            "/api/v1/pos/oauth/zoho/authorize?business_id={}",
            env.business
        ),
        Some(&env.token),
    );
    resp.expect(200);
    let url = resp.data()["authorize_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/oauth/v2/auth?", env.mock.base_url())),
        "{url}"
    );
    // The consent page sends the browser back with a code.
    let consent = Client::browser().get(&url, None);
    assert_eq!(consent.status, 302);
    let location = consent.header("location").unwrap().to_string();
    let path = location
        .find("/api/v1/pos/oauth/zoho/callback?")
        .map(|i| &location[i..])
        .unwrap_or_else(|| panic!("not the callback: {location}"));
    let callback = env.app.get(path, None);
    callback.expect(200);
    assert_eq!(env.mock.code_exchanges(), 1);

    let integration = env.integration();
    assert_eq!(integration["provider"], "zoho");
    assert_eq!(integration["is_active"], json!(true));
    assert_eq!(
        integration["merchant_id"],
        json!(env.mock.organization_id())
    );
    let exchanged = env.mock.current_access_token();

    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(
        env.creates_for(&order_id)[0].token(),
        Some(exchanged.as_str())
    );

    env.app
        .post(
            "/api/v1/pos/disconnect",
            Some(&env.token),
            json!({"business_id": env.business}),
        )
        .expect(200);
    let revoked = env.mock.revoked();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(
        !env.mock.token_is_valid(&exchanged),
        "revoking the refresh token kills its access tokens"
    );
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// The other sync endpoints
// ------------------------------------------------------------------------------------------------

#[test]
fn manual_sync_history_and_stats_work_for_zoho() {
    let env = ProviderEnv::zoho_unconnected(&[], "INR");
    env.connect(json!({"auto_sync_orders": false}));
    let order_id = env.order();
    env.manual_sync_shows_in_history_and_stats(&order_id, "zoho");
    env.the_sales_order(&order_id);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// The order date, the warehouse, and an Accounts outage
// ------------------------------------------------------------------------------------------------

#[test]
fn the_date_is_the_business_days_date_and_the_location_is_sent() {
    // A zone whose date differs from UTC's at this hour of the day, so that a UTC date fails.
    let zone = if jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .hour()
        >= 10
    {
        "Pacific/Kiritimati"
    } else {
        "Pacific/Pago_Pago"
    };
    let mock = MockZoho::start();
    let mut flags = mock.flags();
    flags.extend(["--retry-interval".to_string(), "200ms".to_string()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::start_with(&flags);
    let token = app.login_new_seller("owner@spicegarden.in");
    let resp = app.post(
        "/api/v1/businesses",
        Some(&token),
        json!({"name": "Island Grill", "timezone": zone}),
    );
    resp.expect(201);
    let business = resp.data()["business"]["id"].as_str().unwrap().to_string();
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let env = Env {
        mock,
        app,
        token,
        business,
        dish,
    };
    env.connect(json!({"location_id": "4815000000000099001"}));
    let (order_id, data) = env.place(json!({
        "customer_name": "Rahul Kumar",
        "customer_phone": PHONE,
        "items": [{"dish_id": env.dish, "quantity": 1}],
    }));
    env.wait_status(&order_id, "success");
    let body = &env.creates_for(&order_id)[0].body;
    let created_at = &data["order"]["created_at"];
    assert_eq!(
        body["date"],
        json!(date_in(created_at, zone)),
        "dated in {zone}"
    );
    assert_ne!(
        body["date"],
        json!(date_in(created_at, "UTC")),
        "not the UTC date"
    );
    assert_eq!(body["location_id"], "4815000000000099001");
    assert_eq!(
        body["notes"], "Pickup ASAP",
        "no instructions: only how the order leaves the kitchen"
    );
    assert_eq!(env.preview(&order_id)["request"], *body);
    env.assert_no_problems();
}

#[test]
fn an_unreachable_accounts_server_is_retried_later_not_a_reconnect() {
    // OAuthError::Unreachable is "no usable answer (network, 5xx): try again later"; only a
    // refusal means the seller must reconnect (API.md: "401/403 that a token refresh cannot
    // cure").
    let env = ProviderEnv::zoho(&[]);
    env.mock.expire_access_token();
    env.mock
        .push_fault_on(ZohoEndpoint::Token, ZohoFault::Status(503));
    let order_id = env.order();
    let log = wait_for(PATIENCE, "the log settles", || {
        let log = env.log(&order_id);
        match log["status"].as_str() {
            Some("success" | "failed") => Ok(log),
            _ => Err(log.to_string()),
        }
    });
    let attempts = env.attempts(log["id"].as_str().unwrap());
    assert_eq!(
        log["status"], "success",
        "a 503 from Zoho Accounts is transient; attempts: {attempts:#?}"
    );
    assert!(
        !env.business_notifications()
            .iter()
            .any(|n| n["kind"] == "reconnect_required"),
        "no reconnect for an outage: {:#?}",
        env.business_notifications()
    );
    env.the_sales_order(&order_id);
    env.assert_no_problems();
}

// ------------------------------------------------------------------------------------------------
// Talking to the mock directly (its own rules are tested in `mock_rules`)
// ------------------------------------------------------------------------------------------------

/// One request to the mock as any HTTP client would send it; a body that is not JSON comes
/// back as a JSON string.
fn raw(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> (u16, Value, Vec<(String, String)>) {
    let body = body.map(|(content_type, text)| (content_type, text.into_bytes()));
    let resp = Client::browser().send(method, url, headers, body);
    let json = serde_json::from_str(&resp.text).unwrap_or(Value::String(resp.text));
    (resp.status, json, resp.headers)
}

#[test]
fn a_forced_resync_finds_the_sales_order_instead_of_making_a_second() {
    let env = ProviderEnv::zoho_unconnected(&[], "INR");
    env.connect(json!({}));
    let order_id = env.order();
    let first = env.wait_status(&order_id, "success");
    let resp = env.app.post(
        &format!("/api/v1/pos/sync/{order_id}?force=true"),
        Some(&env.token),
        json!({}),
    );
    resp.expect(202);
    let new_log = resp.data()["syncLog"]["id"].clone();
    assert_ne!(new_log, first["id"], "a forced re-sync is a log of its own");
    wait_for(PATIENCE, "the forced re-sync to finish", || {
        let log = env.log(&order_id);
        if log["status"] == "success" && log["id"] == new_log {
            Ok(())
        } else {
            Err(format!("latest log: {log}"))
        }
    });
    assert_eq!(
        env.log(&order_id)["pos_order_id"],
        first["pos_order_id"],
        "the lookup by reference_number finds the sales order already made"
    );
    env.the_sales_order(&order_id);
    env.assert_no_problems();
}
