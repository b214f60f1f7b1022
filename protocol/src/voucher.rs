//! Payment allowances: the EIP-712 `Allowance` a user signs to let one miner charge its deposit.
//!
//! Invariant: [`Allowance::digest`] equals `Payments.allowanceDigest` on the chain and contract of the domain
//! (checked against anvil in tests), so a signature made here is exactly what `Payments.redeem` verifies.

use alloy::{
    primitives::{Address, B256, Signature, U256},
    signers::Signer,
    sol,
    sol_types::{Eip712Domain, SolStruct, SolValue, eip712_domain},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::bindings::Payments;

sol! {
    /// A user's authorisation for `miner` to redeem up to `cap` NEURO-wei of its deposit until `expiry`.
    #[derive(Debug, PartialEq, Eq)]
    struct Allowance {
        address user;
        address miner;
        uint256 cap;
        uint256 expiry;
        uint256 nonce;
    }
}

/// Why an allowance signature is unusable.
#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(#[from] alloy::signers::Error),
    /// The signature does not recover to an address.
    #[error("malformed signature: {0}")]
    Malformed(#[from] alloy::primitives::SignatureError),
    /// The API key is not a Neuro allowance token.
    #[error("not a Neuro API key: {0}")]
    MalformedKey(&'static str),
    /// The signature was made by someone else than the allowance's user (or for another chain or contract).
    #[error("allowance signed by {recovered}, not by its user {user}")]
    WrongSigner {
        /// The allowance's user.
        user: Address,
        /// Who actually signed.
        recovered: Address,
    },
}

/// Half the order of secp256k1: the largest `s` a canonical (EIP-2) signature may have.
pub const SECP256K1N_HALF: U256 =
    alloy::primitives::uint!(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0_U256);

/// Parses a 65-byte `r ‖ s ‖ v` signature, admitting exactly what OpenZeppelin's ECDSA accepts on chain: `v` of 27
/// or 28 and `s` in the lower half of the curve order. The error says which rule failed.
pub fn canonical_signature(raw: &[u8]) -> Result<Signature, &'static str> {
    if raw.len() != 65 {
        return Err("a signature is 65 bytes");
    }
    if !matches!(raw[64], 27 | 28) {
        return Err("signature v must be 27 or 28");
    }
    if U256::from_be_slice(&raw[32..64]) > SECP256K1N_HALF {
        return Err("non-canonical signature (high s), which the contracts reject");
    }
    Signature::try_from(raw).map_err(|_| "bad signature encoding")
}

/// The EIP-712 domain of the `Payments` contract at `payments` on `chain_id`.
pub fn payments_domain(chain_id: u64, payments: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Neuro Payments",
        version: "1",
        chain_id: chain_id,
        verifying_contract: payments,
    }
}

impl Allowance {
    /// The EIP-712 digest to sign.
    pub fn digest(&self, domain: &Eip712Domain) -> B256 {
        self.eip712_signing_hash(domain)
    }

    /// Signs the allowance with the user's key.
    pub async fn sign<S: Signer + Sync>(
        self,
        signer: &S,
        domain: &Eip712Domain,
    ) -> Result<SignedAllowance, VoucherError> {
        let signature = signer.sign_hash(&self.digest(domain)).await?;
        Ok(SignedAllowance { allowance: self, signature })
    }
}

/// An allowance with its user's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAllowance {
    /// The allowance.
    pub allowance: Allowance,
    /// The user's ECDSA signature over [`Allowance::digest`].
    pub signature: Signature,
}

/// Prefix of API keys that carry a signed allowance.
pub const API_KEY_PREFIX: &str = "nk1_";
const ENCODED_LEN: usize = 5 * 32 + 65;

impl SignedAllowance {
    /// The API key a stock OpenAI client sends as its bearer token: `nk1_` followed by the unpadded base64url of
    /// `abi.encode(user, miner, cap, expiry, nonce) ‖ r ‖ s ‖ v` (225 bytes). It is a bearer credential for at
    /// most `cap` of the user's deposit, usable only by `miner`.
    pub fn to_api_key(&self) -> String {
        let mut bytes = self.allowance.abi_encode();
        bytes.extend_from_slice(&self.signature.as_bytes());
        format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses an API key made by [`SignedAllowance::to_api_key`]. Does not check the signature: call
    /// [`SignedAllowance::verify`].
    pub fn from_api_key(key: &str) -> Result<Self, VoucherError> {
        let body = key.strip_prefix(API_KEY_PREFIX).ok_or(VoucherError::MalformedKey("missing the nk1_ prefix"))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| VoucherError::MalformedKey("invalid base64url"))?;
        if bytes.len() != ENCODED_LEN {
            return Err(VoucherError::MalformedKey("wrong length"));
        }
        let allowance = Allowance::abi_decode(&bytes[..160]).map_err(|_| VoucherError::MalformedKey("bad fields"))?;
        // A high-s twin recovers to the same signer off chain but reverts in `Payments.redeem`, so admitting it
        // would serve requests that can never be paid.
        let signature = canonical_signature(&bytes[160..]).map_err(VoucherError::MalformedKey)?;
        Ok(Self { allowance, signature })
    }

    /// Checks that the allowance's user signed it for `domain` (EOA signatures; contract wallets are checked
    /// on chain through ERC-1271).
    pub fn verify(&self, domain: &Eip712Domain) -> Result<(), VoucherError> {
        let recovered = self.signature.recover_address_from_prehash(&self.allowance.digest(domain))?;
        if recovered != self.allowance.user {
            return Err(VoucherError::WrongSigner { user: self.allowance.user, recovered });
        }
        Ok(())
    }

    /// The 65-byte `r ‖ s ‖ v` signature `Payments.redeem` takes.
    pub fn signature_bytes(&self) -> alloy::primitives::Bytes {
        self.signature.as_bytes().into()
    }

    /// The allowance as the `Payments` binding's argument type.
    pub fn to_call_arg(&self) -> Payments::Allowance {
        let a = &self.allowance;
        Payments::Allowance { user: a.user, miner: a.miner, cap: a.cap, expiry: a.expiry, nonce: a.nonce }
    }

    /// Amount left under the cap after `redeemed`.
    pub fn remaining_cap(&self, redeemed: U256) -> U256 {
        self.allowance.cap.saturating_sub(redeemed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;

    fn sample(user: Address) -> Allowance {
        Allowance {
            user,
            miner: Address::repeat_byte(0x11),
            cap: U256::from(1000u64),
            expiry: U256::from(2_000_000_000u64),
            nonce: U256::from(7u64),
        }
    }

    #[tokio::test]
    async fn high_s_twins_and_odd_v_are_refused() -> Result<(), VoucherError> {
        let signer = PrivateKeySigner::random();
        let domain = payments_domain(31337, Address::repeat_byte(0x22));
        let signed = sample(signer.address()).sign(&signer, &domain).await?;
        let key = signed.to_api_key();
        let mut bytes =
            URL_SAFE_NO_PAD.decode(key.strip_prefix(API_KEY_PREFIX).unwrap_or_default()).unwrap_or_default();
        // The twin (r, n - s, flipped v) is a valid signature by the same key off chain...
        let order = SECP256K1N_HALF * U256::from(2) + U256::from(1);
        let s = U256::from_be_slice(&bytes[192..224]);
        bytes[192..224].copy_from_slice(&(order - s).to_be_bytes::<32>());
        bytes[224] = if bytes[224] == 27 { 28 } else { 27 };
        let twin = Signature::try_from(&bytes[160..])?;
        assert_eq!(twin.recover_address_from_prehash(&signed.allowance.digest(&domain))?, signer.address());
        // ...but the gate refuses it, as Payments would.
        let twin_key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert!(
            matches!(SignedAllowance::from_api_key(&twin_key), Err(VoucherError::MalformedKey(m)) if m.contains("high s"))
        );
        // v in {0, 1} (which alloy would also accept) is refused too.
        let mut odd_v =
            URL_SAFE_NO_PAD.decode(key.strip_prefix(API_KEY_PREFIX).unwrap_or_default()).unwrap_or_default();
        odd_v[224] -= 27;
        let odd_key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(&odd_v));
        assert!(
            matches!(SignedAllowance::from_api_key(&odd_key), Err(VoucherError::MalformedKey(m)) if m.contains("v must"))
        );
        Ok(())
    }

    #[test]
    fn type_string_matches_the_contract() {
        assert_eq!(
            Allowance::eip712_encode_type(),
            "Allowance(address user,address miner,uint256 cap,uint256 expiry,uint256 nonce)"
        );
    }

    #[tokio::test]
    async fn sign_and_verify_round_trip() -> Result<(), VoucherError> {
        let signer = PrivateKeySigner::random();
        let domain = payments_domain(31337, Address::repeat_byte(0x22));
        let signed = sample(signer.address()).sign(&signer, &domain).await?;
        signed.verify(&domain)?;
        assert_eq!(signed.signature_bytes().len(), 65);

        let key = signed.to_api_key();
        assert!(key.starts_with("nk1_"));
        assert_eq!(SignedAllowance::from_api_key(&key)?, signed);
        assert!(matches!(SignedAllowance::from_api_key("sk-openai"), Err(VoucherError::MalformedKey(_))));
        assert!(matches!(SignedAllowance::from_api_key(&key[..key.len() - 4]), Err(VoucherError::MalformedKey(_))));

        let other_chain = payments_domain(1, Address::repeat_byte(0x22));
        assert!(matches!(signed.verify(&other_chain), Err(VoucherError::WrongSigner { .. })));
        let mut tampered = signed;
        tampered.allowance.cap = U256::from(10_000u64);
        assert!(matches!(tampered.verify(&domain), Err(VoucherError::WrongSigner { .. })));
        Ok(())
    }
}
