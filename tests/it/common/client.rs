//! The one HTTP client of the tests: for possync in process ([`super::TestApp`] derefs to it),
//! possync as a child process, a mock's own endpoints, and the browser hops of an OAuth flow.
//! It never follows a redirect, so a test sees every hop.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value, json};

use super::Resp;

/// A client of one base URL (a path that is already a whole URL is sent as it is).
pub struct Client {
    /// `http://host:port` of the service (or `""` for a client that only takes whole URLs).
    pub base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the service at `base`.
    pub fn new(base: &str) -> Client {
        Client::with_timeout(base, Duration::from_secs(30))
    }

    /// A client that gives up on an answer after `timeout`.
    pub fn with_timeout(base: &str, timeout: Duration) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Client {
            base: base.to_string(),
            agent,
        }
    }

    /// A client for whole URLs only, as a browser follows them.
    pub fn browser() -> Client {
        Client::new("")
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// One request with these headers; `body` is sent as-is with its content type (an empty
    /// content type sends no `Content-Type`). `Err` when no answer came (refused, reset, timeout).
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Resp, ureq::Error> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut resp = match body {
            Some((content_type, bytes)) => {
                if !content_type.is_empty() {
                    req = req.header("content-type", content_type);
                }
                self.agent.run(req.body(bytes).unwrap())?
            }
            None => self.agent.run(req.body(()).unwrap())?,
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Resp {
            status,
            body,
            text,
            headers,
        })
    }

    /// [`Client::try_send`] that panics when no answer came.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// One request with an optional bearer token.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        self.send(method, path, &headers, body)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.raw("GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.raw("POST", path, token, Some(json_body(&body)))
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.raw("PATCH", path, token, Some(json_body(&body)))
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.raw("DELETE", path, token, None)
    }

    /// One request over a plain TCP connection that reads the answer even when the server stops
    /// reading the body early (as it does with a 413: an HTTP client that gives up on the first
    /// failed write, like ureq, never sees that answer). `chunked` sends the body without a
    /// `Content-Length`.
    pub fn raw_tcp(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
        chunked: bool,
    ) -> Resp {
        let mut head = self.tcp_head(method, path, token, content_type);
        let mut wire = Vec::new();
        if chunked {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            for chunk in body.chunks(64 * 1024) {
                wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                wire.extend_from_slice(chunk);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        } else {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            wire.extend_from_slice(body);
        }
        self.tcp_exchange(method, path, &head, &wire)
    }

    /// A request that declares a `Content-Length` of `declared` bytes and sends none of them:
    /// only an answer given on the headers alone comes back.
    pub fn raw_tcp_head(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        declared: usize,
    ) -> Resp {
        let mut head = self.tcp_head(method, path, token, content_type);
        head.push_str(&format!("Content-Length: {declared}\r\n\r\n"));
        self.tcp_exchange(method, path, &head, &[])
    }

    /// The request line and headers up to (not including) the body's framing.
    fn tcp_head(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
    ) -> String {
        let addr = self.base.trim_start_matches("http://");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: {content_type}\r\n"
        );
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head
    }

    /// Write `head` and `wire` on a new connection and read the answer to its end.
    fn tcp_exchange(&self, method: &str, path: &str, head: &str, wire: &[u8]) -> Resp {
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // The server may answer and close before it has read everything: a failed write is
        // expected then, and the answer is still there to read.
        let _ = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(wire));
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if raw.is_empty() => panic!("{method} {path}: no answer: {e}"),
                Err(_) => break,
            }
        }
        parse_http_response(&raw).unwrap_or_else(|| {
            panic!(
                "{method} {path}: not an HTTP answer: {:?}",
                String::from_utf8_lossy(&raw)
            )
        })
    }

    /// `POST /auth/register` with this email and password (no name).
    pub fn register(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/register",
            None,
            json!({"email": email, "password": password}),
        )
    }

    /// `POST /auth/login`; the answer as it comes.
    pub fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
    }

    /// Log in and return the token (the credentials must be right).
    pub fn login_token(&self, email: &str, password: &str) -> String {
        let resp = self.login(email, password);
        resp.expect(200);
        resp.data()["token"].as_str().unwrap().to_string()
    }

    /// Register a seller and log in; returns the bearer token.
    pub fn login_new_seller(&self, email: &str) -> String {
        self.post(
            "/api/v1/auth/register",
            None,
            json!({"email": email, "password": "correct horse", "name": "Test Seller"}),
        )
        .expect(201);
        self.login_token(email, "correct horse")
    }

    /// Create a business; returns its id.
    pub fn business(&self, token: &str, name: &str) -> String {
        let resp = self.post("/api/v1/businesses", Some(token), json!({"name": name}));
        resp.expect(201);
        resp.data()["business"]["id"].as_str().unwrap().to_string()
    }

    /// Add a dish; returns its id.
    pub fn dish(&self, token: &str, business: &str, name: &str, price: i64) -> String {
        let resp = self.post(
            &format!("/api/v1/businesses/{business}/dishes"),
            Some(token),
            json!({"name": name, "price": price}),
        );
        resp.expect(201);
        resp.data()["dish"]["id"].as_str().unwrap().to_string()
    }

    /// Create an order of `quantity` × the dish; returns the whole `data`.
    pub fn order(&self, token: &str, business: &str, dish: &str, quantity: i64) -> Value {
        let resp = self.post(
            "/api/v1/orders",
            Some(token),
            json!({
                "business_id": business,
                "customer_name": "Rahul Kumar",
                "customer_phone": "+919876543210",
                "special_instructions": "Ring the bell",
                "items": [{"dish_id": dish, "quantity": quantity, "note": "Extra spicy"}],
            }),
        );
        resp.expect(201);
        resp.data().clone()
    }

    /// Connect a business to Square with a plaintext token; returns the integration.
    pub fn connect_square(&self, token: &str, business: &str, access_token: &str) -> Value {
        let resp = self.post(
            "/api/v1/pos/connect",
            Some(token),
            json!({
                "business_id": business,
                "provider": "square",
                "access_token": access_token,
                "location_id": "L8AHQ2RX0BX1K",
            }),
        );
        resp.expect(200);
        resp.data()["integration"].clone()
    }
}

fn json_body(body: &Value) -> (&'static str, Vec<u8>) {
    ("application/json", body.to_string().into_bytes())
}

/// An HTTP/1.1 answer read to the end of the connection.
fn parse_http_response(raw: &[u8]) -> Option<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..end]).ok()?.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(end + 2..end + 2 + size)?);
            rest = rest.get(end + 2 + size + 2..)?;
        }
        body = decoded;
    } else if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Some(Resp {
        status,
        body: json,
        text,
        headers,
    })
}
