//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes). CPU-heavy: call it
//! from a blocking thread.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::{Error, Result};

/// Hash a password into a PHC string (`$argon2id$v=19$...`) with a fresh salt.
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Crypto(format!("hashing a password: {e}")))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Spend the same work as [`verify_password`] for a login whose email is unknown, so that the
/// answer's timing does not tell which emails have accounts. Always false.
pub fn verify_password_of_unknown_account(password: &str) -> bool {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash_password("possync-dummy-password").ok()) {
        let _ = verify_password(password, phc);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "every hash has its own salt");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("correct horse", "not-a-hash"));
        assert!(!verify_password_of_unknown_account("correct horse"));
    }
}
