//! The domain error type. It knows nothing of HTTP: `api::error` maps it onto statuses.

/// Everything that can go wrong below the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule; the message names the field.
    #[error("{0}")]
    Validation(String),
    /// Missing credentials, or credentials that do not match.
    #[error("{0}")]
    Unauthorized(String),
    /// The action is switched off (e.g. registration is closed).
    #[error("{0}")]
    Forbidden(String),
    /// No such resource, or it belongs to another seller (never say which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// possync asked the POS something on the caller's behalf (its catalog) and the POS failed;
    /// the message says what the POS answered.
    #[error("{0}")]
    Upstream(String),
    /// Settings that make no sense, found at start-up.
    #[error("configuration: {0}")]
    Config(String),
    /// The database was written by a newer possync.
    #[error(
        "the database is at schema version {found} but this possync knows only up to {known}; \
         run a newer possync or restore a backup"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// Sealing or opening a secret failed (wrong key, corrupted value).
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database cannot be written now (disk full, read-only file or file system, I/O
    /// error); reads still work, and writing resumes by itself once the disk allows.
    #[error("the database cannot be written now: {0}")]
    Unwritable(String),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or an unexpected state; never caused by input.
    #[error("internal: {0}")]
    Internal(String),
}

/// Shorthand for results in possync.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation error naming `field`.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Error::Validation(format!("{field}: {why}"))
    }
}
