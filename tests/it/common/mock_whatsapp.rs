//! A mock WhatsApp Cloud API on 127.0.0.1 for the notification tests:
//! `POST /{phone_number_id}/messages` with `Authorization: Bearer <token>` and a text-message body
//! (`messaging_product: "whatsapp"`, `to` in digits, `type: "text"`, `text.body`) answers 200
//! `{"messaging_product":"whatsapp","contacts":[..],"messages":[{"id":"wamid.…"}]}`. It records every
//! request, notes anything that breaks the contract in `problems()`, and can be told to answer 500
//! to the next N requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

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
    addr: SocketAddr,
    phone_number_id: String,
    token: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl MockWhatsApp {
    /// A mock for [`PHONE_NUMBER_ID`] and [`TOKEN`].
    pub fn start() -> MockWhatsApp {
        Self::start_for(PHONE_NUMBER_ID, TOKEN)
    }

    /// A mock that accepts `POST /{phone_number_id}/messages` with `Bearer {token}`.
    pub fn start_for(phone_number_id: &str, token: &str) -> MockWhatsApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the WhatsApp mock");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let (id, tok) = (phone_number_id.to_string(), token.to_string());
        std::thread::Builder::new()
            .name("mock-whatsapp".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (s, id, tok) = (s.clone(), id.clone(), tok.clone());
                    let _ = std::thread::Builder::new()
                        .name("mock-whatsapp-conn".into())
                        .spawn(move || {
                            let _ = serve(stream, &s, &id, &tok);
                        });
                }
            })
            .unwrap();
        MockWhatsApp {
            addr,
            phone_number_id: phone_number_id.to_string(),
            token: token.to_string(),
            state,
            stop,
        }
    }

    /// `--whatsapp-api-url` for the service.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service flags that point WhatsApp at this mock.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--whatsapp-api-url".into(),
            self.base_url(),
            "--whatsapp-phone-number-id".into(),
            self.phone_number_id.clone(),
            "--whatsapp-token".into(),
            self.token.clone(),
        ]
    }

    /// Answer 500 to the next `n` requests.
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    /// Every request, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Every accepted message, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Contract violations seen (wrong path, token or body).
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }
}

impl Drop for MockWhatsApp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn graph_error(status: u16, code: i64, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
                         "fbtrace_id": "AbCdEfGh"}}),
    )
}

/// Check a request against the Cloud API's text-message contract; the answer.
fn answer(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &Value,
    phone_number_id: &str,
    token: &str,
) -> (u16, Value) {
    let mut s = state.lock().unwrap();
    let mut problem = |p: String| s.problems.push(p);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
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

/// Serve requests on one connection (keep-alive unless the client says close).
fn serve(
    stream: TcpStream,
    state: &Mutex<State>,
    phone_number_id: &str,
    token: &str,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let path = target.split('?').next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut raw = Vec::new();
        if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                raw.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            raw.resize(len, 0);
            reader.read_exact(&mut raw)?;
        }
        let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        let (status, answer_body) = answer(
            state,
            &method,
            &path,
            &headers,
            &body,
            phone_number_id,
            token,
        );
        state.lock().unwrap().requests.push(Recorded { body });
        let text = answer_body.to_string();
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        let close = header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        write!(
            out,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{text}",
            text.len(),
            if close { "Connection: close\r\n" } else { "" }
        )?;
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}
