//! Groth16 key setup and key files.
//!
//! Setup here is *deterministic from a public seed*: convenient for devnets and CI (every machine derives the
//! same keys, so the committed Solidity verifiers can be regenerated and compared), and **insecure**: whoever
//! knows the seed knows the toxic waste and can forge proofs for any statement. A production deployment needs a
//! multi-party ceremony (a Powers-of-Tau phase 1 plus a circuit-specific phase 2, as Zcash and Semaphore ran),
//! whose output keys replace these; the deployment manifest records which verifying key a chain uses.

use std::{
    fs,
    io::{BufReader, BufWriter},
    path::{Path, PathBuf},
};

use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use sha2::{Digest, Sha256};

use crate::circuit::UsageCircuit;

/// The public seed of the devnet keys (insecure by construction, see the module docs).
pub const DEVNET_SEED: &str = "neuro-devnet-usage-keys-v1";

/// Key setup and file errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The batch size is not a power of two >= 2.
    #[error("batch size {0} is not a power of two >= 2")]
    InvalidSize(usize),
    /// Constraint synthesis failed during setup.
    #[error("setup failed: {0}")]
    Setup(#[from] ark_relations::gr1cs::SynthesisError),
    /// A key file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A key file is corrupt or for another curve.
    #[error("{}: not a valid key file ({source}); rerun `neuro-prover setup`", path.display())]
    Decode {
        /// File.
        path: PathBuf,
        /// Cause.
        source: ark_serialize::SerializationError,
    },
}

/// The RNG whose output is the toxic waste of the setup for `size`: ChaCha20 seeded with
/// `sha256(seed ‖ ":" ‖ size)`.
fn seeded_rng(seed: &str, size: usize) -> ChaCha20Rng {
    let digest: [u8; 32] = Sha256::new().chain_update(seed).chain_update(format!(":{size}")).finalize().into();
    ChaCha20Rng::from_seed(digest)
}

/// Runs the circuit-specific setup for batches of `size` from a public `seed`.
pub fn setup(size: usize, seed: &str) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>), KeyError> {
    if size < 2 || !size.is_power_of_two() {
        return Err(KeyError::InvalidSize(size));
    }
    Ok(Groth16::<Bn254>::circuit_specific_setup(UsageCircuit::blank(size), &mut seeded_rng(seed, size))?)
}

/// sha-256 of the compressed verifying key: the identity of a key, embedded in its Solidity verifier.
pub fn verifying_key_hash(vk: &VerifyingKey<Bn254>) -> [u8; 32] {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = vk.serialize_compressed(&mut bytes);
    Sha256::digest(&bytes).into()
}

/// Paths of the key files of one batch size in a directory.
#[derive(Debug, Clone)]
pub struct KeyPaths {
    /// Proving key (uncompressed, large).
    pub proving: PathBuf,
    /// Verifying key (compressed).
    pub verifying: PathBuf,
}

impl KeyPaths {
    /// `dir/usage-<size>.pk` and `dir/usage-<size>.vk`.
    pub fn new(dir: &Path, size: usize) -> Self {
        Self { proving: dir.join(format!("usage-{size}.pk")), verifying: dir.join(format!("usage-{size}.vk")) }
    }

    /// Writes both keys (creating the directory).
    pub fn save(&self, pk: &ProvingKey<Bn254>) -> Result<(), KeyError> {
        if let Some(dir) = self.proving.parent() {
            fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
        }
        write(&self.proving, |w| pk.serialize_uncompressed(w))?;
        write(&self.verifying, |w| pk.vk.serialize_compressed(w))
    }

    /// Reads the proving key. Points are not re-validated (our own setup wrote them; validation of a 1024-leaf
    /// key takes longer than proving).
    pub fn load_proving(&self) -> Result<ProvingKey<Bn254>, KeyError> {
        read(&self.proving, |r| ProvingKey::deserialize_with_mode(r, Compress::No, Validate::No))
    }

    /// Reads and validates the verifying key.
    pub fn load_verifying(&self) -> Result<VerifyingKey<Bn254>, KeyError> {
        read(&self.verifying, |r| VerifyingKey::deserialize_with_mode(r, Compress::Yes, Validate::Yes))
    }
}

fn write(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<fs::File>) -> Result<(), ark_serialize::SerializationError>,
) -> Result<(), KeyError> {
    // Write to a temporary file and rename, so a crash never leaves a truncated key behind.
    let tmp = path.with_extension("tmp");
    let file = fs::File::create(&tmp).map_err(|source| KeyError::Io { path: tmp.clone(), source })?;
    let mut writer = BufWriter::new(file);
    f(&mut writer).map_err(|source| KeyError::Decode { path: tmp.clone(), source })?;
    drop(writer);
    fs::rename(&tmp, path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })
}

fn read<T>(
    path: &Path,
    f: impl FnOnce(&mut BufReader<fs::File>) -> Result<T, ark_serialize::SerializationError>,
) -> Result<T, KeyError> {
    let file = fs::File::open(path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?;
    f(&mut BufReader::new(file)).map_err(|source| KeyError::Decode { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_is_deterministic_per_seed_and_size() -> Result<(), KeyError> {
        let (_, a) = setup(4, "seed")?;
        let (_, b) = setup(4, "seed")?;
        let (_, c) = setup(4, "other")?;
        assert_eq!(verifying_key_hash(&a), verifying_key_hash(&b));
        assert_ne!(verifying_key_hash(&a), verifying_key_hash(&c));
        assert!(matches!(setup(6, "seed"), Err(KeyError::InvalidSize(6))));
        Ok(())
    }

    #[test]
    fn key_files_round_trip_and_corruption_is_reported() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("neuro-keys-{}", std::process::id()));
        let paths = KeyPaths::new(&dir, 4);
        let (pk, vk) = setup(4, "seed")?;
        paths.save(&pk)?;
        assert_eq!(paths.load_verifying()?, vk);
        assert_eq!(paths.load_proving()?.vk, vk);
        fs::write(&paths.verifying, b"garbage")?;
        let err = paths.load_verifying().expect_err("corrupt key");
        assert!(err.to_string().contains("not a valid key file"), "{err}");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
