//! Schema steps from `schema.sql`, applied forward with `PRAGMA user_version`.

use rusqlite::Connection;

use crate::{Error, Result};

const SCHEMA: &str = include_str!("../../schema.sql");

/// The schema's steps, in order: step N is `steps()[N - 1]`.
fn steps() -> Vec<&'static str> {
    SCHEMA.split("\n-- step ").skip(1).collect()
}

/// The schema version this binary knows.
pub fn latest_version() -> i64 {
    steps().len() as i64
}

/// Bring the database up to [`latest_version`], one transaction per step. A database from a
/// newer possync is refused untouched. Returns the number of steps applied.
pub fn migrate(conn: &mut Connection) -> Result<usize> {
    let steps = steps();
    let known = steps.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(Error::SchemaTooNew { found, known });
    }
    let mut applied = 0;
    for (index, step) in steps.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        // Re-read inside the lock: another process may have migrated meanwhile.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now >= version {
            continue;
        }
        // The step's first line is its number; the rest is SQL.
        let sql = step.split_once('\n').map_or("", |(_, body)| body);
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        applied += 1;
        tracing::info!(version, "applied schema step");
    }
    Ok(applied)
}

/// Apply the steps before the first one whose SQL contains `marker`, as an older possync
/// would have left the database (tests of a migration build their old database with it).
#[cfg(test)]
pub(crate) fn migrate_to_before(conn: &mut Connection, marker: &str) {
    for (index, step) in steps().iter().enumerate() {
        if step.contains(marker) {
            return;
        }
        let sql = step.split_once('\n').map_or("", |(_, body)| body);
        conn.execute_batch(sql).unwrap();
        conn.pragma_update(None, "user_version", index as i64 + 1)
            .unwrap();
    }
    panic!("no schema step contains {marker:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_database_once_and_refuses_a_newer_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), latest_version() as usize);
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
    }

    #[test]
    fn check_constraints_guard_every_enum() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO sellers (id, email, password_hash, created_at) VALUES ('s', 'a@b', 'x', 0)",
            [],
        )
        .unwrap();
        let bad = conn.execute(
            "INSERT INTO api_tokens (id, seller_id, token_hash, kind, created_at)
             VALUES ('t', 's', x'00', 'forever', 0)",
            [],
        );
        assert!(bad.is_err(), "kind outside the enum must be refused");
    }

    /// Step 5 rebuilds the counters and the notifications: a database with logs and notices
    /// (their deliveries pointing at them) keeps every row, and the counters split by action.
    #[test]
    fn step_five_keeps_logs_notifications_and_their_deliveries() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for (index, step) in steps().iter().enumerate().take(4) {
            conn.execute_batch(step.split_once('\n').unwrap().1)
                .unwrap();
            conn.pragma_update(None, "user_version", index as i64 + 1)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO sellers VALUES ('s', 'a@b', NULL, 'x', 0);
             INSERT INTO businesses VALUES ('b', 's', 'n', 'INR', 'UTC', NULL, NULL, 0, 0);
             INSERT INTO orders VALUES ('o', 'b', 'c', NULL, NULL, 'INR', 100, 0);
             INSERT INTO pos_integrations (id, business_id, provider, is_active, auto_sync_orders,
                 sync_customer_info, created_at, updated_at) VALUES ('i', 'b', 'dine', 1, 1, 0, 0, 0);
             INSERT INTO sync_logs (id, order_id, business_id, integration_id, provider, status,
                 max_retries, created_at) VALUES ('l1', 'o', 'b', 'i', 'dine', 'success', 3, 0),
                 ('l2', 'o', 'b', 'i', 'dine', 'failed', 3, 1);
             INSERT INTO notifications VALUES ('n', 'b', 'sync_failed', 't', 'm', 'o', 'l2', 0, NULL);
             INSERT INTO notification_deliveries VALUES ('d', 'n', 'email', 'pending', 0, NULL, NULL);",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), steps().len() - 4);
        let one = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            one("SELECT group_concat(action) FROM sync_logs"),
            "create,create"
        );
        assert_eq!(
            one("SELECT group_concat(action || ':' || status || '=' || n) FROM sync_log_counts"),
            "create:failed=1,create:success=1"
        );
        assert_eq!(one("SELECT status FROM orders"), "open");
        assert_eq!(
            one(
                "SELECT n.kind || '/' || d.channel FROM notification_deliveries d
                 JOIN notifications n ON n.id = d.notification_id"
            ),
            "sync_failed/email"
        );
        let dangling: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0);
        conn.execute(
            "INSERT INTO notifications VALUES ('n2', 'b', 'cancel_by_hand', 't', 'm', 'o', NULL, 0, NULL)",
            [],
        )
        .unwrap();
    }
}
