//! Checking the signed receipt a node attaches to every response (`neuro_receipt`): the user's evidence of what
//! the node claimed to run, usable in a dispute.

use alloy::{primitives::Address, providers::Provider, sol_types::Eip712Domain};
use neuro_protocol::{
    Manifest,
    bindings::NodeRegistry,
    receipt::{Expected, ReceiptError, SignedReceipt, receipts_domain},
    voucher::Allowance,
};

/// The response field carrying the signed receipt.
pub const RECEIPT_FIELD: &str = "neuro_receipt";

/// Why a response's receipt was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The response carries no receipt.
    #[error("the node sent no signed receipt")]
    Missing,
    /// The receipt field is not a receipt.
    #[error("the node's receipt is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    /// The signature or a hash does not hold.
    #[error(transparent)]
    Invalid(#[from] ReceiptError),
    /// The receipt names another miner or user than the API key.
    #[error("the receipt is for {field} {found}, but the API key is for {expected}")]
    WrongParty {
        /// `miner` or `user`.
        field: &'static str,
        /// In the receipt.
        found: Address,
        /// In the API key.
        expected: Address,
    },
    /// The receipt is dated in another epoch than the chain's (a node dating receipts outside the dispute
    /// window, or in the future, would make them useless as evidence).
    #[error("the receipt is dated epoch {found}, but the chain is in epoch {now}")]
    WrongEpoch {
        /// In the receipt.
        found: u64,
        /// The chain's epoch when the answer arrived.
        now: u64,
    },
    /// The node's registered signer could not be read.
    #[error("cannot read the node's receipt signer: {0}")]
    Chain(#[from] alloy::contract::Error),
    /// The receipt is signed by a key the node never registered.
    #[error("the receipt is signed by {signer}, which node {miner} never registered as its receipt signer")]
    NeverTheNodesSigner {
        /// Who signed.
        signer: Address,
        /// The node.
        miner: Address,
    },
}

/// The signed receipt in a JSON response or a stream's last chunk.
pub fn receipt_in(response: &serde_json::Value) -> Result<SignedReceipt, CheckError> {
    let field = response.get(RECEIPT_FIELD).ok_or(CheckError::Missing)?;
    Ok(serde_json::from_value(field.clone())?)
}

/// Checks `signed` against the API key's allowance, the node's registered signer `signer`, what was sent and
/// received, and the chain's epoch `epoch_now` when the answer arrived (the receipt's may be one earlier, for a
/// request that straddled the boundary).
pub fn check(
    signed: &SignedReceipt,
    domain: &Eip712Domain,
    allowance: &Allowance,
    signer: Address,
    request: &[u8],
    output: &str,
    epoch_now: u64,
) -> Result<(), CheckError> {
    let found = signed.receipt.epoch;
    if found > epoch_now || found + 1 < epoch_now {
        return Err(CheckError::WrongEpoch { found, now: epoch_now });
    }
    if signed.receipt.miner != allowance.miner {
        return Err(CheckError::WrongParty { field: "miner", found: signed.receipt.miner, expected: allowance.miner });
    }
    if signed.receipt.user != allowance.user {
        return Err(CheckError::WrongParty { field: "user", found: signed.receipt.user, expected: allowance.user });
    }
    signed.verify(domain, Expected { signer, request, output })?;
    Ok(())
}

/// The receipt domain of `manifest`'s deployment and `miner`'s registered receipt signer.
pub async fn node_signer<P: Provider>(
    provider: P,
    manifest: &Manifest,
    miner: Address,
) -> Result<(Eip712Domain, Address), CheckError> {
    let nodes = NodeRegistry::new(manifest.contracts.node_registry, provider);
    let node = nodes.getNode(miner).call().await?;
    Ok((receipts_domain(manifest.chain_id, manifest.contracts.node_registry), node.receiptSigner))
}

/// The receipt domain of `manifest`'s deployment and the key that signed `signed`, checked to be one the node
/// ever registered (`NodeRegistry.wasReceiptSigner`), as the dispute court checks it: evidence stays good after
/// the node rotates its key or deregisters.
pub async fn ever_node_signer<P: Provider>(
    provider: P,
    manifest: &Manifest,
    signed: &SignedReceipt,
) -> Result<(Eip712Domain, Address), CheckError> {
    let domain = receipts_domain(manifest.chain_id, manifest.contracts.node_registry);
    let signer = signed.signer(&domain)?;
    let miner = signed.receipt.miner;
    let nodes = NodeRegistry::new(manifest.contracts.node_registry, provider);
    if !nodes.wasReceiptSigner(miner, signer).call().await? {
        return Err(CheckError::NeverTheNodesSigner { signer, miner });
    }
    Ok((domain, signer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        primitives::{B256, U256},
        signers::local::PrivateKeySigner,
    };
    use neuro_protocol::receipt::{InferenceReceipt, output_hash, request_hash};

    #[tokio::test]
    async fn a_receipt_for_another_user_or_miner_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let node = PrivateKeySigner::random();
        let domain = receipts_domain(31337, Address::repeat_byte(1));
        let allowance = Allowance {
            user: Address::repeat_byte(2),
            miner: node.address(),
            cap: U256::from(10u64),
            expiry: U256::from(1u64),
            nonce: U256::ZERO,
        };
        let receipt = InferenceReceipt {
            miner: node.address(),
            user: allowance.user,
            modelId: B256::ZERO,
            requestHash: request_hash(b"req"),
            outputHash: output_hash("out"),
            samplingHash: B256::ZERO,
            promptTokens: 1,
            completionTokens: 1,
            fee: U256::from(1u64),
            epoch: 0,
        };
        let signed = receipt.clone().sign(&node, &domain).await?;
        let response = serde_json::json!({ "choices": [], RECEIPT_FIELD: signed });
        let parsed = receipt_in(&response)?;
        check(&parsed, &domain, &allowance, node.address(), b"req", "out", 0)?;
        assert!(matches!(
            check(&parsed, &domain, &allowance, node.address(), b"req", "out", 2),
            Err(CheckError::WrongEpoch { found: 0, now: 2 })
        ));
        assert!(matches!(receipt_in(&serde_json::json!({})), Err(CheckError::Missing)));

        let other_user = InferenceReceipt { user: Address::repeat_byte(9), ..receipt }.sign(&node, &domain).await?;
        assert!(matches!(
            check(&other_user, &domain, &allowance, node.address(), b"req", "out", 0),
            Err(CheckError::WrongParty { field: "user", .. })
        ));
        assert!(matches!(
            check(&parsed, &domain, &allowance, node.address(), b"req", "out, edited", 1),
            Err(CheckError::Invalid(ReceiptError::Mismatch { .. }))
        ));
        Ok(())
    }
}
