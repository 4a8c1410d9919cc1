//! `possync seller list`, `token list` and `token revoke` through the binary, against a running
//! service that sees the revocation at once.

use crate::common::{CliRun, TestApp, run_possync};

const PASSWORD: &str = "correct horse battery";

fn cli(app: &TestApp, args: &[&str]) -> CliRun {
    let dir = app.data_dir().display().to_string();
    let mut argv = args.to_vec();
    argv.extend(["--data-dir", &dir]);
    run_possync(&argv, None)
}

/// The tab-separated rows of a listing, after checking its header.
fn rows(run: &CliRun, header: &str) -> Vec<Vec<String>> {
    run.expect_success();
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some(header), "{run:?}");
    lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn seller_list_shows_every_seller_and_no_password_hash() {
    let app = TestApp::start();
    app.register("owner@spicegarden.in", PASSWORD).expect(201);
    app.register("second@spicegarden.in", PASSWORD).expect(201);
    let run = cli(&app, &["seller", "list"]);
    let sellers = rows(&run, "id\temail\tname\tcreated_at");
    let emails: Vec<&str> = sellers.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(emails, ["owner@spicegarden.in", "second@spicegarden.in"]);
    for row in &sellers {
        assert_eq!(row.len(), 4, "{row:?}");
        assert!(uuid::Uuid::parse_str(&row[0]).is_ok(), "{row:?}");
        assert!(row[3].parse::<jiff::Timestamp>().is_ok(), "{row:?}");
    }
    assert!(!run.stdout.contains("argon2"), "{run:?}");
}

#[test]
fn token_list_shows_a_sellers_tokens_and_revoke_shuts_one_out_at_once() {
    let app = TestApp::start();
    app.register("owner@spicegarden.in", PASSWORD).expect(201);
    let session = app.login_token("owner@spicegarden.in", PASSWORD);
    let other = app.login_new_seller("other@spicegarden.in");
    let created = cli(
        &app,
        &[
            "token",
            "create",
            "--email",
            "owner@spicegarden.in",
            "--name",
            "menumaker-cloud",
        ],
    );
    created.expect_success();
    let api_token = created.stdout.trim().to_string();
    app.get("/api/v1/auth/me", Some(&api_token)).expect(200);

    let header = "id\tkind\tname\tcreated_at\texpires_at\tstate";
    let list = cli(&app, &["token", "list", "--email", "Owner@SpiceGarden.in"]);
    let tokens = rows(&list, header);
    assert_eq!(tokens.len(), 2, "the login and the API token: {list:?}");
    for secret in [&api_token, &session] {
        assert!(
            !list.stdout.contains(secret.as_str()),
            "a token value: {list:?}"
        );
    }
    let api_row = tokens
        .iter()
        .find(|r| r[1] == "api")
        .expect("the API token");
    assert_eq!(api_row[4..], ["never", "live"], "{api_row:?}");
    assert!(api_row[3].parse::<jiff::Timestamp>().is_ok(), "{api_row:?}");
    assert_eq!(api_row[2], "menumaker-cloud");
    let session_row = tokens
        .iter()
        .find(|r| r[1] == "session")
        .expect("the login");
    assert_eq!(session_row[5], "live");
    assert!(
        session_row[4].parse::<jiff::Timestamp>().is_ok(),
        "{session_row:?}"
    );

    // Revoking the API token locks it out of the running service; the login still works.
    let id = api_row[0].clone();
    let revoked = cli(&app, &["token", "revoke", "--id", &id]);
    revoked.expect_success();
    assert!(
        revoked.stdout.contains(&format!("revoked token {id}")),
        "{revoked:?}"
    );
    app.get("/api/v1/auth/me", Some(&api_token))
        .expect_error(401, "UNAUTHORIZED");
    app.get("/api/v1/auth/me", Some(&session)).expect(200);
    app.get("/api/v1/auth/me", Some(&other)).expect(200);
    let after = rows(
        &cli(&app, &["token", "list", "--email", "owner@spicegarden.in"]),
        header,
    );
    let api_row = after.iter().find(|r| r[0] == id).unwrap();
    assert!(api_row[5].starts_with("revoked "), "{api_row:?}");

    // Again: said so, nothing changes.
    let again = cli(&app, &["token", "revoke", "--id", &id]);
    again.expect_success();
    assert!(again.stdout.contains("already revoked"), "{again:?}");

    // An unknown id, a malformed one and an unknown seller exit 1 with the reason.
    for (args, reason) in [
        (
            vec![
                "token",
                "revoke",
                "--id",
                "0193a1b2-0000-7000-8000-000000000000",
            ],
            "token not found",
        ),
        (vec!["token", "revoke", "--id", "not-an-id"], "id"),
        (
            vec!["token", "list", "--email", "nobody@spicegarden.in"],
            "seller not found",
        ),
    ] {
        let run = cli(&app, &args);
        assert_eq!(run.code, Some(1), "{args:?}: {run:?}");
        assert!(run.stderr.contains(reason), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
    }
}
