//! Loading a signing key for the command-line tools: from an encrypted keystore (password from
//! `NEURO_KEYSTORE_PASSWORD` or a terminal prompt) or from an environment variable. Never from argv; never logged.

use std::path::Path;

use alloy::signers::local::PrivateKeySigner;

/// Environment variable holding a keystore password.
pub const PASSWORD_ENV: &str = "NEURO_KEYSTORE_PASSWORD";

/// Why no key could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// Neither a keystore nor the environment variable was given.
    #[error("no key: pass --keystore <file> or set {0}")]
    Missing(&'static str),
    /// The environment variable is not a private key.
    #[error("{0} is not a 32-byte hex private key")]
    Malformed(&'static str),
    /// No password available.
    #[error("no keystore password: set {PASSWORD_ENV} or run in a terminal")]
    NoPassword,
    /// Wrong password or a corrupt keystore.
    #[error("cannot open the keystore {path} (wrong password?): {reason}")]
    Keystore {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
}

/// The keystore password from `NEURO_KEYSTORE_PASSWORD`, or a prompt.
pub fn password(prompt: &str) -> Result<String, KeyLoadError> {
    match std::env::var(PASSWORD_ENV) {
        Ok(p) => Ok(p),
        Err(_) => rpassword::prompt_password(prompt).map_err(|_| KeyLoadError::NoPassword),
    }
}

/// Decrypts `keystore` when given, else parses the private key in the environment variable `key_env`.
pub fn load_signer(keystore: Option<&Path>, key_env: &'static str) -> Result<PrivateKeySigner, KeyLoadError> {
    if let Some(path) = keystore {
        let password = password("keystore password: ")?;
        return PrivateKeySigner::decrypt_keystore(path, password)
            .map_err(|e| KeyLoadError::Keystore { path: path.display().to_string(), reason: e.to_string() });
    }
    let key = std::env::var(key_env).map_err(|_| KeyLoadError::Missing(key_env))?;
    key.trim().parse().map_err(|_| KeyLoadError::Malformed(key_env))
}
