use crate::common;

use common::TestApp;
use serde_json::{Value, json};

const OFFLINE: [&str; 6] = [
    "--square-base-url",
    "http://127.0.0.1:9",
    "--zoho-api-base-url",
    "http://127.0.0.1:9",
    "--dine-base-url",
    "http://127.0.0.1:9",
];

fn setup() -> (TestApp, String, String) {
    let app = TestApp::start_with(&OFFLINE);
    let token = app.login_new_seller("pos@example.com");
    let biz = app.business(&token, "Spice Garden");
    (app, token, biz)
}

fn full_body(provider: &str, biz: &str) -> Value {
    match provider {
        "square" => json!({"business_id": biz, "provider": "square",
                           "access_token": "sq-token", "location_id": "L1"}),
        "zoho" => json!({"business_id": biz, "provider": "zoho", "access_token": "z-token",
                         "refresh_token": "z-refresh", "merchant_id": "600012345",
                         "token_expires_at": "2030-01-01T00:00:00Z"}),
        "dine" => json!({"business_id": biz, "provider": "dine",
                         "access_token": "d-token", "location_id": "H1"}),
        _ => unreachable!(),
    }
}

#[test]
fn each_provider_needs_its_fields() {
    let (app, token, biz) = setup();
    let mut failures = Vec::new();
    for (provider, fields) in [
        ("square", vec!["location_id", "access_token"]),
        ("zoho", vec!["refresh_token", "merchant_id", "access_token"]),
        ("dine", vec!["location_id", "access_token"]),
    ] {
        for field in fields {
            let mut body = full_body(provider, &biz);
            body.as_object_mut().unwrap().remove(field);
            let resp = app.post("/api/v1/pos/connect", Some(&token), body);
            let message = resp.body["error"]["message"].as_str().unwrap_or("");
            if resp.status != 400
                || resp.body["error"]["code"] != "VALIDATION_ERROR"
                || !message.contains(field)
            {
                failures.push(format!("{provider} without {field}: {}", resp.text));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    app.get(&format!("/api/v1/pos/integration/{biz}"), Some(&token))
        .expect_error(404, "NOT_FOUND");

    for (provider, name) in [("square", "Square"), ("zoho", "Zoho"), ("dine", "Dine")] {
        let b = app.business(&token, provider);
        let resp = app.post("/api/v1/pos/connect", Some(&token), full_body(provider, &b));
        resp.expect(200);
        let message = resp.body["message"].as_str().unwrap();
        assert!(
            message.ends_with("POS integration connected successfully"),
            "{message}"
        );
        assert!(message.contains(name), "{message}");
        let i = &resp.data()["integration"];
        assert_eq!(i["provider"], provider);
        assert_eq!(i["is_active"], true);
        assert_eq!(i["business_id"], b.as_str());
    }
    // Zoho's default_customer_id is Zoho-only.
    let mut body = full_body("square", &biz);
    body["default_customer_id"] = json!("C1");
    let message = app
        .post("/api/v1/pos/connect", Some(&token), body)
        .expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("default_customer_id"), "{message}");
}

#[test]
fn connect_answers_and_reconnect_updates_in_place() {
    let (app, token, biz) = setup();
    let resp = app.post(
        "/api/v1/pos/connect",
        Some(&token),
        json!({"business_id": biz, "provider": "square", "access_token": "sq-first-token",
               "location_id": "L8AHQ2RX0BX1K"}),
    );
    resp.expect(200);
    assert_eq!(
        resp.body["message"],
        "Square POS integration connected successfully"
    );
    let first = resp.data()["integration"].clone();
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
        assert!(first.get(key).is_some(), "integration lacks {key}: {first}");
    }
    assert_eq!(first["auto_sync_orders"], true);
    assert_eq!(first["sync_customer_info"], true);
    assert_eq!(first["item_mapping"], json!({}));
    assert_eq!(first["error_count"], 0);

    let resp = app.post(
        "/api/v1/pos/connect",
        Some(&token),
        json!({"business_id": biz, "provider": "square", "access_token": "sq-second-token",
               "location_id": "LNEW", "auto_sync_orders": false, "sync_customer_info": false}),
    );
    resp.expect(200);
    let second = resp.data()["integration"].clone();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["created_at"], first["created_at"]);
    assert_eq!(second["location_id"], "LNEW");
    assert_eq!(second["auto_sync_orders"], false);
    assert_eq!(second["sync_customer_info"], false);
    assert_eq!(second["is_active"], true);

    let got = app.get(&format!("/api/v1/pos/integration/{biz}"), Some(&token));
    got.expect(200);
    assert_eq!(got.data()["integration"]["id"], first["id"]);
    assert_eq!(got.data()["integration"]["location_id"], "LNEW");

    // Disconnect, then reconnect with another provider: same id, active again.
    app.post(
        "/api/v1/pos/disconnect",
        Some(&token),
        json!({"business_id": biz}),
    )
    .expect(200);
    let resp = app.post("/api/v1/pos/connect", Some(&token), full_body("dine", &biz));
    resp.expect(200);
    assert_eq!(
        resp.body["message"],
        "Dine POS integration connected successfully"
    );
    assert_eq!(resp.data()["integration"]["id"], first["id"]);
    assert_eq!(resp.data()["integration"]["provider"], "dine");
    assert_eq!(resp.data()["integration"]["is_active"], true);
}

#[test]
fn tokens_never_leave_and_are_sealed_at_rest() {
    let (app, token, biz) = setup();
    let access = "EAAAsecret-access-9f3c1d7e5b2a48c6a0e1f2d3c4b5a69788776655";
    let refresh = "EQAAsecret-refresh-0a1b2c3d4e5f60718293a4b5c6d7e8f9ffeeddcc";
    let resp = app.post(
        "/api/v1/pos/connect",
        Some(&token),
        json!({"business_id": biz, "provider": "square", "access_token": access,
               "refresh_token": refresh, "location_id": "L1"}),
    );
    resp.expect(200);
    let mut texts = vec![resp.text.clone()];
    let got = app.get(&format!("/api/v1/pos/integration/{biz}"), Some(&token));
    got.expect(200);
    texts.push(got.text.clone());
    let patched = app.patch(
        &format!("/api/v1/pos/integration/{biz}"),
        Some(&token),
        json!({"sync_customer_info": false}),
    );
    patched.expect(200);
    texts.push(patched.text.clone());
    for text in &texts {
        assert!(!text.contains(access), "a response shows the access token");
        assert!(
            !text.contains(refresh),
            "a response shows the refresh token"
        );
        assert!(!text.contains("access_token"), "{text}");
        assert!(!text.contains("refresh_token"), "{text}");
    }
    for secret in [access, refresh] {
        if let Some(path) = common::any_file_contains(app.dir.path(), secret.as_bytes()) {
            panic!("{} holds a plaintext token", path.display());
        }
    }
    let spec = app.get("/openapi.json", None);
    assert!(!spec.text.contains(access));
}

#[test]
fn patch_settings_and_item_mapping() {
    let (app, token, biz) = setup();
    let dish = app.dish(&token, &biz, "Dal", 15000);
    let other_biz = app.business(&token, "Other");
    let other_dish = app.dish(&token, &other_biz, "Naan", 4000);
    app.connect_square(&token, &biz, "sq-patch-token-0001");
    let path = format!("/api/v1/pos/integration/{biz}");

    let resp = app.patch(
        &path,
        Some(&token),
        json!({"auto_sync_orders": false, "item_mapping": {dish.clone(): "SQ-ITEM-1"},
               "location_id": "L2"}),
    );
    resp.expect(200);
    let i = &resp.data()["integration"];
    assert_eq!(i["auto_sync_orders"], false);
    assert_eq!(i["sync_customer_info"], true);
    assert_eq!(i["location_id"], "L2");
    assert_eq!(i["item_mapping"], json!({dish.clone(): "SQ-ITEM-1"}));

    let before = app.get(&path, Some(&token)).data()["integration"].clone();
    for (mapping, what) in [
        (
            json!({other_dish.clone(): "X"}),
            "a dish of another business",
        ),
        (
            json!({"0193a1b2-8d4e-7f50-9b0c-1d2e3f4a5b6c": "X"}),
            "an unknown dish",
        ),
        (json!({"not-a-uuid": "X"}), "a non-UUID key"),
    ] {
        let resp = app.patch(&path, Some(&token), json!({"item_mapping": mapping}));
        let message = resp.expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains("item_mapping"), "{what}: {message}");
    }
    // Also at connect.
    let message = app
        .post(
            "/api/v1/pos/connect",
            Some(&token),
            json!({"business_id": biz, "provider": "square", "access_token": "t",
                   "location_id": "L1", "item_mapping": {other_dish.clone(): "X"}}),
        )
        .expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("item_mapping"), "{message}");
    let after = app.get(&path, Some(&token)).data()["integration"].clone();
    assert_eq!(before, after, "a refused change changed the integration");
}

fn db_access_token(app: &TestApp, biz: &str) -> (Option<String>, Option<String>, i64) {
    let conn = rusqlite::Connection::open_with_flags(
        app.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(
        "SELECT access_token, refresh_token, is_active FROM pos_integrations WHERE business_id = ?1",
        [biz],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn disconnect_erases_tokens_and_keeps_the_row() {
    let (app, token, biz) = setup();
    let resp = app.post("/api/v1/pos/connect", Some(&token), full_body("zoho", &biz));
    resp.expect(200);
    let id = resp.data()["integration"]["id"].clone();
    let (access, refresh, active) = db_access_token(&app, &biz);
    assert!(access.is_some() && refresh.is_some());
    assert_eq!(active, 1);
    assert_ne!(access.as_deref(), Some("z-token"), "stored in plaintext");

    let resp = app.post(
        "/api/v1/pos/disconnect",
        Some(&token),
        json!({"business_id": biz}),
    );
    resp.expect(200);
    assert_eq!(
        resp.body["message"],
        "POS integration disconnected successfully"
    );
    let (access, refresh, active) = db_access_token(&app, &biz);
    assert_eq!(access, None);
    assert_eq!(refresh, None);
    assert_eq!(active, 0);
    let got = app.get(&format!("/api/v1/pos/integration/{biz}"), Some(&token));
    got.expect(200);
    assert_eq!(got.data()["integration"]["is_active"], false);
    assert_eq!(got.data()["integration"]["id"], id);
}

#[test]
fn no_integration_is_404() {
    let (app, token, biz) = setup();
    app.get(&format!("/api/v1/pos/integration/{biz}"), Some(&token))
        .expect_error(404, "NOT_FOUND");
    app.patch(
        &format!("/api/v1/pos/integration/{biz}"),
        Some(&token),
        json!({"auto_sync_orders": false}),
    )
    .expect_error(404, "NOT_FOUND");
    app.post(
        "/api/v1/pos/disconnect",
        Some(&token),
        json!({"business_id": biz}),
    )
    .expect_error(404, "NOT_FOUND");
    // And for a business that does not exist at all.
    let ghost = "0193a1b2-8d4e-7f50-9b0c-1d2e3f4a5b6c";
    app.post(
        "/api/v1/pos/connect",
        Some(&token),
        full_body("square", ghost),
    )
    .expect_error(404, "NOT_FOUND");
    app.get(&format!("/api/v1/pos/integration/{ghost}"), Some(&token))
        .expect_error(404, "NOT_FOUND");
}
