//! OAuth 2.0 and the token lifecycle against mock Square and Zoho OAuth servers over loopback
//! (issue 4; providers/README.md §A5 and §B5; API.md "OAuth"): the connect flows without a
//! browser (the test plays the browser and the provider's redirect), state replay, expiry and
//! denial, 401 → refresh → retry, refresh failure, the proactive refresh job, and revoke on
//! disconnect.

use crate::common;

use crate::oauth_support;

use std::time::Duration;

use common::Resp;
use common::mock_square::{Fault, MockSquare};
use common::mock_zoho::{self, MockZoho, ZohoEndpoint};
use common::provider_env::{ProviderEnv, assert_no_problems, outcomes};
use common::wait::{PATIENCE, wait_until};
use oauth_support::{
    DAY, PUBLIC_URL, SQ_CLIENT_ID, SQ_CLIENT_SECRET, SQUARE_CALLBACK, SQUARE_SCOPES,
    ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, consent, encode, get_no_redirect, grants, location,
    now_millis, query_of, refresh_grants, revoke_at_square, rfc3339_millis, square_flags,
    square_mock, strings,
};
use serde_json::{Value, json};

mod zoho;

/// A service (its flags point at the mocks the test starts), a seller, a business and a dish.
type Env = ProviderEnv<()>;

fn start(flags: &[String]) -> Env {
    ProviderEnv::start((), flags, "INR", 30000)
}

/// A mock Square with one active location, and a service whose Square OAuth client it knows.
fn square_env(extra: &[&str]) -> (MockSquare, Env) {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let env = start(&square_flags(&mock, extra));
    (mock, env)
}

/// [`square_env`] with the business connected through the OAuth flow.
fn square_connected(extra: &[&str]) -> (MockSquare, Env) {
    let (mock, env) = square_env(extra);
    assert_page(&env.connect_square_oauth(&mock), 200, "connected");
    (mock, env)
}

/// An HTML page with this status that mentions `needle` (case-insensitive).
fn assert_page(resp: &Resp, status: u16, needle: &str) {
    assert_eq!(resp.status, status, "callback answer: {}", resp.text);
    assert!(
        resp.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "an HTML page: {:?}",
        resp.headers
    );
    assert!(
        resp.text.to_lowercase().contains(&needle.to_lowercase()),
        "the page should mention {needle:?}: {}",
        resp.text
    );
}

/// A refused callback: a 400 page that does not claim success.
fn assert_refused(resp: &Resp) {
    assert_page(resp, 400, "not connected");
}

impl Env {
    /// `GET /pos/oauth/{provider}/authorize?business_id=` with the seller's bearer.
    fn authorize_resp(&self, provider: &str, business: &str) -> Resp {
        self.app.get(
            &format!("/api/v1/pos/oauth/{provider}/authorize?business_id={business}"),
            Some(&self.token),
        )
    }

    /// The `data` of a successful authorize for this business.
    fn authorize(&self, provider: &str) -> Value {
        let resp = self.authorize_resp(provider, &self.business);
        resp.expect(200);
        resp.data().clone()
    }

    /// A fresh state for this business.
    fn state(&self, provider: &str) -> String {
        self.authorize(provider)["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The provider's redirect back to possync: `GET /pos/oauth/{provider}/callback?{query}`,
    /// without a bearer and without following a redirect.
    fn callback(&self, provider: &str, pairs: &[(&str, &str)]) -> Resp {
        get_no_redirect(&format!(
            "{}/api/v1/pos/oauth/{provider}/callback?{}",
            self.app.base,
            encode(pairs)
        ))
    }

    /// The integration of the business (`None` when it has none).
    fn find_integration(&self) -> Option<Value> {
        let resp = self.integration_resp();
        match resp.status {
            404 => None,
            200 => Some(resp.data()["integration"].clone()),
            other => panic!("GET integration: {other} {}", resp.text),
        }
    }

    /// Connect the business through the Square flow (a code from the mock); returns the
    /// callback's answer.
    fn connect_square_oauth(&self, mock: &MockSquare) -> Resp {
        let state = self.state("square");
        let code = mock.issue_code();
        self.callback("square", &[("code", &code), ("state", &state)])
    }

    /// The sealed (access, refresh) token columns of the integration, straight from the database.
    fn sealed_tokens(&self) -> (Option<String>, Option<String>) {
        let db = rusqlite::Connection::open(self.app.db_path()).unwrap();
        db.query_row(
            "SELECT access_token, refresh_token FROM pos_integrations WHERE business_id = ?1",
            [&self.business],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// Make the stored token expire at `at` (what time would otherwise do).
    fn set_token_expires_at(&self, at: i64) {
        let db = rusqlite::Connection::open(self.app.db_path()).unwrap();
        let n = db
            .execute(
                "UPDATE pos_integrations SET token_expires_at = ?1 WHERE business_id = ?2",
                rusqlite::params![at, self.business],
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    /// The kinds of the business's notifications.
    fn notification_kinds(&self) -> Vec<String> {
        self.business_notifications()
            .iter()
            .map(|n| n["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Square: the whole flow
// ---------------------------------------------------------------------------------------------

#[test]
fn square_flow_without_a_browser_connects_and_pushes_with_the_oauth_token() {
    let mock = square_mock(vec![
        location("LOC-ACTIVE-1", "ACTIVE"),
        location("LOC-CLOSED", "INACTIVE"),
    ]);
    let env = start(&square_flags(&mock, &[]));

    // 1. authorize: a consent URL on the mock with everything Square needs.
    let data = env.authorize("square");
    let url = data["authorize_url"].as_str().unwrap();
    let base = format!("{}/oauth2/authorize?", mock.base_url());
    assert!(url.starts_with(&base), "{url} should start with {base}");
    let q = query_of(url);
    assert_eq!(q["client_id"], SQ_CLIENT_ID);
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    for scope in SQUARE_SCOPES {
        assert!(scopes.contains(&scope), "scope {scope} in {:?}", q["scope"]);
    }
    assert_eq!(q["session"], "false");
    assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}{SQUARE_CALLBACK}"));
    let state = data["state"].as_str().unwrap();
    assert_eq!(q["state"], state);
    assert!(state.len() >= 20, "a random state: {state}");
    let left = rfc3339_millis(&data["expires_at"]) - now_millis();
    assert!(
        (9 * 60_000..=10 * 60_000 + 5_000).contains(&left),
        "the state lives 10 minutes by default: {left} ms left"
    );
    assert_ne!(
        env.authorize("square")["state"],
        data["state"],
        "every authorize makes a new state"
    );
    assert!(
        env.find_integration().is_none(),
        "authorize alone connects nothing"
    );

    // 2. the browser at Square's consent page: the seller allows, Square redirects to
    //    `redirect_uri` with a code bound to it and the state.
    let back = consent(url);
    let prefix = format!("{PUBLIC_URL}{SQUARE_CALLBACK}?");
    assert!(back.starts_with(&prefix), "{back}");
    let back_q = query_of(&back);
    assert_eq!(back_q["state"], state);
    assert!(back_q["code"].starts_with("sq0cgb-"), "{back}");
    let resp = get_no_redirect(&back.replacen(PUBLIC_URL, &env.app.base, 1));
    assert_page(&resp, 200, "Square connected");

    // 3. connected with the merchant and the one active location from the mock.
    let integration = env.find_integration().expect("connected");
    assert_eq!(integration["provider"], "square");
    assert_eq!(integration["is_active"], true);
    assert_eq!(integration["location_id"], "LOC-ACTIVE-1");
    assert_eq!(integration["merchant_id"], json!(mock.merchant_id()));
    assert!(
        rfc3339_millis(&integration["token_expires_at"]) > now_millis() + 20 * DAY,
        "Square's expires_at (+30 d) is recorded: {integration}"
    );
    // One code exchange, JSON, with the secret and the same redirect_uri (the mock checks that
    // the code was redeemed with the redirect_uri it was issued for).
    let exchanged = grants(&mock);
    assert_eq!(exchanged.len(), 1, "{exchanged:#?}");
    assert_eq!(exchanged[0]["grant_type"], "authorization_code");
    assert_eq!(exchanged[0]["client_id"], SQ_CLIENT_ID);
    assert_eq!(exchanged[0]["client_secret"], SQ_CLIENT_SECRET);
    assert_eq!(exchanged[0]["code"], json!(back_q["code"]));
    let issued = mock.tokens_issued();
    assert_eq!(issued.len(), 1);
    assert!(
        !integration.to_string().contains(&issued[0]),
        "no token in the response"
    );
    // The sealed values are not the token.
    let (access, refresh) = env.sealed_tokens();
    assert!(access.as_deref().is_some_and(|a| !a.contains(&issued[0])));
    assert!(refresh.is_some(), "the refresh token is stored");

    // 4. an order reaches the mock with the OAuth access token.
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let requests = mock.create_order_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {}", issued[0]).as_str())
    );
    assert_eq!(requests[0].body["order"]["location_id"], "LOC-ACTIVE-1");
    let orders = mock.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(log["pos_order_id"], orders[0]["id"]);
    assert_no_problems(&mock);
}

#[test]
fn the_callback_with_a_code_from_the_mock_connects_the_single_active_location() {
    let mock = square_mock(vec![location("LOC-ONLY", "ACTIVE")]);
    let env = start(&square_flags(&mock, &[]));
    let state = env.state("square");
    let code = mock.issue_code();
    let resp = env.callback("square", &[("code", &code), ("state", &state)]);
    assert_page(&resp, 200, "connected");
    let integration = env.find_integration().unwrap();
    assert_eq!(integration["provider"], "square");
    assert_eq!(integration["is_active"], true);
    assert_eq!(integration["location_id"], "LOC-ONLY");
    assert_eq!(integration["merchant_id"], json!(mock.merchant_id()));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(
        mock.create_order_requests()[0].header("authorization"),
        Some(format!("Bearer {}", mock.tokens_issued()[0]).as_str())
    );
    assert_no_problems(&mock);
}

#[test]
fn several_active_locations_leave_it_connected_but_inactive_until_patch_picks_one() {
    let mock = square_mock(vec![
        location("LOC-A", "ACTIVE"),
        location("LOC-B", "ACTIVE"),
    ]);
    let env = start(&square_flags(&mock, &[]));
    let resp = env.connect_square_oauth(&mock);
    assert_page(&resp, 200, "location");
    assert!(
        resp.text.contains("choose"),
        "the page says to choose a location: {}",
        resp.text
    );
    let integration = env.find_integration().expect("connected");
    assert_eq!(integration["provider"], "square");
    assert_eq!(integration["is_active"], false);
    assert_eq!(integration["location_id"], Value::Null);
    assert_eq!(integration["merchant_id"], json!(mock.merchant_id()));

    // Meanwhile no order is pushed.
    let waiting = env.order();
    assert_eq!(
        env.log(&waiting),
        Value::Null,
        "nothing queued while inactive"
    );

    let resp = env.app.patch(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
        json!({"location_id": "LOC-B"}),
    );
    resp.expect(200);
    let integration = &resp.data()["integration"];
    assert_eq!(integration["is_active"], true);
    assert_eq!(integration["location_id"], "LOC-B");

    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let requests = mock.create_order_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body["order"]["location_id"], "LOC-B");
    assert_no_problems(&mock);
}

#[test]
fn a_location_given_to_authorize_is_used_without_listing_locations() {
    let mock = square_mock(vec![
        location("LOC-A", "ACTIVE"),
        location("LOC-B", "ACTIVE"),
    ]);
    let env = start(&square_flags(&mock, &[]));
    let resp = env.app.get(
        &format!(
            "/api/v1/pos/oauth/square/authorize?business_id={}&location_id=LOC-B",
            env.business
        ),
        Some(&env.token),
    );
    resp.expect(200);
    let state = resp.data()["state"].as_str().unwrap().to_string();
    let code = mock.issue_code();
    assert_page(
        &env.callback("square", &[("code", &code), ("state", &state)]),
        200,
        "connected",
    );
    let integration = env.find_integration().unwrap();
    assert_eq!(integration["is_active"], true);
    assert_eq!(integration["location_id"], "LOC-B");
    assert!(
        !mock.requests().iter().any(|r| r.path == "/v2/locations"),
        "no need to list the locations"
    );
}

#[test]
fn reconnecting_through_oauth_keeps_the_integration_its_settings_and_history() {
    let (mock, env) = square_env(&[]);
    // First connected by hand with a personal access token (the mock's static token).
    let resp = env.app.post(
        "/api/v1/pos/connect",
        Some(&env.token),
        json!({
            "business_id": env.business,
            "provider": "square",
            "access_token": common::mock_square::DEFAULT_ACCESS_TOKEN,
            "location_id": "LOC-1",
            "sync_customer_info": false,
            "item_mapping": {env.dish.clone(): "VAR-PANEER"},
        }),
    );
    resp.expect(200);
    let manual = resp.data()["integration"].clone();
    let first = env.order();
    env.wait_status(&first, "success");

    assert_page(&env.connect_square_oauth(&mock), 200, "connected");
    let integration = env.find_integration().unwrap();
    assert_eq!(integration["id"], manual["id"], "updated in place");
    assert_eq!(integration["location_id"], "LOC-1");
    assert_eq!(integration["sync_customer_info"], false);
    assert_eq!(integration["item_mapping"], manual["item_mapping"]);
    assert_eq!(integration["merchant_id"], json!(mock.merchant_id()));
    let history = env.app.get(
        &format!("/api/v1/pos/history/{}", env.business),
        Some(&env.token),
    );
    history.expect(200);
    assert_eq!(history.data()["total"], 1, "history kept");

    let second = env.order();
    env.wait_status(&second, "success");
    assert_eq!(
        mock.create_order_requests()
            .last()
            .unwrap()
            .header("authorization"),
        Some(format!("Bearer {}", mock.tokens_issued()[0]).as_str()),
        "now pushed with the OAuth token"
    );
}

// ---------------------------------------------------------------------------------------------
// Square: the flow's failures change nothing
// ---------------------------------------------------------------------------------------------

#[test]
fn a_replayed_state_is_refused_and_changes_nothing() {
    let (mock, env) = square_env(&[]);
    let state = env.state("square");
    let code = mock.issue_code();
    assert_page(
        &env.callback("square", &[("code", &code), ("state", &state)]),
        200,
        "connected",
    );
    let before = env.find_integration().unwrap();
    let sealed_before = env.sealed_tokens();

    // The same redirect again (a reload), and the state with a fresh code (an attacker).
    let resp = env.callback("square", &[("code", &code), ("state", &state)]);
    assert_refused(&resp);
    let second = mock.issue_code();
    let resp = env.callback("square", &[("code", &second), ("state", &state)]);
    assert_refused(&resp);
    assert_eq!(grants(&mock).len(), 1, "no second exchange");
    assert_eq!(env.find_integration().unwrap(), before);
    assert_eq!(env.sealed_tokens(), sealed_before, "tokens untouched");
}

#[test]
fn an_expired_state_is_refused() {
    let (mock, env) = square_env(&["--oauth-state-ttl", "1s"]);
    let data = env.authorize("square");
    let left = rfc3339_millis(&data["expires_at"]) - now_millis();
    assert!(left <= 1_500, "--oauth-state-ttl 1s: {left} ms left");
    let state = data["state"].as_str().unwrap();
    std::thread::sleep(Duration::from_millis(1_300));
    let code = mock.issue_code();
    let resp = env.callback("square", &[("code", &code), ("state", state)]);
    assert_refused(&resp);
    assert!(resp.text.contains("expired"), "{}", resp.text);
    assert!(env.find_integration().is_none());
    assert!(grants(&mock).is_empty(), "no exchange on an expired state");
}

/// A callback possync must refuse: what the provider's redirect carries and what follows.
struct Refusal {
    what: &'static str,
    /// The redirect's query pairs, made against the service and the mock.
    redirect: fn(&Env, &MockSquare) -> Vec<(String, String)>,
    /// Text the refusal page must show (what went wrong).
    shows: Option<&'static str>,
    /// Text it must not show as it came (markup from the provider).
    hides: Option<&'static str>,
    /// Whether possync tries the code at Square.
    exchanges: bool,
    /// Whether the state the redirect carried is spent: a good code with it is refused.
    spends_state: bool,
}

fn code_and_state(code: String, state: String) -> Vec<(String, String)> {
    vec![("code".to_string(), code), ("state".to_string(), state)]
}

#[test]
fn a_refused_callback_answers_a_400_page_and_connects_nothing() {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let env = start(&square_flags(
        &mock,
        &[
            "--zoho-client-id",
            ZOHO_CLIENT_ID,
            "--zoho-client-secret",
            ZOHO_CLIENT_SECRET,
        ],
    ));
    let cases = [
        Refusal {
            what: "a state possync never issued",
            redirect: |_, mock| {
                code_and_state(mock.issue_code(), "not-a-state-possync-issued".into())
            },
            shows: None,
            hides: None,
            exchanges: false,
            spends_state: false,
        },
        Refusal {
            what: "no state",
            redirect: |_, mock| vec![("code".to_string(), mock.issue_code())],
            shows: None,
            hides: None,
            exchanges: false,
            spends_state: false,
        },
        Refusal {
            what: "no code",
            redirect: |env, _| vec![("state".to_string(), env.state("square"))],
            shows: None,
            hides: None,
            exchanges: false,
            spends_state: false,
        },
        Refusal {
            what: "a state issued for Zoho",
            redirect: |env, mock| code_and_state(mock.issue_code(), env.state("zoho")),
            shows: None,
            hides: None,
            exchanges: false,
            spends_state: false,
        },
        Refusal {
            what: "the seller pressed Deny at Square's consent page",
            redirect: |env, mock| {
                mock.set_authorize_denies(true);
                let back = consent(env.authorize("square")["authorize_url"].as_str().unwrap());
                mock.set_authorize_denies(false);
                let query = query_of(&back);
                assert_eq!(query["error"], "access_denied", "{back}");
                query.into_iter().collect()
            },
            shows: Some("denied"),
            hides: None,
            exchanges: false,
            spends_state: true,
        },
        Refusal {
            what: "an error with markup in it",
            redirect: |env, _| {
                vec![
                    ("error".to_string(), "<script>alert(1)</script>".to_string()),
                    ("state".to_string(), env.state("square")),
                ]
            },
            shows: None,
            hides: Some("<script>"),
            exchanges: false,
            spends_state: false,
        },
        Refusal {
            what: "a code Square never issued",
            redirect: |env, _| {
                code_and_state(
                    "sq0cgb-a-code-square-never-issued".into(),
                    env.state("square"),
                )
            },
            shows: Some("Square"),
            hides: None,
            exchanges: true,
            spends_state: true,
        },
    ];
    for case in cases {
        let what = case.what;
        let pairs = (case.redirect)(&env, &mock);
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let exchanges_before = grants(&mock).len();
        let resp = env.callback("square", &pairs);
        assert_refused(&resp);
        if let Some(text) = case.shows {
            assert!(resp.text.contains(text), "{what}: {}", resp.text);
        }
        if let Some(text) = case.hides {
            assert!(!resp.text.contains(text), "{what}: {}", resp.text);
        }
        assert_eq!(
            grants(&mock).len() - exchanges_before,
            usize::from(case.exchanges),
            "{what}: code exchanges"
        );
        assert!(env.find_integration().is_none(), "{what}");
        if case.spends_state {
            let state = pairs.iter().find(|(k, _)| *k == "state").unwrap().1;
            let code = mock.issue_code();
            assert_refused(&env.callback("square", &[("code", &code), ("state", state)]));
            assert_eq!(
                grants(&mock).len() - exchanges_before,
                usize::from(case.exchanges),
                "{what}: a spent state led to an exchange"
            );
            assert!(env.find_integration().is_none(), "{what}");
        }
    }
    assert!(mock.tokens_issued().is_empty());
}

#[test]
fn concurrent_callbacks_with_one_state_exchange_once() {
    let (mock, env) = square_env(&[]);
    let state = env.state("square");
    let codes: Vec<String> = (0..6).map(|_| mock.issue_code()).collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = codes
            .iter()
            .map(|code| {
                let (env, state) = (&env, &state);
                scope.spawn(move || {
                    env.callback("square", &[("code", code), ("state", state)])
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one callback wins: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(grants(&mock).len(), 1, "exactly one exchange");
    assert_eq!(env.find_integration().unwrap()["is_active"], true);
}

#[test]
fn a_failed_exchange_leaves_an_existing_integration_as_it_was() {
    let (_mock, env) = square_connected(&[]);
    let before = env.find_integration().unwrap();
    let sealed = env.sealed_tokens();
    let state = env.state("square");
    let resp = env.callback(
        "square",
        &[("code", "sq0cgb-never-issued"), ("state", &state)],
    );
    assert_refused(&resp);
    let denied = env.state("square");
    assert_refused(&env.callback("square", &[("error", "access_denied"), ("state", &denied)]));
    assert_eq!(env.find_integration().unwrap(), before);
    assert_eq!(env.sealed_tokens(), sealed);
}

#[test]
fn with_a_return_url_the_callback_redirects_with_the_outcome() {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let env = start(&square_flags(
        &mock,
        &["--oauth-return-url", "http://example.test/done"],
    ));

    // Denied: 303 with error=…
    let state = env.state("square");
    let resp = env.callback("square", &[("error", "access_denied"), ("state", &state)]);
    assert_eq!(resp.status, 303, "{:?} {}", resp.headers, resp.text);
    let to = resp.header("location").expect("Location").to_string();
    assert!(to.starts_with("http://example.test/done?"), "{to}");
    let q = query_of(&to);
    assert!(q.get("error").is_some_and(|e| !e.is_empty()), "{to}");
    assert_ne!(q.get("status").map(String::as_str), Some("connected"));

    // A failed exchange: 303 with error=…
    let state = env.state("square");
    let resp = env.callback(
        "square",
        &[("code", "sq0cgb-never-issued"), ("state", &state)],
    );
    assert_eq!(resp.status, 303, "{:?} {}", resp.headers, resp.text);
    let to = resp.header("location").expect("Location").to_string();
    assert!(
        query_of(&to).get("error").is_some_and(|e| !e.is_empty()),
        "{to}"
    );
    assert!(env.find_integration().is_none());

    // Success: 303 with status=connected.
    let resp = env.connect_square_oauth(&mock);
    assert_eq!(resp.status, 303, "{:?} {}", resp.headers, resp.text);
    let to = resp.header("location").expect("Location").to_string();
    assert!(to.starts_with("http://example.test/done?"), "{to}");
    let q = query_of(&to);
    assert_eq!(
        q.get("status").map(String::as_str),
        Some("connected"),
        "{to}"
    );
    assert!(!q.contains_key("error"), "{to}");
    assert_eq!(env.find_integration().unwrap()["is_active"], true);
}

#[test]
fn authorize_needs_a_configured_client_an_oauth_provider_and_an_own_business() {
    let (mock, env) = square_env(&[]);
    // No Zoho client on this server.
    env.authorize_resp("zoho", &env.business)
        .expect_error(409, "CONFLICT");
    // Dine POS has no OAuth.
    env.authorize_resp("dine", &env.business)
        .expect_error(409, "CONFLICT");
    // Another seller's business.
    let other = env.app.login_new_seller("owner@curryhouse.in");
    let theirs = env.app.business(&other, "Curry House");
    env.authorize_resp("square", &theirs)
        .expect_error(404, "NOT_FOUND");
    // No bearer.
    env.app
        .get(
            &format!(
                "/api/v1/pos/oauth/square/authorize?business_id={}",
                env.business
            ),
            None,
        )
        .expect_error(401, "UNAUTHORIZED");

    // A server with no Square client at all: 409 for Square too.
    let bare = start(&strings(&["--square-base-url", &mock.base_url()]));
    bare.authorize_resp("square", &bare.business)
        .expect_error(409, "CONFLICT");
    assert!(mock.requests().is_empty(), "nothing reached Square");
}

// ---------------------------------------------------------------------------------------------
// Refresh
// ---------------------------------------------------------------------------------------------

#[test]
fn a_401_refreshes_the_token_and_retries_at_once_with_exactly_one_pos_order() {
    let (mock, env) = square_connected(&[]);
    let first = mock.tokens_issued()[0].clone();
    let sealed_before = env.sealed_tokens();

    mock.push_fault(Fault::Unauthorized);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    assert_eq!(
        log["retry_count"], 0,
        "retried at once, not scheduled: {log}"
    );
    env.attempts_were(
        &log,
        &[
            (json!(401), "retry"),
            (json!(200), "success"),
            (json!(200), "success"),
        ],
    );

    // The mock saw one refresh_token grant, with possync's client.
    let refreshes = refresh_grants(&mock);
    assert_eq!(refreshes.len(), 1, "{refreshes:#?}");
    assert_eq!(refreshes[0]["client_id"], SQ_CLIENT_ID);
    assert_eq!(refreshes[0]["client_secret"], SQ_CLIENT_SECRET);
    let refresh_token = refreshes[0]["refresh_token"].as_str().unwrap().to_string();
    let issued = mock.tokens_issued();
    assert_eq!(issued.len(), 2);
    let second = issued[1].clone();
    assert_ne!(second, first);

    // The retry used the new access token; Square holds exactly one order.
    let requests = mock.create_order_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {second}").as_str())
    );
    let orders = mock.orders();
    assert_eq!(orders.len(), 1, "exactly one POS order: {orders:#?}");
    assert_eq!(log["pos_order_id"], orders[0]["id"]);

    // The new access token is stored (sealed); the refresh token is kept.
    let sealed_after = env.sealed_tokens();
    assert_ne!(
        sealed_after.0, sealed_before.0,
        "the access token was replaced"
    );
    assert!(sealed_after.1.is_some(), "the refresh token is kept");

    // The next order goes out with the new token, no refresh needed.
    let next = env.order();
    env.wait_status(&next, "success");
    assert_eq!(refresh_grants(&mock).len(), 1, "no further refresh");
    assert_eq!(
        mock.create_order_requests()
            .last()
            .unwrap()
            .header("authorization"),
        Some(format!("Bearer {second}").as_str())
    );

    // Another 401 later: the refresh sends the same refresh token (Square keeps it).
    mock.push_fault(Fault::Unauthorized);
    let third_order = env.order();
    env.wait_status(&third_order, "success");
    let refreshes = refresh_grants(&mock);
    assert_eq!(refreshes.len(), 2);
    assert_eq!(refreshes[1]["refresh_token"], json!(refresh_token));
    assert_eq!(mock.orders().len(), 3);
    assert_eq!(env.find_integration().unwrap()["last_error"], Value::Null);
    assert_no_problems(&mock);
}

#[test]
fn an_expired_access_token_is_refreshed_on_the_401_and_the_push_succeeds() {
    let (mock, env) = square_connected(&[]);
    // Square itself now calls the token expired (401 ACCESS_TOKEN_EXPIRED).
    mock.expire_access_token(&mock.tokens_issued()[0]);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    env.attempts_were(
        &log,
        &[
            (json!(401), "retry"),
            (json!(200), "success"),
            (json!(200), "success"),
        ],
    );
    assert_eq!(refresh_grants(&mock).len(), 1);
    assert_eq!(mock.orders().len(), 1);
    assert_no_problems(&mock);
}

#[test]
fn a_refused_refresh_fails_the_log_and_asks_the_seller_to_reconnect() {
    let (mock, env) = square_connected(&[]);
    // The seller revoked possync in Square's dashboard: the access and refresh tokens are dead.
    revoke_at_square(&mock);

    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    let attempts = env.attempts(log["id"].as_str().unwrap());
    let outcomes = outcomes(&attempts);
    assert_eq!(outcomes.len(), 2, "{attempts:#?}");
    assert_eq!(outcomes[0], (json!(401), "retry".to_string()));
    assert_eq!(outcomes[1].1, "auth_failed", "{attempts:#?}");
    let error = log["error_message"].as_str().unwrap_or_default();
    assert!(error.contains("reconnect"), "log error: {log}");
    assert_eq!(log["retry_count"], 0, "not retried later: {log}");
    assert_eq!(refresh_grants(&mock).len(), 1, "one refresh was tried");

    let integration = env.find_integration().unwrap();
    let last_error = integration["last_error"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("reconnect"),
        "last_error should say to reconnect: {integration}"
    );
    assert!(mock.orders().is_empty());
    assert_eq!(
        mock.create_order_requests().len(),
        1,
        "no second push without a token"
    );
    // The notification trigger point fired.
    let kinds = env.notification_kinds();
    assert!(
        kinds.iter().any(|k| k == "reconnect_required"),
        "a reconnect_required notification: {kinds:?}"
    );
    assert_no_problems(&mock);
}

#[test]
fn the_refresh_job_refreshes_a_token_that_expires_within_7_days() {
    let (mock, env) = square_connected(&[]);

    // A fresh token is not due.
    let report = env.app.app().sync.refresh_due_tokens().unwrap();
    assert!(report.contains("refreshed 0"), "{report}");
    assert!(refresh_grants(&mock).is_empty());

    // The token now expires in 3 days.
    env.set_token_expires_at(now_millis() + 3 * DAY);
    let before = env.find_integration().unwrap();
    assert!(rfc3339_millis(&before["token_expires_at"]) < now_millis() + 4 * DAY);
    let sealed_before = env.sealed_tokens();

    let report = env.app.app().sync.refresh_due_tokens().unwrap();
    assert!(report.contains("refreshed 1"), "{report}");
    let refreshes = refresh_grants(&mock);
    assert_eq!(refreshes.len(), 1, "{refreshes:#?}");
    let new_token = mock.tokens_issued()[1].clone();

    let after = env.find_integration().unwrap();
    assert!(
        rfc3339_millis(&after["token_expires_at"]) > now_millis() + 20 * DAY,
        "token_expires_at moved forward: {before} → {after}"
    );
    let sealed_after = env.sealed_tokens();
    assert_ne!(sealed_after.0, sealed_before.0, "a new access token");
    assert!(sealed_after.1.is_some(), "the refresh token is kept");

    // The next push carries the refreshed token.
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(
        mock.create_order_requests()[0].header("authorization"),
        Some(format!("Bearer {new_token}").as_str())
    );

    // Fresh again: nothing more to do.
    env.app.app().sync.refresh_due_tokens().unwrap();
    assert_eq!(refresh_grants(&mock).len(), 1);
    assert_no_problems(&mock);
}

#[test]
fn the_refresh_job_refreshes_a_token_last_refreshed_over_7_days_ago() {
    let (mock, env) = square_connected(&[]);
    let db = rusqlite::Connection::open(env.app.db_path()).unwrap();
    db.execute(
        "UPDATE pos_integrations SET token_refreshed_at = ?1, created_at = ?1 WHERE business_id = ?2",
        rusqlite::params![now_millis() - 8 * DAY, env.business],
    )
    .unwrap();
    drop(db);
    let report = env.app.app().sync.refresh_due_tokens().unwrap();
    assert!(report.contains("refreshed 1"), "{report}");
    assert_eq!(refresh_grants(&mock).len(), 1);
    // Refreshed just now: not due again.
    env.app.app().sync.refresh_due_tokens().unwrap();
    assert_eq!(refresh_grants(&mock).len(), 1);
}

#[test]
fn the_scheduled_refresh_job_runs_on_its_cron_expression() {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let env = start(&square_flags(
        &mock,
        &["--token-refresh-schedule", "* * * * * *"],
    ));
    assert_page(&env.connect_square_oauth(&mock), 200, "connected");
    env.set_token_expires_at(now_millis() + 2 * DAY);
    wait_until(PATIENCE, "the job refreshed the token", || {
        !refresh_grants(&mock).is_empty()
    });
    wait_until(PATIENCE, "token_expires_at moved forward", || {
        rfc3339_millis(&env.find_integration().unwrap()["token_expires_at"])
            > now_millis() + 20 * DAY
    });
    // Fresh now: the job, running every second, leaves it alone.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(refresh_grants(&mock).len(), 1);
}

#[test]
fn a_refresh_job_that_square_refuses_asks_the_seller_to_reconnect() {
    let (mock, env) = square_connected(&[]);
    env.set_token_expires_at(now_millis() + DAY);
    revoke_at_square(&mock);
    let report = env.app.app().sync.refresh_due_tokens().unwrap();
    assert!(report.contains("1 failed"), "{report}");
    let integration = env.find_integration().unwrap();
    assert!(
        integration["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{integration}"
    );
    let kinds = env.notification_kinds();
    assert!(kinds.iter().any(|k| k == "reconnect_required"), "{kinds:?}");
}

// ---------------------------------------------------------------------------------------------
// Disconnect
// ---------------------------------------------------------------------------------------------

#[test]
fn disconnect_revokes_at_square_and_erases_the_tokens() {
    let (mock, env) = square_connected(&[]);
    let access = mock.tokens_issued()[0].clone();
    assert!(mock.revoked().is_empty());

    env.disconnect();
    // The mock checks `Authorization: Client <secret>`, the client_id and the body's shape.
    assert_eq!(mock.revoked(), vec![access.clone()]);
    assert!(!mock.token_is_valid(&access));
    assert_no_problems(&mock);

    let integration = env.find_integration().unwrap();
    assert_eq!(integration["is_active"], false);
    assert_eq!(integration["token_expires_at"], Value::Null);
    assert_eq!(env.sealed_tokens(), (None, None), "tokens erased");

    // Nothing is pushed any more.
    let order_id = env.order();
    assert_eq!(env.log(&order_id), Value::Null);
    assert!(mock.create_order_requests().is_empty());
    // And there is nothing left to refresh.
    env.app.app().sync.refresh_due_tokens().unwrap();
    assert!(refresh_grants(&mock).is_empty());
}

#[test]
fn disconnect_succeeds_and_erases_the_tokens_when_the_revoke_fails() {
    let (mock, env) = square_connected(&[]);
    // Square no longer accepts possync's client secret: the revoke is refused.
    mock.set_oauth_client(SQ_CLIENT_ID, "sq0csp-rotated-in-the-developer-console");
    env.disconnect();
    assert!(mock.revoked().is_empty());
    assert_eq!(env.find_integration().unwrap()["is_active"], false);
    assert_eq!(env.sealed_tokens(), (None, None), "tokens erased anyway");
}
