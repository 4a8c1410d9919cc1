//! Passwords (argon2id), sealed secrets (AES-256-GCM) and API tokens (random, stored hashed).

mod cipher;
mod password;
mod token;

pub use cipher::{Keyring, Secret};
pub use password::{hash_password, verify_password, verify_password_of_unknown_account};
pub use token::{TokenHash, hash_token, new_token};

/// Fill a buffer from the operating system's random source.
pub(crate) fn random_bytes<const N: usize>() -> crate::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| crate::Error::Crypto(format!("no randomness: {e}")))?;
    Ok(buf)
}
