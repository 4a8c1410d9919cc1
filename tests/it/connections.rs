//! Client connections cannot stop the service (issue 17 item 11): idle sockets by the
//! thousand, clients that trickle their headers or idle between requests, and the cap.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tempfile::TempDir;

use crate::common::binary;
use crate::operations::Service;

/// Raise this test process's soft open-file limit to fit `wanted` sockets (the child inherits
/// it only as its hard limit allows); returns how many sockets fit.
fn fit_sockets(wanted: u64) -> u64 {
    let limit = getrlimit(Resource::Nofile);
    let room = 256;
    let max = limit.maximum.unwrap_or(u64::MAX);
    let want = (wanted + room).min(max);
    if limit.current.is_some_and(|current| current < want) {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(want),
                maximum: limit.maximum,
            },
        );
    }
    let current = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    wanted.min(current.saturating_sub(room))
}

/// `possync serve` on `dir`, started with the soft open-file limit the issue met (1,024) when
/// `prlimit(1)` is there and the hard limit allows more: possync must raise it itself.
fn spawn_low_limit(dir: &TempDir, extra: &[&str]) -> Service {
    let hard = getrlimit(Resource::Nofile).maximum.unwrap_or(u64::MAX);
    let prlimit = Command::new("prlimit").arg("--version").output().is_ok();
    let mut cmd = if prlimit && hard > 1024 {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile=1024:{hard}")).arg(binary());
        cmd
    } else {
        Command::new(binary())
    };
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("POSSYNC_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(extra);
    Service::spawn_command(cmd)
}

fn addr(service: &Service) -> SocketAddr {
    service
        .client
        .base
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

/// Wait (at most `limit`) until the server closes `conn`; panics if it stays open.
fn wait_closed(conn: &mut TcpStream, limit: Duration, what: &str) {
    let started = Instant::now();
    conn.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
    panic!("{what}: still open after {limit:?}");
}

#[test]
fn healthz_and_orders_answer_while_1500_idle_connections_are_held() {
    let count = fit_sockets(1500);
    let dir = TempDir::new().unwrap();
    // Long timeouts: the idle sockets stay open for the whole test.
    let service = spawn_low_limit(&dir, &["--header-timeout", "10m", "--idle-timeout", "10m"]);
    let to = addr(&service);
    let idle: Vec<TcpStream> = (0..count)
        .map(|_| TcpStream::connect_timeout(&to, Duration::from_secs(5)).unwrap())
        .collect();

    let app = &service.client;
    app.get("/healthz", None).expect(200);
    let token = app.login_new_seller("idle@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Tikka", 24_000);
    let order = app.order(&token, &business, &dish, 2)["order"].clone();
    assert!(order["id"].is_string(), "{order}");
    app.get("/healthz", None).expect(200);

    // The idle sockets were all taken, none refused or closed.
    for mut conn in idle.into_iter().step_by(100) {
        conn.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let err = conn.read(&mut [0u8; 16]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err}"
        );
    }
    let logs = service.logs().join("\n");
    assert!(!logs.contains("connection cap reached"), "{logs}");
    assert!(!logs.contains("cannot accept"), "{logs}");
}

#[test]
fn silent_trickling_and_idle_connections_are_closed_after_their_timeouts() {
    let dir = TempDir::new().unwrap();
    let service = spawn_low_limit(&dir, &["--header-timeout", "1s", "--idle-timeout", "2s"]);
    let to = addr(&service);
    let limit = Duration::from_secs(20);

    let mut silent: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(to).unwrap()).collect();
    for conn in &mut silent {
        wait_closed(conn, limit, "a connection that never sent a byte");
    }

    // A header line every 300 ms: bytes keep coming, the headers never end.
    let mut trickle = TcpStream::connect(to).unwrap();
    trickle.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    let closed = loop {
        assert!(
            started.elapsed() < limit,
            "a trickled request is still open"
        );
        std::thread::sleep(Duration::from_millis(300));
        if trickle.write_all(b"X-Slow: yes\r\n").is_err() {
            break true;
        }
        trickle
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        match trickle.read(&mut [0u8; 64]) {
            Ok(0) => break true,
            Ok(_) => break false,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break true,
        }
    };
    assert!(
        closed,
        "the trickled request was answered instead of closed"
    );

    // One answered request, then silence: closed after the idle timeout.
    let mut kept = TcpStream::connect(to).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: possync\r\n\r\n")
        .unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    wait_closed(
        &mut kept,
        limit,
        "a kept-alive connection with no new request",
    );

    service.client.get("/healthz", None).expect(200);
}

#[test]
fn at_the_connection_cap_new_clients_wait_and_it_is_logged_once() {
    let dir = TempDir::new().unwrap();
    let service = spawn_low_limit(&dir, &["--max-connections", "10", "--header-timeout", "1s"]);
    let to = addr(&service);
    let _silent: Vec<TcpStream> = (0..30).map(|_| TcpStream::connect(to).unwrap()).collect();
    // The silent ones time out ten at a time; then /healthz gets its turn.
    service.client.get("/healthz", None).expect(200);
    let logs = service.logs();
    let reached = logs
        .iter()
        .filter(|line| line.contains("connection cap reached"))
        .count();
    assert_eq!(reached, 1, "{}", logs.join("\n"));
    assert!(
        logs.iter()
            .any(|line| line.contains("max_connections") && line.contains("10")),
        "{}",
        logs.join("\n")
    );
}
