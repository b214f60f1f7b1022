//! Sending a probe to a node through its public API, as a paying user, and keeping what comes back as evidence.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256},
    sol_types::Eip712Domain,
};
use futures::StreamExt;
use neuro_client::{
    receipt::{self, CheckError},
    sse::{self, SseEvent},
};
use neuro_protocol::{receipt::SignedReceipt, voucher::Allowance};

use crate::corpus::Probe;

/// Why a probe produced no evidence.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The node could not be reached or hung up (an uptime fault, not a dispute).
    #[error("cannot reach the node: {0}")]
    Unreachable(#[from] reqwest::Error),
    /// The node did not answer within the probe's deadline.
    #[error("the node did not answer within {0:?}")]
    TimedOut(Duration),
    /// The node refused the request.
    #[error("the node answered {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error message.
        message: String,
    },
    /// The body was not an OpenAI response.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The receipt is missing or does not hold (no signed claim to dispute; counted against honesty).
    #[error("bad receipt: {0}")]
    Receipt(#[from] CheckError),
    /// The receipt names another model than the one the node lists under the name asked for (a node signing
    /// receipts for a made-up model to make its answers unjudgeable).
    #[error("the receipt names model {found}, the node lists {expected}")]
    WrongModel {
        /// In the receipt.
        found: B256,
        /// Listed by the node and registered on chain.
        expected: B256,
    },
}

/// A node's answer to a probe, with its signed receipt checked against what was sent and received.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The exact request body sent.
    pub request: Vec<u8>,
    /// The text received.
    pub text: String,
    /// The node's signed receipt.
    pub receipt: SignedReceipt,
    /// Time to the first content (the whole answer when not streaming).
    pub time_to_first_token: Duration,
    /// Time to the end of the answer.
    pub elapsed: Duration,
}

impl Observation {
    /// Completion tokens per second, as billed.
    pub fn tokens_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.receipt.receipt.completionTokens as f64 / secs } else { 0.0 }
    }
}

/// What the validator needs to check a node's receipts.
#[derive(Debug, Clone)]
pub struct NodeKeys {
    /// The node's API base URL.
    pub endpoint: String,
    /// The model name the node serves.
    pub model_name: String,
    /// The model id behind that name (the validator's).
    pub model_id: B256,
    /// The API key (an allowance for this node).
    pub api_key: String,
    /// The allowance behind the key.
    pub allowance: Allowance,
    /// The receipt domain.
    pub domain: Eip712Domain,
    /// The node's registered receipt signer.
    pub signer: Address,
}

/// Sends `probe` to the node, streaming or not, and checks the receipt (`epoch_now`: the chain's epoch).
pub async fn send(
    http: &reqwest::Client,
    node: &NodeKeys,
    probe: &Probe,
    stream: bool,
    epoch_now: u64,
    deadline: Duration,
) -> Result<Observation, ProbeError> {
    let request =
        serde_json::to_vec(&probe.body(&node.model_name, stream)).map_err(|e| ProbeError::Malformed(e.to_string()))?;
    let started = Instant::now();
    let answer = tokio::time::timeout(deadline, exchange(http, node, &request, stream, started)).await;
    let (text, body, first) = answer.map_err(|_| ProbeError::TimedOut(deadline))??;
    let signed = receipt::receipt_in(&body)?;
    receipt::check(&signed, &node.domain, &node.allowance, node.signer, &request, &text, epoch_now)?;
    if signed.receipt.modelId != node.model_id {
        return Err(ProbeError::WrongModel { found: signed.receipt.modelId, expected: node.model_id });
    }
    Ok(Observation { request, text, receipt: signed, time_to_first_token: first, elapsed: started.elapsed() })
}

/// The text, the JSON object holding the receipt, and the time to first content.
async fn exchange(
    http: &reqwest::Client,
    node: &NodeKeys,
    request: &[u8],
    stream: bool,
    started: Instant,
) -> Result<(String, serde_json::Value, Duration), ProbeError> {
    let response = http
        .post(format!("{}/v1/chat/completions", node.endpoint.trim_end_matches('/')))
        .bearer_auth(&node.api_key)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(request.to_vec())
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let message = body["error"]["message"].as_str().unwrap_or("no message").to_string();
        return Err(ProbeError::Refused { status: status.as_u16(), message });
    }
    if !stream {
        let body: serde_json::Value = response.json().await?;
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| ProbeError::Malformed("no choices[0].message.content".into()))?
            .to_string();
        return Ok((text, body, started.elapsed()));
    }
    let mut text = String::new();
    let mut first = None;
    let mut last = None;
    let mut reader = sse::LineReader::default();
    let mut bytes = response.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        for event in reader.push(&chunk?) {
            match event.map_err(|e| ProbeError::Malformed(e.to_string()))? {
                SseEvent::Data(chunk) => {
                    if let Some(message) = chunk["error"]["message"].as_str() {
                        return Err(ProbeError::Malformed(format!("the stream failed: {message}")));
                    }
                    if let Some(delta) = sse::delta_text(&chunk) {
                        first.get_or_insert_with(|| started.elapsed());
                        text.push_str(delta);
                    }
                    if chunk.get(receipt::RECEIPT_FIELD).is_some() {
                        last = Some(chunk);
                    }
                }
                SseEvent::Done => {
                    let last = last.ok_or(ProbeError::Receipt(CheckError::Missing))?;
                    return Ok((text, last, first.unwrap_or_else(|| started.elapsed())));
                }
            }
        }
    }
    Err(ProbeError::Malformed("the stream ended without [DONE]".into()))
}
