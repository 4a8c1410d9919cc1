//! The one HTTP/1.1 server behind every mock (Square, Zoho, Dine, WhatsApp).
//!
//! Our own rather than wiremock (STYLE.md): each mock is a stateful [`Handler`] that checks every
//! request against the providers' schemas and prose rules, and the faults the sync tests need
//! (a reset before or after the work is done, an answer that comes too late) are socket-level.
//!
//! Thread-per-connection on 127.0.0.1 (port 0), keep-alive unless the client says
//! `Connection: close` or speaks HTTP/1.0, bodies by `Content-Length` or chunked.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// A request head larger than this is refused (no client of ours sends one).
const MAX_HEAD: usize = 64 * 1024;
/// How long an idle keep-alive connection is kept.
const IDLE: Duration = Duration::from_secs(30);

/// One request, read whole.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Decoded query parameters (`+` and `%XX` decoded, as servers do), in order.
    pub query: Vec<(String, String)>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// A header by name (case-insensitive) among `headers`: for every mock's recorded requests.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Request {
    /// A header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The first query parameter of this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON: `Ok(Null)` when empty or blank.
    pub fn json(&self) -> Result<Value, String> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| e.to_string())
    }
}

/// One answer; the server adds `Date`, `Content-Length` and `Connection`.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// `status` with a JSON body (`Content-Type: application/json`).
    pub fn json(status: u16, body: &Value) -> Response {
        Response::text(status, "application/json", &body.to_string())
    }

    /// `status` with a body of this content type.
    pub fn text(status: u16, content_type: &str, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// The same answer with one more header (after the ones it has).
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same answer with this `Content-Type` instead (a POS that names its charset).
    pub fn with_content_type(mut self, content_type: &str) -> Response {
        for (name, value) in &mut self.headers {
            if name.eq_ignore_ascii_case("content-type") {
                *value = content_type.into();
            }
        }
        self
    }
}

/// What the server does with a request.
#[derive(Debug)]
pub enum Action {
    /// Answer now.
    Respond(Response),
    /// Answer after this long (the client may have given up by then).
    Delayed(Duration, Response),
    /// Close the connection without answering.
    Reset,
}

impl Action {
    /// The same action with its answer (if any) changed, e.g. a header every answer carries.
    pub fn map(self, f: impl FnOnce(Response) -> Response) -> Action {
        match self {
            Action::Respond(resp) => Action::Respond(f(resp)),
            Action::Delayed(delay, resp) => Action::Delayed(delay, f(resp)),
            Action::Reset => Action::Reset,
        }
    }
}

/// The socket-level faults every mock offers around the work a request asks for (creating the
/// order): whether the work happens is what a retry must cope with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitFault {
    /// Close without answering; nothing is done.
    ResetBefore,
    /// Do the work, then close without answering.
    ResetAfter,
    /// Do the work, then answer after this long: a client with a shorter timeout gives up
    /// although the order exists (a timeout after commit), or concurrent calls line up.
    DelayAfter(Duration),
}

impl CommitFault {
    /// The action for this fault around `work`, which runs unless the reset comes first.
    pub fn around(self, work: impl FnOnce() -> Response) -> Action {
        match self {
            CommitFault::ResetBefore => Action::Reset,
            CommitFault::ResetAfter => {
                let _ = work();
                Action::Reset
            }
            CommitFault::DelayAfter(delay) => Action::Delayed(delay, work()),
        }
    }
}

/// A mock's behaviour: one call per request, on the connection's thread.
pub trait Handler: Send + Sync + 'static {
    /// The action for one request.
    fn handle(&self, req: &Request) -> Action;

    /// The answer to bytes that are not an HTTP/1.1 request (the connection closes after it).
    fn malformed(&self, why: &str) -> Response {
        Response::text(400, "text/plain", why)
    }
}

/// A listening server; stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Listen on 127.0.0.1 with an OS-assigned port; `name` names the threads. The mock keeps
    /// its own clone of `handler` to inspect the state.
    pub fn start<H: Handler>(name: &str, handler: Arc<H>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a mock server");
        let addr = listener.local_addr().expect("mock server address");
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<dyn Handler> = handler;
        let flag = stop.clone();
        let thread_name = format!("{name}-{}", addr.port());
        std::thread::Builder::new()
            .name(thread_name.clone())
            .spawn(move || {
                for stream in listener.incoming() {
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let handler = handler.clone();
                    let _ = std::thread::Builder::new()
                        .name(format!("{thread_name}-conn"))
                        .spawn(move || serve_connection(&*handler, stream));
                }
            })
            .expect("spawn a mock server");
        Server { addr, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve_connection(handler: &dyn Handler, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let resp = handler.malformed(&e.to_string());
                    let _ = write_response(&mut stream, &resp, false);
                }
                return;
            }
        };
        let keep_alive = req.version != "HTTP/1.0"
            && !req
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let resp = match handler.handle(&req) {
            Action::Reset => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Action::Delayed(delay, resp) => {
                std::thread::sleep(delay);
                resp
            }
            Action::Respond(resp) => resp,
        };
        if write_response(&mut stream, &resp, keep_alive).is_err() || !keep_alive {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn truncated(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what.to_string())
}

/// Read one request; `Ok(None)` on a clean end of the connection.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("request head too large"));
        }
        if !fill(stream, buf)? {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(truncated("truncated head"))
            };
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let parts: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let [method, target, version] = parts[..] else {
        return Err(invalid("malformed request line"));
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("malformed header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (
            p.to_string(),
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ),
        None => (target.to_string(), Vec::new()),
    };
    let mut req = Request {
        method: method.to_string(),
        path,
        query,
        version: version.to_string(),
        headers,
        body: Vec::new(),
    };
    req.body = if req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        read_chunked(stream, buf)?
    } else {
        let len: usize = match req.header("content-length") {
            Some(v) => v.parse().map_err(|_| invalid("bad content-length"))?,
            None => 0,
        };
        while buf.len() < len {
            if !fill(stream, buf)? {
                return Err(truncated("truncated body"));
            }
        }
        buf.drain(..len).collect()
    };
    Ok(Some(req))
}

fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<String> {
    loop {
        if let Some(pos) = find(buf, b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..pos]).to_string();
            buf.drain(..pos + 2);
            return Ok(line);
        }
        if !fill(stream, buf)? {
            return Err(truncated("truncated chunk"));
        }
    }
}

fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf)?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailers up to the empty line.
            while !read_line(stream, buf)?.is_empty() {}
            return Ok(body);
        }
        while buf.len() < size + 2 {
            if !fill(stream, buf)? {
                return Err(truncated("truncated chunk"));
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
    }
}

/// Read more bytes into `buf`; false at end of stream.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn write_response(stream: &mut TcpStream, resp: &Response, keep_alive: bool) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Date: {}\r\n",
        httpdate::fmt_http_date(SystemTime::now())
    ));
    head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    head.push_str(if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    stream.write_all(head.as_bytes())?;
    stream.write_all(&resp.body)?;
    stream.flush()
}

/// The reason phrase of a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
