//! Durable miner state in SQLite (WAL, `synchronous = FULL`): allowances seen, one receipt per served request,
//! and the epoch work done (redemptions and submitted batches).
//!
//! Invariants: a receipt is committed before its response is sent (the server awaits [`Store::insert_receipt`]),
//! so an acknowledged request is never lost; `request_hash` is unique, so a receipt is never counted twice; a
//! receipt belongs to at most one submitted batch; a batch is staged (its receipts marked with its root) before it
//! is sent, so a crash between sending and recording finds the same batch again instead of a different one.

use std::{path::Path, sync::Arc};

use alloy::primitives::{Address, B256, U256};
use neuro_protocol::voucher::SignedAllowance;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Mutex;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("receipt database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value is corrupt.
    #[error("receipt database holds a corrupt value in {0}")]
    Corrupt(&'static str),
    /// The blocking task failed.
    #[error("receipt database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// The database file's permissions could not be restricted.
    #[error("cannot restrict the permissions of {path}")]
    Permissions {
        /// The database file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// A stored receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    /// Row id.
    pub id: i64,
    /// The receipt as the prover hashes it.
    pub receipt: neuro_prover::Receipt,
    /// Digest of the allowance it is charged to.
    pub allowance: B256,
    /// Epoch it was served in.
    pub epoch: u64,
    /// Root of the batch it was staged in before that batch was sent, if any (not yet recorded as submitted).
    pub staged_root: Option<B256>,
}

/// What one allowance of a user was charged at this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCharges {
    /// The allowance's digest.
    pub digest: B256,
    /// Everything charged under it.
    pub charged: U256,
    /// What of it is still expected to be paid (not written off as unpaid).
    pub payable: U256,
}

/// A batch accepted by the usage ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmittedBatch {
    /// Merkle root.
    pub root: B256,
    /// Epoch.
    pub epoch: u64,
    /// Model.
    pub model_id: [u8; 32],
    /// Leaves.
    pub batch_size: usize,
    /// Tokens credited.
    pub tokens: u128,
    /// Fees used.
    pub fees: u128,
}

/// Handle to the database; clones share one connection.
#[derive(Clone, Debug)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS allowances (
    digest BLOB PRIMARY KEY,
    user BLOB NOT NULL,
    api_key TEXT NOT NULL,
    expiry INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_hash BLOB NOT NULL UNIQUE,
    allowance BLOB NOT NULL REFERENCES allowances(digest),
    model_id BLOB NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    fee INTEGER NOT NULL CHECK (fee >= 0),
    user BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    batch_root BLOB,
    unpaid INTEGER NOT NULL DEFAULT 0,
    staged_root BLOB
);
CREATE INDEX IF NOT EXISTS receipts_epoch ON receipts(epoch, model_id);
-- The payment gate sums a user's charges per allowance on every request: never a full scan.
CREATE INDEX IF NOT EXISTS receipts_user ON receipts(user, allowance);
CREATE INDEX IF NOT EXISTS receipts_allowance ON receipts(allowance, epoch);
CREATE TABLE IF NOT EXISTS submissions (
    batch_root BLOB PRIMARY KEY,
    epoch INTEGER NOT NULL,
    model_id BLOB NOT NULL,
    batch_size INTEGER NOT NULL,
    tokens TEXT NOT NULL,
    fees TEXT NOT NULL,
    tx_hash BLOB
);
";

/// The sum of `fee` over the selected rows, as two columns that cannot overflow SQLite's 64-bit `SUM` (which
/// fails past `i64::MAX` wei, about 9.2 NEURO): the gigawei parts and the remainders. Read with [`fee_sum`].
const FEE_SUM: &str = "COALESCE(SUM(fee / 1000000000), 0), COALESCE(SUM(fee % 1000000000), 0)";

/// The total of the two [`FEE_SUM`] columns starting at `first`.
fn fee_sum(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<U256> {
    let (giga, rest): (i64, i64) = (row.get(first)?, row.get(first + 1)?);
    Ok(U256::from(giga.unsigned_abs()) * U256::from(1_000_000_000u64) + U256::from(rest.unsigned_abs()))
}

/// Brings a database created by an older version up to [`SCHEMA`].
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_staged =
        conn.prepare("SELECT 1 FROM pragma_table_info('receipts') WHERE name = 'staged_root'")?.exists([])?;
    if !has_staged {
        conn.execute_batch("ALTER TABLE receipts ADD COLUMN staged_root BLOB")?;
    }
    Ok(())
}

fn blob<const N: usize>(bytes: Vec<u8>, what: &'static str) -> Result<[u8; N], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(what))
}

impl Store {
    /// Opens (creating if needed) `path`, readable by its owner only: it holds users' API keys (the signed
    /// allowances this node must present to redeem), which anyone could spend here. SQLite gives its `-wal` and
    /// `-shm` files the database file's permissions.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|source| StoreError::Permissions { path: path.to_path_buf(), source })?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.blocking_lock();
            f(&mut guard)
        })
        .await?
    }

    /// Records a receipt (and its allowance on first use) in one transaction, durably.
    pub async fn insert_receipt(
        &self,
        allowance: &SignedAllowance,
        digest: B256,
        receipt: neuro_prover::Receipt,
        epoch: u64,
        now: u64,
    ) -> Result<i64, StoreError> {
        let api_key = allowance.to_api_key();
        let user = allowance.allowance.user;
        let expiry = allowance.allowance.expiry.saturating_to::<i64>();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO allowances (digest, user, api_key, expiry) VALUES (?1, ?2, ?3, ?4)",
                params![digest.as_slice(), user.as_slice(), api_key, expiry],
            )?;
            tx.execute(
                "INSERT INTO receipts (request_hash, allowance, model_id, prompt_tokens, completion_tokens, fee, user,
                 epoch, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    receipt.request_hash.as_slice(),
                    digest.as_slice(),
                    receipt.model_id.as_slice(),
                    receipt.prompt_tokens as i64,
                    receipt.completion_tokens as i64,
                    i64::try_from(receipt.fee).map_err(|_| StoreError::Corrupt("fee"))?,
                    receipt.user.as_slice(),
                    epoch as i64,
                    now as i64
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    /// Fees charged under allowance `digest` so far: everything, and what of it is still expected to be paid
    /// (not written off as unpaid).
    pub async fn charges(&self, digest: B256) -> Result<(U256, U256), StoreError> {
        self.with(move |conn| {
            Ok(conn.query_row(
                &format!(
                    "SELECT {FEE_SUM},
                            COALESCE(SUM(CASE WHEN unpaid = 0 THEN fee / 1000000000 END), 0),
                            COALESCE(SUM(CASE WHEN unpaid = 0 THEN fee % 1000000000 END), 0)
                     FROM receipts WHERE allowance = ?1"
                ),
                params![digest.as_slice()],
                |r| Ok((fee_sum(r, 0)?, fee_sum(r, 2)?)),
            )?)
        })
        .await
    }

    /// Fees charged to `user` at this node, per allowance digest: `(digest, all charges, charges not written
    /// off as unpaid)`.
    pub async fn charged_by_user(&self, user: Address) -> Result<Vec<UserCharges>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT allowance, {FEE_SUM},
                        COALESCE(SUM(CASE WHEN unpaid = 0 THEN fee / 1000000000 END), 0),
                        COALESCE(SUM(CASE WHEN unpaid = 0 THEN fee % 1000000000 END), 0)
                 FROM receipts WHERE user = ?1 GROUP BY allowance"
            ))?;
            let rows = stmt.query_map(params![user.as_slice()], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, fee_sum(r, 1)?, fee_sum(r, 3)?))
            })?;
            rows.map(|row| {
                let (digest, charged, payable) = row?;
                let digest = B256::try_from(digest.as_slice()).map_err(|_| StoreError::Corrupt("allowance digest"))?;
                Ok(UserCharges { digest, charged, payable })
            })
            .collect()
        })
        .await
    }

    /// Total fees charged to a user (all its allowances) up to and including `epoch`.
    pub async fn charged_through(&self, digest: B256, epoch: u64) -> Result<U256, StoreError> {
        self.with(move |conn| {
            Ok(conn.query_row(
                &format!("SELECT {FEE_SUM} FROM receipts WHERE allowance = ?1 AND epoch <= ?2"),
                params![digest.as_slice(), epoch as i64],
                |r| fee_sum(r, 0),
            )?)
        })
        .await
    }

    /// Fees charged under allowance `digest` in `epoch` as redemption steps: the receipts in the order they were
    /// stored, consecutive receipts of one model summed into one step. A receipt stored later (a request that
    /// straddled the epoch's end) only ever adds steps at the end, so every earlier run's cumulative steps are
    /// prefixes of a later run's and each step's fees are booked under their own model.
    pub async fn redemption_steps(&self, digest: B256, epoch: u64) -> Result<Vec<([u8; 32], U256)>, StoreError> {
        self.with(move |conn| {
            let mut stmt =
                conn.prepare("SELECT model_id, fee FROM receipts WHERE allowance = ?1 AND epoch = ?2 ORDER BY id")?;
            let rows = stmt.query_map(params![digest.as_slice(), epoch as i64], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut steps: Vec<([u8; 32], U256)> = Vec::new();
            for row in rows {
                let (model, fee) = row?;
                let (model, fee) = (blob::<32>(model, "model id")?, U256::from(fee.unsigned_abs()));
                match steps.last_mut() {
                    Some((last, sum)) if *last == model => *sum += fee,
                    _ => steps.push((model, fee)),
                }
            }
            Ok(steps)
        })
        .await
    }

    /// Allowances with receipts in `epoch`, as parsed API keys.
    pub async fn allowances_in_epoch(&self, epoch: u64) -> Result<Vec<(B256, String)>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT DISTINCT a.digest, a.api_key FROM allowances a JOIN receipts r ON r.allowance = a.digest
                 WHERE r.epoch = ?1 ORDER BY a.digest",
            )?;
            let rows =
                stmt.query_map(params![epoch as i64], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|row| {
                let (digest, key) = row?;
                Ok((B256::from(blob::<32>(digest, "allowance digest")?), key))
            })
            .collect()
        })
        .await
    }

    /// Paid receipts of `epoch` not yet in a submitted batch, oldest first.
    pub async fn unbatched_receipts(&self, epoch: u64) -> Result<Vec<StoredReceipt>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, request_hash, allowance, model_id, prompt_tokens, completion_tokens, fee, user, epoch,
                        staged_root
                 FROM receipts WHERE epoch = ?1 AND batch_root IS NULL AND unpaid = 0 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![epoch as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Vec<u8>>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, Option<Vec<u8>>>(9)?,
                ))
            })?;
            rows.map(|row| {
                let (id, hash, allowance, model, prompt, completion, fee, user, epoch, staged) = row?;
                Ok(StoredReceipt {
                    id,
                    receipt: neuro_prover::Receipt {
                        request_hash: blob(hash, "request hash")?,
                        model_id: blob(model, "model id")?,
                        prompt_tokens: prompt as u64,
                        completion_tokens: completion as u64,
                        fee: fee as u64,
                        user: blob(user, "user")?,
                    },
                    allowance: B256::from(blob::<32>(allowance, "allowance")?),
                    epoch: epoch as u64,
                    staged_root: staged.map(|root| blob::<32>(root, "staged root").map(B256::from)).transpose()?,
                })
            })
            .collect()
        })
        .await
    }

    /// Marks receipts as part of the submitted `batch` and records the submission (with its transaction, unless
    /// another run already sent it), atomically.
    pub async fn record_submission(
        &self,
        ids: Vec<i64>,
        batch: SubmittedBatch,
        tx_hash: Option<B256>,
    ) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO submissions (batch_root, epoch, model_id, batch_size, tokens, fees, tx_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    batch.root.as_slice(),
                    batch.epoch as i64,
                    batch.model_id.as_slice(),
                    batch.batch_size as i64,
                    batch.tokens.to_string(),
                    batch.fees.to_string(),
                    tx_hash.map(|h| h.to_vec())
                ],
            )?;
            for id in ids {
                tx.execute("UPDATE receipts SET batch_root = ?1 WHERE id = ?2", params![batch.root.as_slice(), id])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Stages receipts `ids` in the batch with `root`, about to be sent: until it is recorded as submitted (or
    /// unstaged), the epoch work resubmits exactly this batch, which the usage ledger accepts once.
    pub async fn stage_batch(&self, ids: Vec<i64>, root: B256) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            for id in ids {
                tx.execute(
                    "UPDATE receipts SET staged_root = ?1 WHERE id = ?2 AND batch_root IS NULL",
                    params![root.as_slice(), id],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Releases the receipts staged in `root` (a batch that can no longer be rebuilt and never reached the
    /// chain) so they are batched afresh.
    pub async fn unstage(&self, root: B256) -> Result<usize, StoreError> {
        self.with(move |conn| {
            Ok(conn.execute(
                "UPDATE receipts SET staged_root = NULL WHERE staged_root = ?1 AND batch_root IS NULL",
                params![root.as_slice()],
            )?)
        })
        .await
    }

    /// Marks the receipts of `epoch` charged to `digest` unpaid (their allowance could not be redeemed): they are
    /// kept for the record but never batched.
    pub async fn drop_unpaid(&self, digest: B256, epoch: u64) -> Result<usize, StoreError> {
        self.with(move |conn| {
            Ok(conn.execute(
                // Staged receipts are in a batch that may be on chain already: they keep their place.
                "UPDATE receipts SET unpaid = 1
                 WHERE allowance = ?1 AND epoch = ?2 AND batch_root IS NULL AND staged_root IS NULL",
                params![digest.as_slice(), epoch as i64],
            )?)
        })
        .await
    }

    /// (receipts, pending receipts not in a batch, submitted batches) for `status`.
    pub async fn counts(&self) -> Result<(u64, u64, u64), StoreError> {
        self.with(|conn| {
            let q = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|v| v as u64);
            Ok((
                q("SELECT COUNT(*) FROM receipts")?,
                q("SELECT COUNT(*) FROM receipts WHERE batch_root IS NULL AND unpaid = 0")?,
                q("SELECT COUNT(*) FROM submissions")?,
            ))
        })
        .await
    }

    /// Whether `epoch` has receipts not yet in a batch and not written off.
    pub async fn has_unbatched(&self, epoch: u64) -> Result<bool, StoreError> {
        self.with(move |conn| {
            Ok(conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM receipts WHERE epoch = ?1 AND batch_root IS NULL AND unpaid = 0)",
                params![epoch as i64],
                |r| r.get::<_, bool>(0),
            )?)
        })
        .await
    }

    /// Epochs with submitted batches, newest first.
    pub async fn submitted_epochs(&self) -> Result<Vec<u64>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare("SELECT DISTINCT epoch FROM submissions ORDER BY epoch DESC")?;
            let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
            Ok(rows.filter_map(Result::ok).map(|e| e as u64).collect())
        })
        .await
    }

    /// Whether a batch root is already recorded as submitted.
    pub async fn is_submitted(&self, root: B256) -> Result<bool, StoreError> {
        self.with(move |conn| {
            Ok(conn
                .query_row("SELECT 1 FROM submissions WHERE batch_root = ?1", params![root.as_slice()], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redemption steps follow the order receipts were stored: a late receipt of another model adds a step at
    /// the end, so the steps an earlier run redeemed are a prefix and no fee is booked under the wrong model
    /// (ordering by model id put a late model-0 receipt before model 1's step, and its fee went to model 1).
    #[tokio::test]
    async fn redemption_steps_only_grow_at_the_end() -> Result<(), Box<dyn std::error::Error>> {
        use alloy::signers::{SignerSync, local::PrivateKeySigner};
        use neuro_protocol::voucher::{Allowance, payments_domain};

        let dir = std::env::temp_dir().join(format!("neuro-store-steps-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let store = Store::open(&dir.join("receipts.sqlite"))?;
        let user = PrivateKeySigner::random();
        let allowance = Allowance {
            user: user.address(),
            miner: Address::repeat_byte(2),
            cap: U256::from(1_000_000u64),
            expiry: U256::from(u64::MAX),
            nonce: U256::from(1),
        };
        let domain = payments_domain(31337, Address::repeat_byte(3));
        let digest = allowance.digest(&domain);
        let signature = user.sign_hash_sync(&digest)?;
        let signed = SignedAllowance { allowance, signature };
        let receipt = |hash: u8, model: u8, fee: u64| neuro_prover::Receipt {
            request_hash: [hash; 32],
            model_id: [model; 32],
            prompt_tokens: 1,
            completion_tokens: 1,
            fee,
            user: user.address().into_array(),
        };
        for (hash, model, fee) in [(1, 1, 10), (2, 1, 5)] {
            store.insert_receipt(&signed, digest, receipt(hash, model, fee), 7, 0).await?;
        }
        let before = store.redemption_steps(digest, 7).await?;
        assert_eq!(before, vec![([1; 32], U256::from(15))]);
        // A request of model 0 that straddled the epoch's end, then one more of model 1.
        store.insert_receipt(&signed, digest, receipt(3, 0, 4), 7, 0).await?;
        store.insert_receipt(&signed, digest, receipt(4, 1, 2), 7, 0).await?;
        let after = store.redemption_steps(digest, 7).await?;
        assert_eq!(after, vec![([1; 32], U256::from(15)), ([0; 32], U256::from(4)), ([1; 32], U256::from(2))]);
        assert_eq!(after[..before.len()], before[..], "what was redeemed stays a prefix");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    /// A receipt database written before batches were staged opens, gains the column, and keeps its rows.
    #[test]
    fn an_older_database_is_migrated_in_place() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("neuro-store-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("receipts.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let old = Connection::open(&path)?;
            old.execute_batch(&SCHEMA.replace(",\n    staged_root BLOB", ""))?;
            old.execute("INSERT INTO allowances VALUES (x'01', x'02', 'key', 0)", [])?;
            old.execute(
                "INSERT INTO receipts (request_hash, allowance, model_id, prompt_tokens, completion_tokens, fee, user,
                 epoch, created_at) VALUES (x'03', x'01', x'04', 1, 2, 3, x'02', 5, 6)",
                [],
            )?;
            let columns: i64 = old.query_row("SELECT COUNT(*) FROM pragma_table_info('receipts')", [], |r| r.get(0))?;
            assert_eq!(columns, 12, "the old schema has no staged_root");
        }
        let store = Store::open(&path)?;
        let conn = store.conn.blocking_lock();
        let (count, staged): (i64, Option<Vec<u8>>) =
            conn.query_row("SELECT COUNT(*), MAX(staged_root) FROM receipts", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        assert_eq!((count, staged), (1, None));
        drop(conn);
        drop(store);
        // Opening again is a no-op.
        Store::open(&path)?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
