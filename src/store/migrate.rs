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
}
