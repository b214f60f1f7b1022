//! The operator key: an encrypted Ethereum keystore (scrypt + AES-128-CTR) read with a password from the
//! environment (`NEURO_KEYSTORE_PASSWORD`) or a terminal prompt. Keys and passwords never come from argv and
//! are never logged.

use std::path::Path;

use alloy::signers::local::{LocalSignerError, PrivateKeySigner};

pub use neuro_protocol::keys::PASSWORD_ENV;
/// Environment variable holding a private key to import with `init --import`.
pub const IMPORT_KEY_ENV: &str = "NEURO_PRIVATE_KEY";

/// Keystore errors.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Wrong password or a corrupt file.
    #[error("cannot open the keystore {path}: {source} (wrong password?)")]
    Decrypt {
        /// File.
        path: String,
        /// Cause.
        source: LocalSignerError,
    },
    /// Writing failed.
    #[error("cannot write the keystore: {0}")]
    Encrypt(LocalSignerError),
    /// No password available.
    #[error("no password: set {PASSWORD_ENV} or run in a terminal")]
    NoPassword,
    /// The key to import is malformed.
    #[error("the private key in {IMPORT_KEY_ENV} is not 32 bytes of hex")]
    BadImport,
}

/// The password from the environment, or a prompt.
pub fn password(prompt: &str) -> Result<String, KeystoreError> {
    neuro_protocol::keys::password(prompt).map_err(|_| KeystoreError::NoPassword)
}

/// Decrypts the operator key.
pub fn open(path: &Path, password: &str) -> Result<PrivateKeySigner, KeystoreError> {
    PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|source| KeystoreError::Decrypt { path: path.display().to_string(), source })
}

/// Creates a keystore at `path` for a new random key, or for the key in `NEURO_PRIVATE_KEY` when `import`.
pub fn create(path: &Path, password: &str, import: bool) -> Result<PrivateKeySigner, KeystoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str());
    let _ = std::fs::create_dir_all(dir);
    let mut rng = rand::thread_rng();
    let signer = if import {
        let text = std::env::var(IMPORT_KEY_ENV).map_err(|_| KeystoreError::BadImport)?;
        let bytes = hex::decode(text.trim().trim_start_matches("0x")).map_err(|_| KeystoreError::BadImport)?;
        if bytes.len() != 32 {
            return Err(KeystoreError::BadImport);
        }
        PrivateKeySigner::encrypt_keystore(dir, &mut rng, bytes, password, name).map_err(KeystoreError::Encrypt)?.0
    } else {
        PrivateKeySigner::new_keystore(dir, &mut rng, password, name).map_err(KeystoreError::Encrypt)?.0
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
