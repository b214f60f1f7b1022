//! Atomic writes: a batch of blocks with its cursor, and rollbacks after a reorganisation.

use alloy::primitives::{B256, U256};
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::{Backend, Cursor, Store, StoreError, to_i64};
use crate::{catalog::DecodedEvent, reduce::lookup};

/// Rows per multi-row INSERT; stays under SQLite's and PostgreSQL's bind-parameter limits.
const ROWS_PER_INSERT: usize = 400;

/// A block header kept for reorg detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRow {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Timestamp.
    pub timestamp: u64,
}

/// Everything one step of ingestion stores, committed all at once.
#[derive(Debug, Default)]
pub struct Batch {
    /// Decoded events, in chain order.
    pub events: Vec<DecodedEvent>,
    /// Changed totals `(key, block, value)`.
    pub totals: Vec<(String, u64, U256)>,
    /// Headers to keep for reorg detection.
    pub blocks: Vec<BlockRow>,
    /// Drop kept headers below this block.
    pub prune_below: Option<u64>,
}

impl Store {
    /// Stores `batch` and moves the cursor to `cursor`, in one transaction.
    pub async fn commit(&self, batch: &Batch, cursor: Cursor) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_events(&mut tx, self.backend(), &batch.events).await?;
        insert_totals(&mut tx, self.backend(), &batch.totals).await?;
        for block in &batch.blocks {
            sqlx::query(
                "INSERT INTO blocks (number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash, \
                 timestamp = excluded.timestamp",
            )
            .bind(to_i64(block.number))
            .bind(format!("{:#x}", block.hash))
            .bind(format!("{:#x}", block.parent_hash))
            .bind(to_i64(block.timestamp))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(below) = batch.prune_below {
            sqlx::query("DELETE FROM blocks WHERE number < $1").bind(to_i64(below)).execute(&mut *tx).await?;
        }
        set_cursor(&mut tx, cursor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes every row above `ancestor` (the last block both forks share) and moves the cursor there.
    pub async fn rollback_to(&self, ancestor: Cursor) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let above = to_i64(ancestor.number);
        for sql in [
            "DELETE FROM events WHERE block_number > $1",
            "DELETE FROM totals WHERE block_number > $1",
            "DELETE FROM blocks WHERE number > $1",
        ] {
            sqlx::query(sql).bind(above).execute(&mut *tx).await?;
        }
        set_cursor(&mut tx, ancestor).await?;
        sqlx::query("UPDATE cursor SET rollbacks = rollbacks + 1 WHERE id = 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn set_cursor(tx: &mut Transaction<'_, Any>, cursor: Cursor) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cursor (id, block_number, block_hash, timestamp) VALUES (1, $1, $2, $3) ON CONFLICT (id) \
         DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash, \
         timestamp = excluded.timestamp",
    )
    .bind(to_i64(cursor.number))
    .bind(format!("{:#x}", cursor.hash))
    .bind(to_i64(cursor.timestamp))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `($1, …, $n), ($n+1, …)` for PostgreSQL; `(?, …), (?, …)` for SQLite, where looking up each of thousands of
/// `$N` parameters by name costs time quadratic in their number (SQLite scans its parameter list).
fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * columns + column + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

async fn insert_events(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    events: &[DecodedEvent],
) -> Result<(), StoreError> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO events (block_number, log_index, block_hash, tx_hash, tx_index, address, contract, name, \
             epoch, account, subject, args) VALUES {}",
            placeholders(backend, chunk.len(), 12)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for event in chunk {
            let found_by = lookup(event);
            query = query
                .bind(to_i64(event.block_number))
                .bind(to_i64(event.log_index))
                .bind(format!("{:#x}", event.block_hash))
                .bind(format!("{:#x}", event.tx_hash))
                .bind(to_i64(event.tx_index))
                .bind(format!("{:#x}", event.address))
                .bind(event.contract)
                .bind(event.name.clone())
                .bind(found_by.epoch)
                .bind(found_by.account)
                .bind(found_by.subject)
                .bind(serde_json::Value::Object(event.args.clone()).to_string());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_totals(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    totals: &[(String, u64, U256)],
) -> Result<(), StoreError> {
    for chunk in totals.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO totals (key, block_number, value) VALUES {} ON CONFLICT (key, block_number) \
             DO UPDATE SET value = excluded.value",
            placeholders(backend, chunk.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (key, block, value) in chunk {
            query = query.bind(key.clone()).bind(to_i64(*block)).bind(value.to_string());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Backend, placeholders};

    #[test]
    fn placeholders_cover_every_row() {
        assert_eq!(placeholders(Backend::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }
}
