//! Bearer tokens: 256 random bits, shown once, stored only as a SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::Secret;

/// The SHA-256 of a token: what the database keeps.
pub type TokenHash = [u8; 32];

/// A new random token (`pss_` + 43 base64url characters) and its hash.
pub fn new_token() -> crate::Result<(Secret, TokenHash)> {
    let bytes = super::random_bytes::<32>()?;
    let token = format!("pss_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    Ok((Secret::new(token), hash))
}

/// The hash under which a presented token is looked up.
pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let (a, ha) = new_token().unwrap();
        let (b, hb) = new_token().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(ha, hb);
        assert_eq!(a.expose().len(), 4 + 43);
        assert_eq!(hash_token(a.expose()), ha);
    }
}
