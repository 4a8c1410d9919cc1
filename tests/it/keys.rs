//! The master key and the sealed tokens (issue 4, item 5): start-up refuses a key that cannot
//! open the stored tokens and touches nothing; `possync keys rotate` re-seals every token under a
//! new key that the service then uses; and after the whole OAuth flow no plaintext token is in
//! any file of the data directory or in the service's log output.

use crate::common;
use crate::oauth_support;
use crate::sync_support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::mock_square::{Fault, MockSquare};
use common::wait::{PATIENCE, wait_for};
use common::{TestApp, any_file_contains, files_under};
use oauth_support::{
    SQ_CLIENT_SECRET, connect_square_via_consent, location, refresh_grants, square_flags,
    square_mock,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sync_support::{ServeProcess, history, order_one};
use tempfile::TempDir;

/// Every file of the data directory and the SHA-256 of its bytes. SQLite's housekeeping files
/// that hold no data (the `-shm` index, an empty `-wal`) are left out.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    files_under(dir)
        .into_iter()
        .filter_map(|p| {
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            // A `-wal` SQLite is just removing may vanish under us.
            let bytes = std::fs::read(&p).ok()?;
            if name.ends_with("-shm") || (name.ends_with("-wal") && bytes.is_empty()) {
                return None;
            }
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Some((name, digest))
        })
        .collect()
}

/// The integration rows as stored (every column, sealed tokens included).
fn integration_rows(db: &Path) -> Vec<Vec<String>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT * FROM pos_integrations ORDER BY id")
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                let v: rusqlite::types::Value = r.get(i)?;
                Ok(format!("{v:?}"))
            })
            .collect()
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The sealed (access, refresh) tokens of every integration.
fn sealed_tokens(db: &Path) -> Vec<(Option<String>, Option<String>)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT access_token, refresh_token FROM pos_integrations ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The id possync gives a master key: the first 4 bytes of its SHA-256, in hex.
fn key_id(base64_key: &str) -> String {
    let raw = STANDARD.decode(base64_key.trim()).unwrap();
    assert_eq!(raw.len(), 32);
    Sha256::digest(&raw)
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The non-empty lines of the key file.
fn key_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn str_flags(flags: &[String]) -> Vec<&str> {
    flags.iter().map(String::as_str).collect()
}

/// A seller's business with a dish, connected to the mock through the OAuth flow.
struct Shop {
    token: String,
    business: String,
    dish: String,
}

fn connected_shop(app: &TestApp) -> Shop {
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let resp = connect_square_via_consent(&app.base, &token, &business);
    assert_eq!(resp.status, 200, "callback: {}", resp.text);
    Shop {
        token,
        business,
        dish,
    }
}

/// Order 1 × the dish and wait until its log is `success`; returns the log.
fn order_delivered(app: &TestApp, shop: &Shop) -> Value {
    let order = app.order(&shop.token, &shop.business, &shop.dish, 1);
    let order_id = order["order"]["id"].as_str().unwrap().to_string();
    wait_for(PATIENCE, "the order is delivered", || {
        let resp = app.get(&format!("/api/v1/orders/{order_id}"), Some(&shop.token));
        let log = resp.data()["sync_log"].clone();
        match log["status"].as_str() {
            Some("success") => Ok(log),
            Some("failed") => panic!("the order failed: {log:#}"),
            _ => Err(log.to_string()),
        }
    })
}

fn run_possync(args: &[&str]) -> std::process::Output {
    Command::new(common::binary())
        .args(args)
        .output()
        .expect("run possync")
}

#[test]
fn a_wrong_master_key_refuses_to_start_and_touches_nothing() {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let flags = square_flags(&mock, &[]);
    let app = TestApp::start_with(&str_flags(&flags));
    let shop = connected_shop(&app);
    order_delivered(&app, &shop);
    let dir = app.stop();
    let db = dir.path().join("possync.db");
    let key_file = dir.path().join("master.key");
    assert_eq!(
        key_lines(&key_file).len(),
        1,
        "the key file made on first start"
    );
    let rows_before = integration_rows(&db);
    assert_eq!(rows_before.len(), 1);
    let files_before = snapshot(dir.path());

    // Another key (valid: base64 of 32 bytes) in POSSYNC_MASTER_KEY / --master-key.
    let wrong = STANDARD.encode([7u8; 32]);
    let mut wrong_flags = flags.clone();
    wrong_flags.extend(["--master-key".to_string(), wrong.clone()]);
    let (error, dir) = match TestApp::try_start_in(dir, &str_flags(&wrong_flags)) {
        Ok(_) => panic!("possync started with a key that cannot open the stored tokens"),
        Err(refused) => refused,
    };
    let message = error.to_string();
    assert!(
        message.contains("master key"),
        "the refusal names the master key: {message}"
    );
    assert_eq!(
        integration_rows(&db),
        rows_before,
        "the tokens are untouched"
    );
    assert_eq!(snapshot(dir.path()), files_before, "no file changed");

    // Another key file: refused the same way.
    let other = TempDir::new().unwrap();
    let other_key = other.path().join("other.key");
    std::fs::write(&other_key, format!("{}\n", STANDARD.encode([9u8; 32]))).unwrap();
    let mut file_flags = flags.clone();
    file_flags.extend([
        "--master-key-file".to_string(),
        other_key.display().to_string(),
    ]);
    let (error, dir) = match TestApp::try_start_in(dir, &str_flags(&file_flags)) {
        Ok(_) => panic!("possync started with a key file that cannot open the stored tokens"),
        Err(refused) => refused,
    };
    assert!(error.to_string().contains("master key"), "{error}");
    assert_eq!(snapshot(dir.path()), files_before, "no file changed");

    // The binary says so and exits non-zero.
    let out = run_possync(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &dir.path().display().to_string(),
        "--master-key",
        &wrong,
    ]);
    assert!(
        !out.status.success(),
        "serve with a wrong key exits non-zero"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("master key"), "stderr: {stderr}");
    assert_eq!(snapshot(dir.path()), files_before, "no file changed");

    // With the right key (the data dir's key file) everything still works.
    let app = TestApp::start_in(dir, &str_flags(&flags));
    order_delivered(&app, &shop);
    assert_eq!(mock.orders().len(), 2);
    assert_eq!(
        mock.tokens_issued().len(),
        1,
        "the stored token still opens: no refresh"
    );
    assert!(refresh_grants(&mock).is_empty());
}

#[test]
fn keys_rotate_reseals_every_token_and_the_service_keeps_pushing() {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let flags = square_flags(&mock, &[]);
    let app = TestApp::start_with(&str_flags(&flags));
    let shop = connected_shop(&app);
    order_delivered(&app, &shop);
    let dir = app.stop();
    let db = dir.path().join("possync.db");
    let key_file = dir.path().join("master.key");
    let old_lines = key_lines(&key_file);
    assert_eq!(old_lines.len(), 1);
    assert_eq!(mode(&key_file), 0o600, "the key file is private");
    let old_id = key_id(&old_lines[0]);
    let sealed_before = sealed_tokens(&db);
    for (access, refresh) in &sealed_before {
        assert!(
            access.as_ref().unwrap().starts_with(&format!("k{old_id}.")),
            "{access:?}"
        );
        assert!(
            refresh
                .as_ref()
                .unwrap()
                .starts_with(&format!("k{old_id}.")),
            "{refresh:?}"
        );
    }

    let out = run_possync(&[
        "keys",
        "rotate",
        "--data-dir",
        &dir.path().display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "keys rotate: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The key file gained a line (the old key stays first) and is still 0600.
    let new_lines = key_lines(&key_file);
    assert_eq!(new_lines.len(), 2, "{new_lines:?}");
    assert_eq!(new_lines[0], old_lines[0]);
    assert_eq!(mode(&key_file), 0o600, "still private after the rotation");
    let new_id = key_id(&new_lines[1]);
    assert_ne!(new_id, old_id);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&new_id), "names the new key: {stdout}");

    // Every sealed value is now under the new key.
    let sealed_after = sealed_tokens(&db);
    assert_eq!(sealed_after.len(), sealed_before.len());
    for (access, refresh) in &sealed_after {
        assert!(
            access.as_ref().unwrap().starts_with(&format!("k{new_id}.")),
            "{access:?}"
        );
        assert!(
            refresh
                .as_ref()
                .unwrap()
                .starts_with(&format!("k{new_id}.")),
            "{refresh:?}"
        );
    }
    assert_ne!(sealed_after, sealed_before);

    // The old key alone no longer opens them: start-up refuses it.
    let old_only = TempDir::new().unwrap();
    let old_key = old_only.path().join("old.key");
    std::fs::write(&old_key, format!("{}\n", old_lines[0])).unwrap();
    let mut old_flags = flags.clone();
    old_flags.extend([
        "--master-key-file".to_string(),
        old_key.display().to_string(),
    ]);
    let dir = match TestApp::try_start_in(dir, &str_flags(&old_flags)) {
        Ok(_) => panic!("the old key alone should not open the re-sealed tokens"),
        Err((e, dir)) => {
            assert!(e.to_string().contains("master key"), "{e}");
            dir
        }
    };

    // The service restarts on the rotated key file and pushes with the stored token.
    let app = TestApp::start_in(dir, &str_flags(&flags));
    order_delivered(&app, &shop);
    let requests = mock.create_order_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {}", mock.tokens_issued()[0]).as_str())
    );
    assert!(refresh_grants(&mock).is_empty(), "no refresh was needed");

    // A refresh after the rotation stores the new token under the new key too.
    mock.push_fault(Fault::Unauthorized);
    order_delivered(&app, &shop);
    assert_eq!(refresh_grants(&mock).len(), 1);
    for (access, refresh) in sealed_tokens(&app.db_path()) {
        assert!(access.unwrap().starts_with(&format!("k{new_id}.")));
        assert!(refresh.unwrap().starts_with(&format!("k{new_id}.")));
    }
}

#[test]
fn keys_rotate_refuses_a_key_given_in_the_environment() {
    let dir = TempDir::new().unwrap();
    let out = run_possync(&[
        "keys",
        "rotate",
        "--data-dir",
        &dir.path().display().to_string(),
        "--master-key",
        &STANDARD.encode([3u8; 32]),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("key file"), "stderr: {stderr}");
}

/// Ask a `possync serve` child to stop (SIGTERM) and wait for it.
fn terminate(mut serve: ServeProcess) -> String {
    let pid = serve.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = serve.child.wait().unwrap();
    assert!(exit.success(), "possync serve stopped with {exit}");
    serve.stderr_text()
}

#[test]
fn after_the_whole_flow_no_plaintext_token_is_in_the_data_dir_or_the_log() {
    let mock: MockSquare = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let data = TempDir::new().unwrap();
    let logs = TempDir::new().unwrap();
    let mut flags = square_flags(&mock, &[]);
    // Every level of possync's own logging, dependencies at info.
    flags.extend(["--log".to_string(), "possync=trace,info".to_string()]);

    // 1. the whole flow in the binary: connect through the consent page, push, a 401 that a
    //    refresh cures, and the refresh job.
    let serve = ServeProcess::start(data.path(), logs.path(), &flags);
    let client = serve.client();
    let bearer = client.login_new_seller("owner@spicegarden.in");
    let resp = client.post(
        "/api/v1/businesses",
        Some(&bearer),
        json!({"name": "Spice Garden"}),
    );
    resp.expect(201);
    let business = resp.data()["business"]["id"].as_str().unwrap().to_string();
    let resp = client.post(
        &format!("/api/v1/businesses/{business}/dishes"),
        Some(&bearer),
        json!({"name": "Paneer Butter Masala", "price": 30000}),
    );
    resp.expect(201);
    let dish = resp.data()["dish"]["id"].as_str().unwrap().to_string();
    let resp = connect_square_via_consent(&serve.base, &bearer, &business);
    assert_eq!(resp.status, 200, "callback: {}", resp.text);
    order_one(&client, &bearer, &business, &dish);
    mock.push_fault(Fault::Unauthorized);
    order_one(&client, &bearer, &business, &dish);
    wait_for(PATIENCE, "both orders are delivered", || {
        let history = history(&client, &bearer, &business, "status=success");
        if history["total"] == json!(2) {
            Ok(())
        } else {
            Err(history.to_string())
        }
    });
    assert_eq!(
        refresh_grants(&mock).len(),
        1,
        "the 401 was cured by a refresh"
    );
    let mut stderr = terminate(serve);

    // 2. rotate the key, restart, push again with the stored token.
    let out = run_possync(&[
        "keys",
        "rotate",
        "--data-dir",
        &data.path().display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stderr.push_str(&String::from_utf8_lossy(&out.stdout));
    stderr.push_str(&String::from_utf8_lossy(&out.stderr));
    let serve = ServeProcess::start(data.path(), logs.path(), &flags);
    let client = serve.client();
    order_one(&client, &bearer, &business, &dish);
    wait_for(PATIENCE, "the third order is delivered", || {
        let history = history(&client, &bearer, &business, "status=success");
        if history["total"] == json!(3) {
            Ok(())
        } else {
            Err(history.to_string())
        }
    });
    // 3. disconnect (revokes at Square).
    client
        .post(
            "/api/v1/pos/disconnect",
            Some(&bearer),
            json!({"business_id": business}),
        )
        .expect(200);
    assert_eq!(mock.revoked().len(), 1);
    stderr.push_str(&terminate(serve));
    assert!(
        stderr.contains("refreshed POS tokens") || stderr.contains("sync attempt"),
        "the log was captured: {stderr}"
    );

    // Every secret that went through possync.
    let mut secrets: Vec<(String, String)> = mock
        .tokens_issued()
        .into_iter()
        .map(|t| ("access token".to_string(), t))
        .collect();
    assert_eq!(secrets.len(), 2, "the exchange and one refresh");
    for grant in refresh_grants(&mock) {
        let refresh = grant["refresh_token"].as_str().unwrap().to_string();
        secrets.push(("refresh token".to_string(), refresh));
    }
    secrets.push((
        "Square client secret".to_string(),
        SQ_CLIENT_SECRET.to_string(),
    ));
    let files = files_under(data.path());
    assert!(
        files.iter().any(|f| f.ends_with("possync.db")),
        "the data dir holds the database: {files:?}"
    );
    let mut found = Vec::new();
    for (what, secret) in &secrets {
        if let Some(file) = any_file_contains(data.path(), secret.as_bytes()) {
            found.push(format!("{what} {secret} in {}", file.display()));
        }
        if stderr.contains(secret.as_str()) {
            found.push(format!("{what} {secret} in the service's stderr"));
        }
    }
    assert!(found.is_empty(), "plaintext secrets found: {found:#?}");
}

/// `possync keys rotate` on the data dir of a running service: the running service must keep
/// opening its tokens (its keyring rereads the key file when it meets an unknown key id), or
/// rotation must refuse while it runs. Before that, every push stuck in `syncing` until a restart.
#[test]
fn keys_rotate_while_the_service_runs_does_not_break_its_pushes() {
    let mock = square_mock(vec![location("LOC-1", "ACTIVE")]);
    let flags = square_flags(&mock, &[]);
    let app = TestApp::start_with(&str_flags(&flags));
    let shop = connected_shop(&app);
    order_delivered(&app, &shop);
    // The operator rotates without stopping the service (the README does not say to stop it).
    let out = run_possync(&[
        "keys",
        "rotate",
        "--data-dir",
        &app.dir.path().display().to_string(),
    ]);
    let rotated = out.status.success();
    // Either rotation refuses while the service runs, or the service keeps opening its tokens.
    let order = app.order(&shop.token, &shop.business, &shop.dish, 1);
    let order_id = order["order"]["id"].as_str().unwrap().to_string();
    let start = std::time::Instant::now();
    let log = loop {
        let resp = app.get(&format!("/api/v1/orders/{order_id}"), Some(&shop.token));
        let log = resp.data()["sync_log"].clone();
        if log["status"] == "success" || log["status"] == "failed" || start.elapsed() > PATIENCE {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(
        log["status"],
        "success",
        "after `keys rotate` (exit ok: {rotated}; stdout {:?}, stderr {:?}) the running service \
         could not push: {log:#}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}
