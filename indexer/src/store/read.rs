//! Reads for the API. Every read takes `at`, the block it reflects: rows above it are invisible, so a response
//! is one consistent snapshot even while ingestion commits.

use serde_json::Value;
// Dynamic SQL here only splices column names, placeholders and numbers chosen by this code, never input text.
use sqlx::{AssertSqlSafe, Row, any::AnyRow};

use super::{Store, StoreError, parse, to_i64, to_u64};

/// A stored event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    /// Block number.
    pub block_number: u64,
    /// Index of the log in its block.
    pub log_index: u64,
    /// Block hash.
    pub block_hash: String,
    /// Transaction hash.
    pub transaction_hash: String,
    /// Index of the transaction in its block.
    pub transaction_index: u64,
    /// Emitting contract address.
    pub address: String,
    /// Emitting contract's name in the deployment manifest.
    pub contract: String,
    /// Event name.
    pub event: String,
    /// Decoded arguments by name (integers as decimal strings).
    #[schema(value_type = Object)]
    pub args: Value,
}

impl EventRow {
    /// Argument `name` as text ("" when absent).
    pub fn arg(&self, name: &str) -> &str {
        self.args.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// Argument `name` as a boolean (false when absent or not a boolean).
    pub fn flag(&self, name: &str) -> bool {
        self.args.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// Argument `name` as a 256-bit integer (zero when absent).
    pub fn amount(&self, name: &str) -> alloy::primitives::U256 {
        self.arg(name).parse().unwrap_or_default()
    }
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Manifest contract name.
    pub contract: Option<String>,
    /// Event names (any of).
    pub names: Vec<String>,
    /// Epoch column.
    pub epoch: Option<u64>,
    /// Lowest epoch column (events without an epoch are left out).
    pub from_epoch: Option<u64>,
    /// Highest epoch column (events without an epoch are left out).
    pub to_epoch: Option<u64>,
    /// Account column (lowercase hex).
    pub account: Option<String>,
    /// Subject column (model id or proposal id).
    pub subject: Option<String>,
    /// Account column, any of (lowercase hex; a page's worth).
    pub accounts: Vec<String>,
    /// Subject column, any of (a page's worth).
    pub subjects: Vec<String>,
    /// Lowest block.
    pub from_block: Option<u64>,
    /// Highest block.
    pub to_block: Option<u64>,
    /// Only events after this `(block, log index)` (before it when descending).
    pub after: Option<(u64, u64)>,
    /// Newest first.
    pub descending: bool,
}

/// One page of events and the position to continue from.
#[derive(Debug, Clone)]
pub struct Page {
    /// Events of the page.
    pub events: Vec<EventRow>,
    /// `(block, log index)` of the last event when more may follow.
    pub next: Option<(u64, u64)>,
}

/// A lookup column of the events table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The account an event concerns (lowercase hex).
    Account,
    /// The model id or proposal id an event concerns.
    Subject,
}

enum Param {
    Int(i64),
    Text(String),
}

impl Store {
    /// Events matching `filter` at block `at`, at most `limit` (None: all).
    pub async fn events(&self, filter: &EventFilter, at: u64, limit: Option<u32>) -> Result<Page, StoreError> {
        let mut clauses = vec!["block_number <= $1".to_owned()];
        let mut params = vec![Param::Int(to_i64(at))];
        fn add(clauses: &mut Vec<String>, params: &mut Vec<Param>, clause: &str, param: Param) {
            params.push(param);
            clauses.push(clause.replace('?', &format!("${}", params.len())));
        }
        if let Some(contract) = &filter.contract {
            add(&mut clauses, &mut params, "contract = ?", Param::Text(contract.clone()));
        }
        if !filter.names.is_empty() {
            let start = params.len();
            for name in &filter.names {
                params.push(Param::Text(name.clone()));
            }
            let list: Vec<String> = (start + 1..=params.len()).map(|i| format!("${i}")).collect();
            clauses.push(format!("name IN ({})", list.join(", ")));
        }
        if let Some(epoch) = filter.epoch {
            add(&mut clauses, &mut params, "epoch = ?", Param::Int(to_i64(epoch)));
        }
        if let Some(from) = filter.from_epoch {
            add(&mut clauses, &mut params, "epoch >= ?", Param::Int(to_i64(from)));
        }
        if let Some(to) = filter.to_epoch {
            add(&mut clauses, &mut params, "epoch <= ?", Param::Int(to_i64(to)));
        }
        if let Some(account) = &filter.account {
            add(&mut clauses, &mut params, "account = ?", Param::Text(account.clone()));
        }
        if let Some(subject) = &filter.subject {
            add(&mut clauses, &mut params, "subject = ?", Param::Text(subject.clone()));
        }
        for (column, values) in [("account", &filter.accounts), ("subject", &filter.subjects)] {
            if values.is_empty() {
                continue;
            }
            let start = params.len();
            params.extend(values.iter().map(|v| Param::Text(v.clone())));
            let list: Vec<String> = (start + 1..=params.len()).map(|i| format!("${i}")).collect();
            clauses.push(format!("{column} IN ({})", list.join(", ")));
        }
        if let Some(from) = filter.from_block {
            add(&mut clauses, &mut params, "block_number >= ?", Param::Int(to_i64(from)));
        }
        if let Some(to) = filter.to_block {
            add(&mut clauses, &mut params, "block_number <= ?", Param::Int(to_i64(to)));
        }
        if let Some((block, log)) = filter.after {
            let op = if filter.descending { "<" } else { ">" };
            params.push(Param::Int(to_i64(block)));
            let b = params.len();
            params.push(Param::Int(to_i64(log)));
            clauses.push(format!("(block_number {op} ${b} OR (block_number = ${b} AND log_index {op} ${}))", b + 1));
        }
        let order = if filter.descending { "DESC" } else { "ASC" };
        let mut sql = format!(
            "SELECT block_number, log_index, block_hash, tx_hash, tx_index, address, contract, name, args \
             FROM events WHERE {} ORDER BY block_number {order}, log_index {order}",
            clauses.join(" AND ")
        );
        if let Some(limit) = limit {
            sql.push_str(&format!(" LIMIT {}", u64::from(limit) + 1));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for param in params {
            query = match param {
                Param::Int(i) => query.bind(i),
                Param::Text(t) => query.bind(t),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut events = rows.iter().map(event_row).collect::<Result<Vec<_>, _>>()?;
        let next = match limit {
            Some(limit) if events.len() > limit as usize => {
                events.truncate(limit as usize);
                events.last().map(|e| (e.block_number, e.log_index))
            }
            _ => None,
        };
        Ok(Page { events, next })
    }

    /// Distinct values of `column` among `contract.name` events at block `at`, ascending after `after`, at most
    /// `limit`: the miners that registered, the models proposed.
    pub async fn distinct(
        &self,
        column: Column,
        contract: &str,
        name: &str,
        at: u64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let column = match column {
            Column::Account => "account",
            Column::Subject => "subject",
        };
        let sql = format!(
            "SELECT DISTINCT {column} FROM events WHERE contract = $1 AND name = $2 AND block_number <= $3 \
             AND {column} IS NOT NULL AND {column} > $4 ORDER BY {column} LIMIT {limit}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(contract)
            .bind(name)
            .bind(to_i64(at))
            .bind(after.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok(row.try_get::<String, _>(0)?)).collect()
    }

    /// Whether any event concerns `account` (lowercase hex) at block `at`: one index probe, no ordering.
    pub async fn account_seen(&self, account: &str, at: u64) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM events WHERE account = $1 AND block_number <= $2 LIMIT 1")
            .bind(account)
            .bind(to_i64(at))
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Distinct epochs of events named `names` (of `account`, when given) at block `at`, newest first, below
    /// `before`, at most `limit`. With an account, the `(account, epoch)` index finds them without reading the
    /// account's other epochs.
    pub async fn epochs(
        &self,
        names: &[&str],
        account: Option<&str>,
        at: u64,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError> {
        let list: Vec<String> = (0..names.len()).map(|i| format!("${}", i + 4)).collect();
        let of_account = if account.is_some() { "account = $3" } else { "$3 = ''" };
        let sql = format!(
            "SELECT DISTINCT epoch FROM events WHERE {of_account} AND block_number <= $1 AND epoch < $2 \
             AND epoch IS NOT NULL AND name IN ({}) ORDER BY epoch DESC LIMIT {limit}",
            list.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(to_i64(at))
            .bind(before.map_or(i64::MAX, to_i64))
            .bind(account.unwrap_or(""));
        for name in names {
            query = query.bind(*name);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(|row| to_u64(row.try_get::<i64, _>(0)?)).collect()
    }
}

fn event_row(row: &AnyRow) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        block_number: to_u64(row.try_get(0)?)?,
        log_index: to_u64(row.try_get(1)?)?,
        block_hash: row.try_get(2)?,
        transaction_hash: row.try_get(3)?,
        transaction_index: to_u64(row.try_get(4)?)?,
        address: row.try_get(5)?,
        contract: row.try_get(6)?,
        event: row.try_get(7)?,
        args: parse::<Value>(&row.try_get::<String, _>(8)?)?,
    })
}
