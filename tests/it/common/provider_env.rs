//! One test environment for every provider: a service pointed at a mock POS (or at whatever
//! `M` holds: the notification channels, nothing at all), a seller, a business and one dish,
//! and the calls every sync, OAuth and notification test makes of them.

use serde_json::{Value, json};

use super::TestApp;
use super::mock_dine::MockDine;
use super::mock_square::{MockSquare, Recorded};
use super::mock_zoho::{self, MockZoho};
use super::wait::{PATIENCE, wait_for};

/// The token the mock Square accepts by default.
pub const SQ_TOKEN: &str = "sq-access-1";
/// The Square location every Square connect sets.
pub const LOCATION: &str = "L8AHQ2RX0BX1K";
/// The seller every environment registers.
pub const SELLER_EMAIL: &str = "owner@spicegarden.in";
/// The dish every environment adds.
pub const DISH: &str = "Paneer Butter Masala";

/// A mock POS that checks everything possync sends it against the provider's rules.
pub trait PosMock {
    /// How failure messages name the mock.
    const NAME: &'static str;
    /// What it found wrong so far.
    fn problems(&self) -> Vec<String>;
}

impl PosMock for MockSquare {
    const NAME: &'static str = "Square";
    fn problems(&self) -> Vec<String> {
        MockSquare::problems(self)
    }
}

impl PosMock for MockZoho {
    const NAME: &'static str = "Zoho";
    fn problems(&self) -> Vec<String> {
        MockZoho::problems(self)
    }
}

impl PosMock for MockDine {
    const NAME: &'static str = "Dine POS";
    fn problems(&self) -> Vec<String> {
        MockDine::problems(self)
    }
}

/// Assert the mock saw nothing against the schema, the prose rules or the headers.
pub fn assert_no_problems<M: PosMock>(mock: &M) {
    let problems = mock.problems();
    assert!(
        problems.is_empty(),
        "the mock {} found problems: {problems:#?}",
        M::NAME
    );
}

/// `flags`, then `--retry-interval 200ms` unless `extra` sets one, then `extra`.
pub fn with_fast_retries(mut flags: Vec<String>, extra: &[&str]) -> Vec<String> {
    if !extra.contains(&"--retry-interval") {
        flags.extend(["--retry-interval".to_string(), "200ms".to_string()]);
    }
    flags.extend(extra.iter().map(|s| s.to_string()));
    flags
}

/// Service flags for a mock Square (fast retries unless `extra` sets them).
pub fn square_flags(mock: &MockSquare, extra: &[&str]) -> Vec<String> {
    with_fast_retries(
        vec!["--square-base-url".to_string(), mock.base_url()],
        extra,
    )
}

/// `(http_status, outcome)` of each attempt.
pub fn outcomes(attempts: &[Value]) -> Vec<(Value, String)> {
    attempts
        .iter()
        .map(|a| {
            (
                a["http_status"].clone(),
                a["outcome"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// A service, what it is pointed at (`mock`), a seller, their business and one dish.
pub struct ProviderEnv<M> {
    pub mock: M,
    pub app: TestApp,
    pub token: String,
    pub business: String,
    pub dish: String,
}

impl ProviderEnv<MockSquare> {
    /// A mock Square and a service pointed at it, the business connected with [`SQ_TOKEN`].
    pub fn square(extra: &[&str]) -> Self {
        let mock = MockSquare::start();
        let flags = square_flags(&mock, extra);
        let env = ProviderEnv::start(mock, &flags, "INR", 30000);
        env.app.connect_square(&env.token, &env.business, SQ_TOKEN);
        env
    }

    /// `GET /pos/preview/{order}` → `data`, asserting it shows no token.
    pub fn preview(&self, order_id: &str) -> Value {
        self.preview_hiding(order_id, &[SQ_TOKEN.to_string()])
    }

    /// CreateOrder requests the mock received for one order.
    pub fn requests_for(&self, order_id: &str) -> Vec<Recorded> {
        requests_for(&self.mock, order_id)
    }

    /// Orders the mock holds for one order.
    pub fn mock_orders_for(&self, order_id: &str) -> Vec<Value> {
        mock_orders_for(&self.mock, order_id)
    }
}

/// CreateOrder requests a mock Square received for one order (by `reference_id`).
pub fn requests_for(mock: &MockSquare, order_id: &str) -> Vec<Recorded> {
    mock.create_order_requests()
        .into_iter()
        .filter(|r| r.body["order"]["reference_id"] == json!(order_id))
        .collect()
}

/// Orders a mock Square holds for one order (by `reference_id`).
pub fn mock_orders_for(mock: &MockSquare, order_id: &str) -> Vec<Value> {
    mock.orders()
        .into_iter()
        .filter(|o| o["reference_id"] == json!(order_id))
        .collect()
}

impl ProviderEnv<MockZoho> {
    /// A mock Zoho and a service pointed at it, the business connected with the mock's tokens.
    pub fn zoho(extra: &[&str]) -> Self {
        let env = ProviderEnv::zoho_unconnected(extra, "INR");
        env.connect(json!({}));
        env
    }

    /// A mock Zoho in `currency` and a service pointed at it; the business (in `currency`) is
    /// not connected yet.
    pub fn zoho_unconnected(extra: &[&str], currency: &str) -> Self {
        let mock = MockZoho::start();
        mock.set_currency(currency);
        let flags = with_fast_retries(mock.flags(), extra);
        let price = if currency == "JPY" { 1500 } else { 30000 };
        ProviderEnv::start(mock, &flags, currency, price)
    }

    /// `POST /pos/connect` for Zoho with the mock's tokens and organisation; `extra` adds or
    /// overrides fields.
    pub fn connect(&self, extra: Value) -> Value {
        self.connect_as(
            json!({
                "provider": "zoho",
                "access_token": self.mock.current_access_token(),
                "refresh_token": self.mock.refresh_token(),
                "merchant_id": self.mock.organization_id(),
            }),
            extra,
            "zoho POS integration connected successfully",
        )
    }

    /// `GET /pos/preview/{order}` → `data`, asserting it shows no token or client secret.
    pub fn preview(&self, order_id: &str) -> Value {
        self.preview_hiding(
            order_id,
            &[
                self.mock.refresh_token(),
                self.mock.current_access_token(),
                mock_zoho::CLIENT_SECRET.to_string(),
            ],
        )
    }
}

impl ProviderEnv<MockDine> {
    /// A mock Dine POS and a service pointed at it, the business connected with its secret.
    pub fn dine(extra: &[&str]) -> Self {
        let env = ProviderEnv::dine_unconnected(extra, "INR");
        env.connect(json!({}));
        env
    }

    /// A mock Dine POS in `currency` and a service pointed at it; not connected yet.
    pub fn dine_unconnected(extra: &[&str], currency: &str) -> Self {
        let mock = MockDine::start();
        mock.set_currency(currency);
        let flags = with_fast_retries(vec!["--dine-base-url".to_string(), mock.base_url()], extra);
        let price = if currency == "JPY" { 1500 } else { 30050 };
        ProviderEnv::start(mock, &flags, currency, price)
    }

    /// `POST /pos/connect` for Dine with the mock's secret and hotel; `extra` overrides.
    pub fn connect(&self, extra: Value) -> Value {
        self.connect_as(
            json!({
                "provider": "dine",
                "access_token": self.mock.secret(),
                "location_id": self.mock.hotel_id(),
            }),
            extra,
            "dine POS integration connected successfully",
        )
    }

    /// `GET /pos/preview/{order}` → `data`, asserting it shows no webhook secret.
    pub fn preview(&self, order_id: &str) -> Value {
        self.preview_hiding(order_id, &[self.mock.secret()])
    }
}

impl<M: PosMock> ProviderEnv<M> {
    /// Assert the mock found no problem.
    pub fn assert_no_problems(&self) {
        assert_no_problems(&self.mock);
    }
}

impl<M> ProviderEnv<M> {
    /// Start a service with `flags`, register the seller, create the business in `currency` and
    /// its dish at `price` (minor units). Nothing is connected.
    pub fn start(mock: M, flags: &[String], currency: &str, price: i64) -> Self {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let app = TestApp::start_with(&flags);
        let token = app.login_new_seller(SELLER_EMAIL);
        let resp = app.post(
            "/api/v1/businesses",
            Some(&token),
            json!({"name": "Spice Garden", "currency": currency}),
        );
        resp.expect(201);
        let business = resp.data()["business"]["id"].as_str().unwrap().to_string();
        let dish = app.dish(&token, &business, DISH, price);
        ProviderEnv {
            mock,
            app,
            token,
            business,
            dish,
        }
    }

    /// `POST /pos/connect` with `fields` (and the business), `extra` added over them; asserts
    /// the success `message`; returns the integration.
    fn connect_as(&self, mut fields: Value, extra: Value, message: &str) -> Value {
        fields["business_id"] = json!(self.business);
        for (k, v) in extra.as_object().unwrap() {
            fields[k] = v.clone();
        }
        let resp = self
            .app
            .post("/api/v1/pos/connect", Some(&self.token), fields);
        resp.expect(200);
        assert_eq!(resp.body["message"], message);
        resp.data()["integration"].clone()
    }

    /// `POST /orders` with this body (business_id added); returns (order id, data).
    pub fn place(&self, mut body: Value) -> (String, Value) {
        body["business_id"] = json!(self.business);
        let resp = self.app.post("/api/v1/orders", Some(&self.token), body);
        resp.expect(201);
        let data = resp.data().clone();
        (data["order"]["id"].as_str().unwrap().to_string(), data)
    }

    /// 2 × the dish for Rahul Kumar (+919876543210), "Ring the bell", note "Extra spicy";
    /// returns (order id, the queued sync log or null).
    pub fn order_and_log(&self) -> (String, Value) {
        let data = self.app.order(&self.token, &self.business, &self.dish, 2);
        let id = data["order"]["id"].as_str().unwrap().to_string();
        (id, data["sync_log"].clone())
    }

    /// [`ProviderEnv::order_and_log`]'s order id.
    pub fn order(&self) -> String {
        self.order_and_log().0
    }

    /// The latest sync log of an order (null when it has none).
    pub fn log(&self, order_id: &str) -> Value {
        let resp = self
            .app
            .get(&format!("/api/v1/orders/{order_id}"), Some(&self.token));
        resp.expect(200);
        resp.data()["sync_log"].clone()
    }

    /// Wait until the order's latest log has `status`; panics early when it settles on another
    /// final status.
    pub fn wait_status(&self, order_id: &str, status: &str) -> Value {
        self.wait_log_status(order_id, status, true)
    }

    /// Wait until the order's latest log has `status`, whatever it passes through.
    pub fn wait_log(&self, order_id: &str, status: &str) -> Value {
        self.wait_log_status(order_id, status, false)
    }

    fn wait_log_status(&self, order_id: &str, status: &str, settle_early: bool) -> Value {
        wait_for(PATIENCE, &format!("order {order_id} is {status}"), || {
            let log = self.log(order_id);
            let now = log["status"].as_str().unwrap_or("none").to_string();
            if now == status {
                return Ok(log);
            }
            if settle_early && (now == "success" || now == "failed") {
                panic!("order {order_id} settled on {now}, not {status}: {log:#}");
            }
            Err(log.to_string())
        })
    }

    /// The attempts of a log, oldest first (and `total` agrees).
    pub fn attempts(&self, log_id: &str) -> Vec<Value> {
        let resp = self.app.get(
            &format!("/api/v1/pos/sync-logs/{log_id}/attempts"),
            Some(&self.token),
        );
        resp.expect(200);
        let data = resp.data();
        let attempts = data["attempts"].as_array().unwrap().clone();
        assert_eq!(data["total"], json!(attempts.len()), "attempts total");
        attempts
    }

    /// Assert the log's attempts, oldest first, had these `(HTTP status, outcome)`s; returns
    /// the attempts.
    pub fn attempts_were(&self, log: &Value, want: &[(Value, &str)]) -> Vec<Value> {
        let attempts = self.attempts(log["id"].as_str().unwrap());
        let want: Vec<(Value, String)> = want
            .iter()
            .map(|(status, outcome)| (status.clone(), outcome.to_string()))
            .collect();
        assert_eq!(outcomes(&attempts), want, "{attempts:#?}");
        attempts
    }

    /// `GET /pos/integration/{business}` as it answers.
    pub fn integration_resp(&self) -> super::Resp {
        self.app.get(
            &format!("/api/v1/pos/integration/{}", self.business),
            Some(&self.token),
        )
    }

    /// The business's integration.
    pub fn integration(&self) -> Value {
        let resp = self.integration_resp();
        resp.expect(200);
        resp.data()["integration"].clone()
    }

    /// PATCH the integration's settings.
    pub fn patch_integration(&self, body: Value) -> Value {
        let resp = self.app.patch(
            &format!("/api/v1/pos/integration/{}", self.business),
            Some(&self.token),
            body,
        );
        resp.expect(200);
        resp.data()["integration"].clone()
    }

    /// `POST /pos/disconnect` for the business.
    pub fn disconnect(&self) {
        self.app
            .post(
                "/api/v1/pos/disconnect",
                Some(&self.token),
                json!({"business_id": self.business}),
            )
            .expect(200);
    }

    /// `GET /pos/history/{business}` with a query string (without `?`).
    pub fn history(&self, query: &str) -> super::Resp {
        self.app.get(
            &format!("/api/v1/pos/history/{}?{query}", self.business),
            Some(&self.token),
        )
    }

    /// `GET /pos/stats/{business}` → `data.stats`.
    pub fn stats(&self) -> Value {
        let resp = self.app.get(
            &format!("/api/v1/pos/stats/{}", self.business),
            Some(&self.token),
        );
        resp.expect(200);
        resp.data()["stats"].clone()
    }

    /// `POST /pos/sync/{order}` with an optional query string (with its `?`).
    pub fn sync(&self, order_id: &str, query: &str) -> super::Resp {
        self.app.post(
            &format!("/api/v1/pos/sync/{order_id}{query}"),
            Some(&self.token),
            json!({}),
        )
    }

    /// Sync an order by hand (the business does not auto-sync) and check what every provider
    /// does: 202 with the `provider`'s queued log, success, a 409 for a second sync, and the
    /// one log in history (filtered by status too) and stats. Returns the log.
    pub fn manual_sync_shows_in_history_and_stats(&self, order_id: &str, provider: &str) -> Value {
        assert_eq!(self.log(order_id), Value::Null, "no auto-sync");
        let resp = self.sync(order_id, "");
        resp.expect(202);
        assert_eq!(resp.body["message"], "Order sync initiated");
        assert_eq!(resp.data()["syncLog"]["provider"], provider);
        let log = self.wait_status(order_id, "success");
        // Already in the POS: 409 unless forced.
        self.sync(order_id, "").expect_error(409, "CONFLICT");
        for query in ["", "status=success"] {
            let history = self.history(query);
            history.expect(200);
            assert_eq!(history.data()["total"], json!(1), "history?{query}");
            assert_eq!(
                history.data()["logs"][0]["id"],
                log["id"],
                "history?{query}"
            );
        }
        let stats = self.stats();
        assert_eq!(stats["total_syncs"], json!(1));
        assert_eq!(stats["successful_syncs"], json!(1));
        assert_eq!(stats["success_rate"], json!(100.0));
        log
    }

    /// `GET /pos/preview/{order}` → `data`, asserting none of `secrets` shows in it.
    pub fn preview_hiding(&self, order_id: &str, secrets: &[String]) -> Value {
        let resp = self.app.get(
            &format!("/api/v1/pos/preview/{order_id}"),
            Some(&self.token),
        );
        resp.expect(200);
        for secret in secrets {
            assert!(!resp.text.contains(secret), "the preview leaks a secret");
        }
        resp.data().clone()
    }

    /// The business's notifications, newest first.
    pub fn business_notifications(&self) -> Vec<Value> {
        let resp = self.app.get(
            &format!("/api/v1/notifications?business_id={}", self.business),
            Some(&self.token),
        );
        resp.expect(200);
        resp.data()["notifications"].as_array().unwrap().clone()
    }
}
