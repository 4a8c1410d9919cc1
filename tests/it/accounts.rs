//! Seller accounts over real HTTP: register, log in, me, log out; closed registration with the
//! CLI's `seller create`; long-lived API tokens from `token create`.

use crate::common;

use std::time::{Duration, Instant};

use common::wait::wait_until;
use common::{Resp, TestApp, any_file_contains, open_db_read_only, run_possync};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

fn me(app: &TestApp, token: &str) -> Resp {
    app.get("/api/v1/auth/me", Some(token))
}

fn logout(app: &TestApp, token: &str) -> Resp {
    app.raw("POST", "/api/v1/auth/logout", Some(token), None)
}

#[test]
fn the_whole_account_flow_ends_with_a_token_that_no_longer_works() {
    let app = TestApp::start();

    let resp = app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "owner@spicegarden.in", "password": PASSWORD, "name": "Asha Rao"}),
    );
    resp.expect(201);
    let seller = resp.data()["seller"].clone();
    assert_eq!(seller["email"], "owner@spicegarden.in");
    assert_eq!(seller["name"], "Asha Rao");
    let id = seller["id"].as_str().unwrap();
    uuid::Uuid::parse_str(id).expect("the seller id is a UUID");
    assert!(
        seller["created_at"].as_str().unwrap().ends_with('Z'),
        "{seller}"
    );
    assert!(
        !resp.text.contains(PASSWORD) && !resp.text.contains("argon2"),
        "the answer leaks the password or its hash: {}",
        resp.text
    );

    let resp = app.login("owner@spicegarden.in", PASSWORD);
    resp.expect(200);
    let data = resp.data();
    let token = data["token"].as_str().unwrap().to_string();
    assert!(
        token.len() >= 43,
        "a token carries at least 256 random bits: {token}"
    );
    assert_eq!(data["seller"]["id"], json!(id));
    // The session lasts --session-ttl (30 days by default).
    let expires: jiff::Timestamp = data["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_hours(29 * 24)
            && left <= jiff::SignedDuration::from_hours(30 * 24),
        "expires_at {expires} is not 30 days away"
    );

    let resp = me(&app, &token);
    resp.expect(200);
    assert_eq!(resp.data()["seller"], seller);

    let resp = logout(&app, &token);
    resp.expect(200);
    assert_eq!(resp.body["success"], json!(true), "{}", resp.text);

    me(&app, &token).expect_error(401, "UNAUTHORIZED");
    logout(&app, &token).expect_error(401, "UNAUTHORIZED");
    app.get("/api/v1/businesses", Some(&token))
        .expect_error(401, "UNAUTHORIZED");

    // Tokens are stored only as hashes, passwords only as argon2id hashes.
    assert_eq!(
        any_file_contains(app.data_dir(), token.as_bytes()),
        None,
        "the token is stored in plaintext"
    );
    assert_eq!(
        any_file_contains(app.data_dir(), PASSWORD.as_bytes()),
        None,
        "the password is stored in plaintext"
    );
    let hash: String = open_db_read_only(&app.db_path())
        .query_row(
            "SELECT password_hash FROM sellers WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[test]
fn two_logins_get_two_different_tokens() {
    let app = TestApp::start();
    app.register("twice@spicegarden.in", PASSWORD).expect(201);
    let a = app.login_token("twice@spicegarden.in", PASSWORD);
    let b = app.login_token("twice@spicegarden.in", PASSWORD);
    assert_ne!(a, b);
}

#[test]
fn an_email_is_taken_whatever_its_case_or_surrounding_spaces() {
    let app = TestApp::start();
    let resp = app.register("Owner@SpiceGarden.in", PASSWORD);
    resp.expect(201);
    assert_eq!(
        resp.data()["seller"]["email"],
        "owner@spicegarden.in",
        "emails are stored lower-cased"
    );

    for taken in [
        "Owner@SpiceGarden.in",
        "owner@spicegarden.in",
        "OWNER@SPICEGARDEN.IN",
        "  owner@spicegarden.in  ",
        "\towner@SpiceGarden.in\n",
        " Owner@SPICEGARDEN.in",
    ] {
        let message = app
            .register(taken, "another password")
            .expect_error(409, "CONFLICT");
        assert!(message.contains("email"), "{taken:?}: {message}");
    }
    let sellers: i64 = open_db_read_only(&app.db_path())
        .query_row("SELECT count(*) FROM sellers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sellers, 1);

    // The login side is just as forgiving.
    app.login(" OWNER@spicegarden.IN ", PASSWORD).expect(200);
}

#[test]
fn registering_one_email_many_times_at_once_makes_exactly_one_account() {
    let app = TestApp::start();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let app = &app;
                s.spawn(move || {
                    let email = if i % 2 == 0 {
                        "rush@spicegarden.in"
                    } else {
                        "RUSH@SpiceGarden.in"
                    };
                    let resp = app.register(email, PASSWORD);
                    (resp.status, resp.text)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let conflicts = answers.iter().filter(|(status, _)| *status == 409).count();
    assert_eq!((created, conflicts), (1, 7), "{answers:#?}");
    app.login("rush@spicegarden.in", PASSWORD).expect(200);
}

#[test]
fn a_password_must_be_8_to_128_characters() {
    let app = TestApp::start();
    let cases = [
        ("short@x.in", "1234567".to_string(), false),
        ("eight@x.in", "12345678".to_string(), true),
        ("max@x.in", "p".repeat(128), true),
        ("long@x.in", "p".repeat(129), false),
        // Characters, not bytes: 8 rupee signs are 24 bytes.
        ("rupees@x.in", "₹".repeat(8), true),
        ("many-rupees@x.in", "₹".repeat(128), true),
        ("too-many-rupees@x.in", "₹".repeat(129), false),
        ("empty@x.in", String::new(), false),
    ];
    for (email, password, accepted) in cases {
        let resp = app.register(email, &password);
        if accepted {
            resp.expect(201);
            app.login(email, &password).expect(200);
        } else {
            let message = resp.expect_error(400, "VALIDATION_ERROR");
            assert!(
                message.contains("password"),
                "{} characters: {message}",
                password.chars().count()
            );
            app.login(email, "12345678")
                .expect_error(401, "UNAUTHORIZED");
        }
    }
}

#[test]
fn a_login_for_an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = TestApp::start();
    app.register("known@spicegarden.in", PASSWORD).expect(201);

    let wrong_password = app.login("known@spicegarden.in", "not the password");
    let unknown_email = app.login("nobody@spicegarden.in", "not the password");
    let wrong_message = wrong_password.expect_error(401, "UNAUTHORIZED");
    let unknown_message = unknown_email.expect_error(401, "UNAUTHORIZED");
    assert_eq!(wrong_message, unknown_message);
    assert_eq!(wrong_password.body, unknown_email.body);

    // And takes as long: both verify one argon2id hash. Compare medians generously so that a
    // loaded machine does not flake, but a skipped hash (a fraction of a millisecond) shows.
    let median = |email: &str| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                app.login(email, "not the password")
                    .expect_error(401, "UNAUTHORIZED");
                started.elapsed()
            })
            .collect();
        times.sort();
        times[2]
    };
    let wrong = median("known@spicegarden.in");
    let unknown = median("nobody@spicegarden.in");
    assert!(
        unknown * 4 >= wrong,
        "an unknown email answers in {unknown:?}, a wrong password in {wrong:?}: the timing \
         tells which emails have accounts"
    );
}

#[test]
fn a_request_without_a_valid_bearer_token_gets_a_401_envelope() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let protected = [
        ("GET", "/api/v1/auth/me".to_string()),
        ("POST", "/api/v1/auth/logout".to_string()),
        ("GET", "/api/v1/businesses".to_string()),
        ("GET", format!("/api/v1/businesses/{business}")),
        ("GET", format!("/api/v1/businesses/{business}/dishes")),
        ("GET", format!("/api/v1/pos/integration/{business}")),
        ("GET", "/api/v1/notifications".to_string()),
        (
            "GET",
            "/api/v1/orders/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".to_string(),
        ),
    ];
    let garbage = [
        None,
        Some("Bearer".to_string()),
        Some("Bearer ".to_string()),
        Some("Bearer garbage".to_string()),
        Some(format!("Bearer {token}x")),
        Some(format!("Bearer {}", &token[..token.len() - 1])),
        Some(format!("Bearer {}", "x".repeat(64))),
        Some(format!("Basic {token}")),
        Some(token.clone()),
    ];
    for (method, path) in &protected {
        for header in &garbage {
            let headers: Vec<(&str, &str)> = header
                .iter()
                .map(|value| ("authorization", value.as_str()))
                .collect();
            let resp = app.send(method, path, &headers, None);
            let (status, text, body) = (resp.status, &resp.text, &resp.body);
            assert!(
                body.is_object(),
                "{method} {path} with {header:?}: not JSON: {text}"
            );
            assert_eq!(status, 401, "{method} {path} with {header:?}: {text}");
            assert_eq!(body["success"], json!(false), "{text}");
            assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{text}");
            assert!(
                !body["error"]["message"].as_str().unwrap_or("").is_empty(),
                "{text}"
            );
        }
    }
    // The real token still works after all that.
    me(&app, &token).expect(200);
}

#[test]
fn a_session_works_within_its_ttl_and_not_after() {
    let app = TestApp::start_with(&["--session-ttl", "1s"]);
    let token = app.login_new_seller("brief@spicegarden.in");
    me(&app, &token).expect(200);
    std::thread::sleep(Duration::from_millis(2200));
    me(&app, &token).expect_error(401, "UNAUTHORIZED");
}

#[test]
fn logging_out_one_session_leaves_the_others_working() {
    let app = TestApp::start();
    app.register("two-devices@spicegarden.in", PASSWORD)
        .expect(201);
    let phone = app.login_token("two-devices@spicegarden.in", PASSWORD);
    let laptop = app.login_token("two-devices@spicegarden.in", PASSWORD);
    logout(&app, &phone).expect(200);
    me(&app, &phone).expect_error(401, "UNAUTHORIZED");
    me(&app, &laptop).expect(200);
    logout(&app, &laptop).expect(200);
    me(&app, &laptop).expect_error(401, "UNAUTHORIZED");
}

#[test]
fn with_registration_closed_the_api_refuses_and_the_cli_creates_sellers() {
    let app = TestApp::start_with(&["--registration", "closed"]);
    let message = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "owner@spicegarden.in", "password": PASSWORD, "name": "Asha"}),
        )
        .expect_error(403, "FORBIDDEN");
    assert!(message.contains("registration"), "{message}");
    app.login("owner@spicegarden.in", PASSWORD)
        .expect_error(401, "UNAUTHORIZED");

    let dir = app.data_dir().display().to_string();
    let run = run_possync(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "Owner@SpiceGarden.in",
            "--name",
            "Asha Rao",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    run.expect_success();
    assert!(
        run.stdout.contains("owner@spicegarden.in"),
        "stdout: {}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
        "the CLI echoes the password: {run:?}"
    );

    // The running service sees the new seller at once.
    let token = app.login_token("owner@spicegarden.in", PASSWORD);
    let resp = me(&app, &token);
    resp.expect(200);
    assert_eq!(resp.data()["seller"]["name"], "Asha Rao");

    // The CLI refuses a taken email and a short password, and says why.
    let again = run_possync(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "owner@spicegarden.in",
        ],
        Some("another password\n"),
    );
    assert_ne!(again.code, Some(0), "{again:?}");
    assert!(again.stderr.contains("already exists"), "{again:?}");
    let short = run_possync(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir,
            "--email",
            "cook@spicegarden.in",
        ],
        Some("short\n"),
    );
    assert_ne!(short.code, Some(0), "{short:?}");
    assert!(short.stderr.contains("password"), "{short:?}");
    let cooks: i64 = open_db_read_only(&app.db_path())
        .query_row(
            "SELECT count(*) FROM sellers WHERE email = 'cook@spicegarden.in'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cooks, 0, "a refused seller create left a seller behind");
}

#[test]
fn a_seller_the_cli_creates_while_the_service_is_stopped_logs_in_after_a_restart() {
    let app = TestApp::start_with(&["--registration", "closed"]);
    let dir = app.stop();
    run_possync(
        &[
            "seller",
            "create",
            "--data-dir",
            &dir.path().display().to_string(),
            "--email",
            "offline@spicegarden.in",
        ],
        Some(&format!("{PASSWORD}\n")),
    )
    .expect_success();
    let app = TestApp::start_in(dir, &["--registration", "closed"]);
    app.login("offline@spicegarden.in", PASSWORD).expect(200);
}

#[test]
fn the_cli_seller_create_reads_the_password_from_a_file() {
    let app = TestApp::start_with(&["--registration", "closed"]);
    let file = app.data_dir().join("password.txt");
    std::fs::write(&file, format!("{PASSWORD}\nignored second line\n")).unwrap();
    run_possync(
        &[
            "seller",
            "create",
            "--data-dir",
            &app.data_dir().display().to_string(),
            "--email",
            "file@spicegarden.in",
            "--password-file",
            &file.display().to_string(),
        ],
        None,
    )
    .expect_success();
    app.login("file@spicegarden.in", PASSWORD).expect(200);
}

#[test]
fn an_api_token_from_the_cli_authenticates_and_does_not_expire() {
    // Login sessions last one millisecond here; the API token must outlive them.
    let app = TestApp::start_with(&["--session-ttl", "1ms"]);
    app.register("owner@spicegarden.in", PASSWORD).expect(201);
    let session = app.login_token("owner@spicegarden.in", PASSWORD);

    let run = run_possync(
        &[
            "token",
            "create",
            "--data-dir",
            &app.data_dir().display().to_string(),
            "--email",
            "Owner@SpiceGarden.in",
            "--name",
            "menumaker-cloud",
        ],
        None,
    );
    run.expect_success();
    let api_token = run.stdout.trim().to_string();
    assert!(
        !api_token.is_empty() && !api_token.contains(char::is_whitespace),
        "stdout should be the token alone: {:?}",
        run.stdout
    );
    assert!(api_token.len() >= 43, "{api_token}");

    let resp = me(&app, &api_token);
    resp.expect(200);
    assert_eq!(resp.data()["seller"]["email"], "owner@spicegarden.in");
    let business = app.business(&api_token, "Spice Garden");
    app.get(&format!("/api/v1/businesses/{business}"), Some(&api_token))
        .expect(200);

    // The session token has expired by now (poll: a millisecond passes quickly)...
    wait_until(
        Duration::from_secs(5),
        "a 1ms session stops working",
        || me(&app, &session).status == 401,
    );
    // ...and the API token has no expiry at all.
    me(&app, &api_token).expect(200);
    let expiry: Option<i64> = open_db_read_only(&app.db_path())
        .query_row(
            "SELECT expires_at FROM api_tokens WHERE kind = 'api' AND name = 'menumaker-cloud'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(expiry, None, "the API token has an expiry");
    assert_eq!(
        any_file_contains(app.data_dir(), api_token.as_bytes()),
        None
    );

    // A token for an unknown seller is refused.
    let run = run_possync(
        &[
            "token",
            "create",
            "--data-dir",
            &app.data_dir().display().to_string(),
            "--email",
            "nobody@spicegarden.in",
            "--name",
            "menumaker-cloud",
        ],
        None,
    );
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.trim().is_empty(), "{run:?}");
    assert!(run.stderr.contains("not found"), "{run:?}");
}
