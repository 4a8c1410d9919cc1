//! Checks at the door: a mapping must point at items the POS catalog has, a Square location
//! must be an active one of the account; when the POS cannot be asked, the value is saved as
//! given and the message says it was not checked and why. A reconnect forgets the catalog.

use serde_json::{Value, json};

use crate::catalog::{catalog_reads, square_item};
use crate::common::provider_env::{LOCATION, ProviderEnv, SQ_TOKEN};
use crate::oauth_support::location;

/// `PATCH /pos/integration/{business}` as it answers.
fn patch<M>(env: &ProviderEnv<M>, body: Value) -> crate::common::Resp {
    env.app.patch(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
        body,
    )
}

/// `POST /pos/connect` for Square with this token and location.
fn connect<M>(env: &ProviderEnv<M>, access_token: &str, location_id: &str) -> crate::common::Resp {
    env.app.post(
        "/api/v1/pos/connect",
        Some(&env.token),
        json!({"business_id": env.business, "provider": "square",
               "access_token": access_token, "location_id": location_id}),
    )
}

#[test]
fn a_square_location_must_be_an_active_one_of_the_account() {
    let env = ProviderEnv::square(&[]);
    env.mock.set_locations(vec![
        location(LOCATION, "ACTIVE"),
        location("LCLOSED", "INACTIVE"),
        location("LAIRPORT", "ACTIVE"),
    ]);
    let before = env.app.snapshot();
    let active = format!("{LOCATION} (Spice Garden {LOCATION}), LAIRPORT (Spice Garden LAIRPORT)");

    let message =
        patch(&env, json!({"location_id": "LNOPE"})).expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        message,
        format!(
            "location_id: LNOPE is not a location of this Square account; active locations: {active}"
        )
    );
    let message =
        patch(&env, json!({"location_id": "LCLOSED"})).expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        message,
        format!("location_id: LCLOSED is not active; active locations: {active}")
    );
    let message = connect(&env, SQ_TOKEN, "LNOPE").expect_error(400, "VALIDATION_ERROR");
    assert!(message.starts_with("location_id: LNOPE"), "{message}");
    assert_eq!(env.app.snapshot(), before, "a refusal changes nothing");

    let resp = patch(&env, json!({"location_id": "LAIRPORT"}));
    resp.expect(200);
    assert_eq!(resp.data()["integration"]["location_id"], "LAIRPORT");
    assert_eq!(resp.body.get("message"), None, "checked: nothing to say");
    let resp = connect(&env, SQ_TOKEN, LOCATION);
    resp.expect(200);
    assert_eq!(
        resp.body["message"],
        "square POS integration connected successfully"
    );

    // Square cannot be asked (it refuses the token): saved as given, and the message says so.
    env.mock.set_access_token("sq-access-rotated");
    let resp = patch(&env, json!({"location_id": "LNEW"}));
    resp.expect(200);
    assert_eq!(resp.data()["integration"]["location_id"], "LNEW");
    let message = resp.body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Integration updated; location_id was saved without a check"),
        "{message}"
    );
    assert!(message.contains("Square answered HTTP 401"), "{message}");
    let resp = connect(&env, "sq-token-square-does-not-know", "LOTHER");
    resp.expect(200);
    assert_eq!(
        resp.body["message"], "square POS integration connected successfully",
        "the connect message stays the guide's"
    );
    assert_eq!(resp.data()["integration"]["location_id"], "LOTHER");
    env.assert_no_problems();
}

#[test]
fn a_mapping_must_point_at_items_the_catalog_has() {
    let env = ProviderEnv::square(&[]);
    let naan = env.app.dish(&env.token, &env.business, "Garlic Naan", 6000);
    env.mock.set_catalog(vec![square_item(
        "I1",
        "Paneer Butter Masala",
        &[("V-PBM", "Regular", 30000)],
    )]);
    // What the seller set, leaving out the catalog cache (reading the catalog fills it).
    let settings = || {
        let mut all = env.app.snapshot();
        all.remove("pos_catalogs");
        all
    };
    let before = settings();
    let message = patch(&env, json!({"item_mapping": {env.dish.clone(): "V-NOPE"}}))
        .expect_error(400, "VALIDATION_ERROR");
    assert!(
        message.starts_with(&format!(
            "item_mapping.{}: V-NOPE is not in the Square catalog",
            env.dish
        )),
        "{message}"
    );
    assert_eq!(settings(), before, "a refusal changes nothing");
    let resp = patch(&env, json!({"item_mapping": {env.dish.clone(): "V-PBM"}}));
    resp.expect(200);
    assert_eq!(resp.body.get("message"), None, "checked: nothing to say");
    assert_eq!(catalog_reads(&env.mock), 1);

    // The seller adds the naan in Square and maps it at once: the cached catalog lacks it, so
    // the catalog is read again rather than the id refused.
    env.mock.set_catalog(vec![
        square_item("I1", "Paneer Butter Masala", &[("V-PBM", "Regular", 30000)]),
        square_item("I2", "Garlic Naan", &[("V-NAAN", "Regular", 6000)]),
    ]);
    let both = json!({"item_mapping": {env.dish.clone(): "V-PBM", naan.clone(): "V-NAAN"}});
    patch(&env, both.clone()).expect(200);
    assert_eq!(catalog_reads(&env.mock), 2);

    // An entry the seller leaves alone is not checked again, even when the POS dropped it (the
    // mapping view shows it as missing): it never blocks another change.
    env.mock.set_catalog(vec![]);
    let mut more = both.clone();
    more["sync_customer_info"] = json!(false);
    let resp = patch(&env, more);
    resp.expect(200);
    assert_eq!(resp.body.get("message"), None);
    assert_eq!(
        catalog_reads(&env.mock),
        2,
        "nothing changed needed the POS"
    );

    // Square cannot be read: saved as given, and the message says it was not checked and why.
    env.mock.set_access_token("sq-access-rotated");
    let resp = patch(&env, json!({"item_mapping": {env.dish.clone(): "V-NEW"}}));
    resp.expect(200);
    assert_eq!(
        resp.data()["integration"]["item_mapping"],
        json!({env.dish.clone(): "V-NEW"})
    );
    let message = resp.body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Integration updated; item_mapping was saved without a check against the POS catalog"
        ),
        "{message}"
    );
    assert!(message.contains("Square answered HTTP 401"), "{message}");
    env.assert_no_problems();
}

#[test]
fn without_a_catalog_the_mapping_is_saved_unchecked_and_says_why() {
    let env = ProviderEnv::dine(&[]);
    let resp = patch(
        &env,
        json!({"item_mapping": {env.dish.clone(): "prod-anything"}}),
    );
    resp.expect(200);
    assert_eq!(
        resp.data()["integration"]["item_mapping"],
        json!({env.dish.clone(): "prod-anything"})
    );
    let message = resp.body["message"].as_str().unwrap();
    assert_eq!(
        message,
        "Integration updated; item_mapping was saved without a check against the POS catalog \
         (Dine POS offers no catalog: map by name or by its product ids)"
    );
}

#[test]
fn connecting_again_forgets_the_cached_catalog() {
    let env = ProviderEnv::square(&[]);
    env.mock
        .set_catalog(vec![square_item("I1", "Lassi", &[("V1", "Sweet", 8000)])]);
    env.catalog("").expect(200);
    env.catalog("").expect(200);
    assert_eq!(catalog_reads(&env.mock), 1, "the cache");
    env.app.connect_square(&env.token, &env.business, SQ_TOKEN);
    env.catalog("").expect(200);
    assert_eq!(catalog_reads(&env.mock), 2, "read anew after the reconnect");
}
