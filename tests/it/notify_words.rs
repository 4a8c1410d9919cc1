//! The guide's words: the `sync_failing` notification promises a retry only when there is one.

use serde_json::Value;

use crate::common::CLOSED_PORT_URL;
use crate::common::provider_env::ProviderEnv;
use crate::common::wait::{PATIENCE, wait_for};

/// A service whose Square is unreachable, raising `sync_failing` at the first failed attempt;
/// one order placed. Returns the `sync_failing` message once it is there.
fn sync_failing_message(max_retries: &str) -> String {
    let flags: Vec<String> = [
        "--square-base-url",
        CLOSED_PORT_URL,
        "--notify-after-failures",
        "1",
        "--max-retries",
        max_retries,
        "--retry-interval",
        "1h",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let env = ProviderEnv::start((), &flags, "INR", 30000);
    env.app
        .connect_square(&env.token, &env.business, "sq-access-1");
    env.order();
    wait_for(PATIENCE, "a sync_failing notification", || {
        let resp = env.app.get("/api/v1/notifications", Some(&env.token));
        let all = resp.data()["notifications"].as_array().unwrap().clone();
        all.iter()
            .find(|n| n["kind"] == "sync_failing")
            .and_then(|n| n["message"].as_str().map(str::to_string))
            .ok_or_else(|| Value::Array(all).to_string())
    })
}

#[test]
fn sync_failing_says_possync_keeps_retrying_only_while_it_does() {
    // No retries left: the first failure is the order's last.
    let gave_up = sync_failing_message("0");
    assert!(!gave_up.contains("keeps retrying"), "{gave_up:?}");
    assert!(gave_up.contains("will not be retried"), "{gave_up:?}");
    assert!(
        gave_up.contains("check that the POS is online"),
        "{gave_up:?}"
    );

    // Retries left: the promise holds.
    let retrying = sync_failing_message("5");
    assert!(retrying.contains("keeps retrying"), "{retrying:?}");
}
