//! Dispute delegations: a receipt's paying user lets one named validator dispute that receipt
//! (`Disputes.openDelegatedDispute`), by signing a `DisputeDelegation` in the dispute court's EIP-712 domain.
//!
//! Two users need it. A validator probes from a *probe account* no node can tie to its stake (a node that could
//! tell probes apart would answer them honestly and cheat everyone else), and opens the dispute itself once a
//! probe fails. An organic user who got a suspicious answer hands the receipt and the bytes to a validator,
//! which re-executes and disputes it: every paid answer becomes possible evidence, not just probes.
//!
//! Who could abuse this and how (docs/verification.md): a front-runner copying the validator's transaction
//! (the delegation names the validator: refused); a validator reusing a delegation for another receipt (it names
//! the receipt's digest); a user delegating one receipt to many validators (a receipt is disputed once; the
//! others' transactions fail); a forged delegation (the court checks the user's signature, ECDSA or ERC-1271).

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::Signer,
    sol,
    sol_types::{Eip712Domain, SolStruct, eip712_domain},
};
use serde::{Deserialize, Serialize};

use crate::receipt::{ReceiptError, SignedReceipt};

sol! {
    /// What a receipt's user signs to let `validator` dispute the receipt whose digest is `receiptDigest`.
    #[derive(Debug, PartialEq, Eq)]
    struct DisputeDelegation {
        bytes32 receiptDigest;
        address validator;
    }
}

/// The EIP-712 domain of delegations: the dispute court (`Disputes`) on `chain_id`.
pub fn disputes_domain(chain_id: u64, disputes: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Neuro Disputes",
        version: "1",
        chain_id: chain_id,
        verifying_contract: disputes,
    }
}

impl DisputeDelegation {
    /// The EIP-712 digest the user signs (`Disputes.delegationDigest`).
    pub fn digest(&self, domain: &Eip712Domain) -> B256 {
        self.eip712_signing_hash(domain)
    }

    /// Signs with the user's key; the 65-byte `r ‖ s ‖ v` the court takes.
    pub async fn sign<S: Signer + Sync>(&self, user: &S, domain: &Eip712Domain) -> Result<Bytes, ReceiptError> {
        Ok(user.sign_hash(&self.digest(domain)).await?.as_bytes().into())
    }
}

/// A disputable answer as a user hands it to a validator (`neuro delegate` writes it, `neuro-validator dispute`
/// reads it): the node's signed receipt, the exact request body and the answer text it commits to, and the
/// user's delegation to one validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedEvidence {
    /// The node's signed receipt.
    pub receipt: SignedReceipt,
    /// The exact HTTP body the node received (hashes to `requestHash`).
    pub request: Bytes,
    /// The answer text (hashes to `outputHash`).
    pub output: String,
    /// The validator the user delegated the dispute to.
    pub validator: Address,
    /// The user's signature of the [`DisputeDelegation`] of this receipt to `validator`.
    pub delegation: Bytes,
}

#[cfg(test)]
mod tests {
    use alloy::{primitives::address, signers::local::PrivateKeySigner};

    use super::*;

    #[tokio::test]
    async fn a_delegation_recovers_to_its_user_and_binds_receipt_and_validator() -> Result<(), ReceiptError> {
        let user = PrivateKeySigner::random();
        let domain = disputes_domain(31337, address!("0x00000000000000000000000000000000000000d1"));
        let delegation = DisputeDelegation { receiptDigest: B256::repeat_byte(7), validator: Address::repeat_byte(9) };
        let signature = delegation.sign(&user, &domain).await?;
        let signature = alloy::primitives::Signature::try_from(signature.as_ref())?;
        assert_eq!(signature.recover_address_from_prehash(&delegation.digest(&domain))?, user.address());
        let other_validator = DisputeDelegation { validator: Address::repeat_byte(8), ..delegation.clone() };
        let other_receipt = DisputeDelegation { receiptDigest: B256::repeat_byte(6), ..delegation.clone() };
        let other_chain = disputes_domain(1, address!("0x00000000000000000000000000000000000000d1"));
        for digest in [other_validator.digest(&domain), other_receipt.digest(&domain), delegation.digest(&other_chain)]
        {
            assert_ne!(digest, delegation.digest(&domain));
        }
        Ok(())
    }
}
