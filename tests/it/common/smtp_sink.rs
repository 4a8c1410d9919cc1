//! A minimal SMTP server on 127.0.0.1 for the notification tests: enough of RFC 5321 for lettre
//! without TLS (greeting, EHLO/HELO without STARTTLS, MAIL FROM, RCPT TO, DATA with
//! dot-termination, RSET, NOOP, QUIT). It records every accepted message and can be told to refuse
//! mail (451 to MAIL FROM) to play a channel that is down, or to hold connections without a
//! greeting to play one that hangs, then recover.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The MAIL FROM address (without angle brackets).
    pub from: String,
    /// The RCPT TO addresses (without angle brackets).
    pub to: Vec<String>,
    /// The message as sent after DATA (dot-unstuffed, CRLF line ends, without the final dot).
    pub data: String,
}

impl Mail {
    /// The value of a header (unfolded, RFC 2047 encoded words decoded); case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_message(&self.data);
        unfolded_headers(head)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_words(&v))
    }

    /// The decoded Subject header ("" when there is none).
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The body, decoded from its Content-Transfer-Encoding (7bit/8bit, quoted-printable, base64).
    pub fn body(&self) -> String {
        let (_, body) = split_message(&self.data);
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match encoding.as_str() {
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("a base64 body");
                String::from_utf8_lossy(&bytes).into_owned()
            }
            "quoted-printable" => {
                String::from_utf8_lossy(&decode_quoted_printable(body, false)).into_owned()
            }
            _ => body.to_string(),
        }
    }
}

/// What the sink does with MAIL FROM.
#[derive(Debug, Default)]
struct State {
    messages: Vec<Mail>,
    /// Refuse every MAIL FROM (451) while set.
    refusing: bool,
    /// Refuse this many more MAIL FROMs (451), then accept again.
    refuse_next: usize,
    /// MAIL FROM commands answered 451.
    refused: usize,
    /// Hold new connections silent (no greeting) while set: a server that hangs.
    stalling: bool,
    /// Connections that were held silent.
    stalled: usize,
    /// Connections accepted.
    connections: usize,
    /// Anything a client did that a strict server would object to.
    problems: Vec<String>,
}

/// A running sink; stops accepting when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl SmtpSink {
    /// Listen on 127.0.0.1 with a free port; a thread per connection.
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::Builder::new()
            .name("smtp-sink".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    s.lock().unwrap().connections += 1;
                    let s = s.clone();
                    let _ = std::thread::Builder::new()
                        .name("smtp-sink-conn".into())
                        .spawn(move || {
                            let _ = serve(stream, &s);
                        });
                }
            })
            .unwrap();
        SmtpSink { addr, state, stop }
    }

    /// `--smtp-url` for the service: plain SMTP to this sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.addr.port())
    }

    /// Every accepted message, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Refuse all mail (451 to MAIL FROM) until called with `false`.
    pub fn set_refusing(&self, refusing: bool) {
        self.state.lock().unwrap().refusing = refusing;
    }

    /// Hold every new connection silent (no 220 greeting) until called with `false`: a mail
    /// server that accepts connections and then hangs.
    pub fn set_stalling(&self, stalling: bool) {
        self.state.lock().unwrap().stalling = stalling;
    }

    /// How many connections were held silent.
    pub fn stalled(&self) -> usize {
        self.state.lock().unwrap().stalled
    }

    /// How many MAIL FROMs were refused.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// Protocol problems the sink saw (commands out of order, unknown commands).
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn strip_path(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(arg, |(inner, _)| inner);
    inner.trim().to_string()
}

/// Serve one SMTP session.
fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let reply = |out: &mut TcpStream, text: &str| out.write_all(text.as_bytes());
    let problem = |what: String| state.lock().unwrap().problems.push(what);

    if state.lock().unwrap().stalling {
        state.lock().unwrap().stalled += 1;
        let start = Instant::now();
        while state.lock().unwrap().stalling && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    reply(&mut out, "220 smtp-sink.test ESMTP ready\r\n")?;
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let upper = command.to_ascii_uppercase();
        let verb = upper
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                from = None;
                to.clear();
                reply(
                    &mut out,
                    "250-smtp-sink.test greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n",
                )?;
            }
            "HELO" => {
                greeted = true;
                from = None;
                to.clear();
                reply(&mut out, "250 smtp-sink.test\r\n")?;
            }
            "MAIL" => {
                if !greeted {
                    problem(format!("MAIL before EHLO: {command}"));
                }
                let refuse = {
                    let mut s = state.lock().unwrap();
                    let refuse = s.refusing || s.refuse_next > 0;
                    if refuse {
                        s.refuse_next = s.refuse_next.saturating_sub(1);
                        s.refused += 1;
                    }
                    refuse
                };
                if refuse {
                    reply(
                        &mut out,
                        "451 4.3.0 Mail server temporarily unavailable, try again later\r\n",
                    )?;
                    continue;
                }
                let arg = command.get(10..).unwrap_or_default(); // after "MAIL FROM:"
                if !upper.starts_with("MAIL FROM:") {
                    problem(format!("bad MAIL: {command}"));
                    reply(&mut out, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n")?;
                    continue;
                }
                from = Some(strip_path(arg.split(' ').next().unwrap_or(arg)));
                to.clear();
                reply(&mut out, "250 2.1.0 OK\r\n")?;
            }
            "RCPT" => {
                if from.is_none() {
                    problem(format!("RCPT before MAIL: {command}"));
                    reply(&mut out, "503 5.5.1 MAIL first\r\n")?;
                    continue;
                }
                if !upper.starts_with("RCPT TO:") {
                    problem(format!("bad RCPT: {command}"));
                    reply(&mut out, "501 5.5.4 Syntax: RCPT TO:<address>\r\n")?;
                    continue;
                }
                to.push(strip_path(&command[8..]));
                reply(&mut out, "250 2.1.5 OK\r\n")?;
            }
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    problem(format!("DATA without MAIL/RCPT: {command}"));
                    reply(&mut out, "503 5.5.1 MAIL and RCPT first\r\n")?;
                    continue;
                }
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let mut data = String::new();
                let mut raw = Vec::new();
                loop {
                    raw.clear();
                    if reader.read_until(b'\n', &mut raw)? == 0 {
                        return Ok(()); // the client hung up mid-message: nothing recorded
                    }
                    let text = String::from_utf8_lossy(&raw);
                    let content = text.trim_end_matches(['\r', '\n']);
                    if content == "." {
                        break;
                    }
                    let content = content.strip_prefix('.').unwrap_or(content);
                    data.push_str(content);
                    data.push_str("\r\n");
                }
                state.lock().unwrap().messages.push(Mail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                });
                reply(&mut out, "250 2.0.0 OK queued\r\n")?;
            }
            "RSET" => {
                from = None;
                to.clear();
                reply(&mut out, "250 2.0.0 OK\r\n")?;
            }
            "NOOP" => reply(&mut out, "250 2.0.0 OK\r\n")?,
            "QUIT" => {
                reply(&mut out, "221 2.0.0 Bye\r\n")?;
                return Ok(());
            }
            _ => {
                problem(format!("unknown command: {command}"));
                reply(&mut out, "502 5.5.2 Command not recognized\r\n")?;
            }
        }
    }
}

/// Headers and body of a message (split at the first empty line).
fn split_message(data: &str) -> (&str, &str) {
    data.split_once("\r\n\r\n")
        .or_else(|| data.split_once("\n\n"))
        .unwrap_or((data, ""))
}

/// `(name, value)` pairs with folded lines joined.
fn unfolded_headers(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    headers
}

/// Decode RFC 2047 encoded words (`=?charset?B|Q?text?=`); whitespace between two encoded words
/// is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let decoded = rest[start + 2..].splitn(3, '?').collect::<Vec<_>>();
        let word = (decoded.len() == 3)
            .then(|| {
                let (_charset, encoding, tail) = (decoded[0], decoded[1], decoded[2]);
                let end = tail.find("?=")?;
                let text = &tail[..end];
                let bytes = match encoding.to_ascii_uppercase().as_str() {
                    "B" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?,
                    "Q" => decode_quoted_printable(text, true),
                    _ => return None,
                };
                let consumed = start + 2 + decoded[0].len() + 1 + decoded[1].len() + 1 + end + 2;
                Some((String::from_utf8_lossy(&bytes).into_owned(), consumed))
            })
            .flatten();
        match word {
            Some((text, consumed)) => {
                let between = &rest[..start];
                if !(last_was_word && between.trim().is_empty()) {
                    out.push_str(between);
                }
                out.push_str(&text);
                rest = &rest[consumed..];
                last_was_word = true;
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Quoted-printable (RFC 2045) or, with `q_word`, the Q encoding of RFC 2047 (`_` is a space).
fn decode_quoted_printable(text: &str, q_word: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b'_' if q_word => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
