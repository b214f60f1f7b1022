//! Types at the edges: model ids and NEURO amounts, parsed once where they enter (a flag, a config file) and
//! carried typed from there on.

use std::{fmt, str::FromStr};

use alloy::primitives::{B256, U256, utils::parse_units};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A model's on-chain id: the sha-256 of its weights (see the miner's `model_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ModelId(pub B256);

impl ModelId {
    /// The raw 32 bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0.0
    }
}

impl From<[u8; 32]> for ModelId {
    fn from(bytes: [u8; 32]) -> Self {
        Self(B256::from(bytes))
    }
}

impl From<ModelId> for B256 {
    fn from(id: ModelId) -> Self {
        id.0
    }
}

/// A model id that is not 32 bytes of hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a model id (32 bytes of hex, 0x-prefixed or not)")]
pub struct InvalidModelId(String);

impl FromStr for ModelId {
    type Err = InvalidModelId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex = text.trim().trim_start_matches("0x");
        if hex.len() != 64 {
            return Err(InvalidModelId(text.to_string()));
        }
        hex.parse::<B256>().map(Self).map_err(|_| InvalidModelId(text.to_string()))
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for ModelId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ModelId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount that is not a positive NEURO quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a decimal number with at most 18 decimals.
    #[error("'{0}' is not a NEURO amount (a decimal number with at most 18 decimals, e.g. 10000 or 2.5)")]
    Invalid(String),
    /// Zero.
    #[error("the amount must be positive")]
    Zero,
}

/// Parses whole or decimal NEURO (`"10000"`, `"2.5"`) into NEURO-wei; zero is refused.
pub fn parse_neuro_amount(text: &str) -> Result<U256, AmountError> {
    let trimmed = text.trim();
    // alloy's parser accepts signs and silently drops decimals beyond 18: refuse both rather than round.
    let decimals = trimmed.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    if decimals > 18 || !trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(AmountError::Invalid(text.to_string()));
    }
    let value: U256 = parse_units(trimmed, 18).map_err(|_| AmountError::Invalid(text.to_string()))?.into();
    if value.is_zero() {
        return Err(AmountError::Zero);
    }
    Ok(value)
}

/// Serde for a `U256` written as a decimal string (configuration files stay readable: wei, not hex).
pub mod decimal_u256 {
    use super::*;

    /// Writes the decimal string.
    pub fn serialize<S: Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
        let text = String::deserialize(deserializer)?;
        U256::from_str_radix(text.trim(), 10)
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not a decimal amount of wei")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::NEURO;

    #[test]
    fn model_ids_parse_with_or_without_prefix_and_round_trip() {
        let text = format!("0x{}", "ab".repeat(32));
        let id: ModelId = text.parse().expect("id");
        assert_eq!(id.to_string(), text);
        assert_eq!("ab".repeat(32).parse::<ModelId>(), Ok(id));
        assert!("0x1234".parse::<ModelId>().is_err());
        assert!(format!("0x{}", "zz".repeat(32)).parse::<ModelId>().is_err());
    }

    #[test]
    fn neuro_amounts() {
        assert_eq!(parse_neuro_amount("2.5"), Ok(NEURO * U256::from(5) / U256::from(2)));
        assert_eq!(parse_neuro_amount("10000"), Ok(NEURO * U256::from(10_000)));
        assert_eq!(parse_neuro_amount("0"), Err(AmountError::Zero));
        assert!(matches!(parse_neuro_amount("1.0000000000000000001"), Err(AmountError::Invalid(_))));
        assert!(matches!(parse_neuro_amount("-1"), Err(AmountError::Invalid(_))));
        assert!(matches!(parse_neuro_amount("ten"), Err(AmountError::Invalid(_))));
    }
}
