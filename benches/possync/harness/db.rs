//! Reading possync's SQLite database directly (while it runs, or after a kill), to check what
//! it committed against what the mock POS saw.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// The database at `db`, waiting up to 10 s for possync's write lock.
pub fn open(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    conn
}

/// Sync logs per status.
pub fn status_counts(db: &Path) -> HashMap<String, i64> {
    let conn = open(db);
    let mut stmt = conn
        .prepare("SELECT status, count(*) FROM sync_logs GROUP BY status")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<HashMap<_, _>>>()
        .expect("rows")
}

/// The text column `sql` selects, for every row (with `params`).
pub fn strings(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Vec<String> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map(params, |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("rows")
}

/// Every order's id.
pub fn order_ids(db: &Path) -> Vec<String> {
    strings(&open(db), "SELECT id FROM orders", [])
}
