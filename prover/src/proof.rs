//! Proving, native verification, and the `uint256[8]` proof layout of the Solidity verifier.

use ark_bn254::{Bn254, Fq, Fr};
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_snark::SNARK;
use ark_std::rand::{CryptoRng, RngCore};

use crate::{
    batch::Batch,
    circuit::{PublicInputs, UsageCircuit},
};

/// Proving errors.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The proof made does not verify: the proving key is not for batches of this size.
    #[error("the proof does not verify: is the proving key for batches of {0} receipts?")]
    KeyMismatch(usize),
    /// Proving or verification failed.
    #[error("groth16: {0}")]
    Groth16(#[from] ark_relations::gr1cs::SynthesisError),
}

/// A proof with its public statement.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageProof {
    /// The Groth16 proof.
    pub proof: Proof<Bn254>,
    /// What it proves.
    pub public: PublicInputs,
}

/// Proves `batch` for `miner` and `epoch`, and checks the proof natively before returning it (about a
/// millisecond), so a key for another batch size is reported instead of producing a useless proof.
pub fn prove<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    batch: &Batch,
    miner: [u8; 20],
    epoch: u64,
    rng: &mut R,
) -> Result<UsageProof, ProofError> {
    let circuit = UsageCircuit::new(batch, miner, epoch);
    let public = circuit.public;
    let proof = UsageProof { proof: Groth16::<Bn254>::prove(pk, circuit, rng)?, public };
    if !verify(&pk.vk, &proof)? {
        return Err(ProofError::KeyMismatch(batch.size()));
    }
    Ok(proof)
}

/// Verifies a proof natively.
pub fn verify(vk: &VerifyingKey<Bn254>, proof: &UsageProof) -> Result<bool, ProofError> {
    let prepared = Groth16::<Bn254>::process_vk(vk)?;
    Ok(Groth16::<Bn254>::verify_with_processed_vk(&prepared, &proof.public.to_field_elements(), &proof.proof)?)
}

fn fq_bytes(value: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&value.into_bigint().to_bytes_be());
    out
}

/// The proof as the verifier's `uint256[8]`: `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`, each
/// 32 bytes big-endian. G2 coordinates put the imaginary part first, as the EIP-197 pairing precompile reads them.
pub fn to_solidity(proof: &Proof<Bn254>) -> [[u8; 32]; 8] {
    [
        fq_bytes(&proof.a.x),
        fq_bytes(&proof.a.y),
        fq_bytes(&proof.b.x.c1),
        fq_bytes(&proof.b.x.c0),
        fq_bytes(&proof.b.y.c1),
        fq_bytes(&proof.b.y.c0),
        fq_bytes(&proof.c.x),
        fq_bytes(&proof.c.y),
    ]
}

/// The public inputs as the verifier's `uint256[6]`.
pub fn public_inputs_solidity(public: &PublicInputs) -> [[u8; 32]; 6] {
    public.to_field_elements().map(|v: Fr| crate::field::to_bytes32(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{batch::tests::sample_receipts, keys};
    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

    #[test]
    fn prove_verify_and_bind_every_public_input() -> Result<(), Box<dyn std::error::Error>> {
        let (pk, vk) = keys::setup(4, "test")?;
        let model = [5; 32];
        let batch = Batch::new(4, model, &sample_receipts(model, 3))?;
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let proof = prove(&pk, &batch, [0xaa; 20], 9, &mut rng)?;
        assert!(verify(&vk, &proof)?);

        let mut tweaks: Vec<PublicInputs> = Vec::new();
        let p = proof.public;
        tweaks.push(PublicInputs { miner: [0xab; 20], ..p });
        tweaks.push(PublicInputs { epoch: 10, ..p });
        tweaks.push(PublicInputs { model_id: [6; 32], ..p });
        tweaks.push(PublicInputs { total_tokens: p.total_tokens + 1, ..p });
        tweaks.push(PublicInputs { total_fee: p.total_fee - 1, ..p });
        tweaks.push(PublicInputs { batch_root: p.batch_root + Fr::from(1u64), ..p });
        for public in tweaks {
            assert!(!verify(&vk, &UsageProof { proof: proof.proof.clone(), public })?, "{public:?}");
        }
        Ok(())
    }

    #[test]
    fn key_of_another_size_is_reported() -> Result<(), Box<dyn std::error::Error>> {
        let (pk8, _) = keys::setup(8, "test")?;
        let batch = Batch::new(4, [1; 32], &[])?;
        let result = prove(&pk8, &batch, [1; 20], 0, &mut ChaCha20Rng::seed_from_u64(3));
        assert!(result.is_err(), "a size-8 key cannot prove a size-4 batch");
        Ok(())
    }

    #[test]
    fn solidity_layout_orders_g2_imaginary_first() -> Result<(), Box<dyn std::error::Error>> {
        let (pk, _) = keys::setup(2, "test")?;
        let batch = Batch::new(2, [1; 32], &[])?;
        let proof = prove(&pk, &batch, [1; 20], 0, &mut ChaCha20Rng::seed_from_u64(2))?;
        let words = to_solidity(&proof.proof);
        assert_eq!(words[2], fq_bytes(&proof.proof.b.x.c1));
        assert_eq!(words[3], fq_bytes(&proof.proof.b.x.c0));
        Ok(())
    }
}
