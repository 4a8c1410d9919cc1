use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestApp;
use serde_json::json;

const PASSWORD: &str = "correct horse";

fn register(app: &TestApp, email: &str, password: &str) -> common::Resp {
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": email, "password": password, "name": "Asha"}),
    )
}

fn login(app: &TestApp, email: &str, password: &str) -> common::Resp {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
}

#[test]
fn register_login_me_logout_and_the_token_stops_working() {
    let app = TestApp::start();
    let resp = register(&app, "asha@example.com", PASSWORD);
    resp.expect(201);
    let seller = &resp.data()["seller"];
    assert_eq!(seller["email"], "asha@example.com");
    assert_eq!(seller["name"], "Asha");
    assert!(seller["id"].as_str().is_some());
    assert!(seller["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        !resp.text.contains(PASSWORD),
        "register answer shows the password"
    );

    let resp = login(&app, "asha@example.com", PASSWORD);
    resp.expect(200);
    let token = resp.data()["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 32, "token too short: {token}");
    assert!(resp.data()["expires_at"].as_str().is_some());
    assert_eq!(resp.data()["seller"]["id"], seller["id"]);

    let me = app.get("/api/v1/auth/me", Some(&token));
    me.expect(200);
    assert_eq!(me.data()["seller"]["id"], seller["id"]);
    assert_eq!(me.data()["seller"]["email"], "asha@example.com");

    app.raw("POST", "/api/v1/auth/logout", Some(&token), None)
        .expect(200);
    app.get("/api/v1/auth/me", Some(&token))
        .expect_error(401, "UNAUTHORIZED");
    app.get("/api/v1/businesses", Some(&token))
        .expect_error(401, "UNAUTHORIZED");
}

#[test]
fn logout_ends_only_the_presented_token() {
    let app = TestApp::start();
    app.login_new_seller("two@example.com");
    let a = login(&app, "two@example.com", PASSWORD).data()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let b = login(&app, "two@example.com", PASSWORD).data()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(a, b);
    app.raw("POST", "/api/v1/auth/logout", Some(&a), None)
        .expect(200);
    app.get("/api/v1/auth/me", Some(&a))
        .expect_error(401, "UNAUTHORIZED");
    app.get("/api/v1/auth/me", Some(&b)).expect(200);
}

#[test]
fn duplicate_email_is_a_conflict_in_any_case_and_spacing() {
    let app = TestApp::start();
    register(&app, "dup@example.com", PASSWORD).expect(201);
    for email in [
        "dup@example.com",
        "DUP@Example.COM",
        "  dup@example.com  ",
        " Dup@EXAMPLE.com",
    ] {
        register(&app, email, "another password").expect_error(409, "CONFLICT");
    }
    // Trimmed and case-insensitive for login too.
    login(&app, "  DUP@example.com ", PASSWORD).expect(200);
}

#[test]
fn password_length_is_checked_and_named() {
    let app = TestApp::start();
    for password in ["a".repeat(7), "a".repeat(129)] {
        let message =
            register(&app, "short@example.com", &password).expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains("password"), "message: {message}");
    }
    // The bounds themselves are fine.
    register(&app, "eight@example.com", &"a".repeat(8)).expect(201);
    register(&app, "long@example.com", &"é".repeat(128)).expect(201);
    login(&app, "long@example.com", &"é".repeat(128)).expect(200);
}

#[test]
fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::start();
    app.login_new_seller("known@example.com");
    let unknown = login(&app, "nobody@example.com", PASSWORD);
    let wrong = login(&app, "known@example.com", "wrong password");
    let m1 = unknown.expect_error(401, "UNAUTHORIZED");
    let m2 = wrong.expect_error(401, "UNAUTHORIZED");
    assert_eq!(m1, m2);
    assert_eq!(unknown.body, wrong.body);
    // A malformed email at login is a plain validation error naming the field.
    let message = login(&app, "not-an-email", PASSWORD).expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("email"), "{message}");
}

#[test]
fn an_expired_session_is_401() {
    let app = TestApp::start_with(&["--session-ttl", "1s"]);
    let token = app.login_new_seller("brief@example.com");
    app.get("/api/v1/auth/me", Some(&token)).expect(200);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    app.get("/api/v1/auth/me", Some(&token))
        .expect_error(401, "UNAUTHORIZED");
}

#[test]
fn missing_or_garbage_token_is_401_in_the_envelope() {
    let app = TestApp::start();
    for path in [
        "/api/v1/auth/me",
        "/api/v1/businesses",
        "/api/v1/notifications",
    ] {
        app.get(path, None).expect_error(401, "UNAUTHORIZED");
        app.get(path, Some("garbage"))
            .expect_error(401, "UNAUTHORIZED");
        app.get(path, Some(&"x".repeat(64)))
            .expect_error(401, "UNAUTHORIZED");
    }
    app.raw("POST", "/api/v1/auth/logout", None, None)
        .expect_error(401, "UNAUTHORIZED");
    // A non-bearer scheme.
    let uri = format!("{}/api/v1/auth/me", app.base);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .get(&uri)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
}

fn cli(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(common::binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn closed_registration_and_cli_made_sellers_and_tokens() {
    let app = TestApp::start_with(&["--registration", "closed"]);
    register(&app, "closed@example.com", PASSWORD).expect_error(403, "FORBIDDEN");
    let dir = app.dir.path().display().to_string();

    // The CLI on the same data directory while the service runs (SQLite WAL).
    let out = cli(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "cli@example.com",
            "--name",
            "CLI Seller",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "seller create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp = login(&app, "cli@example.com", PASSWORD);
    resp.expect(200);
    assert_eq!(resp.data()["seller"]["email"], "cli@example.com");

    // A second create of the same email fails.
    let out = cli(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "CLI@example.com",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!out.status.success(), "duplicate seller create succeeded");

    // A too-short password from stdin is refused.
    let out = cli(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "short@example.com",
        ],
        "short\n",
    );
    assert!(!out.status.success(), "short password accepted");

    let out = cli(
        &[
            "token",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "cli@example.com",
            "--name",
            "menumaker",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim();
    assert!(!token.is_empty() && !token.contains(char::is_whitespace));
    let me = app.get("/api/v1/auth/me", Some(token));
    me.expect(200);
    assert_eq!(me.data()["seller"]["email"], "cli@example.com");

    // Unknown seller for token create.
    let out = cli(
        &[
            "token",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "nobody@example.com",
            "--name",
            "x",
        ],
        "",
    );
    assert!(!out.status.success());
}

#[test]
fn cli_seller_after_stop_can_log_in_on_restart() {
    let app = TestApp::start_with(&["--registration", "closed"]);
    let dir = app.stop();
    let d = dir.path().display().to_string();
    let out = cli(
        &[
            "seller",
            "create",
            "--data-dir",
            &d,
            "--email",
            "offline@example.com",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "seller create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = TestApp::start_in(dir, &["--registration", "closed"]);
    login(&app, "offline@example.com", PASSWORD).expect(200);
}
