//! Edge input: a NUL in any text field, a `token_expires_at` outside 2000-01-01..2100-01-01, and
//! text that breaks its declared pattern each get a 400 naming the field, and write nothing.

use super::*;

/// `field: `, as a 400's message starts (leaked: the cases keep `'static` texts).
fn leading(field: &str) -> &'static str {
    Box::leak(format!("{field}: ").into_boxed_str())
}

/// `body` with a NUL put into the text at `pointer`.
fn nul(body: &Value, pointer: &str) -> Value {
    let text = body.pointer(pointer).and_then(Value::as_str).unwrap_or("x");
    with(body, pointer, json!(format!("{text}\u{0}tail")))
}

#[test]
fn a_nul_in_any_text_field_is_a_400_naming_the_field() {
    let w = world();
    let register =
        json!({"email": "new@spicegarden.in", "password": "correct horse", "name": "Asha"});
    let login = json!({"email": "owner@spicegarden.in", "password": "correct horse"});
    let business = json!({"name": "Spice Garden", "currency": "INR", "timezone": "Asia/Kolkata"});
    let patch = json!({"name": "Spice", "notification_email": "a@spicegarden.in",
                       "whatsapp_number": "+919876543210"});
    let dish = json!({"name": "Masala Dosa", "price": 12000});
    let order = json!({"business_id": w.connected, "customer_name": "Rahul",
                       "customer_phone": "+919876543210", "special_instructions": "Ring",
                       "items": [{"dish_id": w.connected_dish, "quantity": 1, "note": "Spicy"}]});
    let connect = json!({"business_id": w.business, "provider": "square",
                         "access_token": "EAAAl-nul", "refresh_token": "r",
                         "token_expires_at": "2030-01-01T00:00:00Z", "location_id": "L1",
                         "merchant_id": "M1", "item_mapping": {w.dish.clone(): "ITEM"}});
    let settings = json!({"location_id": "L1", "merchant_id": "M1",
                          "item_mapping": {w.connected_dish.clone(): "ITEM"}});
    let one = format!("/api/v1/businesses/{}", w.business);
    let dishes = format!("/api/v1/businesses/{}/dishes", w.business);
    let integration = format!("/api/v1/pos/integration/{}", w.connected);
    let mut cases = Vec::new();
    let mut add =
        |path: &str, method: &'static str, body: &Value, fields: &[(&str, &'static str)]| {
            for (pointer, field) in fields {
                cases.push(invalid(
                    &format!("a NUL in {field}"),
                    method,
                    path,
                    nul(body, pointer),
                    field,
                ));
            }
        };
    add(
        "/api/v1/auth/register",
        "POST",
        &register,
        &[
            ("/email", "email"),
            ("/password", "password"),
            ("/name", "name"),
        ],
    );
    add(
        "/api/v1/auth/login",
        "POST",
        &login,
        &[("/email", "email"), ("/password", "password")],
    );
    add(
        "/api/v1/businesses",
        "POST",
        &business,
        &[
            ("/name", "name"),
            ("/currency", "currency"),
            ("/timezone", "timezone"),
        ],
    );
    add(
        &one,
        "PATCH",
        &patch,
        &[
            ("/name", "name"),
            ("/notification_email", "notification_email"),
            ("/whatsapp_number", "whatsapp_number"),
        ],
    );
    add(&dishes, "POST", &dish, &[("/name", "name")]);
    add(
        "/api/v1/orders",
        "POST",
        &order,
        &[
            ("/customer_name", "customer_name"),
            ("/customer_phone", "customer_phone"),
            ("/special_instructions", "special_instructions"),
            ("/items/0/note", "items[0].note"),
        ],
    );
    add(
        "/api/v1/pos/connect",
        "POST",
        &connect,
        &[
            ("/access_token", "access_token"),
            ("/refresh_token", "refresh_token"),
            ("/token_expires_at", "token_expires_at"),
            ("/location_id", "location_id"),
            ("/merchant_id", "merchant_id"),
        ],
    );
    let mapped = format!("/item_mapping/{}", w.dish);
    add(
        "/api/v1/pos/connect",
        "POST",
        &connect,
        &[(mapped.as_str(), "item_mapping")],
    );
    add(
        &integration,
        "PATCH",
        &settings,
        &[
            ("/location_id", "location_id"),
            ("/merchant_id", "merchant_id"),
        ],
    );
    let authorize = format!(
        "/api/v1/pos/oauth/square/authorize?business_id={}&location_id=L%00X",
        w.business
    );
    cases.push(
        bare(
            "a NUL in location_id",
            "GET",
            &authorize,
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("location_id"),
    );
    let register_cases: Vec<Case> = cases.drain(..5).map(Case::without_auth).collect();
    cases.extend(register_cases);
    run(&w.app, &w.token, cases);
}

#[test]
fn token_expiry_outside_2000_to_2100_and_broken_patterns_are_400s_naming_the_field() {
    let w = world();
    let connect = json!({"business_id": w.business, "provider": "square",
                         "access_token": "EAAAl-range", "location_id": "L1"});
    let one = format!("/api/v1/businesses/{}", w.business);
    let mut cases = Vec::new();
    for at in [
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:01Z",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
    ] {
        cases.push(invalid(
            &format!("token_expires_at {at}"),
            "POST",
            "/api/v1/pos/connect",
            with(&connect, "/token_expires_at", json!(at)),
            "token_expires_at",
        ));
    }
    for (what, body, field) in [
        (
            "a blank access_token",
            with(&connect, "/access_token", json!("  ")),
            "access_token",
        ),
        (
            "a blank customer_name",
            json!({"business_id": w.connected, "customer_name": "\u{3000}",
            "items": [{"dish_id": w.connected_dish, "quantity": 1}]}),
            "customer_name",
        ),
    ] {
        let path = if field == "access_token" {
            "/api/v1/pos/connect"
        } else {
            "/api/v1/orders"
        };
        cases.push(invalid(what, "POST", path, body, field).mentioning(leading(field)));
    }
    for (what, body, field) in [
        (
            "a currency of two letters",
            json!({"name": "S", "currency": "IN"}),
            "currency",
        ),
        (
            "a currency with digits",
            json!({"name": "S", "currency": "IN1"}),
            "currency",
        ),
    ] {
        cases
            .push(invalid(what, "POST", "/api/v1/businesses", body, field).mentioning("currency:"));
    }
    for (what, body, field) in [
        (
            "an email with a space",
            json!({"notification_email": "a b@c.in"}),
            "notification_email",
        ),
        (
            "an email with two @",
            json!({"notification_email": "a@@c.in"}),
            "notification_email",
        ),
        (
            "a number with a space",
            json!({"whatsapp_number": "+91 9876543210"}),
            "whatsapp_number",
        ),
        (
            "a number too short",
            json!({"whatsapp_number": "+1234567"}),
            "whatsapp_number",
        ),
    ] {
        cases.push(invalid(what, "PATCH", &one, body, field).mentioning(leading(field)));
    }
    let register = json!({"email": "a b@spicegarden.in", "password": "correct horse"});
    cases.push(
        invalid(
            "a register email with a space",
            "POST",
            "/api/v1/auth/register",
            register,
            "email",
        )
        .mentioning("email:")
        .without_auth(),
    );
    run(&w.app, &w.token, cases);
}

/// The answer to `head` sent on a new connection, read to its end.
fn exchange(app: &TestApp, head: &[u8]) -> String {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(head);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn headers_too_large_get_431_in_the_envelope() {
    let app = TestApp::start_offline(&[]);
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(600_000)
    );
    let many: String = (0..200).map(|i| format!("X-H{i}: a\r\n")).collect();
    let many = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    for (what, head) in [("one huge header", huge), ("200 headers", many)] {
        let answer = exchange(&app, head.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 431 "), "{what}: {answer}");
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let body: Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {answer}"));
        assert_eq!(body["success"], false, "{what}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{what}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("headers: ")
        );
    }
    // The service goes on answering.
    app.get("/healthz", None).expect(200);
}
