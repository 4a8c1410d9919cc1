#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::TestApp;
use serde_json::json;

const OFFLINE_SQUARE: [&str; 2] = ["--square-base-url", "http://127.0.0.1:9"];

#[test]
fn data_survives_a_restart() {
    let app = TestApp::start_with(&OFFLINE_SQUARE);
    let token = app.login_new_seller("keep@example.com");
    let biz = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &biz, "Dal", 15000);
    app.connect_square(&token, &biz, "sq-restart-token-7c1e55aa90");
    let order = app.order(&token, &biz, &dish, 2)["order"].clone();
    let order_id = order["id"].as_str().unwrap().to_string();
    let integration = app
        .get(&format!("/api/v1/pos/integration/{biz}"), Some(&token))
        .data()["integration"]
        .clone();

    let dir = app.stop();
    let app = TestApp::start_in(dir, &OFFLINE_SQUARE);

    let me = app.get("/api/v1/auth/me", Some(&token));
    me.expect(200);
    assert_eq!(me.data()["seller"]["email"], "keep@example.com");
    let got = app.get(&format!("/api/v1/businesses/{biz}"), Some(&token));
    got.expect(200);
    assert_eq!(got.data()["business"]["name"], "Spice Garden");
    let dishes = app.get(&format!("/api/v1/businesses/{biz}/dishes"), Some(&token));
    assert_eq!(dishes.data()["total"], 1);
    let got = app.get(&format!("/api/v1/orders/{order_id}"), Some(&token));
    got.expect(200);
    assert_eq!(got.data()["order"], order);
    let got = app.get(&format!("/api/v1/pos/integration/{biz}"), Some(&token));
    got.expect(200);
    let after = &got.data()["integration"];
    assert_eq!(after["id"], integration["id"]);
    assert_eq!(after["provider"], "square");
    assert_eq!(after["is_active"], true);
    assert_eq!(after["location_id"], integration["location_id"]);
    // Login still works after the restart too.
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "keep@example.com", "password": "correct horse"}),
    )
    .expect(200);
}

#[test]
fn a_newer_database_is_refused() {
    let app = TestApp::start();
    app.login_new_seller("old@example.com");
    let db = app.db_path();
    let dir = app.stop();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }

    let out = Command::new(common::binary())
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "migrate accepted a newer db: {text}");
    assert!(
        text.contains("999") || text.to_lowercase().contains("version"),
        "the message does not mention the version: {text}"
    );

    match TestApp::try_start_in(dir, &[]) {
        Ok(_) => panic!("serve started on a newer database"),
        Err((e, dir)) => {
            let message = e.to_string();
            assert!(
                message.contains("999") || message.to_lowercase().contains("version"),
                "{message}"
            );
            // The database was left as it was.
            let conn = rusqlite::Connection::open(dir.path().join("possync.db")).unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, 999);
        }
    }
}

#[test]
fn migrate_on_a_fresh_directory_then_serve() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = Command::new(common::binary())
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Twice is fine.
    let out = Command::new(common::binary())
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let app = TestApp::start_in(dir, &[]);
    app.login_new_seller("fresh@example.com");
}

#[cfg(unix)]
#[test]
fn the_master_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::start();
    let key = app.dir.path().join("master.key");
    let meta = std::fs::metadata(&key).expect("master.key exists");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "master.key mode {:o}",
        meta.permissions().mode() & 0o777
    );
    let before = std::fs::read(&key).unwrap();
    // A restart keeps the key.
    let dir = app.stop();
    let app = TestApp::start_in(dir, &[]);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    drop(app);
}

#[test]
fn the_committed_spec_is_the_generated_one() {
    let out = Command::new(common::binary())
        .arg("openapi")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap();
    let trim = |s: &str| s.strip_suffix('\n').unwrap_or(s).to_string();
    assert!(
        trim(&generated) == trim(&committed),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
    // And the served spec is the same document.
    let app = TestApp::start();
    let served = app.get("/openapi.json", None);
    served.expect(200);
    let generated: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(served.body, generated);
}
