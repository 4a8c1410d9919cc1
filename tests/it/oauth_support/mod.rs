//! Helpers shared by the OAuth and key tests (`oauth.rs`, `keys.rs`): a mock Square that knows
//! possync's OAuth client, the service flags for it, and a browser that does not follow
//! redirects.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::mock_square::MockSquare;
use crate::common::{Client, Resp};

pub const SQ_CLIENT_ID: &str = "sq0idp-possync-test-app";
pub const SQ_CLIENT_SECRET: &str = "sq0csp-possync-test-secret";
pub const ZOHO_CLIENT_ID: &str = "1000.POSSYNCTESTCLIENT";
pub const ZOHO_CLIENT_SECRET: &str = "zoho-possync-test-secret";
/// Where sellers' browsers reach possync (redirect URIs are built from it; the test rewrites it
/// to the service's real address when it follows a redirect).
pub const PUBLIC_URL: &str = "https://possync.example.test";
pub const SQUARE_CALLBACK: &str = "/api/v1/pos/oauth/square/callback";
pub const SQUARE_SCOPES: [&str; 5] = [
    "ORDERS_WRITE",
    "ORDERS_READ",
    "ITEMS_READ",
    "MERCHANT_PROFILE_READ",
    "PAYMENTS_WRITE",
];
pub const DAY: i64 = 24 * 3_600_000;

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Flags for a service whose Square OAuth client is the mock's. The scheduled refresh job is
/// off (the tests call it directly) and retries are fast.
pub fn square_flags(mock: &MockSquare, extra: &[&str]) -> Vec<String> {
    let mut flags = strings(&[
        "--square-base-url",
        &mock.base_url(),
        "--square-client-id",
        SQ_CLIENT_ID,
        "--square-client-secret",
        SQ_CLIENT_SECRET,
        "--public-url",
        PUBLIC_URL,
        "--retry-interval",
        "200ms",
    ]);
    if !extra.contains(&"--token-refresh-schedule") {
        flags.extend(strings(&["--token-refresh-schedule", ""]));
    }
    flags.extend(strings(extra));
    flags
}

/// A mock Square that knows the test's OAuth client, with `locations`.
pub fn square_mock(locations: Vec<Value>) -> MockSquare {
    let mock = MockSquare::start();
    mock.set_oauth_client(SQ_CLIENT_ID, SQ_CLIENT_SECRET);
    mock.set_locations(locations);
    mock
}

/// A Square location as ListLocations answers it.
pub fn location(id: &str, status: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Spice Garden {id}"),
        "business_name": "Spice Garden",
        "status": status,
        "type": "PHYSICAL",
        "currency": "INR",
        "country": "IN",
        "language_code": "en-IN",
        "timezone": "Asia/Kolkata",
        "merchant_id": crate::common::mock_square::MERCHANT_ID,
        "capabilities": [],
        "created_at": "2024-01-15T09:30:00Z",
    })
}

/// The bodies of every `POST /oauth2/token` the mock received, in order.
pub fn grants(mock: &MockSquare) -> Vec<Value> {
    mock.token_requests().into_iter().map(|r| r.body).collect()
}

/// The refresh grants the mock received.
pub fn refresh_grants(mock: &MockSquare) -> Vec<Value> {
    grants(mock)
        .into_iter()
        .filter(|g| g["grant_type"] == "refresh_token")
        .collect()
}

/// The query pairs of a URL.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    let (_, query) = url.split_once('?').expect("a query string");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A GET that does not follow redirects, as a browser's first hop.
pub fn get_no_redirect(url: &str) -> Resp {
    Client::browser().get(url, None)
}

/// What the seller's browser does at the mock Square's consent page (Allow is pressed at
/// once): GET `authorize_url`, and the `Location` it is sent back to.
pub fn consent(authorize_url: &str) -> String {
    let resp = get_no_redirect(authorize_url);
    assert_eq!(
        resp.status, 302,
        "the mock's consent page redirects: {}",
        resp.text
    );
    resp.header("location").expect("Location").to_string()
}

pub fn rfc3339_millis(text: &Value) -> i64 {
    let s = text.as_str().unwrap_or_else(|| panic!("a time: {text}"));
    let t: jiff::Timestamp = s.parse().unwrap();
    t.as_millisecond()
}

pub fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Revoke every token of the mock's merchant at Square, as the seller does in Square's
/// dashboard.
pub fn revoke_at_square(mock: &MockSquare) {
    let authorization = format!("Client {SQ_CLIENT_SECRET}");
    let body = json!({"client_id": SQ_CLIENT_ID, "merchant_id": mock.merchant_id()});
    let resp = Client::browser().send(
        "POST",
        &format!("{}/oauth2/revoke", mock.base_url()),
        &[
            ("Authorization", authorization.as_str()),
            ("Square-Version", crate::common::mock_square::SQUARE_VERSION),
        ],
        Some(("application/json", body.to_string().into_bytes())),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
}

/// The whole Square flow against the service at `base` (its `--public-url` is [`PUBLIC_URL`]):
/// authorize with the seller's bearer, the mock's consent page (Allow), and the redirect back to
/// the callback. Returns the callback's answer.
pub fn connect_square_via_consent(base: &str, bearer: &str, business: &str) -> Resp {
    let resp = Client::browser().get(
        &format!("{base}/api/v1/pos/oauth/square/authorize?business_id={business}"),
        Some(bearer),
    );
    assert_eq!(resp.status, 200, "authorize: {}", resp.text);
    let url = resp.body["data"]["authorize_url"]
        .as_str()
        .expect("authorize_url")
        .to_string();
    let back = consent(&url);
    assert!(back.starts_with(PUBLIC_URL), "{back}");
    get_no_redirect(&back.replacen(PUBLIC_URL, base, 1))
}
