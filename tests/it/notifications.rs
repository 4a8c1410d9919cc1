//! Seller notifications (issue 6), black-box: each trigger raises exactly one in-app notification
//! and exactly one delivery per enabled channel (an SMTP sink and a mock WhatsApp Cloud API over
//! loopback); caps hold; a failing channel is retried without slowing order sync; mark-read and
//! the unread badge; another seller sees none of it.

use crate::common;

use std::time::{Duration, Instant};

use common::TestApp;
use common::mock_square::{Fault, MockSquare};
use common::mock_whatsapp::MockWhatsApp;
use common::provider_env::{ProviderEnv, SELLER_EMAIL};
use common::smtp_sink::SmtpSink;
use common::wait::{PATIENCE, wait_for};
use serde_json::{Value, json};

/// A Square base URL where nothing listens: every push fails with a network error.
const CLOSED_PORT: &str = "http://127.0.0.1:9";
const ALERT_EMAIL: &str = "alerts@spicegarden.in";
const WHATSAPP_NUMBER: &str = "+919876543210";
const WHATSAPP_DIGITS: &str = "919876543210";
const FROM: &str = "possync <alerts@possync.test>";

/// The two channels' loopback mocks: an SMTP sink and a WhatsApp Cloud API.
struct Channels {
    smtp: SmtpSink,
    wa: MockWhatsApp,
}

/// A service with both channels pointed at their mocks, a seller, a business and a dish.
type Env = ProviderEnv<Channels>;

/// Service flags: Square at `square`, email to `smtp`, WhatsApp to `wa`; quick retries unless
/// `extra` says otherwise.
fn flags(square: &str, smtp: &SmtpSink, wa: &MockWhatsApp, extra: &[&str]) -> Vec<String> {
    let mut flags: Vec<String> = vec![
        "--square-base-url".into(),
        square.into(),
        "--smtp-url".into(),
        smtp.url(),
        "--email-from".into(),
        FROM.into(),
    ];
    flags.extend(wa.flags());
    for (flag, value) in [
        ("--retry-interval", "100ms"),
        ("--notify-retry-interval", "100ms"),
    ] {
        if !extra.contains(&flag) {
            flags.extend([flag.to_string(), value.to_string()]);
        }
    }
    flags.extend(extra.iter().map(|s| s.to_string()));
    flags
}

/// Start the mocks and a service; the business is not connected to any POS yet.
fn start(square: &str, extra: &[&str]) -> Env {
    let smtp = SmtpSink::start();
    let wa = MockWhatsApp::start();
    let flags = flags(square, &smtp, &wa, extra);
    ProviderEnv::start(Channels { smtp, wa }, &flags, "INR", 30000)
}

impl Env {
    /// PATCH a business of this seller; returns the business.
    fn patch_business(&self, business: &str, body: Value) -> Value {
        let resp = self.app.patch(
            &format!("/api/v1/businesses/{business}"),
            Some(&self.token),
            body,
        );
        resp.expect(200);
        resp.data()["business"].clone()
    }

    /// Both channels on for the main business: a notification email and WhatsApp.
    fn enable_all_channels(&self) {
        let b = self.patch_business(
            &self.business,
            json!({"notification_email": ALERT_EMAIL, "whatsapp_number": WHATSAPP_NUMBER,
                   "whatsapp_enabled": true}),
        );
        assert_eq!(b["notification_email"], json!(ALERT_EMAIL));
        assert_eq!(b["whatsapp_number"], json!(WHATSAPP_NUMBER));
        assert_eq!(b["whatsapp_enabled"], json!(true));
    }

    /// Connect the main business to Square with a token possync cannot refresh.
    fn connect(&self) {
        self.app
            .connect_square(&self.token, &self.business, "sq-access-1");
    }

    /// `data` of GET /notifications with a query string ("" for none), as this seller.
    fn list(&self, query: &str) -> Value {
        list_as(&self.app, &self.token, query)
    }

    /// Every notification of this seller, newest first.
    fn notifications(&self) -> Vec<Value> {
        self.list("?limit=200")["notifications"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// This seller's notifications of one kind.
    fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.notifications()
            .into_iter()
            .filter(|n| n["kind"] == json!(kind))
            .collect()
    }

    /// Wait until every delivery of every notification has left `pending`; the notifications.
    fn wait_deliveries_settled(&self) -> Vec<Value> {
        wait_for(PATIENCE, "every delivery is sent or failed", || {
            let all = self.notifications();
            let pending = all.iter().any(|n| {
                n["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["status"] == json!("pending"))
            });
            if pending {
                Err(json!(all).to_string())
            } else {
                Ok(all)
            }
        })
    }
}

fn list_as(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app.get(&format!("/api/v1/notifications{query}"), Some(token));
    resp.expect(200);
    resp.data().clone()
}

/// The deliveries of a notification as `(channel, status, attempts)`, by channel.
fn deliveries(n: &Value) -> Vec<(String, String, i64)> {
    let mut out: Vec<(String, String, i64)> = n["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Assert the notification was sent once by email and once by WhatsApp.
fn assert_sent_once_on_both(n: &Value) {
    assert_eq!(
        deliveries(n),
        vec![
            ("email".to_string(), "sent".to_string(), 1),
            ("whatsapp".to_string(), "sent".to_string(), 1),
        ],
        "deliveries of {n:#}"
    );
    for d in n["deliveries"].as_array().unwrap() {
        assert_eq!(d["last_error"], Value::Null, "{n:#}");
    }
}

/// Assert the sink holds exactly the emails of `notifications` (one each, to `to`, from the
/// configured sender, with the title in the subject and the message in the body), and the WhatsApp
/// mock exactly one message each to the business's number.
fn assert_channels_carried(env: &Env, notifications: &[&Value], to: &str) {
    let mails = env.mock.smtp.messages();
    assert_eq!(
        mails.len(),
        notifications.len(),
        "one email per notification: {mails:#?}"
    );
    let texts = env.mock.wa.messages();
    assert_eq!(
        texts.len(),
        notifications.len(),
        "one WhatsApp message per notification: {texts:#?}"
    );
    for n in notifications {
        let title = n["title"].as_str().unwrap();
        let message = n["message"].as_str().unwrap();
        let mail = mails
            .iter()
            .find(|m| m.subject().contains(title))
            .unwrap_or_else(|| panic!("no email with subject {title:?}: {mails:#?}"));
        assert_eq!(mail.to, vec![to.to_string()], "{mail:#?}");
        assert_eq!(mail.from, "alerts@possync.test", "{mail:#?}");
        let header_to = mail.header("To").unwrap_or_default();
        assert!(header_to.contains(to), "To header {header_to:?}");
        let header_from = mail.header("From").unwrap_or_default();
        assert!(
            header_from.contains("alerts@possync.test"),
            "From header {header_from:?}"
        );
        let body = mail.body();
        assert!(
            squash(&body).contains(&squash(message)),
            "the email body should carry the message {message:?}: {body:?}"
        );
        let text = texts
            .iter()
            .find(|t| t.text.contains(title))
            .unwrap_or_else(|| panic!("no WhatsApp message with {title:?}: {texts:#?}"));
        assert_eq!(text.to, WHATSAPP_DIGITS);
        assert!(
            text.text.contains(message),
            "WhatsApp text {:?} should carry {message:?}",
            text.text
        );
    }
    assert!(
        env.mock.smtp.problems().is_empty(),
        "{:?}",
        env.mock.smtp.problems()
    );
    assert!(
        env.mock.wa.problems().is_empty(),
        "{:?}",
        env.mock.wa.problems()
    );
}

/// Whitespace-insensitive form (email bodies may wrap lines).
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An RFC 3339 instant `hours` from now.
fn hours_from_now(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Connect a business to Square with a token that expires at `expires_at` and no refresh token.
fn connect_expiring(app: &TestApp, token: &str, business: &str, expires_at: &str) {
    let resp = app.post(
        "/api/v1/pos/connect",
        Some(token),
        json!({
            "business_id": business,
            "provider": "square",
            "access_token": "sq-access-1",
            "location_id": "L8AHQ2RX0BX1K",
            "token_expires_at": expires_at,
        }),
    );
    resp.expect(200);
    assert_eq!(resp.data()["integration"]["is_active"], json!(true));
}

// ---------------------------------------------------------------------------------------------
// Triggers
// ---------------------------------------------------------------------------------------------

#[test]
fn a_permanent_failure_raises_one_sync_failed_naming_the_order_on_every_channel() {
    let env = start(CLOSED_PORT, &["--max-retries", "1"]);
    env.enable_all_channels();
    env.connect();
    let order = env.order();
    let log = env.wait_log(&order, "failed");
    let log_id = log["id"].as_str().unwrap();
    assert_eq!(env.attempts(log_id).len(), 2, "one attempt and one retry");

    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "exactly one notification: {all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("sync_failed"));
    assert_eq!(n["business_id"], json!(env.business));
    assert_eq!(n["order_id"], json!(order));
    assert_eq!(n["sync_log_id"], json!(log_id));
    assert_eq!(n["read_at"], Value::Null);
    assert!(n["created_at"].as_str().is_some_and(|s| !s.is_empty()));
    let title = n["title"].as_str().unwrap();
    assert!(title.contains("Square"), "title {title:?}");
    let message = n["message"].as_str().unwrap();
    // Names the order (its id, as the seller sees it, and the customer) and the reason…
    assert!(message.contains(&order[..8]), "message {message:?}");
    assert!(message.contains("Rahul Kumar"), "message {message:?}");
    assert!(message.contains("600.00"), "message {message:?}");
    assert!(
        message.contains("gave up after 2 attempts"),
        "message {message:?}"
    );
    // …and says what to do.
    assert!(
        message.contains("by hand") && message.contains("sync it again"),
        "message {message:?}"
    );

    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
    let request = &env.mock.wa.requests()[0];
    assert_eq!(request.body["messaging_product"], json!("whatsapp"));
    assert_eq!(request.body["type"], json!("text"));
}

#[test]
fn sync_failing_is_raised_once_when_consecutive_failures_reach_the_threshold() {
    let env = start(
        CLOSED_PORT,
        &[
            "--notify-after-failures",
            "3",
            "--max-retries",
            "20",
            "--breaker-after",
            "0",
        ],
    );
    env.enable_all_channels();
    env.connect();
    let order = env.order();
    let log_id = wait_for(PATIENCE, "the order has a log", || {
        env.log(&order)["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "no log".to_string())
    });

    // Two failures: nothing yet.
    wait_for(PATIENCE, "2 attempts", || {
        let n = env.attempts(&log_id).len();
        if n >= 2 { Ok(()) } else { Err(n.to_string()) }
    });
    let early = env.notifications();
    let attempts_now = env.attempts(&log_id).len();
    if attempts_now < 3 {
        assert!(
            early.is_empty(),
            "nothing before the 3rd failure: {early:#?}"
        );
    }

    // The 3rd failure raises it; the 4th and 5th do not raise it again.
    wait_for(PATIENCE, "5 attempts", || {
        let n = env.attempts(&log_id).len();
        if n >= 5 { Ok(()) } else { Err(n.to_string()) }
    });
    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "exactly one notification: {all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("sync_failing"));
    assert_eq!(n["business_id"], json!(env.business));
    assert_eq!(n["order_id"], Value::Null);
    let message = n["message"].as_str().unwrap();
    assert!(
        message.contains("last 3 attempts"),
        "names the count: {message:?}"
    );
    assert!(
        message.contains("check that the POS is online"),
        "says what to do: {message:?}"
    );
    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
}

#[test]
fn an_expiring_token_that_cannot_be_refreshed_warns_once_a_day() {
    let env = start(CLOSED_PORT, &[]);
    let (app, token) = (&env.app, &env.token);
    let expiring = env.business.clone();
    let later = app.business(token, "Curry House");
    app.patch(
        &format!("/api/v1/businesses/{expiring}"),
        Some(token),
        json!({"whatsapp_number": WHATSAPP_NUMBER, "whatsapp_enabled": true}),
    )
    .expect(200);
    let expires_at = hours_from_now(48);
    connect_expiring(app, token, &expiring, &expires_at);
    // Ten days away: no warning yet.
    connect_expiring(app, token, &later, &hours_from_now(240));

    let summary = app
        .app()
        .sync
        .refresh_due_tokens()
        .expect("the refresh job");
    assert!(summary.contains("1 expiry warnings"), "{summary}");
    let summary = app
        .app()
        .sync
        .refresh_due_tokens()
        .expect("the refresh job");
    assert!(summary.contains("0 expiry warnings"), "{summary}");

    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "one warning, not one per run: {all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("token_expiring"));
    assert_eq!(n["business_id"], json!(expiring));
    let message = n["message"].as_str().unwrap();
    assert!(
        message.contains("Reconnect"),
        "says what to do: {message:?}"
    );
    assert!(
        message.contains(&expires_at[..10]),
        "says when ({expires_at}): {message:?}"
    );
    assert_sent_once_on_both(n);
    // No notification_email: the seller's own address.
    assert_channels_carried(&env, &[n], SELLER_EMAIL);

    // A third run still adds nothing.
    env.app.app().sync.refresh_due_tokens().unwrap();
    assert_eq!(env.notifications().len(), 1);
}

#[test]
fn hourly_cap_holds_per_business_and_kind() {
    let env = start(
        CLOSED_PORT,
        &[
            "--notify-cap-per-hour",
            "2",
            "--max-retries",
            "0",
            "--notify-after-failures",
            "3",
            // The lane's breaker would hold the orders this test needs to fail one by one.
            "--breaker-after",
            "0",
        ],
    );
    env.enable_all_channels();
    env.connect();
    let orders: Vec<String> = (0..6).map(|_| env.order()).collect();
    for order in &orders {
        env.wait_log(order, "failed");
    }
    let all = env.wait_deliveries_settled();
    let failed: Vec<&Value> = all
        .iter()
        .filter(|n| n["kind"] == json!("sync_failed"))
        .collect();
    assert_eq!(
        failed.len(),
        2,
        "6 failed orders, at most 2 sync_failed an hour: {all:#?}"
    );
    let failing: Vec<&Value> = all
        .iter()
        .filter(|n| n["kind"] == json!("sync_failing"))
        .collect();
    assert_eq!(failing.len(), 1, "{all:#?}");
    assert_eq!(all.len(), 3, "{all:#?}");
    // The capped notifications were never queued on any channel.
    for n in &all {
        assert_sent_once_on_both(n);
    }
    assert_eq!(env.mock.smtp.messages().len(), 3);
    assert_eq!(env.mock.wa.messages().len(), 3);
    for n in &failed {
        assert!(orders.contains(&n["order_id"].as_str().unwrap().to_string()));
    }

    // The cap is per business: another business of the seller is still told.
    let other = env.app.business(&env.token, "Curry House");
    let dish = env.app.dish(&env.token, &other, "Dal Makhani", 25000);
    env.app.connect_square(&env.token, &other, "sq-access-1");
    let data = env.app.order(&env.token, &other, &dish, 1);
    let order = data["order"]["id"].as_str().unwrap().to_string();
    env.wait_log(&order, "failed");
    let theirs = wait_for(PATIENCE, "the other business is notified", || {
        let data = env.list(&format!("?business_id={other}"));
        if data["total"] == json!(1) {
            Ok(data)
        } else {
            Err(data.to_string())
        }
    });
    assert_eq!(theirs["notifications"][0]["kind"], json!("sync_failed"));
    assert_eq!(theirs["notifications"][0]["order_id"], json!(order));
    let of_first = env.list(&format!("?business_id={}", env.business));
    assert_eq!(of_first["total"], json!(3), "{of_first:#}");
}

// ---------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------

#[test]
fn channels_follow_the_business_settings() {
    let smtp = SmtpSink::start();
    let wa = MockWhatsApp::start();
    let flags = flags(CLOSED_PORT, &smtp, &wa, &[]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::start_with(&flags);
    let token = app.login_new_seller(SELLER_EMAIL);
    let patch = |business: &str, body: Value| {
        app.patch(
            &format!("/api/v1/businesses/{business}"),
            Some(&token),
            body,
        )
        .expect(200);
    };
    // All on, with its own alert address.
    let all_on = app.business(&token, "All On");
    patch(
        &all_on,
        json!({"notification_email": ALERT_EMAIL, "whatsapp_number": WHATSAPP_NUMBER,
               "whatsapp_enabled": true}),
    );
    // Nothing set: email to the seller, no WhatsApp.
    let plain = app.business(&token, "Plain");
    // A number but WhatsApp switched off.
    let off = app.business(&token, "Switched Off");
    patch(
        &off,
        json!({"whatsapp_number": "+919811111111", "whatsapp_enabled": false}),
    );
    // Switched on but no number.
    let no_number = app.business(&token, "No Number");
    patch(&no_number, json!({"whatsapp_enabled": true}));
    // Had an alert address and WhatsApp, then cleared both and switched off.
    let cleared = app.business(&token, "Cleared");
    patch(
        &cleared,
        json!({"notification_email": "old@spicegarden.in", "whatsapp_number": "+919822222222",
               "whatsapp_enabled": true}),
    );
    patch(
        &cleared,
        json!({"notification_email": null, "whatsapp_enabled": false}),
    );
    for b in [&all_on, &plain, &off, &no_number, &cleared] {
        connect_expiring(&app, &token, b, &hours_from_now(24));
    }
    let summary = app.app().sync.refresh_due_tokens().unwrap();
    assert!(summary.contains("5 expiry warnings"), "{summary}");

    let env = Env {
        mock: Channels { smtp, wa },
        app,
        token,
        business: all_on.clone(),
        dish: String::new(),
    };
    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 5, "{all:#?}");
    let of = |b: &str| {
        all.iter()
            .find(|n| n["business_id"] == json!(b))
            .unwrap_or_else(|| panic!("no notification for {b}"))
    };
    assert_eq!(
        deliveries(of(&all_on)),
        vec![
            ("email".into(), "sent".into(), 1),
            ("whatsapp".into(), "sent".into(), 1)
        ]
    );
    for b in [&plain, &off, &no_number, &cleared] {
        assert_eq!(
            deliveries(of(b)),
            vec![("email".into(), "sent".into(), 1)],
            "only email for {b}: {:#}",
            of(b)
        );
    }
    let mails = env.mock.smtp.messages();
    assert_eq!(mails.len(), 5, "{mails:#?}");
    let mut recipients: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec![
            ALERT_EMAIL.to_string(),
            SELLER_EMAIL.to_string(),
            SELLER_EMAIL.to_string(),
            SELLER_EMAIL.to_string(),
            SELLER_EMAIL.to_string(),
        ]
    );
    let texts = env.mock.wa.messages();
    assert_eq!(
        texts.len(),
        1,
        "WhatsApp only for the business that enabled it: {texts:#?}"
    );
    assert_eq!(texts[0].to, WHATSAPP_DIGITS);
    assert!(
        env.mock.wa.problems().is_empty(),
        "{:?}",
        env.mock.wa.problems()
    );
}

#[test]
fn without_channel_settings_notifications_are_in_app_only() {
    let app = TestApp::start_with(&["--square-base-url", CLOSED_PORT]);
    let token = app.login_new_seller(SELLER_EMAIL);
    let business = app.business(&token, "Spice Garden");
    app.patch(
        &format!("/api/v1/businesses/{business}"),
        Some(&token),
        json!({"notification_email": ALERT_EMAIL, "whatsapp_number": WHATSAPP_NUMBER,
               "whatsapp_enabled": true}),
    )
    .expect(200);
    connect_expiring(&app, &token, &business, &hours_from_now(24));
    app.app().sync.refresh_due_tokens().unwrap();
    let data = list_as(&app, &token, "");
    assert_eq!(data["total"], json!(1), "{data:#}");
    assert_eq!(data["notifications"][0]["kind"], json!("token_expiring"));
    assert_eq!(data["notifications"][0]["deliveries"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// The badge, mark-read and privacy
// ---------------------------------------------------------------------------------------------

#[test]
fn mark_read_and_the_unread_badge() {
    let app = TestApp::start_with(&["--square-base-url", CLOSED_PORT]);
    let token = app.login_new_seller(SELLER_EMAIL);
    let first = app.business(&token, "Spice Garden");
    let second = app.business(&token, "Curry House");
    let quiet = app.business(&token, "Quiet Corner");
    // One warning for the first business, then (a moment later) one for the second.
    connect_expiring(&app, &token, &first, &hours_from_now(30));
    app.app().sync.refresh_due_tokens().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    connect_expiring(&app, &token, &second, &hours_from_now(30));
    app.app().sync.refresh_due_tokens().unwrap();

    let data = list_as(&app, &token, "");
    assert_eq!(data["total"], json!(2), "{data:#}");
    assert_eq!(data["unread_count"], json!(2));
    assert_eq!(data["limit"], json!(50));
    assert_eq!(data["offset"], json!(0));
    // Newest first, and pages.
    assert_eq!(data["notifications"][0]["business_id"], json!(second));
    assert_eq!(data["notifications"][1]["business_id"], json!(first));
    let page = list_as(&app, &token, "?limit=1&offset=1");
    assert_eq!(page["total"], json!(2), "{page:#}");
    assert_eq!(page["unread_count"], json!(2));
    assert_eq!(page["limit"], json!(1));
    assert_eq!(page["offset"], json!(1));
    assert_eq!(page["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(page["notifications"][0]["business_id"], json!(first));
    for bad in [
        "?limit=0",
        "?limit=201",
        "?offset=-1",
        "?unread_only=perhaps",
        "?business_id=not-a-uuid",
    ] {
        app.get(&format!("/api/v1/notifications{bad}"), Some(&token))
            .expect_error(400, "VALIDATION_ERROR");
    }
    let of_first = list_as(&app, &token, &format!("?business_id={first}"));
    assert_eq!(of_first["total"], json!(1), "{of_first:#}");
    assert_eq!(of_first["unread_count"], json!(1));
    let id = of_first["notifications"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(of_first["notifications"][0]["business_id"], json!(first));
    let of_quiet = list_as(&app, &token, &format!("?business_id={quiet}"));
    assert_eq!(of_quiet["total"], json!(0));
    assert_eq!(of_quiet["unread_count"], json!(0));
    assert_eq!(of_quiet["notifications"], json!([]));

    // Another seller sees none of it and cannot mark it read.
    let stranger = app.login_new_seller("someone@else.in");
    let theirs = list_as(&app, &stranger, "");
    assert_eq!(theirs["total"], json!(0), "{theirs:#}");
    assert_eq!(theirs["unread_count"], json!(0));
    assert_eq!(theirs["notifications"], json!([]));
    let resp = app.get(
        &format!("/api/v1/notifications?business_id={first}"),
        Some(&stranger),
    );
    assert_eq!(resp.status, 404, "another seller's business: {}", resp.text);
    app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&stranger),
        json!({}),
    )
    .expect_error(404, "NOT_FOUND");
    assert_eq!(list_as(&app, &token, "")["unread_count"], json!(2));
    // Unknown id and no token.
    app.post(
        "/api/v1/notifications/0190f6b1-0000-7000-8000-000000000000/read",
        Some(&token),
        json!({}),
    )
    .expect_error(404, "NOT_FOUND");
    assert_eq!(
        app.post(&format!("/api/v1/notifications/{id}/read"), None, json!({}))
            .status,
        401
    );
    assert_eq!(app.get("/api/v1/notifications", None).status, 401);

    // Mark read: the badge drops, unread_only hides it.
    let resp = app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&token),
        json!({}),
    );
    resp.expect(200);
    let read = resp.data()["notification"].clone();
    assert_eq!(read["id"], json!(id));
    let read_at = read["read_at"].as_str().expect("read_at set").to_string();
    let data = list_as(&app, &token, "");
    assert_eq!(data["total"], json!(2));
    assert_eq!(data["unread_count"], json!(1));
    let unread = list_as(&app, &token, "?unread_only=true");
    assert_eq!(unread["total"], json!(1), "{unread:#}");
    assert_eq!(unread["unread_count"], json!(1));
    assert_eq!(unread["notifications"][0]["business_id"], json!(second));
    assert_eq!(unread["notifications"][0]["read_at"], Value::Null);
    let first_only = list_as(
        &app,
        &token,
        &format!("?business_id={first}&unread_only=true"),
    );
    assert_eq!(first_only["total"], json!(0));
    assert_eq!(first_only["unread_count"], json!(0));
    let all_first = list_as(&app, &token, &format!("?business_id={first}"));
    assert_eq!(all_first["notifications"][0]["read_at"], json!(read_at));

    // Marking again changes nothing.
    let again = app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&token),
        json!({}),
    );
    again.expect(200);
    assert_eq!(again.data()["notification"]["read_at"], json!(read_at));
    assert_eq!(list_as(&app, &token, "")["unread_count"], json!(1));

    // The other one, then the badge is clear.
    let other = unread["notifications"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/notifications/{other}/read"),
        Some(&token),
        json!({}),
    )
    .expect(200);
    let data = list_as(&app, &token, "");
    assert_eq!(data["unread_count"], json!(0));
    assert_eq!(data["total"], json!(2));
    assert_eq!(
        list_as(&app, &token, "?unread_only=true")["total"],
        json!(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Failing channels
// ---------------------------------------------------------------------------------------------

/// The one delivery of `channel` of notification `n`.
fn delivery<'a>(n: &'a Value, channel: &str) -> &'a Value {
    n["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == json!(channel))
        .unwrap_or_else(|| panic!("no {channel} delivery: {n:#}"))
}

/// Wait until the only notification's `channel` delivery satisfies `test`; that delivery.
fn wait_delivery(env: &Env, channel: &str, what: &str, test: impl Fn(&Value) -> bool) -> Value {
    wait_for(PATIENCE, what, || {
        let all = env.notifications();
        match all.as_slice() {
            [n] if test(delivery(n, channel)) => Ok(delivery(n, channel).clone()),
            _ => Err(json!(all).to_string()),
        }
    })
}

#[test]
fn a_failing_channel_is_retried_and_ends_sent_once_it_recovers() {
    let env = start(CLOSED_PORT, &[]);
    env.enable_all_channels();
    env.mock.smtp.set_refusing(true);
    env.mock.wa.fail_next(2);
    connect_expiring(&env.app, &env.token, &env.business, &hours_from_now(24));
    env.app.app().sync.refresh_due_tokens().unwrap();

    // Email keeps failing (451) and is retried; it stays pending with the error on record.
    let failing = wait_delivery(&env, "email", "the email failed twice", |d| {
        d["attempts"].as_i64().unwrap() >= 2
    });
    assert_eq!(failing["status"], json!("pending"), "{failing:#}");
    let error = failing["last_error"].as_str().expect("last_error");
    assert!(error.contains("451"), "the SMTP refusal: {error:?}");
    assert!(env.mock.smtp.refused() >= 2);
    assert!(env.mock.smtp.messages().is_empty());

    // WhatsApp answered 500 twice, then took it: sent on the third attempt, once.
    let wa = wait_delivery(&env, "whatsapp", "WhatsApp is sent", |d| {
        d["status"] == json!("sent")
    });
    assert_eq!(wa["attempts"], json!(3), "{wa:#}");
    assert_eq!(wa["last_error"], Value::Null);
    assert_eq!(env.mock.wa.requests().len(), 3);
    assert_eq!(env.mock.wa.messages().len(), 1);

    // The mail server recovers: the email goes out once and the delivery ends sent.
    env.mock.smtp.set_refusing(false);
    let sent = wait_delivery(&env, "email", "the email is sent", |d| {
        d["status"] == json!("sent")
    });
    assert!(sent["attempts"].as_i64().unwrap() > 1, "{sent:#}");
    assert_eq!(sent["last_error"], Value::Null, "{sent:#}");
    let n = &env.notifications()[0];
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
}

#[test]
fn a_channel_that_stays_down_is_given_up_after_eight_attempts() {
    let env = start(CLOSED_PORT, &["--notify-retry-interval", "10ms"]);
    env.enable_all_channels();
    env.mock.smtp.set_refusing(true);
    connect_expiring(&env.app, &env.token, &env.business, &hours_from_now(24));
    env.app.app().sync.refresh_due_tokens().unwrap();

    let failed = wait_delivery(&env, "email", "the email delivery failed for good", |d| {
        d["status"] != json!("pending")
    });
    assert_eq!(failed["status"], json!("failed"), "{failed:#}");
    assert_eq!(failed["attempts"], json!(8), "{failed:#}");
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("451")),
        "{failed:#}"
    );
    assert_eq!(env.mock.smtp.refused(), 8);
    // The other channel is not affected.
    let n = &env.notifications()[0];
    assert_eq!(delivery(n, "whatsapp")["status"], json!("sent"));
    assert_eq!(env.mock.wa.messages().len(), 1);
    // Recovering later sends nothing more: failed is final.
    env.mock.smtp.set_refusing(false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(env.mock.smtp.messages().is_empty());
}

#[test]
fn non_ascii_order_details_reach_both_channels_intact() {
    let env = start(CLOSED_PORT, &["--max-retries", "0"]);
    env.enable_all_channels();
    env.connect();
    let name = "Ananya Rāo — Flat 4B, “Nilgiri”";
    let (order, _) = env.place(json!({
        "customer_name": name,
        "customer_phone": "+919876543210",
        "items": [{"dish_id": env.dish, "quantity": 1}],
    }));
    env.wait_log(&order, "failed");
    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "{all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("sync_failed"));
    assert!(n["message"].as_str().unwrap().contains(name), "{n:#}");
    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
    // The body is UTF-8, so the email must say so: without `Content-Type: text/plain;
    // charset=utf-8` (and `MIME-Version: 1.0`) a mail client must read it as US-ASCII
    // (RFC 2045 §5.2) and may show mojibake for "Rāo —".
    let mail = &env.mock.smtp.messages()[0];
    assert!(mail.body().contains(name));
    let content_type = mail.header("Content-Type").unwrap_or_default();
    let lower = content_type.to_ascii_lowercase().replace('"', "");
    assert!(
        lower.starts_with("text/plain") && lower.contains("charset=utf-8"),
        "the email should declare its UTF-8 body; Content-Type is {content_type:?} in:\n{}",
        mail.data
    );
    assert_eq!(
        mail.header("MIME-Version").as_deref(),
        Some("1.0"),
        "{}",
        mail.data
    );
}

// ---------------------------------------------------------------------------------------------
// With a mock Square: success resets, 401s, and sync never waits for a channel
// ---------------------------------------------------------------------------------------------

/// A service, its mocks and a business connected to a healthy mock Square.
fn start_with_square(extra: &[&str]) -> (MockSquare, Env) {
    let square = MockSquare::start();
    let env = start(&square.base_url(), extra);
    (square, env)
}

/// How many sync_failing notifications this seller has.
fn failing_count(env: &Env) -> usize {
    env.of_kind("sync_failing").len()
}

#[test]
fn sync_failing_is_raised_again_only_after_a_success_and_three_more_failures() {
    let (square, env) = start_with_square(&[
        "--notify-after-failures",
        "3",
        "--max-retries",
        "20",
        "--breaker-after",
        "0",
    ]);
    env.enable_all_channels();
    env.connect();

    // Five failures in a row, then the POS takes the order: one notification (at the 3rd).
    for _ in 0..5 {
        square.push_fault(Fault::Status(500));
    }
    let first = env.order();
    let log = env.wait_log(&first, "success");
    assert_eq!(
        env.attempts(log["id"].as_str().unwrap()).len(),
        7,
        "five failures, the order, its payment"
    );
    assert_eq!(failing_count(&env), 1, "{:#?}", env.notifications());

    // Two failures after the success: below the threshold again.
    for _ in 0..2 {
        square.push_fault(Fault::Status(500));
    }
    let second = env.order();
    env.wait_log(&second, "success");
    assert_eq!(failing_count(&env), 1, "{:#?}", env.notifications());

    // Three more: the threshold is reached again, so once more.
    for _ in 0..3 {
        square.push_fault(Fault::Status(500));
    }
    let third = env.order();
    env.wait_log(&third, "success");
    let all = env.wait_deliveries_settled();
    assert_eq!(
        all.len(),
        2,
        "two runs of failures, two notifications: {all:#?}"
    );
    for n in &all {
        assert_eq!(n["kind"], json!("sync_failing"));
        assert_sent_once_on_both(n);
    }
    let refs: Vec<&Value> = all.iter().collect();
    assert_channels_carried(&env, &refs, ALERT_EMAIL);
}

#[test]
fn a_refused_token_without_refresh_raises_reconnect_required() {
    let (square, env) = start_with_square(&[]);
    env.enable_all_channels();
    env.connect();
    square.push_fault(Fault::Unauthorized);
    let order = env.order();
    let log = env.wait_log(&order, "failed");

    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "exactly one notification: {all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("reconnect_required"));
    assert_eq!(n["order_id"], json!(order));
    assert_eq!(n["sync_log_id"], log["id"]);
    let title = n["title"].as_str().unwrap();
    assert!(title.contains("Reconnect Square"), "title {title:?}");
    let message = n["message"].as_str().unwrap();
    assert!(
        message.contains("Reconnect Square"),
        "says what to do: {message:?}"
    );
    assert!(
        message.contains(&order[..8]),
        "names the order: {message:?}"
    );
    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);

    let integration = env.app.get(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
    );
    let integration = integration.data()["integration"].clone();
    let last_error = integration["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("reconnect"), "{integration:#}");
}

#[test]
fn square_retries_after_a_lost_answer_raise_no_duplicate_warning() {
    // Square takes an idempotency key, so a push whose answer was lost is not ambiguous.
    let (square, env) = start_with_square(&["--provider-timeout", "1s"]);
    env.enable_all_channels();
    env.connect();
    square.push_fault(Fault::TimeoutAfterCommit(Duration::from_millis(1500)));
    let order = env.order();
    env.wait_log(&order, "success");
    assert_eq!(square.orders().len(), 1);
    let all = env.notifications();
    assert!(all.is_empty(), "nothing to tell the seller: {all:#?}");
}

/// Create an order and wait until the mock Square holds it; how long that took.
fn synced_within(env: &Env, square: &MockSquare, limit: Duration) -> Duration {
    let before = square.orders().len();
    let started = Instant::now();
    let order = env.order();
    env.wait_log(&order, "success");
    let took = started.elapsed();
    assert_eq!(square.orders().len(), before + 1);
    assert!(
        took < limit,
        "order {order} took {took:?} to reach Square while a channel was down"
    );
    took
}

#[test]
fn a_refusing_mail_server_is_retried_while_orders_keep_flowing() {
    let (square, env) = start_with_square(&[]);
    env.enable_all_channels();
    env.mock.smtp.set_refusing(true);
    connect_expiring(&env.app, &env.token, &env.business, &hours_from_now(24));
    env.app.app().sync.refresh_due_tokens().unwrap();
    wait_delivery(&env, "email", "the email failed twice", |d| {
        d["attempts"].as_i64().unwrap() >= 2
    });

    // The channel is down; orders still reach the POS at once, and each succeeds first time.
    for _ in 0..3 {
        synced_within(&env, &square, Duration::from_secs(5));
    }
    let pending = wait_delivery(&env, "email", "the email is still failing", |_| true);
    assert_eq!(pending["status"], json!("pending"), "{pending:#}");
    assert!(env.mock.smtp.messages().is_empty());
    assert_eq!(env.notifications().len(), 1, "syncs raised nothing");

    env.mock.smtp.set_refusing(false);
    let sent = wait_delivery(&env, "email", "the email is sent", |d| {
        d["status"] == json!("sent")
    });
    assert!(sent["attempts"].as_i64().unwrap() > 1, "{sent:#}");
    assert_eq!(env.mock.smtp.messages().len(), 1);
}

#[test]
fn a_hanging_mail_server_does_not_hold_up_order_sync() {
    let (square, env) = start_with_square(&[]);
    env.enable_all_channels();
    env.mock.smtp.set_stalling(true);
    connect_expiring(&env.app, &env.token, &env.business, &hours_from_now(24));
    env.app.app().sync.refresh_due_tokens().unwrap();
    wait_for(PATIENCE, "the mail server holds a connection", || {
        if env.mock.smtp.stalled() >= 1 {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });

    // The delivery thread is stuck in the SMTP greeting; orders go through regardless.
    for _ in 0..3 {
        synced_within(&env, &square, Duration::from_secs(5));
    }
    let email = wait_delivery(&env, "email", "the email is in flight", |_| true);
    assert_eq!(email["status"], json!("pending"), "{email:#}");

    env.mock.smtp.set_stalling(false);
    wait_delivery(&env, "email", "the email is sent", |d| {
        d["status"] == json!("sent")
    });
    let n = &env.wait_deliveries_settled()[0];
    assert_eq!(delivery(n, "whatsapp")["status"], json!("sent"));
    assert_eq!(env.mock.smtp.messages().len(), 1);
    assert_eq!(env.mock.wa.messages().len(), 1);
}

/// Connect the main business to the mock Square with a refresh token the mock does not know.
fn connect_with_unknown_refresh_token(env: &Env, expires_at: &str) {
    let resp = env.app.post(
        "/api/v1/pos/connect",
        Some(&env.token),
        json!({
            "business_id": env.business,
            "provider": "square",
            "access_token": "sq-access-1",
            "refresh_token": "sq-refresh-revoked-long-ago",
            "location_id": "L8AHQ2RX0BX1K",
            "token_expires_at": expires_at,
        }),
    );
    resp.expect(200);
}

/// Square's OAuth client, as the mock knows it.
const SQUARE_OAUTH: [&str; 4] = [
    "--square-client-id",
    common::mock_square::DEFAULT_CLIENT_ID,
    "--square-client-secret",
    common::mock_square::DEFAULT_CLIENT_SECRET,
];

#[test]
fn a_refused_token_refresh_raises_reconnect_required() {
    let (square, env) = start_with_square(&SQUARE_OAUTH);
    env.enable_all_channels();
    // Due for a refresh (expires within 7 days), and the refresh will be refused.
    connect_with_unknown_refresh_token(&env, &hours_from_now(48));
    let summary = env.app.app().sync.refresh_due_tokens().unwrap();
    assert!(summary.contains("1 failed"), "{summary}");
    assert_eq!(square.token_requests().len(), 1);

    let all = env.wait_deliveries_settled();
    assert_eq!(
        all.len(),
        1,
        "one reconnect notice, no expiry warning: {all:#?}"
    );
    let n = &all[0];
    assert_eq!(n["kind"], json!("reconnect_required"));
    assert_eq!(n["order_id"], Value::Null);
    assert!(n["title"].as_str().unwrap().contains("Reconnect Square"));
    let message = n["message"].as_str().unwrap();
    assert!(message.contains("Reconnect Square"), "{message:?}");
    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
    let integration = env.app.get(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
    );
    let last_error = integration.data()["integration"]["last_error"].clone();
    assert!(
        last_error
            .as_str()
            .unwrap_or_default()
            .contains("reconnect"),
        "{last_error}"
    );
}

#[test]
fn a_401_that_a_refresh_cannot_cure_raises_one_reconnect_required() {
    let (square, env) = start_with_square(&SQUARE_OAUTH);
    env.enable_all_channels();
    // Ten days left: not due for the refresh job, but a 401 on a push tries one refresh.
    connect_with_unknown_refresh_token(&env, &hours_from_now(240));
    square.push_fault(Fault::Unauthorized);
    let order = env.order();
    let log = env.wait_log(&order, "failed");
    assert_eq!(square.token_requests().len(), 1, "one refresh was tried");

    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "exactly one notification: {all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("reconnect_required"));
    assert_eq!(n["order_id"], json!(order));
    assert_eq!(n["sync_log_id"], log["id"]);
    let message = n["message"].as_str().unwrap();
    assert!(message.contains("Reconnect Square"), "{message:?}");
    assert!(message.contains(&order[..8]), "{message:?}");
    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
}

#[test]
fn a_rejected_order_tells_the_seller_to_check_the_item_mapping() {
    let (square, env) = start_with_square(&[]);
    env.enable_all_channels();
    env.connect();
    square.push_fault(Fault::BadRequest {
        code: "NOT_FOUND".into(),
        detail: "Object `VAR-DELETED` of type ITEM_VARIATION not found in the catalog.".into(),
        field: Some("order.line_items[0].catalog_object_id".into()),
    });
    let order = env.order();
    let log = env.wait_log(&order, "failed");
    assert_eq!(
        env.attempts(log["id"].as_str().unwrap()).len(),
        1,
        "no retry"
    );
    let all = env.wait_deliveries_settled();
    assert_eq!(all.len(), 1, "{all:#?}");
    let n = &all[0];
    assert_eq!(n["kind"], json!("sync_failed"));
    assert_eq!(n["order_id"], json!(order));
    let message = n["message"].as_str().unwrap();
    assert!(message.contains(&order[..8]), "{message:?}");
    assert!(message.contains("VAR-DELETED"), "the reason: {message:?}");
    assert!(message.contains("item mapping"), "what to do: {message:?}");
    assert_sent_once_on_both(n);
    assert_channels_carried(&env, &[n], ALERT_EMAIL);
}

#[test]
fn pending_deliveries_survive_a_restart() {
    let env = start(CLOSED_PORT, &[]);
    let flags = flags(CLOSED_PORT, &env.mock.smtp, &env.mock.wa, &[]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    env.mock.smtp.set_refusing(true);
    connect_expiring(&env.app, &env.token, &env.business, &hours_from_now(24));
    env.app.app().sync.refresh_due_tokens().unwrap();
    wait_delivery(&env, "email", "the email failed once", |d| {
        d["attempts"].as_i64().unwrap() >= 1
    });

    // Stop while the email is still owed; the mail server comes back while possync is down.
    let Env {
        mock: Channels { smtp, wa },
        app,
        token,
        business,
        dish,
    } = env;
    let dir = app.stop();
    smtp.set_refusing(false);
    let app = TestApp::start_in(dir, &flags);
    let env = Env {
        mock: Channels { smtp, wa },
        app,
        token,
        business,
        dish,
    };
    let sent = wait_delivery(&env, "email", "the email is sent after the restart", |d| {
        d["status"] == json!("sent")
    });
    assert!(sent["attempts"].as_i64().unwrap() >= 2, "{sent:#}");
    assert_eq!(env.mock.smtp.messages().len(), 1);
    assert_eq!(
        env.mock.smtp.messages()[0].to,
        vec![SELLER_EMAIL.to_string()]
    );
    assert_eq!(env.notifications().len(), 1);
}
