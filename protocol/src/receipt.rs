//! Signed inference receipts: what a node claims about each response it served, signed by its registered
//! `receiptSigner` (EIP-712). A receipt is the evidence a dispute rests on: whoever holds it, the request bytes
//! and the output text can show any validator what the node said it ran, and re-run it.
//!
//! Who could abuse this and how (see `docs/verification.md`):
//! - a node that signs nothing, or signs for the wrong key: clients ([`SignedReceipt::verify`]) and validators
//!   refuse the response, so it cannot be paid by a careful user and counts as a failed probe;
//! - a node that signs a different output than it sent: `outputHash` is checked against the received text;
//! - a user who forges a receipt to frame a node: it would need the node's key;
//! - a receipt replayed on another chain or deployment: the domain binds chain id and the `NodeRegistry`.

use alloy::{
    primitives::{Address, B256, keccak256},
    signers::Signer,
    sol,
    sol_types::{Eip712Domain, SolStruct, SolValue, eip712_domain},
};
use serde::{Deserialize, Serialize};

use crate::voucher::canonical_signature;

sol! {
    /// What a node claims about one response it served.
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct InferenceReceipt {
        address miner;
        address user;
        bytes32 modelId;
        bytes32 requestHash;
        bytes32 outputHash;
        bytes32 samplingHash;
        uint64 promptTokens;
        uint64 completionTokens;
        uint256 fee;
        uint64 epoch;
    }
}

/// The EIP-712 domain of receipts: the `NodeRegistry` (which holds each node's `receiptSigner`) on `chain_id`.
pub fn receipts_domain(chain_id: u64, node_registry: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Neuro Receipts",
        version: "1",
        chain_id: chain_id,
        verifying_contract: node_registry,
    }
}

/// The request hash: keccak-256 of the exact HTTP body the node received.
pub fn request_hash(body: &[u8]) -> B256 {
    keccak256(body)
}

/// The output hash: keccak-256 of the generated text (the concatenated deltas of a stream, or the one choice's
/// content), independent of how the JSON or the SSE events were laid out.
pub fn output_hash(text: &str) -> B256 {
    keccak256(text.as_bytes())
}

/// One choice of an answer, as the output hash commits to it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChoiceOutput {
    /// The choice's text.
    pub content: String,
    /// The tools it called.
    pub tool_calls: Vec<CalledTool>,
}

/// A tool call in a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalledTool {
    /// The function called.
    pub name: String,
    /// Its arguments, the JSON text the answer carries.
    pub arguments: String,
}

/// The text an answer's output hash is taken over: the one choice's text when the answer is a single choice
/// without tool calls (what validators replay, and what every earlier receipt committed to); otherwise the
/// compact JSON array of the choices (`[{"content", "tool_calls": [{"name", "arguments"}]}]`, call ids left out:
/// the node picks them at random), so that no choice and no call escapes the signature.
pub fn output_text(choices: &[ChoiceOutput]) -> String {
    match choices {
        [one] if one.tool_calls.is_empty() => one.content.clone(),
        // Strings and vectors always serialize.
        many => serde_json::to_string(many).unwrap_or_default(),
    }
}

/// The sampling parameters a request ran with, in a canonical form: what a validator must reproduce.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SamplingClaim {
    /// Completion token limit.
    pub max_tokens: u64,
    /// Temperature; `0` is greedy decoding, `None` the default (1.0, as OpenAI and the engine read it).
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop strings.
    pub stop: Vec<String>,
}

impl SamplingClaim {
    /// Whether decoding was greedy (deterministic), the only kind a validator can re-execute token by token.
    pub fn is_greedy(&self) -> bool {
        self.temperature.is_some_and(|t| t <= 0.0)
    }

    /// `keccak256(abi.encode(maxTokens, temperature·10⁶ (-1 when greedy, 10⁶ when absent), topP·10⁶ or -1,
    /// stop[]))`; floats are rounded to millionths so that the JSON a client sent and the value the node parsed
    /// hash alike.
    pub fn hash(&self) -> B256 {
        let micros = |v: Option<f64>| v.map_or(-1i64, |v| (v * 1e6).round() as i64);
        // Greedy has one encoding, however it was asked for.
        // A missing temperature is the default 1.0, not greedy (the engine samples it).
        let temperature = if self.is_greedy() { -1 } else { micros(self.temperature.or(Some(1.0))) };
        keccak256((self.max_tokens, temperature, micros(self.top_p), self.stop.clone()).abi_encode_params())
    }
}

/// Why a receipt is not acceptable evidence.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(#[from] alloy::signers::Error),
    /// The signature is not a canonical 65-byte ECDSA signature.
    #[error("malformed receipt signature: {0}")]
    Malformed(&'static str),
    /// The signature does not recover.
    #[error("unrecoverable receipt signature: {0}")]
    Unrecoverable(#[from] alloy::primitives::SignatureError),
    /// Signed by another key than the node's registered receipt signer.
    #[error("receipt signed by {recovered}, but the node's receipt signer is {expected}")]
    WrongSigner {
        /// The registered signer.
        expected: Address,
        /// Who signed.
        recovered: Address,
    },
    /// A signed field does not match what was actually sent or received.
    #[error("the receipt's {field} does not match the {what}")]
    Mismatch {
        /// Receipt field.
        field: &'static str,
        /// What it was checked against.
        what: &'static str,
    },
}

/// A receipt with its node's signature, as it travels in a response's `neuro_receipt` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The claims.
    pub receipt: InferenceReceipt,
    /// `r ‖ s ‖ v` over [`InferenceReceipt::digest`], hex.
    pub signature: alloy::primitives::Bytes,
}

impl InferenceReceipt {
    /// The EIP-712 digest the node signs.
    pub fn digest(&self, domain: &Eip712Domain) -> B256 {
        self.eip712_signing_hash(domain)
    }

    /// Signs with the node's receipt key.
    pub async fn sign<S: Signer + Sync>(
        self,
        signer: &S,
        domain: &Eip712Domain,
    ) -> Result<SignedReceipt, ReceiptError> {
        let signature = signer.sign_hash(&self.digest(domain)).await?;
        Ok(SignedReceipt { receipt: self, signature: signature.as_bytes().into() })
    }
}

macro_rules! convert_receipt {
    ($from:ty => $to:ty) => {
        impl From<$from> for $to {
            fn from(r: $from) -> Self {
                Self {
                    miner: r.miner,
                    user: r.user,
                    modelId: r.modelId,
                    requestHash: r.requestHash,
                    outputHash: r.outputHash,
                    samplingHash: r.samplingHash,
                    promptTokens: r.promptTokens,
                    completionTokens: r.completionTokens,
                    fee: r.fee,
                    epoch: r.epoch,
                }
            }
        }
    };
}

// The receipt as the dispute court's ABI spells it (the same struct, generated separately), both ways.
convert_receipt!(InferenceReceipt => crate::bindings::Disputes::InferenceReceipt);
convert_receipt!(crate::bindings::Disputes::InferenceReceipt => InferenceReceipt);

/// What the holder of a response knows independently of the receipt, to check it against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The node's registered receipt signer (`NodeRegistry.getNode(miner).receiptSigner`).
    pub signer: Address,
    /// The exact request body sent.
    pub request: &'a [u8],
    /// The text received.
    pub output: &'a str,
}

impl SignedReceipt {
    /// Who signed it; only canonical signatures (v 27/28, low s), as a contract using OpenZeppelin's ECDSA
    /// would accept.
    pub fn signer(&self, domain: &Eip712Domain) -> Result<Address, ReceiptError> {
        let signature = canonical_signature(self.signature.as_ref()).map_err(ReceiptError::Malformed)?;
        Ok(signature.recover_address_from_prehash(&self.receipt.digest(domain))?)
    }

    /// Checks the signature against the node's registered signer and the hashes against what was sent and
    /// received. Token counts and the fee are claims the re-execution (or the bill) checks.
    pub fn verify(&self, domain: &Eip712Domain, expected: Expected<'_>) -> Result<(), ReceiptError> {
        let recovered = self.signer(domain)?;
        if recovered != expected.signer {
            return Err(ReceiptError::WrongSigner { expected: expected.signer, recovered });
        }
        if self.receipt.requestHash != request_hash(expected.request) {
            return Err(ReceiptError::Mismatch { field: "requestHash", what: "request sent" });
        }
        if self.receipt.outputHash != output_hash(expected.output) {
            return Err(ReceiptError::Mismatch { field: "outputHash", what: "text received" });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;
    use alloy::signers::local::PrivateKeySigner;

    fn receipt(miner: Address) -> InferenceReceipt {
        InferenceReceipt {
            miner,
            user: Address::repeat_byte(0x33),
            modelId: B256::repeat_byte(0x44),
            requestHash: request_hash(b"{\"model\":\"m\"}"),
            outputHash: output_hash("hello"),
            samplingHash: SamplingClaim { max_tokens: 8, ..Default::default() }.hash(),
            promptTokens: 5,
            completionTokens: 2,
            fee: U256::from(7u64),
            epoch: 3,
        }
    }

    #[test]
    fn type_string_is_stable() {
        assert_eq!(
            InferenceReceipt::eip712_encode_type(),
            "InferenceReceipt(address miner,address user,bytes32 modelId,bytes32 requestHash,bytes32 outputHash,\
             bytes32 samplingHash,uint64 promptTokens,uint64 completionTokens,uint256 fee,uint64 epoch)"
        );
    }

    #[test]
    fn greedy_has_one_encoding_and_a_missing_temperature_is_not_greedy() {
        let greedy = SamplingClaim { max_tokens: 8, temperature: Some(0.0), ..Default::default() };
        let negative = SamplingClaim { temperature: Some(-1.0), ..greedy.clone() };
        let default = SamplingClaim { temperature: None, ..greedy.clone() };
        let one = SamplingClaim { temperature: Some(1.0), ..greedy.clone() };
        let warm = SamplingClaim { temperature: Some(0.7), ..greedy.clone() };
        assert_eq!(greedy.hash(), negative.hash());
        assert!(!default.is_greedy(), "the engine samples a request without temperature at 1.0");
        assert_eq!(default.hash(), one.hash());
        assert_ne!(greedy.hash(), default.hash());
        assert_ne!(greedy.hash(), warm.hash());
        let greedy_hash = greedy.hash();
        assert_ne!(greedy_hash, SamplingClaim { max_tokens: 9, ..greedy }.hash());
    }

    #[tokio::test]
    async fn a_receipt_proves_what_was_signed_and_nothing_else() -> Result<(), ReceiptError> {
        let node = PrivateKeySigner::random();
        let domain = receipts_domain(31337, Address::repeat_byte(0x22));
        let signed = receipt(node.address()).sign(&node, &domain).await?;
        let expected = Expected { signer: node.address(), request: b"{\"model\":\"m\"}", output: "hello" };
        signed.verify(&domain, expected)?;

        // Round trip through the JSON a response carries.
        let json = serde_json::to_string(&signed).map_err(|_| ReceiptError::Malformed("json"))?;
        let back: SignedReceipt = serde_json::from_str(&json).map_err(|_| ReceiptError::Malformed("json"))?;
        back.verify(&domain, expected)?;

        // Another output, another request, another signer, another chain, or an edited claim: refused.
        assert!(matches!(
            signed.verify(&domain, Expected { output: "hello!", ..expected }),
            Err(ReceiptError::Mismatch { field: "outputHash", .. })
        ));
        assert!(matches!(
            signed.verify(&domain, Expected { request: b"{}", ..expected }),
            Err(ReceiptError::Mismatch { field: "requestHash", .. })
        ));
        let stranger = PrivateKeySigner::random();
        assert!(matches!(
            signed.verify(&domain, Expected { signer: stranger.address(), ..expected }),
            Err(ReceiptError::WrongSigner { .. })
        ));
        assert!(matches!(
            signed.verify(&receipts_domain(1, Address::repeat_byte(0x22)), expected),
            Err(ReceiptError::WrongSigner { .. })
        ));
        let mut inflated = signed.clone();
        inflated.receipt.completionTokens = 200;
        assert!(matches!(inflated.verify(&domain, expected), Err(ReceiptError::WrongSigner { .. })));
        let mut truncated = signed;
        truncated.signature = truncated.signature[..64].to_vec().into();
        assert!(matches!(truncated.verify(&domain, expected), Err(ReceiptError::Malformed(_))));
        Ok(())
    }
}
