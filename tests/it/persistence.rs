//! What lives on disk: data survives a restart, a newer database and a wrong master key are
//! refused with a clear message, the key file is private, the spec in the repo is the binary's,
//! and `serve` starts and stops like a service should.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use common::{
    OFFLINE, TestApp, db_snapshot, open_db_read_only, possync_command, run_possync,
    snapshot_changes,
};
use serde_json::json;
use tempfile::TempDir;

const PASSWORD: &str = "correct horse";

fn other_master_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

#[test]
fn data_survives_a_restart_on_the_same_data_dir() {
    let app = TestApp::start_offline(&[]);
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let order = app.order(&token, &business, &dish, 2)["order"].clone();
    let integration = app.connect_square(&token, &business, "EAAAl-survives-restart");
    let patched = app.patch(
        &format!("/api/v1/businesses/{business}"),
        Some(&token),
        json!({"notification_email": "alerts@spicegarden.in"}),
    );
    patched.expect(200);
    let business_before = patched.data()["business"].clone();
    let integration_before = app
        .get(&format!("/api/v1/pos/integration/{business}"), Some(&token))
        .data()["integration"]
        .clone();
    assert_eq!(integration_before["id"], integration["id"]);

    let dir = app.stop();
    let app = TestApp::start_in(dir, OFFLINE);

    // The old login token still works, and everything is where it was.
    let me = app.get("/api/v1/auth/me", Some(&token));
    me.expect(200);
    assert_eq!(me.data()["seller"]["email"], "owner@spicegarden.in");
    let resp = app.get(&format!("/api/v1/businesses/{business}"), Some(&token));
    resp.expect(200);
    assert_eq!(resp.data()["business"], business_before);
    let resp = app.get(
        &format!("/api/v1/businesses/{business}/dishes"),
        Some(&token),
    );
    assert_eq!(resp.data()["dishes"][0]["id"], json!(dish));
    let id = order["id"].as_str().unwrap();
    let resp = app.get(&format!("/api/v1/orders/{id}"), Some(&token));
    resp.expect(200);
    assert_eq!(resp.data()["order"], order);
    let resp = app.get(&format!("/api/v1/pos/integration/{business}"), Some(&token));
    resp.expect(200);
    assert_eq!(resp.data()["integration"], integration_before);
    // The password still logs in, and the sealed token still opens (or start-up would refuse).
    app.login("owner@spicegarden.in", PASSWORD).expect(200);
}

#[test]
fn a_database_from_a_newer_possync_is_refused_with_a_clear_message() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().display().to_string();
    let run = run_possync(&["migrate", "--data-dir", &data_dir], None);
    run.expect_success();
    let db = dir.path().join("possync.db");
    let current: i64 = open_db_read_only(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(current >= 1);
    assert!(
        run.stdout.contains(&format!("schema version {current}")),
        "migrate should say the version: {}",
        run.stdout
    );
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let before = db_snapshot(&db);

    let mut serve = possync_command();
    serve.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_dir]);
    for run in [
        run_possync(&["migrate", "--data-dir", &data_dir], None),
        common::run_command(serve, None, Duration::from_secs(30)),
    ] {
        assert_ne!(
            run.code,
            Some(0),
            "a too-new database was accepted: {run:?}"
        );
        let stderr = run.stderr.to_lowercase();
        assert!(
            stderr.contains("999") && stderr.contains("schema version"),
            "the message should name the database's version: {}",
            run.stderr
        );
        assert!(
            stderr.contains(&format!("up to {current}")),
            "the message should name the version this possync knows: {}",
            run.stderr
        );
        assert!(
            stderr.contains("newer possync"),
            "the message should say what to do: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("Swagger UI"),
            "serve started: {}",
            run.stderr
        );
    }

    // Refused untouched.
    let version: i64 = open_db_read_only(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 999);
    assert_eq!(
        snapshot_changes(&before, &db_snapshot(&db)),
        Vec::<String>::new()
    );

    // The same through the library entry point the harness uses.
    let err = match TestApp::try_start_in(dir, &[]) {
        Ok(_) => panic!("a too-new database was served"),
        Err((err, _)) => err.to_string(),
    };
    assert!(err.contains("999"), "{err}");
}

#[test]
fn migrating_a_fresh_directory_twice_then_serving_works() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().display().to_string();
    run_possync(&["migrate", "--data-dir", &data_dir], None).expect_success();
    // Twice is fine: nothing left to apply.
    let again = run_possync(&["migrate", "--data-dir", &data_dir], None);
    again.expect_success();
    let app = TestApp::start_in(dir, &[]);
    let token = app.login_new_seller("fresh@spicegarden.in");
    app.business(&token, "Spice Garden");
}

#[test]
fn a_wrong_master_key_refuses_to_start_when_tokens_are_stored_and_changes_nothing() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    app.connect_square(&token, &business, "EAAAl-sealed-under-the-key-file");
    let dir = app.stop();
    let db = dir.path().join("possync.db");
    let key_file = dir.path().join("master.key");
    let key_before = std::fs::read(&key_file).unwrap();
    let before = db_snapshot(&db);
    let data_dir = dir.path().display().to_string();

    // The binary, with the key in the environment.
    let mut serve = possync_command();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_dir])
        .env("POSSYNC_MASTER_KEY", other_master_key());
    let run = common::run_command(serve, None, Duration::from_secs(30));
    assert_ne!(run.code, Some(0), "started with the wrong key: {run:?}");
    assert!(
        run.stderr.contains("master key") && run.stderr.contains("POS tokens"),
        "the message should say the key does not open the stored tokens: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&other_master_key()),
        "the message shows the key: {}",
        run.stderr
    );

    // The library entry point, with the key as a flag.
    let other = other_master_key();
    let (err, dir) = match TestApp::try_start_in(dir, &["--master-key", &other]) {
        Ok(_) => panic!("started with the wrong key"),
        Err(failed) => failed,
    };
    assert!(err.to_string().contains("master key"), "{err}");

    // A key file holding another key is refused too.
    let wrong_file = dir.path().join("wrong.key");
    std::fs::write(&wrong_file, format!("{other}\n")).unwrap();
    let run = run_possync(
        &[
            "migrate",
            "--data-dir",
            &data_dir,
            "--master-key-file",
            &wrong_file.display().to_string(),
        ],
        None,
    );
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("master key"), "{}", run.stderr);

    // Nothing changed: same rows, same key file; the right key still starts and opens them.
    assert_eq!(
        snapshot_changes(&before, &db_snapshot(&db)),
        Vec::<String>::new()
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), key_before);
    let app = TestApp::start_in(dir, &[]);
    app.get(&format!("/api/v1/pos/integration/{business}"), Some(&token))
        .expect(200);
}

#[test]
fn another_master_key_is_fine_while_no_token_is_stored() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    app.connect_square(&token, &business, "EAAAl-erased-soon");
    app.post(
        "/api/v1/pos/disconnect",
        Some(&token),
        json!({"business_id": business}),
    )
    .expect(200);
    let dir = app.stop();
    // The only token was erased by the disconnect: nothing is sealed under the old key.
    let app = TestApp::start_in(dir, &["--master-key", &other_master_key()]);
    app.get("/api/v1/auth/me", Some(&token)).expect(200);
}

#[test]
fn the_master_key_file_is_created_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::start();
    let key_file = app.data_dir().join("master.key");
    let meta = std::fs::metadata(&key_file).expect("master.key is created on first start");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "master.key mode {:o}",
        meta.permissions().mode() & 0o777
    );
    let text = std::fs::read_to_string(&key_file).unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("the key file holds base64");
    assert_eq!(key.len(), 32, "a 256-bit key");

    // A restart keeps the key.
    let dir = app.stop();
    let app = TestApp::start_in(dir, &[]);
    assert_eq!(
        std::fs::read_to_string(app.data_dir().join("master.key")).unwrap(),
        text
    );

    // An explicit --master-key-file in a fresh place is made 0600 too.
    let elsewhere = TempDir::new().unwrap();
    let file = elsewhere.path().join("keys").join("possync.key");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let app = TestApp::start_with(&["--master-key-file", &file.display().to_string()]);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} mode {mode:o}", file.display());
    assert!(!app.data_dir().join("master.key").exists());
}

#[test]
fn the_spec_in_the_repo_is_exactly_what_possync_openapi_prints() {
    let run = run_possync(&["openapi"], None);
    run.expect_success();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let in_repo = std::fs::read_to_string(path).unwrap_or_default();
    if run.stdout != in_repo {
        let line = run
            .stdout
            .lines()
            .zip(in_repo.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "one is a prefix of the other".to_string(),
                |n| format!("first difference at line {}", n + 1),
            );
        panic!(
            "openapi/openapi.json is not the output of `possync openapi` ({line}); \
             run `cargo run -- openapi > openapi/openapi.json` and commit it"
        );
    }
    // And it is the spec that a running service serves.
    let spec: serde_json::Value = serde_json::from_str(&in_repo).unwrap();
    let app = TestApp::start();
    let served = app.get("/openapi.json", None);
    served.expect(200);
    assert_eq!(
        served.body, spec,
        "the served spec differs from openapi/openapi.json"
    );
}

#[test]
fn serve_prints_the_swagger_ui_address_and_exits_zero_on_sigterm() {
    let dir = TempDir::new().unwrap();
    let mut child = possync_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("possync serve starts");
    // The start-up lines come on stderr with the logs; stdout stays empty.
    let stdout = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stdout).read_to_string(&mut text);
        text
    });
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut docs = None;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while docs.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some((_, url)) = line.split_once("Swagger UI: ") {
                    docs = Some(url.trim().to_string());
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "serve printed no Swagger UI address; stderr:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let docs = docs.unwrap();
    assert!(
        docs.starts_with("http://127.0.0.1:") && docs.ends_with("/docs"),
        "Swagger UI address: {docs}"
    );
    let page = common::Client::browser().get(&docs, None);
    assert_eq!(page.status, 200);
    let html = page.text;
    assert!(html.to_lowercase().contains("swagger"), "{html}");

    let started = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(sent.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("possync did not stop within 10s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    // The reader's sender drops at the end of the pipe, which ends this iteration.
    seen.extend(rx.iter());
    let logs = seen.join("\n");
    assert_eq!(status.code(), Some(0), "exit {status}; stderr:\n{logs}");
    let stdout = stdout.join().unwrap();
    assert!(stdout.is_empty(), "serve wrote to stdout: {stdout}");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    assert!(logs.contains("shutting down"), "stderr:\n{logs}");
}
