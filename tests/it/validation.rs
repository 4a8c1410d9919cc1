//! The validation matrix: every malformed request gets its 4xx in the error envelope, a message
//! naming the field where the case is about one, and writes nothing (every row of every table is
//! compared before and after each case).

use crate::common;

use common::{TestApp, snapshot_changes};
use serde_json::{Value, json};

mod edge_input;
mod kitchen_fields;
mod transport;

const ONE_MIB: usize = 1024 * 1024;

/// One malformed request and what it must get.
struct Case {
    what: String,
    method: &'static str,
    path: String,
    auth: bool,
    /// Content type and bytes; `None` sends no body.
    body: Option<(&'static str, Vec<u8>)>,
    status: u16,
    code: &'static str,
    /// Text the error message must contain (the field, mostly).
    mentions: Option<&'static str>,
}

/// A JSON body that must be refused with 400 naming `field`.
fn invalid(what: &str, method: &'static str, path: &str, body: Value, field: &'static str) -> Case {
    Case {
        what: what.to_string(),
        method,
        path: path.to_string(),
        auth: true,
        body: Some(("application/json", body.to_string().into_bytes())),
        status: 400,
        code: "VALIDATION_ERROR",
        mentions: Some(field),
    }
}

/// Raw bytes as the body; refused with 400 unless [`Case::answers`] says otherwise.
fn bytes(
    what: &str,
    method: &'static str,
    path: &str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Case {
    Case {
        what: what.to_string(),
        method,
        path: path.to_string(),
        auth: true,
        body: Some((content_type, body)),
        status: 400,
        code: "VALIDATION_ERROR",
        mentions: None,
    }
}

/// No body at all.
fn bare(what: &str, method: &'static str, path: &str, status: u16, code: &'static str) -> Case {
    Case {
        what: what.to_string(),
        method,
        path: path.to_string(),
        auth: true,
        body: None,
        status,
        code,
        mentions: None,
    }
}

impl Case {
    fn without_auth(mut self) -> Case {
        self.auth = false;
        self
    }

    fn answers(mut self, status: u16, code: &'static str) -> Case {
        self.status = status;
        self.code = code;
        self
    }

    fn mentioning(mut self, text: &'static str) -> Case {
        self.mentions = Some(text);
        self
    }
}

/// Run every case; report every problem at once.
fn run(app: &TestApp, token: &str, cases: Vec<Case>) {
    let mut problems = Vec::new();
    for case in cases {
        let before = app.snapshot();
        let token = case.auth.then_some(token);
        let resp = match &case.body {
            // possync answers a big body before reading it all; read that answer over TCP.
            Some((content_type, bytes)) if bytes.len() > ONE_MIB => {
                app.raw_tcp(case.method, &case.path, token, content_type, bytes, false)
            }
            _ => app.raw(case.method, &case.path, token, case.body.clone()),
        };
        let label = format!("{} ({} {})", case.what, case.method, case.path);
        if resp.status != case.status {
            problems.push(format!(
                "{label}: status {} (wanted {}): {}",
                resp.status, case.status, resp.text
            ));
        }
        if resp.body["success"] != json!(false) || resp.body["error"]["code"] != case.code {
            problems.push(format!(
                "{label}: not a {} envelope: {}",
                case.code, resp.text
            ));
        }
        let message = resp.body["error"]["message"].as_str().unwrap_or_default();
        if message.trim().is_empty() {
            problems.push(format!("{label}: no message: {}", resp.text));
        } else if let Some(text) = case.mentions
            && !message.to_lowercase().contains(&text.to_lowercase())
        {
            problems.push(format!(
                "{label}: the message does not name `{text}`: {message}"
            ));
        }
        let changed = snapshot_changes(&before, &app.snapshot());
        if !changed.is_empty() {
            problems.push(format!("{label}: wrote to {}", changed.join(", ")));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A seller with a business that has a dish and no integration, and a second business that is
/// connected to Square (POS endpoints offline).
struct World {
    app: TestApp,
    token: String,
    business: String,
    dish: String,
    connected: String,
    connected_dish: String,
}

fn world() -> World {
    let app = TestApp::start_offline(&[]);
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let connected = app.business(&token, "Curry House");
    let connected_dish = app.dish(&token, &connected, "Chicken Tikka", 40000);
    app.connect_square(&token, &connected, "EAAAl-validation");
    World {
        app,
        token,
        business,
        dish,
        connected,
        connected_dish,
    }
}

/// `body` with the value at `pointer` set (added when the last step is a missing key).
fn with(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match body.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        other => panic!("{pointer}: {other} has no fields"),
    }
    body
}

fn without(body: &Value, field: &str) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove(field);
    body
}

#[test]
fn malformed_register_and_login_bodies_get_a_400_naming_the_field_and_create_no_account() {
    let w = world();
    let register = "/api/v1/auth/register";
    let login = "/api/v1/auth/login";
    let good = json!({"email": "new@spicegarden.in", "password": "correct horse", "name": "Asha"});
    let cases = vec![
        bytes(
            "malformed JSON",
            "POST",
            register,
            "application/json",
            br#"{"email": "new@spicegarden.in", "password": "#.to_vec(),
        )
        .mentioning("json"),
        bytes(
            "an empty body",
            "POST",
            register,
            "application/json",
            Vec::new(),
        ),
        invalid(
            "a JSON array",
            "POST",
            register,
            json!([good.clone()]),
            "body",
        ),
        invalid("JSON null", "POST", register, Value::Null, "body"),
        invalid(
            "a number for email",
            "POST",
            register,
            with(&good, "/email", json!(5)),
            "email",
        ),
        invalid(
            "a number for password",
            "POST",
            register,
            with(&good, "/password", json!(12345678)),
            "password",
        ),
        invalid(
            "a boolean for name",
            "POST",
            register,
            with(&good, "/name", json!(true)),
            "name",
        ),
        invalid(
            "no email",
            "POST",
            register,
            without(&good, "email"),
            "email",
        ),
        invalid(
            "no password",
            "POST",
            register,
            without(&good, "password"),
            "password",
        ),
        invalid("an empty object", "POST", register, json!({}), "email"),
        invalid(
            "not an email",
            "POST",
            register,
            with(&good, "/email", json!("spicegarden.in")),
            "email",
        ),
        invalid(
            "an email over 254 characters",
            "POST",
            register,
            with(
                &good,
                "/email",
                json!(format!("{}@spicegarden.in", "a".repeat(250))),
            ),
            "email",
        ),
        invalid(
            "a 7-character password",
            "POST",
            register,
            with(&good, "/password", json!("1234567")),
            "password",
        ),
        invalid(
            "a 129-character password",
            "POST",
            register,
            with(&good, "/password", json!("p".repeat(129))),
            "password",
        ),
        invalid(
            "a name over 200 characters",
            "POST",
            register,
            with(&good, "/name", json!("n".repeat(201))),
            "name",
        ),
        bytes(
            "malformed JSON",
            "POST",
            login,
            "application/json",
            b"{email: owner@spicegarden.in}".to_vec(),
        )
        .mentioning("json"),
        invalid(
            "no password",
            "POST",
            login,
            json!({"email": "owner@spicegarden.in"}),
            "password",
        ),
        invalid(
            "a number for email",
            "POST",
            login,
            json!({"email": 7, "password": "correct horse"}),
            "email",
        ),
        invalid(
            "not an email",
            "POST",
            login,
            json!({"email": "not-an-email", "password": "correct horse"}),
            "email",
        ),
    ];
    let cases = cases.into_iter().map(Case::without_auth).collect();
    run(&w.app, &w.token, cases);
}

#[test]
fn malformed_business_and_dish_bodies_get_a_400_naming_the_field_and_write_nothing() {
    let w = world();
    let create = "/api/v1/businesses";
    let one = format!("/api/v1/businesses/{}", w.business);
    let dishes = format!("/api/v1/businesses/{}/dishes", w.business);
    let business = json!({"name": "Spice Garden", "currency": "INR", "timezone": "Asia/Kolkata"});
    let dish = json!({"name": "Masala Dosa", "price": 12000});
    let cases = vec![
        bytes(
            "malformed JSON",
            "POST",
            create,
            "application/json",
            br#"{"name": "x","#.to_vec(),
        )
        .mentioning("json"),
        invalid(
            "a number for name",
            "POST",
            create,
            with(&business, "/name", json!(5)),
            "name",
        ),
        invalid(
            "no name",
            "POST",
            create,
            without(&business, "name"),
            "name",
        ),
        invalid(
            "an empty name",
            "POST",
            create,
            with(&business, "/name", json!("")),
            "name",
        ),
        invalid(
            "a blank name",
            "POST",
            create,
            with(&business, "/name", json!("   ")),
            "name",
        ),
        invalid(
            "a 201-character name",
            "POST",
            create,
            with(&business, "/name", json!("n".repeat(201))),
            "name",
        ),
        invalid(
            "a number for currency",
            "POST",
            create,
            with(&business, "/currency", json!(356)),
            "currency",
        ),
        invalid(
            "an unknown currency",
            "POST",
            create,
            with(&business, "/currency", json!("XYZ")),
            "currency",
        ),
        invalid(
            "an array for timezone",
            "POST",
            create,
            with(&business, "/timezone", json!(["Asia/Kolkata"])),
            "timezone",
        ),
        invalid(
            "an unknown timezone",
            "POST",
            create,
            with(&business, "/timezone", json!("Asia/Bangalore")),
            "timezone",
        ),
        invalid(
            "a number for name",
            "PATCH",
            &one,
            json!({"name": 5}),
            "name",
        ),
        invalid(
            "a string for whatsapp_enabled",
            "PATCH",
            &one,
            json!({"whatsapp_enabled": "true"}),
            "whatsapp_enabled",
        ),
        invalid(
            "a bad whatsapp number",
            "PATCH",
            &one,
            json!({"whatsapp_number": "9876543210"}),
            "whatsapp_number",
        ),
        invalid(
            "a bad notification email",
            "PATCH",
            &one,
            json!({"notification_email": "alerts"}),
            "notification_email",
        ),
        invalid(
            "a negative price",
            "POST",
            &dishes,
            with(&dish, "/price", json!(-1)),
            "price",
        ),
        invalid(
            "a very negative price",
            "POST",
            &dishes,
            with(&dish, "/price", json!(-30000)),
            "price",
        ),
        invalid(
            "a string for price",
            "POST",
            &dishes,
            with(&dish, "/price", json!("12000")),
            "price",
        ),
        invalid(
            "a fraction for price",
            "POST",
            &dishes,
            with(&dish, "/price", json!(120.5)),
            "price",
        ),
        invalid(
            "a price beyond 64 bits",
            "POST",
            &dishes,
            with(&dish, "/price", json!(1e20)),
            "price",
        ),
        invalid(
            "null for price",
            "POST",
            &dishes,
            with(&dish, "/price", Value::Null),
            "price",
        ),
        invalid(
            "no price",
            "POST",
            &dishes,
            without(&dish, "price"),
            "price",
        ),
        invalid("no name", "POST", &dishes, without(&dish, "name"), "name"),
        invalid(
            "a number for name",
            "POST",
            &dishes,
            with(&dish, "/name", json!(5)),
            "name",
        ),
        invalid(
            "a 201-character name",
            "POST",
            &dishes,
            with(&dish, "/name", json!("₹".repeat(201))),
            "name",
        ),
        invalid(
            "a dish body that is a list",
            "POST",
            &dishes,
            json!([dish.clone()]),
            "body",
        ),
    ];
    run(&w.app, &w.token, cases);
}

#[test]
fn malformed_orders_get_a_400_naming_the_field_and_write_nothing() {
    let w = world();
    let orders = "/api/v1/orders";
    // For the connected business: an accepted order would also queue a sync log.
    let good = json!({
        "business_id": w.connected,
        "customer_name": "Rahul Kumar",
        "customer_phone": "+919876543210",
        "special_instructions": "Ring the bell",
        "items": [{"dish_id": w.connected_dish, "quantity": 2, "note": "Extra spicy"}],
    });
    let line = json!({"dish_id": w.connected_dish, "quantity": 1});
    let priceless = w
        .app
        .dish(&w.token, &w.connected, "Saffron by the kilo", i64::MAX);
    let cases = vec![
        invalid(
            "a total beyond 64 bits",
            "POST",
            orders,
            with(
                &good,
                "/items",
                json!([{"dish_id": priceless, "quantity": 2}]),
            ),
            "total",
        ),
        bytes(
            "malformed JSON",
            "POST",
            orders,
            "application/json",
            br#"{"business_id": "x", "items": [}"#.to_vec(),
        )
        .mentioning("json"),
        bytes(
            "an empty body",
            "POST",
            orders,
            "application/json",
            Vec::new(),
        ),
        invalid(
            "quantity 0",
            "POST",
            orders,
            with(&good, "/items/0/quantity", json!(0)),
            "quantity",
        ),
        invalid(
            "quantity 1000",
            "POST",
            orders,
            with(&good, "/items/0/quantity", json!(1000)),
            "quantity",
        ),
        invalid(
            "a negative quantity",
            "POST",
            orders,
            with(&good, "/items/0/quantity", json!(-1)),
            "quantity",
        ),
        invalid(
            "a string for quantity",
            "POST",
            orders,
            with(&good, "/items/0/quantity", json!("2")),
            "quantity",
        ),
        invalid(
            "a fraction for quantity",
            "POST",
            orders,
            with(&good, "/items/0/quantity", json!(1.5)),
            "quantity",
        ),
        invalid(
            "0 items",
            "POST",
            orders,
            with(&good, "/items", json!([])),
            "items",
        ),
        invalid(
            "101 items",
            "POST",
            orders,
            with(&good, "/items", Value::Array(vec![line.clone(); 101])),
            "items",
        ),
        invalid("no items", "POST", orders, without(&good, "items"), "items"),
        invalid(
            "an object for items",
            "POST",
            orders,
            with(&good, "/items", line.clone()),
            "items",
        ),
        invalid(
            "a string for an item",
            "POST",
            orders,
            with(&good, "/items", json!(["Chicken Tikka"])),
            "items",
        ),
        invalid(
            "an item without dish_id",
            "POST",
            orders,
            with(&good, "/items", json!([{"quantity": 1}])),
            "dish_id",
        ),
        invalid(
            "an item without quantity",
            "POST",
            orders,
            with(&good, "/items", json!([{"dish_id": w.connected_dish}])),
            "quantity",
        ),
        invalid(
            "a dish_id that is not a UUID",
            "POST",
            orders,
            with(&good, "/items/0/dish_id", json!("chicken-tikka")),
            "dish_id",
        ),
        invalid(
            "a dish of another business",
            "POST",
            orders,
            with(&good, "/items/0/dish_id", json!(w.dish)),
            "items[0].dish_id",
        ),
        invalid(
            "a bad second line",
            "POST",
            orders,
            with(
                &good,
                "/items",
                json!([line.clone(), {"dish_id": w.connected_dish, "quantity": 0}]),
            ),
            "quantity",
        ),
        invalid(
            "a number for customer_name",
            "POST",
            orders,
            with(&good, "/customer_name", json!(5)),
            "customer_name",
        ),
        invalid(
            "no customer_name",
            "POST",
            orders,
            without(&good, "customer_name"),
            "customer_name",
        ),
        invalid(
            "a blank customer_name",
            "POST",
            orders,
            with(&good, "/customer_name", json!("  ")),
            "customer_name",
        ),
        invalid(
            "a 201-character customer_name",
            "POST",
            orders,
            with(&good, "/customer_name", json!("c".repeat(201))),
            "customer_name",
        ),
        invalid(
            "a 33-character customer_phone",
            "POST",
            orders,
            with(&good, "/customer_phone", json!("9".repeat(33))),
            "customer_phone",
        ),
        invalid(
            "a number for customer_phone",
            "POST",
            orders,
            with(&good, "/customer_phone", json!(919876543210_i64)),
            "customer_phone",
        ),
        invalid(
            "2001 characters of special_instructions",
            "POST",
            orders,
            with(&good, "/special_instructions", json!("s".repeat(2001))),
            "special_instructions",
        ),
        invalid(
            "a 501-character note",
            "POST",
            orders,
            with(&good, "/items/0/note", json!("n".repeat(501))),
            "note",
        ),
        invalid(
            "no business_id",
            "POST",
            orders,
            without(&good, "business_id"),
            "business_id",
        ),
        invalid(
            "a business_id that is not a UUID",
            "POST",
            orders,
            with(&good, "/business_id", json!("spice-garden")),
            "business_id",
        ),
        invalid(
            "a number for business_id",
            "POST",
            orders,
            with(&good, "/business_id", json!(42)),
            "business_id",
        ),
    ];
    run(&w.app, &w.token, cases);
}

#[test]
fn malformed_pos_requests_get_a_400_naming_the_field_and_write_nothing() {
    let w = world();
    let connect = "/api/v1/pos/connect";
    let integration = format!("/api/v1/pos/integration/{}", w.connected);
    // Against the business without an integration (a wrong accept would create one) and the
    // connected one (a wrong accept would change it).
    let mut cases = Vec::new();
    for business in [&w.business, &w.connected] {
        let good = json!({"business_id": business, "provider": "square",
                          "access_token": "EAAAl-new", "location_id": "L8AHQ2RX0BX1K"});
        cases.extend([
            invalid(
                "an unknown provider",
                "POST",
                connect,
                with(&good, "/provider", json!("clover")),
                "provider",
            ),
            invalid(
                "a number for provider",
                "POST",
                connect,
                with(&good, "/provider", json!(3)),
                "provider",
            ),
            invalid(
                "no provider",
                "POST",
                connect,
                without(&good, "provider"),
                "provider",
            ),
            invalid(
                "no access_token",
                "POST",
                connect,
                without(&good, "access_token"),
                "access_token",
            ),
            invalid(
                "a number for access_token",
                "POST",
                connect,
                with(&good, "/access_token", json!(12345)),
                "access_token",
            ),
            invalid(
                "an empty access_token",
                "POST",
                connect,
                with(&good, "/access_token", json!("")),
                "access_token",
            ),
            invalid(
                "Square without location_id",
                "POST",
                connect,
                without(&good, "location_id"),
                "location_id",
            ),
            invalid(
                "Zoho without refresh_token",
                "POST",
                connect,
                json!({"business_id": business, "provider": "zoho", "access_token": "1000.a",
                       "merchant_id": "60012345678"}),
                "refresh_token",
            ),
            invalid(
                "Zoho without merchant_id",
                "POST",
                connect,
                json!({"business_id": business, "provider": "zoho", "access_token": "1000.a",
                       "refresh_token": "1000.r"}),
                "merchant_id",
            ),
            invalid(
                "Dine without location_id",
                "POST",
                connect,
                json!({"business_id": business, "provider": "dine", "access_token": "secret"}),
                "location_id",
            ),
            invalid(
                "a string for auto_sync_orders",
                "POST",
                connect,
                with(&good, "/auto_sync_orders", json!("true")),
                "auto_sync_orders",
            ),
            invalid(
                "a string for item_mapping",
                "POST",
                connect,
                with(&good, "/item_mapping", json!("none")),
                "item_mapping",
            ),
            invalid(
                "an unknown dish in item_mapping",
                "POST",
                connect,
                with(
                    &good,
                    "/item_mapping",
                    json!({"0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b": "VAR-1"}),
                ),
                "item_mapping",
            ),
            invalid(
                "a bad token_expires_at",
                "POST",
                connect,
                with(&good, "/token_expires_at", json!("soon")),
                "token_expires_at",
            ),
        ]);
    }
    cases.extend([
        invalid(
            "no business_id",
            "POST",
            connect,
            json!({"provider": "square", "access_token": "EAAAl-new", "location_id": "L1"}),
            "business_id",
        ),
        invalid(
            "no business_id",
            "POST",
            "/api/v1/pos/disconnect",
            json!({}),
            "business_id",
        ),
        invalid(
            "a business_id that is not a UUID",
            "POST",
            "/api/v1/pos/disconnect",
            json!({"business_id": "spice-garden"}),
            "business_id",
        ),
        invalid(
            "a number for auto_sync_orders",
            "PATCH",
            &integration,
            json!({"auto_sync_orders": 1}),
            "auto_sync_orders",
        ),
        invalid(
            "a dish of another business in item_mapping",
            "PATCH",
            &integration,
            json!({"item_mapping": {w.dish.clone(): "VAR-PANEER"}}),
            "item_mapping",
        ),
        invalid(
            "a number as a POS item id",
            "PATCH",
            &integration,
            json!({"item_mapping": {w.connected_dish.clone(): 7}}),
            "item_mapping",
        ),
    ]);
    run(&w.app, &w.token, cases);
}
