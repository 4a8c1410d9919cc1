//! possync's public API as the benchmark uses it: an HTTP client, a seller with a business,
//! two dishes and a Square connection (a [`Shop`]), and the sync stats.

use std::time::Duration;

use serde_json::{Value, json};

/// An HTTP client that reads every status as an answer, with this overall timeout.
pub fn agent_with_timeout(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// The load driver's client (a minute's timeout: a held POS never makes the intake wait).
pub fn agent() -> ureq::Agent {
    agent_with_timeout(Duration::from_secs(60))
}

fn read_answer(sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    match sent {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// POST `body` as JSON; (status, the answer's JSON), status 0 when no answer came.
pub fn http_post(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut req = agent.post(url).header("Content-Type", "application/json");
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    read_answer(req.send(body.to_string()))
}

/// GET; (status, the answer's JSON), status 0 when no answer came.
pub fn http_get(agent: &ureq::Agent, url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = agent.get(url);
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    read_answer(req.call())
}

/// The Square location every shop is connected at, unless a phase moves one.
pub const LOCATION: &str = "LBENCH0001";

/// A seller signed in, with a business, two dishes and Square connected.
#[derive(Clone)]
pub struct Shop {
    /// The API's base URL (`…/api/v1`).
    pub api: String,
    /// The seller's bearer token.
    pub token: String,
    /// The business id.
    pub business: String,
    /// Two dish ids (every order has both).
    pub dishes: [String; 2],
}

/// Sync counts from `GET /pos/stats/{business}`.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub total: i64,
    pub success: i64,
    pub failed: i64,
}

impl Shop {
    /// Register a seller on the API at `api`, create the business and dishes, connect Square.
    pub fn set_up(api: &str) -> Shop {
        let agent = agent();
        let email = "bench@possync.test";
        let password = "bench password 1";
        let call = |what: &str, path: &str, body: Value, want: u16| {
            let (status, answer) = http_post(&agent, &format!("{api}{path}"), None, &body);
            assert_eq!(status, want, "{what}: HTTP {status}: {answer}");
            answer["data"].clone()
        };
        call(
            "register",
            "/auth/register",
            json!({"email": email, "password": password, "name": "Bench"}),
            201,
        );
        let login = call(
            "login",
            "/auth/login",
            json!({"email": email, "password": password}),
            200,
        );
        let token = login["token"].as_str().expect("token").to_string();
        Shop::stock(&agent, api, &token, "Bench Bistro")
    }

    /// This shop and `n - 1` more businesses of the same seller, each with its two dishes and
    /// its own Square connection (a lane each).
    pub fn and_more(&self, n: usize) -> Vec<Shop> {
        let agent = agent();
        let mut shops = vec![self.clone()];
        for k in 1..n {
            let name = format!("Bench Bistro {k}");
            shops.push(Shop::stock(&agent, &self.api, &self.token, &name));
        }
        shops
    }

    /// A new business of the seller behind `token`: two dishes, Square connected.
    fn stock(agent: &ureq::Agent, api: &str, token: &str, name: &str) -> Shop {
        // The `data` of the answer, which must come with `want`.
        let call = |what: &str, path: &str, body: Value, want: u16| {
            let (status, answer) = http_post(agent, &format!("{api}{path}"), Some(token), &body);
            assert_eq!(status, want, "{what}: HTTP {status}: {answer}");
            answer["data"].clone()
        };
        let id = |data: Value, object: &str| {
            data[object]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{object} id in {data}"))
                .to_string()
        };
        let body = json!({"name": name, "currency": "INR", "timezone": "Asia/Kolkata"});
        let business = id(
            call("create business", "/businesses", body, 201),
            "business",
        );
        let dish = |name: &str, price: i64| {
            let path = format!("/businesses/{business}/dishes");
            let body = json!({"name": name, "price": price});
            id(call("create dish", &path, body, 201), "dish")
        };
        let dishes = [
            dish("Paneer Butter Masala", 30000),
            dish("Butter Naan", 6000),
        ];
        let shop = Shop {
            api: api.to_string(),
            token: token.to_string(),
            business,
            dishes,
        };
        shop.connect_square(agent, LOCATION);
        shop
    }

    /// (Re)connect Square at `location` (the mock can fault one location alone).
    pub fn connect_square(&self, agent: &ureq::Agent, location: &str) {
        let body = json!({"business_id": self.business, "provider": "square",
                          "access_token": "bench-square-token", "location_id": location});
        let url = format!("{}/pos/connect", self.api);
        let (status, answer) = http_post(agent, &url, Some(&self.token), &body);
        assert_eq!(status, 200, "connect square: HTTP {status}: {answer}");
    }

    /// GET `path` (below the API's base) as the seller.
    pub fn get(&self, agent: &ureq::Agent, path: &str) -> (u16, Value) {
        http_get(agent, &format!("{}{path}", self.api), Some(&self.token))
    }

    /// The business's sync counts, or `None` while the API does not answer 200.
    pub fn stats(&self, agent: &ureq::Agent) -> Option<Stats> {
        let (status, body) = self.get(agent, &format!("/pos/stats/{}", self.business));
        if status != 200 {
            return None;
        }
        let s = &body["data"]["stats"];
        let n = |k: &str| s[k].as_i64().unwrap_or(0);
        Some(Stats {
            total: n("total_syncs"),
            success: n("successful_syncs"),
            failed: n("failed_syncs"),
        })
    }
}
