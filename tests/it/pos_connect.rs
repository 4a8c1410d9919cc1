//! Connecting a business to its POS over real HTTP: the per-provider required fields
//! (providers/README.md §F2), reconnecting in place, settings, disconnecting, and tokens that
//! never leave possync in a response and never reach the disk in plaintext.

use crate::common;

use std::time::Duration;

use common::wait::wait_for;
use common::{Resp, TestApp, any_file_contains, open_db_read_only, snapshot_changes};
use serde_json::{Map, Value, json};

const LOCATION: &str = "L8AHQ2RX0BX1K";

/// A token no other test uses, long enough that a chance match is impossible.
fn unique_token(label: &str) -> String {
    format!(
        "EAAA-{label}-{}-{}",
        uuid::Uuid::now_v7().simple(),
        "x".repeat(64)
    )
}

fn connect(app: &TestApp, token: &str, body: &Value) -> Resp {
    app.post("/api/v1/pos/connect", Some(token), body.clone())
}

fn disconnect(app: &TestApp, token: &str, business: &str) -> Resp {
    app.post(
        "/api/v1/pos/disconnect",
        Some(token),
        json!({"business_id": business}),
    )
}

fn get_integration(app: &TestApp, token: &str, business: &str) -> Resp {
    app.get(&format!("/api/v1/pos/integration/{business}"), Some(token))
}

fn patch_integration(app: &TestApp, token: &str, business: &str, body: Value) -> Resp {
    app.patch(
        &format!("/api/v1/pos/integration/{business}"),
        Some(token),
        body,
    )
}

/// For each provider: its connect message, a complete connect body, and the fields it cannot do
/// without.
fn provider_cases(business: &str) -> Vec<(&'static str, &'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "square",
            "square POS integration connected successfully",
            json!({"business_id": business, "provider": "square",
                   "access_token": "EAAAl-square-token", "location_id": LOCATION}),
            vec!["business_id", "provider", "access_token", "location_id"],
        ),
        (
            "zoho",
            "zoho POS integration connected successfully",
            json!({"business_id": business, "provider": "zoho",
                   "access_token": "1000.zoho-access", "refresh_token": "1000.zoho-refresh",
                   "merchant_id": "60012345678"}),
            vec![
                "business_id",
                "provider",
                "access_token",
                "refresh_token",
                "merchant_id",
            ],
        ),
        (
            "dine",
            // The provider's value, lower case, as the guide shows.
            "dine POS integration connected successfully",
            json!({"business_id": business, "provider": "dine",
                   "access_token": "dine-webhook-secret", "location_id": "hotel-42"}),
            vec!["business_id", "provider", "access_token", "location_id"],
        ),
    ]
}

fn without(body: &Value, field: &str) -> Value {
    let mut map: Map<String, Value> = body.as_object().unwrap().clone();
    map.remove(field);
    Value::Object(map)
}

fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut map: Map<String, Value> = body.as_object().unwrap().clone();
    map.insert(field.to_string(), value);
    Value::Object(map)
}

#[test]
fn each_provider_connects_with_its_required_fields_and_not_without_them() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    for (provider, message, body, required) in provider_cases("") {
        let business = app.business(&token, &format!("{provider} restaurant"));
        let body = with(&body, "business_id", json!(business));

        let before = app.snapshot();
        for field in &required {
            for broken in [without(&body, field), with(&body, field, Value::Null)] {
                let message = connect(&app, &token, &broken).expect_error(400, "VALIDATION_ERROR");
                assert!(
                    message.contains(field),
                    "{provider} without {field}: {message}"
                );
            }
        }
        // Blank text is as good as missing.
        for field in required
            .iter()
            .filter(|f| f.ends_with("_id") || f.ends_with("token"))
        {
            if *field == "business_id" {
                continue;
            }
            let message = connect(&app, &token, &with(&body, field, json!("   ")))
                .expect_error(400, "VALIDATION_ERROR");
            assert!(
                message.contains(field),
                "{provider} with blank {field}: {message}"
            );
        }
        assert_eq!(
            snapshot_changes(&before, &app.snapshot()),
            Vec::<String>::new(),
            "{provider}: a refused connect wrote something"
        );
        get_integration(&app, &token, &business).expect_error(404, "NOT_FOUND");

        let resp = connect(&app, &token, &body);
        resp.expect(200);
        assert_eq!(resp.body["message"], json!(message), "{}", resp.text);
        let integration = &resp.data()["integration"];
        // Every field of the contract is there, null or not.
        for key in [
            "id",
            "business_id",
            "provider",
            "is_active",
            "location_id",
            "merchant_id",
            "auto_sync_orders",
            "sync_customer_info",
            "item_mapping",
            "token_expires_at",
            "last_sync_at",
            "error_count",
            "last_error",
            "created_at",
            "updated_at",
        ] {
            assert!(
                integration.get(key).is_some(),
                "{provider}: the integration lacks {key}: {integration}"
            );
        }
        assert_eq!(integration["provider"], provider);
        assert_eq!(integration["business_id"], json!(business));
        assert_eq!(integration["is_active"], json!(true));
        assert_eq!(integration["auto_sync_orders"], json!(true));
        assert_eq!(integration["sync_customer_info"], json!(true));
        assert_eq!(integration["item_mapping"], json!({}));
        assert_eq!(integration["error_count"], json!(0));
        assert_eq!(integration["last_error"], Value::Null);
        assert_eq!(integration["last_sync_at"], Value::Null);
        assert_eq!(integration["location_id"], body["location_id"]);
        assert_eq!(integration["merchant_id"], body["merchant_id"]);
        uuid::Uuid::parse_str(integration["id"].as_str().unwrap()).unwrap();

        let got = get_integration(&app, &token, &business);
        got.expect(200);
        assert_eq!(&got.data()["integration"], integration);
    }
}

#[test]
fn optional_connect_fields_are_kept() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let resp = connect(
        &app,
        &token,
        &json!({
            "business_id": business, "provider": "square", "access_token": "EAAAl-opt",
            "refresh_token": "EQAAl-opt", "token_expires_at": "2030-01-02T03:04:05Z",
            "location_id": LOCATION, "merchant_id": "MLQW6BNAKNE0A",
            "auto_sync_orders": false, "sync_customer_info": false,
            "item_mapping": {dish.clone(): "GBRGFPFVEJ2OLT3XWQ3WZ7OL"},
        }),
    );
    resp.expect(200);
    let integration = &resp.data()["integration"];
    assert_eq!(integration["merchant_id"], "MLQW6BNAKNE0A");
    assert_eq!(integration["auto_sync_orders"], json!(false));
    assert_eq!(integration["sync_customer_info"], json!(false));
    assert_eq!(
        integration["item_mapping"],
        json!({dish: "GBRGFPFVEJ2OLT3XWQ3WZ7OL"})
    );
    let expires: jiff::Timestamp = integration["token_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires, "2030-01-02T03:04:05Z".parse().unwrap());

    // A default customer is a Zoho setting.
    let message = connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "square", "access_token": "EAAAl-opt",
                "location_id": LOCATION, "default_customer_id": "460000000017001"}),
    )
    .expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("default_customer_id"), "{message}");
    let resp = connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "zoho", "access_token": "1000.a",
                "refresh_token": "1000.r", "merchant_id": "60012345678",
                "default_customer_id": "460000000017001"}),
    );
    resp.expect(200);
    assert_eq!(
        resp.data()["integration"]["default_customer_id"],
        "460000000017001"
    );

    // token_expires_at must be a time.
    let message = connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "square", "access_token": "EAAAl-opt",
                "location_id": LOCATION, "token_expires_at": "next tuesday"}),
    )
    .expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("token_expires_at"), "{message}");
}

#[test]
fn an_unknown_provider_is_a_400_naming_provider() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let before = app.snapshot();
    for provider in [json!("clover"), json!("Square"), json!(""), json!(1)] {
        let message = connect(
            &app,
            &token,
            &json!({"business_id": business, "provider": provider,
                    "access_token": "EAAAl-x", "location_id": LOCATION}),
        )
        .expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains("provider"), "{provider}: {message}");
    }
    assert_eq!(
        snapshot_changes(&before, &app.snapshot()),
        Vec::<String>::new()
    );
}

#[test]
fn connecting_a_business_that_does_not_exist_is_a_404() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    connect(
        &app,
        &token,
        &json!({"business_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "provider": "square",
                "access_token": "EAAAl-x", "location_id": LOCATION}),
    )
    .expect_error(404, "NOT_FOUND");
}

#[test]
fn reconnecting_keeps_the_integration_id_and_updates_its_fields() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let first = app.connect_square(&token, &business, "EAAAl-first");

    let resp = connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "square", "access_token": "EAAAl-second",
                "location_id": "LNEWLOCATION1", "merchant_id": "MERCHANT2",
                "auto_sync_orders": false, "sync_customer_info": false}),
    );
    resp.expect(200);
    let second = resp.data()["integration"].clone();
    assert_eq!(
        second["id"], first["id"],
        "reconnecting made a new integration"
    );
    assert_eq!(second["created_at"], first["created_at"]);
    assert_eq!(second["location_id"], "LNEWLOCATION1");
    assert_eq!(second["merchant_id"], "MERCHANT2");
    assert_eq!(second["auto_sync_orders"], json!(false));
    assert_eq!(second["sync_customer_info"], json!(false));
    assert_eq!(second["is_active"], json!(true));
    assert_eq!(
        get_integration(&app, &token, &business).data()["integration"],
        second
    );
    assert!(
        second["updated_at"].as_str().unwrap() >= first["updated_at"].as_str().unwrap(),
        "{first} -> {second}"
    );

    // After a disconnect, connecting again reactivates the same integration, even for
    // another provider.
    disconnect(&app, &token, &business).expect(200);
    let resp = connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "dine",
                "access_token": "dine-secret", "location_id": "hotel-7"}),
    );
    resp.expect(200);
    let third = resp.data()["integration"].clone();
    assert_eq!(third["id"], first["id"]);
    assert_eq!(third["provider"], "dine");
    assert_eq!(third["is_active"], json!(true));
    assert_eq!(third["location_id"], "hotel-7");
    assert_eq!(third["merchant_id"], Value::Null);

    let rows: i64 = open_db_read_only(&app.db_path())
        .query_row("SELECT count(*) FROM pos_integrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "one integration per business");
}

#[test]
fn no_integration_response_ever_contains_a_token() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let access = unique_token("access");
    let refresh = unique_token("refresh");

    let mut answers = Vec::new();
    answers.push(connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "zoho", "access_token": access,
                "refresh_token": refresh, "merchant_id": "60012345678"}),
    ));
    answers.push(get_integration(&app, &token, &business));
    answers.push(patch_integration(
        &app,
        &token,
        &business,
        json!({"sync_customer_info": false}),
    ));
    answers.push(connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "square", "access_token": access,
                "refresh_token": refresh, "location_id": LOCATION}),
    ));
    answers.push(get_integration(&app, &token, &business));
    answers.push(disconnect(&app, &token, &business));
    answers.push(get_integration(&app, &token, &business));
    for resp in &answers {
        resp.expect(200);
        for secret in [&access, &refresh] {
            assert!(
                !resp.text.contains(secret.as_str()),
                "a response holds a token: {}",
                resp.text
            );
        }
        // Not even the names of the token fields appear.
        for key in ["access_token", "refresh_token"] {
            assert!(
                !resp.text.contains(key),
                "the answer mentions {key}: {}",
                resp.text
            );
        }
    }
    let spec = app.get("/openapi.json", None);
    spec.expect(200);
    assert!(!spec.text.contains(access.as_str()));
}

#[test]
fn the_database_files_never_hold_a_plaintext_token() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let square = app.business(&token, "Spice Garden");
    let zoho = app.business(&token, "Curry House");
    let square_token = unique_token("square-access");
    let zoho_access = unique_token("zoho-access");
    let zoho_refresh = unique_token("zoho-refresh");
    app.connect_square(&token, &square, &square_token);
    connect(
        &app,
        &token,
        &json!({"business_id": zoho, "provider": "zoho", "access_token": zoho_access,
                "refresh_token": zoho_refresh, "merchant_id": "60012345678"}),
    )
    .expect(200);

    let secrets = [&square_token, &zoho_access, &zoho_refresh];
    // While running: possync.db, possync.db-wal, -shm and master.key.
    for secret in secrets {
        assert_eq!(
            any_file_contains(app.data_dir(), secret.as_bytes()),
            None,
            "a plaintext token is on disk"
        );
    }
    // The columns hold sealed values with a key-id prefix.
    let sealed: Vec<String> = {
        let conn = open_db_read_only(&app.db_path());
        let mut stmt = conn
            .prepare("SELECT access_token FROM pos_integrations UNION ALL SELECT refresh_token FROM pos_integrations WHERE refresh_token IS NOT NULL")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<String>>>()
            .unwrap()
    };
    assert_eq!(sealed.len(), 3);
    for value in &sealed {
        assert!(
            value.starts_with('k') && value.contains('.'),
            "not a sealed value: {value}"
        );
    }
    // After a clean stop (the WAL is checkpointed into the database file).
    let dir = app.stop();
    for secret in secrets {
        assert_eq!(
            any_file_contains(dir.path(), secret.as_bytes()),
            None,
            "a plaintext token is on disk after stop"
        );
    }
}

#[test]
fn patching_settings_changes_them_and_an_unknown_dish_in_the_mapping_is_a_400() {
    let app = TestApp::start();
    let a = app.login_new_seller("a@spicegarden.in");
    let b = app.login_new_seller("b@curryhouse.in");
    let business = app.business(&a, "Spice Garden");
    let other = app.business(&a, "Spice Garden Annex");
    let paneer = app.dish(&a, &business, "Paneer Butter Masala", 30000);
    let naan = app.dish(&a, &business, "Butter Naan", 4500);
    let annex_dish = app.dish(&a, &other, "Masala Dosa", 12000);
    let curry = app.business(&b, "Curry House");
    let foreign_dish = app.dish(&b, &curry, "Chicken Tikka", 40000);
    let connected = app.connect_square(&a, &business, "EAAAl-patch");

    let resp = patch_integration(
        &app,
        &a,
        &business,
        json!({"auto_sync_orders": false, "sync_customer_info": false,
               "item_mapping": {paneer.clone(): "VAR-PANEER"}}),
    );
    resp.expect(200);
    let patched = resp.data()["integration"].clone();
    assert_eq!(patched["id"], connected["id"]);
    assert_eq!(patched["auto_sync_orders"], json!(false));
    assert_eq!(patched["sync_customer_info"], json!(false));
    assert_eq!(
        patched["item_mapping"],
        json!({paneer.clone(): "VAR-PANEER"})
    );
    assert_eq!(patched["is_active"], json!(true));
    assert_eq!(patched["location_id"], LOCATION);

    // The mapping is replaced as a whole; absent fields stay.
    let resp = patch_integration(
        &app,
        &a,
        &business,
        json!({"item_mapping": {naan.clone(): "VAR-NAAN"}, "location_id": "LOTHER"}),
    );
    resp.expect(200);
    let replaced = resp.data()["integration"].clone();
    assert_eq!(replaced["item_mapping"], json!({naan.clone(): "VAR-NAAN"}));
    assert_eq!(replaced["location_id"], "LOTHER");
    assert_eq!(replaced["auto_sync_orders"], json!(false));
    assert_eq!(
        get_integration(&app, &a, &business).data()["integration"],
        replaced
    );

    let before = app.snapshot();
    let bad_mappings = [
        json!({annex_dish.clone(): "VAR-DOSA"}),
        json!({foreign_dish.clone(): "VAR-TIKKA"}),
        json!({"0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b": "VAR-NONE"}),
        json!({"not-a-dish-id": "VAR-X"}),
        json!({paneer.clone(): "VAR-PANEER", foreign_dish.clone(): "VAR-TIKKA"}),
        json!({paneer.clone(): ""}),
        json!({paneer.clone(): 7}),
    ];
    for mapping in &bad_mappings {
        let message = patch_integration(&app, &a, &business, json!({"item_mapping": mapping}))
            .expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains("item_mapping"), "{mapping}: {message}");
        // The same at connect.
        let message = connect(
            &app,
            &a,
            &json!({"business_id": business, "provider": "square", "access_token": "EAAAl-x",
                    "location_id": LOCATION, "item_mapping": mapping}),
        )
        .expect_error(400, "VALIDATION_ERROR");
        assert!(
            message.contains("item_mapping"),
            "connect {mapping}: {message}"
        );
    }
    for (body, field) in [
        (json!({"auto_sync_orders": "no"}), "auto_sync_orders"),
        (json!({"sync_customer_info": 0}), "sync_customer_info"),
        (json!({"location_id": "L".repeat(193)}), "location_id"),
        (json!({"item_mapping": ["VAR-PANEER"]}), "item_mapping"),
    ] {
        let message = patch_integration(&app, &a, &business, body.clone())
            .expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(
        snapshot_changes(&before, &app.snapshot()),
        Vec::<String>::new(),
        "a refused patch or connect wrote something"
    );
}

#[test]
fn disconnect_deactivates_erases_the_tokens_and_keeps_the_integration_readable() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let connected = connect(
        &app,
        &token,
        &json!({"business_id": business, "provider": "zoho", "access_token": "1000.access",
                "refresh_token": "1000.refresh", "merchant_id": "60012345678",
                "token_expires_at": "2030-01-01T00:00:00Z"}),
    );
    connected.expect(200);
    let connected = connected.data()["integration"].clone();

    let resp = disconnect(&app, &token, &business);
    resp.expect(200);
    assert_eq!(
        resp.body["message"],
        "POS integration disconnected successfully"
    );

    let resp = get_integration(&app, &token, &business);
    resp.expect(200);
    let integration = resp.data()["integration"].clone();
    assert_eq!(integration["id"], connected["id"]);
    assert_eq!(integration["is_active"], json!(false));
    assert_eq!(integration["provider"], "zoho");
    assert_eq!(integration["merchant_id"], "60012345678");

    let (access, refresh): (Option<String>, Option<String>) = open_db_read_only(&app.db_path())
        .query_row(
            "SELECT access_token, refresh_token FROM pos_integrations WHERE business_id = ?1",
            [&business],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(access, None, "the access token is still stored");
    assert_eq!(refresh, None, "the refresh token is still stored");

    // Settings can still be read and changed, but a PATCH does not bring it back to life.
    let resp = patch_integration(&app, &token, &business, json!({"location_id": "WH1"}));
    resp.expect(200);
    assert_eq!(resp.data()["integration"]["is_active"], json!(false));
}

#[test]
fn disconnect_fails_the_queued_pushes_and_stops_auto_sync() {
    let app = TestApp::start_offline(&[]);
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    app.connect_square(&token, &business, "EAAAl-queued");
    let placed = app.order(&token, &business, &dish, 1);
    let order = placed["order"]["id"].as_str().unwrap().to_string();
    assert_eq!(placed["sync_log"]["status"], "pending", "{placed}");

    // The push fails (nothing listens) and waits an hour for its retry.
    wait_for(Duration::from_secs(10), "the push failed", || {
        let resp = app.get(&format!("/api/v1/orders/{order}"), Some(&token));
        if resp.data()["sync_log"]["status"] == "retry" {
            Ok(())
        } else {
            Err(resp.text)
        }
    });

    disconnect(&app, &token, &business).expect(200);
    let resp = app.get(&format!("/api/v1/orders/{order}"), Some(&token));
    let log = &resp.data()["sync_log"];
    assert_eq!(log["status"], "failed", "{}", resp.text);
    assert_eq!(log["error_message"], "integration disconnected");
    assert_eq!(log["next_retry_at"], Value::Null);

    // New orders are no longer queued.
    let placed = app.order(&token, &business, &dish, 1);
    assert_eq!(placed["sync_log"], Value::Null, "{placed}");
}

#[test]
fn a_business_without_an_integration_answers_404_to_get_patch_and_disconnect() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let before = app.snapshot();
    get_integration(&app, &token, &business).expect_error(404, "NOT_FOUND");
    patch_integration(&app, &token, &business, json!({"auto_sync_orders": false}))
        .expect_error(404, "NOT_FOUND");
    disconnect(&app, &token, &business).expect_error(404, "NOT_FOUND");
    assert_eq!(
        snapshot_changes(&before, &app.snapshot()),
        Vec::<String>::new()
    );
}
