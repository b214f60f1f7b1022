//! Query parameters, validated by name: unknown or malformed parameters are refused, never ignored.

use std::collections::HashMap;

use alloy::primitives::Address;

use super::ApiError;

/// Default and largest page sizes.
pub(super) const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub(super) const MAX_LIMIT: u32 = 500;

/// The query string of one request.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Checks that every parameter is one of `allowed` (plus `block`).
    pub fn new(raw: HashMap<String, String>, allowed: &[&str]) -> Result<Self, ApiError> {
        if let Some(unknown) = raw.keys().find(|k| k.as_str() != "block" && !allowed.contains(&k.as_str())) {
            let mut known: Vec<&str> = allowed.to_vec();
            known.push("block");
            return Err(ApiError::bad(unknown, format!("unknown parameter; this endpoint takes {}", known.join(", "))));
        }
        Ok(Self(raw))
    }

    /// An unsigned integer parameter.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.0
            .get(name)
            .map(|v| v.parse().map_err(|_| ApiError::bad(name, format!("{v:?} is not an unsigned integer"))))
            .transpose()
    }

    /// `limit`, between 1 and [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]).
    pub fn limit(&self) -> Result<u32, ApiError> {
        self.limit_within(DEFAULT_LIMIT, MAX_LIMIT)
    }

    /// `limit`, between 1 and `max` (default `default`), for pages whose items are larger than one row.
    pub fn limit_within(&self, default: u32, max: u32) -> Result<u32, ApiError> {
        match self.u64("limit")? {
            None => Ok(default),
            Some(n) if (1..=u64::from(max)).contains(&n) => Ok(n as u32),
            Some(n) => Err(ApiError::bad("limit", format!("{n} is outside 1..={max}"))),
        }
    }

    /// A text parameter.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// An event-position cursor `<block>-<logIndex>`, as returned in `next`.
    pub fn position(&self) -> Result<Option<(u64, u64)>, ApiError> {
        self.text("cursor").map(parse_position).transpose()
    }
}

/// Parses `<block>-<logIndex>`.
pub(super) fn parse_position(text: &str) -> Result<(u64, u64), ApiError> {
    let bad = || ApiError::bad("cursor", format!("{text:?} is not a cursor returned by this API"));
    let (block, log) = text.split_once('-').ok_or_else(bad)?;
    Ok((block.parse().map_err(|_| bad())?, log.parse().map_err(|_| bad())?))
}

/// Formats an event position as a cursor.
pub(super) fn position(block: u64, log: u64) -> String {
    format!("{block}-{log}")
}

/// A path or query parameter holding an address, as lowercase hex.
pub(super) fn address(name: &str, text: &str) -> Result<String, ApiError> {
    text.parse::<Address>()
        .map(|a| format!("{a:#x}"))
        .map_err(|_| ApiError::bad(name, format!("{text:?} is not a 20-byte hex address")))
}

/// A path parameter holding a 32-byte id (model id), as lowercase 0x-hex.
pub(super) fn bytes32(name: &str, text: &str) -> Result<String, ApiError> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(format!("0x{}", hex.to_ascii_lowercase()))
    } else {
        Err(ApiError::bad(name, format!("{text:?} is not a 32-byte hex id")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)], allowed: &[&str]) -> Result<Params, ApiError> {
        Params::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), allowed)
    }

    fn parameter(e: ApiError) -> String {
        match e {
            ApiError::BadParameter { parameter, .. } => parameter,
            other => panic!("expected a bad parameter, got {other}"),
        }
    }

    #[test]
    fn refuses_unknown_and_malformed_parameters_by_name() -> Result<(), ApiError> {
        assert_eq!(parameter(params(&[("limt", "5")], &["limit"]).err().ok_or(ApiError::NotSynced)?), "limt");
        let p = params(&[("limit", "0")], &["limit"])?;
        assert_eq!(parameter(p.limit().err().ok_or(ApiError::NotSynced)?), "limit");
        let p = params(&[("limit", "501")], &["limit"])?;
        assert_eq!(parameter(p.limit().err().ok_or(ApiError::NotSynced)?), "limit");
        let p = params(&[("block", "-1")], &[])?;
        assert_eq!(parameter(p.u64("block").err().ok_or(ApiError::NotSynced)?), "block");
        let p = params(&[("cursor", "12")], &["cursor"])?;
        assert_eq!(parameter(p.position().err().ok_or(ApiError::NotSynced)?), "cursor");
        assert_eq!(params(&[("limit", "7")], &["limit"])?.limit()?, 7);
        assert_eq!(params(&[], &["limit"])?.limit()?, DEFAULT_LIMIT);
        assert_eq!(parse_position(&position(9, 3))?, (9, 3));
        Ok(())
    }

    #[test]
    fn ids_are_normalised_or_refused() {
        let a = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        assert!(matches!(address("address", a).as_deref(), Ok("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")));
        assert!(address("address", "0x1234").is_err());
        assert!(bytes32("id", &"AB".repeat(32)).is_ok_and(|id| id == format!("0x{}", "ab".repeat(32))));
        assert!(bytes32("id", "0x12").is_err());
    }
}
