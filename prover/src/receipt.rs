//! Metered inference receipts and their leaf encoding.

use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{field, poseidon};

/// One metered inference request, as the miner persists it.
///
/// The leaf is `Poseidon(requestHash, modelId, promptTokens, completionTokens, fee, user)` with the 32-byte
/// values reduced modulo `r` (see [`crate::field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// [`request_hash`] of the canonical request and response bytes.
    #[serde(with = "hex_bytes")]
    pub request_hash: [u8; 32],
    /// The model that served it (sha-256 of its weights).
    #[serde(with = "hex_bytes")]
    pub model_id: [u8; 32],
    /// Prompt tokens, as the model's tokenizer counted them.
    pub prompt_tokens: u64,
    /// Completion tokens generated.
    pub completion_tokens: u64,
    /// Fee charged, in NEURO-wei (`< 2^64`, about 18.4 NEURO, per request).
    pub fee: u64,
    /// The paying user.
    #[serde(with = "hex_bytes")]
    pub user: [u8; 20],
}

/// The request hash: `sha256(u64_be(len(request)) ‖ request ‖ u64_be(len(response)) ‖ response)`, where the
/// request is the exact HTTP body the miner received and the response the exact body it returned (for a
/// stream, the concatenated `data:` payloads). The length prefixes make the split unambiguous.
pub fn request_hash(request: &[u8], response: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((request.len() as u64).to_be_bytes());
    hasher.update(request);
    hasher.update((response.len() as u64).to_be_bytes());
    hasher.update(response);
    hasher.finalize().into()
}

impl Receipt {
    /// Total tokens (prompt + completion) this receipt credits.
    pub fn tokens(&self) -> u128 {
        u128::from(self.prompt_tokens) + u128::from(self.completion_tokens)
    }

    /// The six field elements of the leaf, in hashing order.
    pub fn leaf_inputs(&self) -> [Fr; poseidon::LEAF_ARITY] {
        [
            field::from_bytes32(&self.request_hash),
            field::from_bytes32(&self.model_id),
            Fr::from(self.prompt_tokens),
            Fr::from(self.completion_tokens),
            Fr::from(self.fee),
            field::from_address(&self.user),
        ]
    }

    /// The leaf hash.
    pub fn leaf(&self) -> Fr {
        poseidon::hash_leaf(&self.leaf_inputs())
    }

    /// A padding receipt for `model_id`: zero tokens, zero fee, zero request hash and user.
    pub fn padding(model_id: [u8; 32]) -> Self {
        Self { request_hash: [0; 32], model_id, prompt_tokens: 0, completion_tokens: 0, fee: 0, user: [0; 20] }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let raw = hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)?;
        raw.try_into().map_err(|raw: Vec<u8>| D::Error::custom(format!("expected {N} bytes, got {}", raw.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_hash_separates_request_from_response() {
        assert_ne!(request_hash(b"ab", b"c"), request_hash(b"a", b"bc"));
        assert_eq!(request_hash(b"", b""), request_hash(b"", b""));
    }

    #[test]
    fn json_round_trip() -> Result<(), serde_json::Error> {
        let r = Receipt {
            request_hash: [1; 32],
            model_id: [2; 32],
            prompt_tokens: 10,
            completion_tokens: 20,
            fee: 30,
            user: [3; 20],
        };
        let text = serde_json::to_string(&r)?;
        assert!(text.contains("\"promptTokens\":10"), "{text}");
        assert_eq!(serde_json::from_str::<Receipt>(&text)?, r);
        assert!(serde_json::from_str::<Receipt>(&text.replace("0303", "03")).is_err(), "short address refused");
        Ok(())
    }
}
