//! Signing keys: from an encrypted Ethereum keystore (scrypt + AES-128-CTR; password from
//! `NEURO_KEYSTORE_PASSWORD` or a terminal prompt) or from an environment variable. Never from argv; never logged.

use std::path::{Path, PathBuf};

use alloy::signers::local::{LocalSignerError, PrivateKeySigner};

/// Environment variable holding a keystore password.
pub const PASSWORD_ENV: &str = "NEURO_KEYSTORE_PASSWORD";
/// Environment variable holding a private key to import into a new keystore.
pub const IMPORT_KEY_ENV: &str = "NEURO_PRIVATE_KEY";

/// Why no key could be loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither a keystore nor the environment variable was given.
    #[error("no key: pass --keystore <file> or set {0}")]
    Missing(&'static str),
    /// The environment variable is not a private key.
    #[error("{0} is not a 32-byte hex private key")]
    Malformed(&'static str),
    /// No password available.
    #[error("no keystore password: set {PASSWORD_ENV} or run in a terminal")]
    NoPassword(#[source] std::io::Error),
    /// Wrong password or a corrupt keystore.
    #[error("cannot open the keystore {} (wrong password?)", path.display())]
    Decrypt {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: LocalSignerError,
    },
    /// The keystore could not be written.
    #[error("cannot write the keystore {}", path.display())]
    Encrypt {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: LocalSignerError,
    },
}

/// The keystore password from `NEURO_KEYSTORE_PASSWORD`, or a prompt.
pub fn password(prompt: &str) -> Result<String, KeyError> {
    match std::env::var(PASSWORD_ENV) {
        Ok(p) => Ok(p),
        Err(_) => rpassword::prompt_password(prompt).map_err(KeyError::NoPassword),
    }
}

/// Decrypts the keystore at `path`.
pub fn open(path: &Path, password: &str) -> Result<PrivateKeySigner, KeyError> {
    PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|source| KeyError::Decrypt { path: path.to_path_buf(), source })
}

/// Decrypts `keystore` when given, else parses the private key in the environment variable `key_env`.
pub fn load_signer(keystore: Option<&Path>, key_env: &'static str) -> Result<PrivateKeySigner, KeyError> {
    if let Some(path) = keystore {
        return open(path, &password("keystore password: ")?);
    }
    let key = std::env::var(key_env).map_err(|_| KeyError::Missing(key_env))?;
    key.trim().parse().map_err(|_| KeyError::Malformed(key_env))
}

/// Creates a keystore at `path` for a new random key, or for the key in `NEURO_PRIVATE_KEY` when `import`.
pub fn create(path: &Path, password: &str, import: bool) -> Result<PrivateKeySigner, KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str());
    let encrypt = |source| KeyError::Encrypt { path: path.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(|e| encrypt(LocalSignerError::from(e)))?;
    let mut rng = rand::thread_rng();
    let signer = if import {
        let text = std::env::var(IMPORT_KEY_ENV).map_err(|_| KeyError::Missing(IMPORT_KEY_ENV))?;
        let bytes =
            hex::decode(text.trim().trim_start_matches("0x")).map_err(|_| KeyError::Malformed(IMPORT_KEY_ENV))?;
        if bytes.len() != 32 {
            return Err(KeyError::Malformed(IMPORT_KEY_ENV));
        }
        PrivateKeySigner::encrypt_keystore(dir, &mut rng, bytes, password, name).map_err(encrypt)?.0
    } else {
        PrivateKeySigner::new_keystore(dir, &mut rng, password, name).map_err(encrypt)?.0
    };
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_open_and_wrong_password() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("neuro-ks-{}", std::process::id()));
        let path = dir.join("operator.json");
        let signer = create(&path, "correct horse", false)?;
        assert_eq!(open(&path, "correct horse")?.address(), signer.address());
        let err = open(&path, "wrong").expect_err("wrong password");
        assert!(err.to_string().contains("wrong password"), "{err}");
        let text = std::fs::read_to_string(&path)?;
        assert!(!text.contains(&hex::encode(signer.to_bytes())), "the key is stored encrypted");
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }
}
