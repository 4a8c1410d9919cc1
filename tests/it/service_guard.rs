//! One service per data directory, commands that never fake success, settings checked before
//! anything is made, private files, and no secret in any log: each through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tempfile::TempDir;

use crate::common::mock_square::Fault;
use crate::common::wait::wait_some;
use crate::common::{TestApp, binary, possync_command, run_command, run_possync};
use crate::oauth_support::{
    SQ_CLIENT_SECRET, connect_square_via_consent, grants, location, refresh_grants, square_flags,
    square_mock,
};
use crate::operations::{Service, place_order, shop};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every entry directly under `dir`, by name.
fn names_under(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// One `serve` per data directory
// ---------------------------------------------------------------------------------------------

#[test]
fn a_second_serve_on_the_same_data_directory_exits_1_and_a_killed_one_leaves_no_stale_lock() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let first = Service::spawn(&data, &[]);
    let lock = data.join("possync.db.lock");
    assert_eq!(mode(&lock), 0o600, "the lock file is private");

    let second = run_possync(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data.display().to_string(),
        ],
        None,
    );
    assert_eq!(second.code, Some(1), "{second:?}");
    let expected = format!("another possync is running on {}", data.display());
    assert!(second.stderr.contains(&expected), "{second:?}");
    assert!(
        !second.stderr.contains("listening on"),
        "the second one must not serve: {second:?}"
    );
    // The first one still answers.
    assert_eq!(first.call("GET", "/readyz", None, None).status, 200);

    // The lock file names the holder; a crash (SIGKILL) releases the lock with the process, so
    // the next start needs no clean-up.
    let pid = std::fs::read_to_string(&lock).unwrap().trim().to_string();
    assert!(
        pid.parse::<u32>().is_ok(),
        "the lock file holds a pid: {pid:?}"
    );
    assert!(
        second.stderr.contains(&pid),
        "the refusal names the holder: {second:?}"
    );
    let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(killed.success());
    let probe = std::fs::File::open(&lock).unwrap();
    wait_some(Duration::from_secs(10), "the killed service's lock", || {
        probe.try_lock().ok()
    });
    probe.unlock().unwrap();
    drop(first);
    let mut third = Service::spawn(&data, &[]);
    assert_eq!(third.call("GET", "/readyz", None, None).status, 200);
    let (status, _) = third.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit: {status}");
}

#[test]
fn serve_in_process_holds_the_lock_until_it_stops() {
    let app = TestApp::start();
    let argv = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &app.data_dir().display().to_string(),
    ];
    let refused = run_possync(&argv, None);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("another possync is running on"),
        "{refused:?}"
    );
    // Stopped, it lets go: a restart on the same directory works.
    let dir = app.stop();
    let app = TestApp::start_in(dir, &[]);
    app.get("/readyz", None).expect(200);
}

// ---------------------------------------------------------------------------------------------
// Commands that only use what is there create nothing
// ---------------------------------------------------------------------------------------------

/// Commands that need an existing database, with their own flags (the data directory last).
const NEED_A_DATABASE: &[&[&str]] = &[
    &["backup", "--to", "BACKUP"],
    &["token", "list", "--email", "owner@spicegarden.in"],
    &[
        "token",
        "revoke",
        "--id",
        "0193a1b2-0000-7000-8000-000000000000",
    ],
    &[
        "token",
        "create",
        "--email",
        "owner@spicegarden.in",
        "--name",
        "cloud",
    ],
    &["seller", "list"],
    &["retries", "run"],
    &["keys", "rotate"],
];

#[test]
fn commands_that_need_a_database_create_nothing_and_say_where_they_looked() {
    let root = TempDir::new().unwrap();
    let missing = root.path().join("mistyped");
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let backup = root.path().join("backup.db");
    for data_dir in [&missing, &empty] {
        for command in NEED_A_DATABASE {
            let mut args: Vec<String> = command
                .iter()
                .map(|a| a.replace("BACKUP", &backup.display().to_string()))
                .collect();
            args.extend(["--data-dir".into(), data_dir.display().to_string()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = run_possync(&args, None);
            assert_eq!(run.code, Some(1), "{args:?}: {run:?}");
            let looked = data_dir.join("possync.db").display().to_string();
            assert!(
                run.stderr.contains(&looked),
                "{args:?} should say it looked at {looked}: {run:?}"
            );
            assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        }
    }
    // Not a directory, a database, a key or a backup was made.
    assert_eq!(names_under(root.path()), ["empty"]);
    assert!(names_under(&empty).is_empty(), "{:?}", names_under(&empty));
}

#[test]
fn backup_names_a_database_given_with_database_when_it_is_missing() {
    let root = TempDir::new().unwrap();
    let db = root.path().join("elsewhere.db");
    let run = run_possync(
        &[
            "backup",
            "--database",
            &db.display().to_string(),
            "--data-dir",
            &root.path().display().to_string(),
            "--to",
            &root.path().join("b.db").display().to_string(),
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(&db.display().to_string()) && run.stderr.contains("--database"),
        "{run:?}"
    );
    assert!(names_under(root.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Settings are checked before anything is created
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_urls_and_zero_durations_are_refused_before_the_data_directory_is_made() {
    let cases: &[(&str, &str)] = &[
        ("--session-ttl", "0s"),
        ("--retry-interval", "0ms"),
        ("--rate-limit-backoff", "0s"),
        ("--max-backoff", "0s"),
        ("--provider-timeout", "0s"),
        ("--zoho-requests-per-minute", "0"),
        ("--zoho-requests-per-minute", "ninety"),
        ("--oauth-state-ttl", "0s"),
        ("--notify-retry-interval", "0s"),
        ("--square-base-url", "connect.squareup.com"),
        ("--square-base-url", "ftp://connect.squareup.com"),
        ("--zoho-api-base-url", "https://"),
        ("--dine-base-url", "dine.example.com/api"),
        ("--public-url", "pos.spicegarden.in"),
        ("--zoho-accounts-base-url", "accounts.zoho.in"),
        ("--oauth-return-url", "menumaker settings"),
        ("--whatsapp-api-url", "graph.facebook.com/v21.0"),
    ];
    let root = TempDir::new().unwrap();
    for (flag, value) in cases {
        let data = root.path().join("data");
        let run = run_possync(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                &data.display().to_string(),
                flag,
                value,
            ],
            None,
        );
        assert_ne!(run.code, Some(0), "{flag} {value}: {run:?}");
        assert!(run.stderr.contains(flag), "{flag} {value}: {run:?}");
        assert!(!data.exists(), "{flag} {value} created the data directory");
    }
    // The environment goes through the same check.
    let data = root.path().join("data");
    let mut cmd = possync_command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("POSSYNC_SQUARE_BASE_URL", "connect.squareupsandbox.com");
    let run = run_command(cmd, None, Duration::from_secs(30));
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("square-base-url"), "{run:?}");
    assert!(!data.exists());
    assert!(names_under(root.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Private files whatever the umask
// ---------------------------------------------------------------------------------------------

#[test]
fn with_umask_022_the_data_directory_is_0700_and_every_file_in_it_0600() {
    let root = TempDir::new().unwrap();
    let data = root.path().join("var").join("possync");
    // The shell sets the umask and then becomes possync.
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "umask 022 && exec \"$0\" serve --listen 127.0.0.1:0 --data-dir \"$1\"",
        binary(),
    ])
    .arg(&data);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("POSSYNC_") {
            cmd.env_remove(name);
        }
    }
    let mut svc = Service::spawn_command(cmd);
    // A write makes sure the WAL and the shared-memory file exist.
    let resp = svc.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "umask@spicegarden.in", "password": "correct horse battery"})),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(mode(&data), 0o700, "the data directory");
    let files = names_under(&data);
    for name in [
        "possync.db",
        "possync.db-wal",
        "possync.db-shm",
        "possync.db.lock",
        "master.key",
    ] {
        assert!(files.contains(&name.to_string()), "no {name}: {files:?}");
    }
    for name in &files {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    let (status, _) = svc.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit: {status}");

    // `migrate` on a fresh directory (no service) makes the same private files.
    let fresh = root.path().join("fresh");
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "umask 022 && exec \"$0\" migrate --data-dir \"$1\"",
        binary(),
    ])
    .arg(&fresh);
    run_command(cmd, None, Duration::from_secs(30)).expect_success();
    assert_eq!(mode(&fresh), 0o700);
    for name in names_under(&fresh) {
        assert_eq!(mode(&fresh.join(&name)), 0o600, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// No secret in any log, at `--log trace`
// ---------------------------------------------------------------------------------------------

/// Everything the log lines say, plus the bytes of any hex dump in them put back together
/// (ureq-proto writes 16 bytes a line as `4854 5450 2f31 ...  HTTP/1...`, so a token split
/// across two lines escapes a plain search).
fn logs_and_reassembled_dumps(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    let mut dumped = Vec::new();
    for line in lines {
        if let Some(bytes) = hex_row(line) {
            dumped.extend(bytes);
        }
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&dumped));
    text
}

/// The bytes of one hex-dump row: eight groups of four hex digits (`--` pads a short row).
fn hex_row(line: &str) -> Option<Vec<u8>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    (0..words.len().saturating_sub(7)).find_map(|start| {
        let groups = &words[start..start + 8];
        let row: String = groups.concat();
        let is_row = groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        is_row.then(|| {
            row.as_bytes()
                .chunks(2)
                .filter(|pair| pair != b"--")
                .filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
                .collect()
        })
    })
}

#[test]
fn the_reassembling_grep_finds_a_secret_split_across_dump_rows() {
    let secret = "sq0csp-split-secret";
    let dump: Vec<String> = format!("Authorization: Client {secret}\r\n")
        .as_bytes()
        .chunks(16)
        .map(|row| {
            let hex: Vec<String> = (0..16)
                .map(|i| row.get(i).map_or("--".into(), |b| format!("{b:02x}")))
                .collect();
            let groups: Vec<String> = hex.chunks(2).map(|p| p.concat()).collect();
            format!(
                "TRACE ureq_proto::util: {} ................",
                groups.join(" ")
            )
        })
        .collect();
    assert!(!dump.join("\n").contains(secret));
    assert!(logs_and_reassembled_dumps(&dump).contains(secret));
}

#[test]
fn at_log_trace_no_token_or_client_secret_reaches_the_log_even_as_a_hex_dump() {
    let mock = square_mock(vec![location("L8AHQ2RX0BX1K", "ACTIVE")]);
    let flags = square_flags(&mock, &["--log", "trace"]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let dir = TempDir::new().unwrap();
    let mut svc = Service::spawn(dir.path(), &flags);
    let personal_token = "EAAAl-personal-square-token-2c9e41";
    let shop = shop(&svc, "trace@spicegarden.in", personal_token);

    // Reconnect through OAuth: the code exchange sends the client secret and gets tokens back.
    let page = connect_square_via_consent(&svc.client.base, &shop.token, &shop.business);
    assert_eq!(page.status, 200, "{}", page.text);

    // A push answered 401: a token refresh (secret and refresh token out, a new token back),
    // then the push again with the new bearer token.
    mock.push_fault(Fault::Unauthorized);
    let order = place_order(&svc, &shop, 1);
    wait_some(Duration::from_secs(20), "the push after a refresh", || {
        let resp = svc.call(
            "GET",
            &format!("/api/v1/orders/{order}"),
            Some(&shop.token),
            None,
        );
        (resp.body["data"]["sync_log"]["status"] == "success").then_some(())
    });
    // Disconnect revokes with `Authorization: Client <secret>`.
    let resp = svc.call(
        "POST",
        "/api/v1/pos/disconnect",
        Some(&shop.token),
        Some(json!({"business_id": shop.business})),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(mock.revoked().len(), 1, "the revoke reached the mock");
    let (status, _) = svc.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit: {status}");

    let lines = svc.logs_after_exit();
    let refresh_token = refresh_grants(&mock)[0]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut secrets = vec![
        SQ_CLIENT_SECRET.to_string(),
        personal_token.to_string(),
        shop.token.clone(),
        "correct horse battery".to_string(),
        refresh_token,
    ];
    // The one-time OAuth `code`: the request log line shows the callback's path, not its query.
    let codes: Vec<String> = grants(&mock)
        .iter()
        .filter(|g| g["grant_type"] == "authorization_code")
        .filter_map(|g| g["code"].as_str().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 1, "one code exchanged: {codes:?}");
    secrets.extend(codes);
    secrets.extend(mock.tokens_issued());
    assert!(secrets.len() >= 8, "two access tokens issued: {secrets:?}");
    let haystack = logs_and_reassembled_dumps(&lines);
    for secret in &secrets {
        assert!(
            !haystack.contains(secret.as_str()),
            "a secret reached the log: {secret}"
        );
    }
    assert!(
        !lines.iter().any(|l| hex_row(l).is_some()),
        "no hex dump at all"
    );
}
