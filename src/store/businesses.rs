//! Businesses and their dishes. Every read is scoped to the owning seller: another seller's
//! business is simply not found.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Page, Paged};
use crate::domain::{BusinessId, Currency, Millis, new_id};
use crate::{Error, Result};

/// A seller's business (a restaurant).
#[derive(Debug, Clone)]
pub struct Business {
    pub id: BusinessId,
    pub seller_id: String,
    pub name: String,
    pub currency: Currency,
    pub timezone: String,
    pub notification_email: Option<String>,
    pub whatsapp_number: Option<String>,
    pub whatsapp_enabled: bool,
    pub created_at: Millis,
}

/// A validated new business.
#[derive(Debug)]
pub struct NewBusiness {
    pub name: String,
    pub currency: Currency,
    pub timezone: String,
}

/// Validated changes; `Some(None)` clears an optional field.
#[derive(Debug, Default)]
pub struct BusinessPatch {
    pub name: Option<String>,
    pub notification_email: Option<Option<String>>,
    pub whatsapp_number: Option<Option<String>>,
    pub whatsapp_enabled: Option<bool>,
}

/// A dish on a business's menu.
#[derive(Debug, Clone)]
pub struct Dish {
    pub id: String,
    pub business_id: BusinessId,
    pub name: String,
    pub price: i64,
    pub currency: Currency,
    pub created_at: Millis,
}

const BUSINESS_COLUMNS: &str = "id, seller_id, name, currency, timezone, notification_email, \
                                whatsapp_number, whatsapp_enabled, created_at";

fn business_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Business> {
    Ok(Business {
        id: row.get(0)?,
        seller_id: row.get(1)?,
        name: row.get(2)?,
        currency: row.get(3)?,
        timezone: row.get(4)?,
        notification_email: row.get(5)?,
        whatsapp_number: row.get(6)?,
        whatsapp_enabled: row.get(7)?,
        created_at: row.get(8)?,
    })
}

/// Insert a business owned by `seller_id`.
pub fn insert_business(
    tx: &Transaction<'_>,
    seller_id: &str,
    new: &NewBusiness,
    now: Millis,
) -> Result<Business> {
    let business = Business {
        id: BusinessId::from(new_id()),
        seller_id: seller_id.to_string(),
        name: new.name.clone(),
        currency: new.currency,
        timezone: new.timezone.clone(),
        notification_email: None,
        whatsapp_number: None,
        whatsapp_enabled: false,
        created_at: now,
    };
    tx.execute(
        "INSERT INTO businesses (id, seller_id, name, currency, timezone, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            business.id,
            business.seller_id,
            business.name,
            business.currency,
            business.timezone,
            now
        ],
    )?;
    Ok(business)
}

/// The seller's business with this id, or `NotFound` (also when another seller owns it).
pub fn owned_business(
    conn: &Connection,
    seller_id: &str,
    business_id: &BusinessId,
) -> Result<Business> {
    conn.prepare_cached(&format!(
        "SELECT {BUSINESS_COLUMNS} FROM businesses WHERE id = ?1 AND seller_id = ?2"
    ))?
    .query_row(params![business_id, seller_id], business_from_row)
    .optional()?
    .ok_or(Error::NotFound("business"))
}

/// The business with this id, whoever owns it (for internal use: workers, notifications).
pub fn business_by_id(conn: &Connection, business_id: &BusinessId) -> Result<Option<Business>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {BUSINESS_COLUMNS} FROM businesses WHERE id = ?1"
        ))?
        .query_row([business_id], business_from_row)
        .optional()?)
}

/// The seller's businesses, oldest first.
pub fn list_businesses(conn: &Connection, seller_id: &str, page: Page) -> Result<Paged<Business>> {
    let total = crate::store::cached_row(
        conn,
        "SELECT count(*) FROM businesses WHERE seller_id = ?1",
        [seller_id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {BUSINESS_COLUMNS} FROM businesses WHERE seller_id = ?1
         ORDER BY created_at, id LIMIT ?2 OFFSET ?3"
    ))?;
    let items = stmt
        .query_map(
            params![seller_id, page.limit, page.offset],
            business_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Paged { items, total })
}

/// Apply a patch to the seller's business.
pub fn update_business(
    tx: &Transaction<'_>,
    seller_id: &str,
    business_id: &BusinessId,
    patch: &BusinessPatch,
) -> Result<Business> {
    let mut business = owned_business(tx, seller_id, business_id)?;
    if let Some(name) = &patch.name {
        business.name = name.clone();
    }
    if let Some(email) = &patch.notification_email {
        business.notification_email = email.clone();
    }
    if let Some(number) = &patch.whatsapp_number {
        business.whatsapp_number = number.clone();
    }
    if let Some(enabled) = patch.whatsapp_enabled {
        business.whatsapp_enabled = enabled;
    }
    tx.execute(
        "UPDATE businesses SET name = ?2, notification_email = ?3, whatsapp_number = ?4,
         whatsapp_enabled = ?5 WHERE id = ?1",
        params![
            business.id,
            business.name,
            business.notification_email,
            business.whatsapp_number,
            business.whatsapp_enabled
        ],
    )?;
    Ok(business)
}

const DISH_COLUMNS: &str = "d.id, d.business_id, d.name, d.price, b.currency, d.created_at";

fn dish_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Dish> {
    Ok(Dish {
        id: row.get(0)?,
        business_id: row.get(1)?,
        name: row.get(2)?,
        price: row.get(3)?,
        currency: row.get(4)?,
        created_at: row.get(5)?,
    })
}

/// Add a dish to the seller's business.
pub fn insert_dish(
    tx: &Transaction<'_>,
    seller_id: &str,
    business_id: &BusinessId,
    name: &str,
    price: i64,
    now: Millis,
) -> Result<Dish> {
    let business = owned_business(tx, seller_id, business_id)?;
    let dish = Dish {
        id: new_id(),
        business_id: business.id,
        name: name.to_string(),
        price,
        currency: business.currency,
        created_at: now,
    };
    tx.execute(
        "INSERT INTO dishes (id, business_id, name, price, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![dish.id, dish.business_id, dish.name, dish.price, now],
    )?;
    Ok(dish)
}

/// The dishes of the seller's business, oldest first (never the hidden test dish: see
/// [`super::test_orders`]).
pub fn list_dishes(
    conn: &Connection,
    seller_id: &str,
    business_id: &BusinessId,
    page: Page,
) -> Result<Paged<Dish>> {
    owned_business(conn, seller_id, business_id)?;
    let total = crate::store::cached_row(
        conn,
        "SELECT count(*) FROM dishes WHERE business_id = ?1 AND is_test = 0",
        [business_id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {DISH_COLUMNS} FROM dishes d JOIN businesses b ON b.id = d.business_id
         WHERE d.business_id = ?1 AND d.is_test = 0 ORDER BY d.created_at, d.id
         LIMIT ?2 OFFSET ?3"
    ))?;
    let items = stmt
        .query_map(params![business_id, page.limit, page.offset], dish_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Paged { items, total })
}

/// Every dish of a business, oldest first (the mapping view shows them all).
pub fn dishes_of_business(conn: &Connection, business_id: &BusinessId) -> Result<Vec<Dish>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DISH_COLUMNS} FROM dishes d JOIN businesses b ON b.id = d.business_id
         WHERE d.business_id = ?1 AND d.is_test = 0 ORDER BY d.created_at, d.id"
    ))?;
    Ok(stmt
        .query_map([business_id], dish_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The dish with this id if it belongs to `business_id` (the hidden test dish never does: no
/// order or mapping can name it).
pub fn dish_of_business(
    conn: &Connection,
    business_id: &BusinessId,
    dish_id: &str,
) -> Result<Option<Dish>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {DISH_COLUMNS} FROM dishes d JOIN businesses b ON b.id = d.business_id
             WHERE d.id = ?1 AND d.business_id = ?2 AND d.is_test = 0"
        ))?
        .query_row(params![dish_id, business_id], dish_from_row)
        .optional()?)
}
