//! The usage circuit: `N` receipt leaves add up to public totals under a public Merkle root.
//!
//! Public inputs, in this order (the Solidity verifier takes them in the same order):
//! `[miner, epoch, modelId mod r, totalTokens, totalFee, batchRoot]`.
//!
//! Constraints, for each leaf `i`:
//! - `promptTokens_i`, `completionTokens_i` and `fee_i` are each decomposed into 64 boolean witnesses
//!   (range check `< 2^64`), so the sums below cannot wrap around the field;
//! - `leaf_i = Poseidon(requestHash_i, modelId, promptTokens_i, completionTokens_i, fee_i, user_i)` with the
//!   *public* `modelId`, so every leaf is for that model;
//!
//! and globally `Σ (promptTokens_i + completionTokens_i) = totalTokens`, `Σ fee_i = totalFee`, and the binary
//! Poseidon Merkle tree over the leaves has root `batchRoot`. `miner` and `epoch` enter no constraint of their
//! own: the libsnark R1CS-to-QAP reduction ark-groth16 uses adds a consistency row for every public input, so
//! a proof still verifies only for the exact values it was made with (tested).

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{FieldVar, fp::FpVar},
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::{batch::Batch, field, poseidon, receipt::Receipt};

/// Bits of every range-checked count and fee.
pub const VALUE_BITS: usize = 64;

/// The public statement of a usage proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicInputs {
    /// The submitting miner.
    pub miner: [u8; 20],
    /// The epoch the usage belongs to.
    pub epoch: u64,
    /// The model (sha-256 of its weights; reduced modulo r in the statement).
    pub model_id: [u8; 32],
    /// Sum of prompt and completion tokens.
    pub total_tokens: u128,
    /// Sum of fees in NEURO-wei.
    pub total_fee: u128,
    /// Merkle root of the batch.
    pub batch_root: Fr,
}

impl PublicInputs {
    /// The statement for `batch` submitted by `miner` for `epoch`.
    pub fn for_batch(batch: &Batch, miner: [u8; 20], epoch: u64) -> Self {
        Self {
            miner,
            epoch,
            model_id: batch.model_id(),
            total_tokens: batch.total_tokens(),
            total_fee: batch.total_fee(),
            batch_root: batch.root(),
        }
    }

    /// The six field elements, in verifier order.
    pub fn to_field_elements(&self) -> [Fr; 6] {
        [
            field::from_address(&self.miner),
            Fr::from(self.epoch),
            field::from_bytes32(&self.model_id),
            Fr::from(self.total_tokens),
            Fr::from(self.total_fee),
            self.batch_root,
        ]
    }
}

/// The private values of one leaf. Built from a [`Receipt`]; tests build out-of-range ones directly.
#[derive(Debug, Clone, Copy)]
pub struct LeafWitness {
    /// Request hash (reduced).
    pub request_hash: Fr,
    /// Prompt tokens.
    pub prompt_tokens: Fr,
    /// Completion tokens.
    pub completion_tokens: Fr,
    /// Fee.
    pub fee: Fr,
    /// User address.
    pub user: Fr,
}

impl From<&Receipt> for LeafWitness {
    fn from(r: &Receipt) -> Self {
        let [request_hash, _model, prompt_tokens, completion_tokens, fee, user] = r.leaf_inputs();
        Self { request_hash, prompt_tokens, completion_tokens, fee, user }
    }
}

/// The circuit for a batch of `leaves.len()` receipts (a power of two).
#[derive(Debug, Clone)]
pub struct UsageCircuit {
    /// Public statement.
    pub public: PublicInputs,
    /// One witness per leaf.
    pub leaves: Vec<LeafWitness>,
}

impl UsageCircuit {
    /// The circuit proving `batch` for `miner` and `epoch`.
    pub fn new(batch: &Batch, miner: [u8; 20], epoch: u64) -> Self {
        Self {
            public: PublicInputs::for_batch(batch, miner, epoch),
            leaves: batch.receipts().iter().map(LeafWitness::from).collect(),
        }
    }

    /// A circuit of `size` padding leaves: the shape used for key setup (values are irrelevant there).
    pub fn blank(size: usize) -> Self {
        let padding = LeafWitness::from(&Receipt::padding([0; 32]));
        Self {
            public: PublicInputs {
                miner: [0; 20],
                epoch: 0,
                model_id: [0; 32],
                total_tokens: 0,
                total_fee: 0,
                batch_root: Fr::from(0u64),
            },
            leaves: vec![padding; size],
        }
    }
}

/// Allocates `value` and proves it is `< 2^VALUE_BITS`.
fn range_checked(cs: &ConstraintSystemRef<Fr>, value: Fr) -> Result<FpVar<Fr>, SynthesisError> {
    let var = FpVar::new_witness(cs.clone(), || Ok(value))?;
    let bits = value.into_bigint().to_bits_le();
    let bit_vars = (0..VALUE_BITS)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(bits.get(i).copied().unwrap_or(false))))
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bit_vars)?.enforce_equal(&var)?;
    Ok(var)
}

impl ConstraintSynthesizer<Fr> for UsageCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        if self.leaves.len() < 2 || !self.leaves.len().is_power_of_two() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let [miner, epoch, model_id, total_tokens, total_fee, batch_root] = self.public.to_field_elements();
        let _miner = FpVar::new_input(cs.clone(), || Ok(miner))?;
        let _epoch = FpVar::new_input(cs.clone(), || Ok(epoch))?;
        let model_id = FpVar::new_input(cs.clone(), || Ok(model_id))?;
        let total_tokens = FpVar::new_input(cs.clone(), || Ok(total_tokens))?;
        let total_fee = FpVar::new_input(cs.clone(), || Ok(total_fee))?;
        let batch_root = FpVar::new_input(cs.clone(), || Ok(batch_root))?;

        let mut tokens = FpVar::<Fr>::zero();
        let mut fees = FpVar::<Fr>::zero();
        let mut level = Vec::with_capacity(self.leaves.len());
        for leaf in &self.leaves {
            let request_hash = FpVar::new_witness(cs.clone(), || Ok(leaf.request_hash))?;
            let user = FpVar::new_witness(cs.clone(), || Ok(leaf.user))?;
            let prompt = range_checked(&cs, leaf.prompt_tokens)?;
            let completion = range_checked(&cs, leaf.completion_tokens)?;
            let fee = range_checked(&cs, leaf.fee)?;
            tokens += &prompt + &completion;
            fees += &fee;
            level.push(poseidon::hash_leaf_var(&cs, &[request_hash, model_id.clone(), prompt, completion, fee, user])?);
        }
        tokens.enforce_equal(&total_tokens)?;
        fees.enforce_equal(&total_fee)?;

        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| poseidon::hash_node_var(&cs, &pair[0], &pair[1]))
                .collect::<Result<Vec<_>, _>>()?;
        }
        level[0].enforce_equal(&batch_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::sample_receipts;
    use ark_relations::gr1cs::ConstraintSystem;

    const MINER: [u8; 20] = [0xaa; 20];
    const MODEL: [u8; 32] = [0x42; 32];

    fn satisfied(circuit: UsageCircuit) -> Result<bool, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone())?;
        cs.is_satisfied()
    }

    fn honest() -> Result<UsageCircuit, Box<dyn std::error::Error>> {
        Ok(UsageCircuit::new(&Batch::new(8, MODEL, &sample_receipts(MODEL, 6))?, MINER, 3))
    }

    #[test]
    fn honest_batch_satisfies() -> Result<(), Box<dyn std::error::Error>> {
        assert!(satisfied(honest()?)?);
        Ok(())
    }

    #[test]
    fn wrong_totals_are_unsatisfiable() -> Result<(), Box<dyn std::error::Error>> {
        let mut c = honest()?;
        c.public.total_tokens += 1;
        assert!(!satisfied(c)?);
        let mut c = honest()?;
        c.public.total_fee -= 1;
        assert!(!satisfied(c)?);
        Ok(())
    }

    #[test]
    fn wrong_root_is_unsatisfiable() -> Result<(), Box<dyn std::error::Error>> {
        let mut c = honest()?;
        c.public.batch_root += Fr::from(1u64);
        assert!(!satisfied(c)?);
        Ok(())
    }

    #[test]
    fn mixed_model_is_unsatisfiable() -> Result<(), Box<dyn std::error::Error>> {
        // A leaf hashed with another model id: the root built from those leaves cannot match, because the
        // circuit hashes every leaf with the public model id.
        let mut receipts = sample_receipts(MODEL, 8);
        receipts[5].model_id = [0x43; 32];
        let leaves: Vec<Fr> = receipts.iter().map(Receipt::leaf).collect();
        let mut level = leaves;
        while level.len() > 1 {
            level = level.chunks(2).map(|p| poseidon::hash_node(p[0], p[1])).collect();
        }
        let c = UsageCircuit {
            public: PublicInputs {
                miner: MINER,
                epoch: 3,
                model_id: MODEL,
                total_tokens: receipts.iter().map(Receipt::tokens).sum(),
                total_fee: receipts.iter().map(|r| u128::from(r.fee)).sum(),
                batch_root: level[0],
            },
            leaves: receipts.iter().map(LeafWitness::from).collect(),
        };
        assert!(!satisfied(c)?);
        Ok(())
    }

    #[test]
    fn out_of_range_counts_cannot_wrap_the_sums() -> Result<(), Box<dyn std::error::Error>> {
        // Claim a huge fee in one leaf and "pay it back" with −x in another: sums and root are consistent,
        // only the range checks can catch it.
        let mut leaves: Vec<LeafWitness> = sample_receipts(MODEL, 4).iter().map(LeafWitness::from).collect();
        let x = Fr::from(u64::MAX) + Fr::from(10u64);
        leaves[0].fee += x;
        leaves[1].fee -= x;
        let leaf_hashes: Vec<Fr> = leaves
            .iter()
            .map(|l| {
                poseidon::hash_leaf(&[
                    l.request_hash,
                    field::from_bytes32(&MODEL),
                    l.prompt_tokens,
                    l.completion_tokens,
                    l.fee,
                    l.user,
                ])
            })
            .collect();
        let root = poseidon::hash_node(
            poseidon::hash_node(leaf_hashes[0], leaf_hashes[1]),
            poseidon::hash_node(leaf_hashes[2], leaf_hashes[3]),
        );
        let receipts = sample_receipts(MODEL, 4);
        let c = UsageCircuit {
            public: PublicInputs {
                miner: MINER,
                epoch: 3,
                model_id: MODEL,
                total_tokens: receipts.iter().map(Receipt::tokens).sum(),
                total_fee: receipts.iter().map(|r| u128::from(r.fee)).sum(),
                batch_root: root,
            },
            leaves,
        };
        assert!(!satisfied(c)?);

        // A single count of exactly 2^64 is refused too.
        let mut c = honest()?;
        c.leaves[7].prompt_tokens = Fr::from(u64::MAX) + Fr::from(1u64);
        assert!(!satisfied(c)?);
        Ok(())
    }

    #[test]
    fn constraint_count_per_leaf() -> Result<(), SynthesisError> {
        let count = |n| -> Result<usize, SynthesisError> {
            let cs = ConstraintSystem::<Fr>::new_ref();
            UsageCircuit::blank(n).generate_constraints(cs.clone())?;
            Ok(cs.num_constraints())
        };
        let (c8, c16) = (count(8)?, count(16)?);
        let per_leaf = (c16 - c8) / 8;
        assert!(per_leaf > 300 && per_leaf < 2000, "{per_leaf} constraints per leaf");
        Ok(())
    }
}
