//! The Zoho side of the OAuth suite (providers/README.md §B5): the connect flow through the
//! mock's consent page, organisations, the API domain, refresh and revoke.

use super::*;

/// A mock Zoho, and a service whose Zoho OAuth client it knows.
fn zoho_env(extra: &[&str]) -> (MockZoho, Env) {
    let mock = MockZoho::start();
    let env = start(&zoho_flags(&mock, extra));
    (mock, env)
}

/// [`zoho_env`] with the business connected through the consent page.
fn zoho_connected(extra: &[&str]) -> (MockZoho, Env) {
    let (mock, env) = zoho_env(extra);
    assert_page(&env.connect_zoho_via_consent(), 200, "connected");
    (mock, env)
}

const ZOHO_CALLBACK: &str = "/api/v1/pos/oauth/zoho/callback";

/// Flags for a service pointed at the mock Zoho (API and Accounts) with the mock's OAuth client.
fn zoho_flags(mock: &MockZoho, extra: &[&str]) -> Vec<String> {
    let mut flags = mock.flags();
    flags.extend(strings(&[
        "--public-url",
        PUBLIC_URL,
        "--retry-interval",
        "200ms",
        "--token-refresh-schedule",
        "",
    ]));
    flags.extend(strings(extra));
    flags
}

impl Env {
    /// Connect through the Zoho flow: authorize, the mock's consent page, the redirect back.
    fn connect_zoho_via_consent(&self) -> Resp {
        let url = self.authorize("zoho")["authorize_url"]
            .as_str()
            .unwrap()
            .to_string();
        let back = consent(&url);
        assert!(
            back.starts_with(&format!("{PUBLIC_URL}{ZOHO_CALLBACK}?")),
            "{back}"
        );
        get_no_redirect(&back.replacen(PUBLIC_URL, &self.app.base, 1))
    }
}

#[test]
fn zoho_flow_without_a_browser_connects_the_only_organization() {
    let (mock, env) = zoho_env(&[]);

    let data = env.authorize("zoho");
    let url = data["authorize_url"].as_str().unwrap();
    let base = format!("{}/oauth/v2/auth?", mock.base_url());
    assert!(url.starts_with(&base), "{url} should start with {base}");
    let q = query_of(url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], mock_zoho::CLIENT_ID);
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}{ZOHO_CALLBACK}"));
    let state = data["state"].as_str().unwrap();
    assert_eq!(q["state"], state);
    assert!(!q["scope"].contains(' '), "comma-separated: {}", q["scope"]);
    let scopes: Vec<&str> = q["scope"].split(',').collect();
    for scope in [
        "ZohoInventory.salesorders.CREATE",
        "ZohoInventory.salesorders.UPDATE",
        "ZohoInventory.contacts.READ",
        "ZohoInventory.contacts.CREATE",
    ] {
        assert!(scopes.contains(&scope), "{scope} in {scopes:?}");
    }

    // The consent page sends the browser back with code, state, location and accounts-server.
    let back = consent(url);
    let back_q = query_of(&back);
    assert_eq!(back_q["state"], state);
    assert!(back_q.contains_key("accounts-server"), "{back}");
    let resp = get_no_redirect(&back.replacen(PUBLIC_URL, &env.app.base, 1));
    assert_page(&resp, 200, "connected");

    let integration = env.find_integration().expect("connected");
    assert_eq!(integration["provider"], "zoho");
    assert_eq!(integration["is_active"], true);
    assert_eq!(integration["merchant_id"], json!(mock.organization_id()));
    let left = rfc3339_millis(&integration["token_expires_at"]) - now_millis();
    assert!(
        (55 * 60_000..=3_600_000 + 5_000).contains(&left),
        "now + expires_in (3600 s): {left} ms"
    );

    // The exchange was form-encoded, with the client and the same redirect_uri.
    let exchange = mock.token_requests();
    assert_eq!(exchange.len(), 1);
    assert!(
        exchange[0]
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")),
        "{:?}",
        exchange[0].headers
    );
    assert_eq!(exchange[0].body["grant_type"], "authorization_code");
    assert_eq!(exchange[0].body["code"], json!(back_q["code"]));
    assert_eq!(
        exchange[0].body["redirect_uri"],
        format!("{PUBLIC_URL}{ZOHO_CALLBACK}")
    );
    assert_eq!(mock.code_exchanges(), 1);

    // An order reaches Zoho with the OAuth access token.
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let creates = mock.create_requests_for(&order_id);
    assert_eq!(creates.len(), 1);
    assert_eq!(
        creates[0].token(),
        Some(mock.current_access_token().as_str())
    );
    assert_eq!(
        creates[0].query_value("organization_id"),
        Some(mock.organization_id().as_str())
    );
    assert_eq!(mock.sales_orders_for(&order_id).len(), 1);
    assert_no_problems(&mock);
}

#[test]
fn a_zoho_exchange_answering_http_200_with_an_error_is_refused() {
    let (mock, env) = zoho_env(&[]);
    // A code Zoho never issued: Zoho answers HTTP 200 {"error":"invalid_code"}.
    let state = env.state("zoho");
    let resp = env.callback(
        "zoho",
        &[("code", "1000.never-issued.code"), ("state", &state)],
    );
    assert_refused(&resp);
    assert!(resp.text.contains("invalid_code"), "{}", resp.text);
    assert!(env.find_integration().is_none());
    assert_eq!(mock.token_requests().len(), 1);
    assert_eq!(mock.code_exchanges(), 0);

    // A wrong client secret: HTTP 200 {"error":"invalid_client"}.
    let mut flags = zoho_flags(&mock, &[]);
    let secret = flags
        .iter()
        .position(|f| f == "--zoho-client-secret")
        .unwrap();
    flags[secret + 1] = "not-the-secret".into();
    let env = start(&flags);
    let state = env.state("zoho");
    let code = mock.issue_code();
    let resp = env.callback("zoho", &[("code", &code), ("state", &state)]);
    assert_refused(&resp);
    assert!(resp.text.contains("invalid_client"), "{}", resp.text);
    assert!(env.find_integration().is_none());
}

#[test]
fn several_zoho_organizations_leave_it_inactive_until_patch_sets_the_organization() {
    let mock = MockZoho::start();
    mock.add_organization("60019077541", "Spice Garden Bandra");
    let env = start(&zoho_flags(&mock, &[]));
    let resp = env.connect_zoho_via_consent();
    assert_page(&resp, 200, "organizations");
    let integration = env.find_integration().unwrap();
    assert_eq!(integration["is_active"], false);
    assert_eq!(integration["merchant_id"], Value::Null);
    let resp = env.app.patch(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
        json!({"merchant_id": "60019077541"}),
    );
    resp.expect(200);
    assert_eq!(resp.data()["integration"]["is_active"], true);
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(
        mock.create_requests_for(&order_id)[0].query_value("organization_id"),
        Some("60019077541")
    );
}

#[test]
fn zoho_api_domain_from_the_exchange_is_honoured_without_an_api_base_override() {
    let mock = MockZoho::start();
    // Accounts and the OAuth client only: the API host comes from the exchange's api_domain.
    let flags = strings(&[
        "--zoho-accounts-base-url",
        &mock.base_url(),
        "--zoho-client-id",
        mock_zoho::CLIENT_ID,
        "--zoho-client-secret",
        mock_zoho::CLIENT_SECRET,
        "--public-url",
        PUBLIC_URL,
        "--retry-interval",
        "200ms",
        "--token-refresh-schedule",
        "",
    ]);
    let env = start(&flags);
    assert_page(&env.connect_zoho_via_consent(), 200, "connected");
    let integration = env.find_integration().unwrap();
    assert_eq!(integration["is_active"], true);
    assert_eq!(integration["merchant_id"], json!(mock.organization_id()));
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    assert_eq!(mock.sales_orders_for(&order_id).len(), 1);
    assert_no_problems(&mock);
}

#[test]
fn zoho_api_base_override_wins_over_api_domain() {
    let accounts = MockZoho::start();
    let api = MockZoho::start();
    let flags = strings(&[
        "--zoho-accounts-base-url",
        &accounts.base_url(),
        "--zoho-api-base-url",
        &api.api_base_url(),
        "--zoho-client-id",
        mock_zoho::CLIENT_ID,
        "--zoho-client-secret",
        mock_zoho::CLIENT_SECRET,
        "--public-url",
        PUBLIC_URL,
        "--token-refresh-schedule",
        "",
    ]);
    let env = start(&flags);
    let _ = env.connect_zoho_via_consent();
    assert!(
        !api.requests_to(ZohoEndpoint::Organizations).is_empty(),
        "the organizations were asked of --zoho-api-base-url"
    );
    assert!(
        accounts.requests().iter().all(|r| !r.is_inventory()),
        "nothing went to the api_domain: {:?}",
        accounts
            .requests()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_zoho_token_under_5_minutes_from_expiry_is_refreshed_before_the_push() {
    let (mock, env) = zoho_connected(&[]);
    let first = mock.current_access_token();
    env.set_token_expires_at(now_millis() + 4 * 60_000);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    assert_eq!(mock.refreshes(), 1, "refreshed before the push");
    let attempts = env.attempts(log["id"].as_str().unwrap());
    assert_eq!(
        outcomes(&attempts),
        vec![(json!(201), "success".to_string())],
        "no 401 first"
    );
    let creates = mock.create_requests_for(&order_id);
    assert_ne!(creates[0].token(), Some(first.as_str()));
    assert_eq!(
        creates[0].token(),
        Some(mock.current_access_token().as_str())
    );
    // The refresh is form-encoded and keeps the refresh token (Zoho issues none on refresh).
    let refresh = mock.token_requests().pop().unwrap();
    assert_eq!(refresh.body["grant_type"], "refresh_token");
    let left = rfc3339_millis(&env.find_integration().unwrap()["token_expires_at"]) - now_millis();
    assert!(left > 55 * 60_000, "a fresh hour: {left} ms");
    assert!(env.sealed_tokens().1.is_some(), "the refresh token is kept");

    // With plenty of time left, no refresh before the next push.
    let next = env.order();
    env.wait_status(&next, "success");
    assert_eq!(mock.refreshes(), 1);
    assert_no_problems(&mock);
}

#[test]
fn a_zoho_401_refreshes_and_retries_at_once_with_one_sales_order() {
    let (mock, env) = zoho_connected(&[]);
    // Zoho dropped the token early (possync still thinks it has most of an hour).
    mock.expire_access_token();
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    assert_eq!(log["retry_count"], 0);
    let attempts = env.attempts(log["id"].as_str().unwrap());
    let outcomes = outcomes(&attempts);
    assert_eq!(outcomes.len(), 2, "{attempts:#?}");
    assert_eq!(outcomes[0].1, "retry");
    assert_eq!(outcomes[1].1, "success");
    assert_eq!(mock.refreshes(), 1);
    assert_eq!(mock.sales_orders_for(&order_id).len(), 1);
    assert_no_problems(&mock);
}

#[test]
fn a_refused_zoho_refresh_fails_the_log_and_asks_to_reconnect() {
    let (mock, env) = zoho_connected(&[]);
    mock.expire_access_token();
    mock.refuse_refresh(true);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert!(
        log["error_message"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{log}"
    );
    let integration = env.find_integration().unwrap();
    assert!(
        integration["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{integration}"
    );
    assert!(mock.sales_orders().is_empty());
    let kinds = env.notification_kinds();
    assert!(kinds.iter().any(|k| k == "reconnect_required"), "{kinds:?}");
}

#[test]
fn disconnect_revokes_the_zoho_token_and_erases_it() {
    let (mock, env) = zoho_connected(&[]);
    let access = mock.current_access_token();
    env.disconnect();
    let revoked = mock.revoked();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(
        !mock.token_is_valid(&access),
        "revoking the refresh token kills its access tokens"
    );
    assert_eq!(env.find_integration().unwrap()["is_active"], false);
    assert_eq!(env.sealed_tokens(), (None, None));
    assert_no_problems(&mock);
}
