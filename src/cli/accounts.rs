//! `seller list`, `token list` and `token revoke`: what an operator needs to see and undo
//! access, printed as tab-separated lines with a header (for `column -t` or `awk`).

use std::io::Write;

use crate::Result;
use crate::accounts::{self, Revoked};
use crate::domain::{Email, Millis, format_millis, now_millis};
use crate::store::Store;
use crate::store::accounts::{TokenInfo, all_sellers};

/// Print every seller.
pub(super) fn list_sellers(store: &Store) -> Result<()> {
    let sellers = store.read(all_sellers)?;
    print_rows(
        &["id", "email", "name", "created_at"],
        sellers.into_iter().map(|s| {
            vec![
                s.id,
                s.email,
                s.name.unwrap_or_else(|| "-".into()),
                format_millis(s.created_at),
            ]
        }),
    )
}

/// Print the tokens of the seller with this email.
pub(super) fn list_tokens(store: &Store, email: &Email) -> Result<()> {
    let (_, tokens) = accounts::tokens_of(store, email)?;
    let now = now_millis();
    print_rows(
        &["id", "kind", "name", "created_at", "expires_at", "state"],
        tokens.into_iter().map(|t| {
            let state = state(&t, now);
            vec![
                t.id,
                t.kind.to_string(),
                t.name.unwrap_or_else(|| "-".into()),
                format_millis(t.created_at),
                t.expires_at.map_or_else(|| "never".into(), format_millis),
                state,
            ]
        }),
    )
}

/// Revoke the token with this id and say what happened.
pub(super) fn revoke_token(store: &Store, id: &str) -> Result<()> {
    match accounts::revoke_token_by_id(store, id)? {
        Revoked::Now => println!("revoked token {id}"),
        Revoked::Already(at) => println!("token {id} was already revoked at {}", format_millis(at)),
    }
    Ok(())
}

fn state(token: &TokenInfo, now: Millis) -> String {
    match (token.revoked_at, token.expires_at) {
        (Some(at), _) => format!("revoked {}", format_millis(at)),
        (None, Some(at)) if at <= now => "expired".into(),
        _ => "live".into(),
    }
}

fn print_rows(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", header.join("\t"))?;
    for row in rows {
        writeln!(out, "{}", row.join("\t"))?;
    }
    Ok(())
}
