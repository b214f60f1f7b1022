//! Poseidon over BN254's scalar field: one parameter set per sponge width, shared by the native hash and the
//! circuit gadget so that both compute the same function (a test checks it on random inputs).
//!
//! Parameters (generated once by `find_poseidon_ark_and_mds`, the Grain LFSR of the Poseidon paper, from
//! `(prime_bits = 254, rate, full_rounds, partial_rounds, skip_matrices = 0)`; not circomlib's constants):
//!
//! | use | width t | rate | capacity | α | full rounds | partial rounds |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | receipt leaf (6 inputs) | 7 | 6 | 1 | 5 | 8 | 63 |
//! | Merkle node (2 inputs) | 3 | 2 | 1 | 5 | 8 | 57 |
//!
//! Both hashes absorb their inputs into a fresh duplex sponge (state all zero) and squeeze one element.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_crypto_primitives::sponge::{
    CryptographicSponge,
    constraints::CryptographicSpongeVar,
    poseidon::{PoseidonConfig, PoseidonSponge, constraints::PoseidonSpongeVar, find_poseidon_ark_and_mds},
};
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// Field elements in a receipt leaf.
pub const LEAF_ARITY: usize = 6;
const ALPHA: u64 = 5;
const FULL_ROUNDS: usize = 8;

fn config(rate: usize, partial_rounds: usize) -> PoseidonConfig<Fr> {
    let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(254, rate, FULL_ROUNDS as u64, partial_rounds as u64, 0);
    PoseidonConfig::new(FULL_ROUNDS, partial_rounds, ALPHA, mds, ark, rate, 1)
}

/// Parameters of the leaf hash (width 7).
pub fn leaf_config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| config(LEAF_ARITY, 63))
}

/// Parameters of the Merkle node hash (width 3).
pub fn node_config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| config(2, 57))
}

fn hash(config: &PoseidonConfig<Fr>, inputs: &[Fr]) -> Fr {
    let mut sponge = PoseidonSponge::new(config);
    sponge.absorb(&inputs);
    let out: Vec<Fr> = sponge.squeeze_field_elements(1);
    out[0]
}

/// Native leaf hash of six field elements.
pub fn hash_leaf(inputs: &[Fr; LEAF_ARITY]) -> Fr {
    hash(leaf_config(), inputs)
}

/// Native Merkle node hash.
pub fn hash_node(left: Fr, right: Fr) -> Fr {
    hash(node_config(), &[left, right])
}

fn hash_var(
    cs: &ConstraintSystemRef<Fr>,
    config: &PoseidonConfig<Fr>,
    inputs: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut sponge = PoseidonSpongeVar::new(cs.clone(), config);
    sponge.absorb(&inputs)?;
    let mut out = sponge.squeeze_field_elements(1)?;
    out.pop().ok_or(SynthesisError::Unsatisfiable)
}

/// In-circuit leaf hash.
pub fn hash_leaf_var(
    cs: &ConstraintSystemRef<Fr>,
    inputs: &[FpVar<Fr>; LEAF_ARITY],
) -> Result<FpVar<Fr>, SynthesisError> {
    hash_var(cs, leaf_config(), inputs)
}

/// In-circuit Merkle node hash.
pub fn hash_node_var(
    cs: &ConstraintSystemRef<Fr>,
    left: &FpVar<Fr>,
    right: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    hash_var(cs, node_config(), &[left.clone(), right.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{GR1CSVar, alloc::AllocVar};
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::UniformRand;
    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

    #[test]
    fn native_and_circuit_agree_on_random_inputs() -> Result<(), SynthesisError> {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        for _ in 0..8 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let values: [Fr; LEAF_ARITY] = std::array::from_fn(|_| Fr::rand(&mut rng));
            let vars = values.map(|v| FpVar::new_witness(cs.clone(), || Ok(v)).expect("witness"));
            assert_eq!(hash_leaf_var(&cs, &vars)?.value()?, hash_leaf(&values));

            let (l, r) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
            let lv = FpVar::new_witness(cs.clone(), || Ok(l))?;
            let rv = FpVar::new_witness(cs.clone(), || Ok(r))?;
            assert_eq!(hash_node_var(&cs, &lv, &rv)?.value()?, hash_node(l, r));
            assert!(cs.is_satisfied()?);
        }
        Ok(())
    }

    #[test]
    fn hashes_are_input_sensitive_and_order_sensitive() {
        let (a, b) = (Fr::from(1u64), Fr::from(2u64));
        assert_ne!(hash_node(a, b), hash_node(b, a));
        assert_ne!(hash_leaf(&[a; 6]), hash_leaf(&[b; 6]));
        assert_eq!(hash_node(a, b), hash_node(a, b));
    }
}
