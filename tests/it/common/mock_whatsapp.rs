//! A mock WhatsApp Cloud API on 127.0.0.1 for the notification tests:
//! `POST /{phone_number_id}/messages` with `Authorization: Bearer <token>` and a text-message body
//! (`messaging_product: "whatsapp"`, `to` in digits, `type: "text"`, `text.body`) answers 200
//! `{"messaging_product":"whatsapp","contacts":[..],"messages":[{"id":"wamid.…"}]}`. It records every
//! request, notes anything that breaks the contract in `problems()`, and can be told to answer 500
//! to the next N requests.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::mock_http::{Action, Handler, Request, Response, Server};

/// The phone number id the tests configure (`--whatsapp-phone-number-id`).
pub const PHONE_NUMBER_ID: &str = "1234";
/// The access token the tests configure (`--whatsapp-token`).
pub const TOKEN: &str = "wa-token";

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
}

/// A text message the mock accepted (answered 200).
#[derive(Debug, Clone)]
pub struct Message {
    /// The `to` field: digits only.
    pub to: String,
    /// `text.body`.
    pub text: String,
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    messages: Vec<Message>,
    problems: Vec<String>,
    /// Answer 500 to this many more requests.
    fail_next: usize,
    next_id: u64,
}

/// A running mock; stops accepting when dropped.
pub struct MockWhatsApp {
    inner: Arc<Inner>,
    server: Server,
}

/// The contract the mock holds possync to, and what it saw.
struct Inner {
    phone_number_id: String,
    token: String,
    state: Mutex<State>,
}

impl MockWhatsApp {
    /// A mock for [`PHONE_NUMBER_ID`] and [`TOKEN`].
    pub fn start() -> MockWhatsApp {
        Self::start_for(PHONE_NUMBER_ID, TOKEN)
    }

    /// A mock that accepts `POST /{phone_number_id}/messages` with `Bearer {token}`.
    pub fn start_for(phone_number_id: &str, token: &str) -> MockWhatsApp {
        let inner = Arc::new(Inner {
            phone_number_id: phone_number_id.to_string(),
            token: token.to_string(),
            state: Mutex::new(State::default()),
        });
        let server = Server::start("mock-whatsapp", inner.clone());
        MockWhatsApp { inner, server }
    }

    /// `--whatsapp-api-url` for the service.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The service flags that point WhatsApp at this mock.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--whatsapp-api-url".into(),
            self.base_url(),
            "--whatsapp-phone-number-id".into(),
            self.inner.phone_number_id.clone(),
            "--whatsapp-token".into(),
            self.inner.token.clone(),
        ]
    }

    /// Answer 500 to the next `n` requests.
    pub fn fail_next(&self, n: usize) {
        self.inner.state.lock().unwrap().fail_next = n;
    }

    /// Every request, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.state.lock().unwrap().requests.clone()
    }

    /// Every accepted message, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.inner.state.lock().unwrap().messages.clone()
    }

    /// Contract violations seen (wrong path, token or body).
    pub fn problems(&self) -> Vec<String> {
        self.inner.state.lock().unwrap().problems.clone()
    }
}

fn graph_error(status: u16, code: i64, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
                         "fbtrace_id": "AbCdEfGh"}}),
    )
}

impl Inner {
    /// Check a request against the Cloud API's text-message contract; the answer.
    fn answer(&self, req: &Request, body: &Value) -> (u16, Value) {
        let (method, path, phone_number_id, token) = (
            req.method.as_str(),
            req.path.as_str(),
            &self.phone_number_id,
            &self.token,
        );
        let mut s = self.state.lock().unwrap();
        let mut problem = |p: String| s.problems.push(p);
        let header = |name: &str| req.header(name);
        let want_path = format!("/{phone_number_id}/messages");
        if method != "POST" || path != want_path {
            problem(format!(
                "unexpected {method} {path} (want POST {want_path})"
            ));
            return graph_error(404, 100, "Unsupported request");
        }
        if header("authorization") != Some(&format!("Bearer {token}")) {
            problem(format!(
                "wrong Authorization header: {:?}",
                header("authorization")
            ));
            return graph_error(401, 190, "Invalid OAuth access token.");
        }
        if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
            problem(format!("Content-Type is {:?}", header("content-type")));
        }
        let mut invalid = Vec::new();
        if body["messaging_product"] != json!("whatsapp") {
            invalid.push("messaging_product must be \"whatsapp\"".to_string());
        }
        let to = body["to"].as_str().unwrap_or_default().to_string();
        if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) {
            invalid.push(format!("`to` must be digits: {:?}", body["to"]));
        }
        if body["type"] != json!("text") {
            invalid.push(format!("type must be \"text\": {:?}", body["type"]));
        }
        let text = body["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if text.is_empty() {
            invalid.push("text.body is missing or empty".to_string());
        }
        if text.chars().count() > 4096 {
            invalid.push(format!(
                "text.body is {} characters (max 4096)",
                text.chars().count()
            ));
        }
        if !invalid.is_empty() {
            for p in &invalid {
                problem(p.clone());
            }
            return graph_error(
                400,
                100,
                &format!("Invalid parameter: {}", invalid.join("; ")),
            );
        }
        if s.fail_next > 0 {
            s.fail_next -= 1;
            return graph_error(500, 1, "An unknown error occurred");
        }
        s.next_id += 1;
        let id = format!("wamid.HBgM{:012}", s.next_id);
        s.messages.push(Message {
            to: to.clone(),
            text,
        });
        (
            200,
            json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": id}],
            }),
        )
    }
}

impl Handler for Inner {
    fn handle(&self, req: &Request) -> Action {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let (status, answer_body) = self.answer(req, &body);
        self.state.lock().unwrap().requests.push(Recorded { body });
        Action::Respond(Response::json(status, &answer_body))
    }
}
