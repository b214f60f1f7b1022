//! Handing an answer to a validator (`neuro delegate`): a user who got a suspicious answer cannot re-execute it
//! or post a dispute bond, but a validator can. The user checks the node's signed receipt against the request it
//! sent and the answer it got, signs a `DisputeDelegation` naming one validator, and sends the resulting
//! evidence file; the validator re-executes it (`neuro-validator dispute`) and, if it fails, opens the dispute
//! with its own stake and bond (`Disputes.openDelegatedDispute`). Every paid answer can become evidence, so a
//! node cannot cheat safely on whatever traffic it takes for organic.
//!
//! Who could abuse this and how (docs/verification.md): a user framing a node through a validator (the
//! validator re-executes first and loses its bond if the others do not uphold); a user delegating someone else's
//! receipt (only the receipt's paying user can sign; checked here and on chain); a validator using the
//! delegation for another receipt, or another validator using it (it binds both).

use alloy::{
    primitives::{Address, Bytes},
    providers::Provider,
    signers::Signer,
};
use neuro_protocol::{
    Manifest,
    delegation::{DelegatedEvidence, DisputeDelegation, disputes_domain},
    receipt::{Expected, ReceiptError},
};

use crate::receipt::{CheckError, ever_node_signer, receipt_in};

/// Why an answer could not be delegated.
#[derive(Debug, thiserror::Error)]
pub enum DelegateError {
    /// The response is not a JSON chat completion with one choice.
    #[error("the response is not a non-streamed chat completion with one choice: {0}")]
    NotACompletion(&'static str),
    /// The receipt names another paying user.
    #[error("the receipt was paid by {payer}, not by this key ({you}): only the paying user can delegate it")]
    NotYourReceipt {
        /// The receipt's user.
        payer: Address,
        /// The signing key's address.
        you: Address,
    },
    /// The receipt does not hold against the node's registered signer, the request or the answer.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] ReceiptError),
}

/// The answer text and signed receipt of a non-streamed chat completion response.
pub fn answer_of(response: &serde_json::Value) -> Result<String, DelegateError> {
    let choices = response["choices"].as_array().ok_or(DelegateError::NotACompletion("no `choices`"))?;
    let [choice] = choices.as_slice() else {
        return Err(DelegateError::NotACompletion("not exactly one choice"));
    };
    let content = choice["message"]["content"].as_str();
    Ok(content.ok_or(DelegateError::NotACompletion("no `choices[0].message.content`"))?.to_string())
}

/// Checks the answer in `response` to `request` (the exact body sent) against a receipt signer the node ever
/// registered (a node rotating its key cannot void evidence), and signs its delegation to `validator` with `user`, the key that paid for it.
pub async fn delegate<P: Provider, S: Signer + Sync>(
    provider: P,
    manifest: &Manifest,
    user: &S,
    request: Vec<u8>,
    response: &serde_json::Value,
    validator: Address,
) -> Result<DelegatedEvidence, DelegateError> {
    let output = answer_of(response)?;
    let receipt = receipt_in(response)?;
    if receipt.receipt.user != user.address() {
        return Err(DelegateError::NotYourReceipt { payer: receipt.receipt.user, you: user.address() });
    }
    let (domain, signer) = ever_node_signer(provider, manifest, &receipt).await?;
    receipt.verify(&domain, Expected { signer, request: &request, output: &output }).map_err(CheckError::from)?;
    let delegation = DisputeDelegation { receiptDigest: receipt.receipt.digest(&domain), validator };
    let delegation: Bytes =
        delegation.sign(user, &disputes_domain(manifest.chain_id, manifest.contracts.disputes)).await?;
    Ok(DelegatedEvidence { receipt, request: request.into(), output, validator, delegation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_one_choice_completion_is_an_answer() {
        let ok = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": "hi"}}]});
        assert_eq!(answer_of(&ok).ok().as_deref(), Some("hi"));
        for bad in [
            serde_json::json!({"choices": []}),
            serde_json::json!({"choices": [{"message": {"content": "a"}}, {"message": {"content": "b"}}]}),
            serde_json::json!({"choices": [{"delta": {"content": "streamed"}}]}),
            serde_json::json!({"object": "error"}),
        ] {
            assert!(matches!(answer_of(&bad), Err(DelegateError::NotACompletion(_))), "{bad}");
        }
    }
}
