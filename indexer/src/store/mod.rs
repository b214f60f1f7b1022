//! Storage in SQLite (embedded default, WAL mode) or PostgreSQL, through one set of queries.
//!
//! Invariant: the `cursor` row names the last block whose events, totals and hash are all stored, and it is
//! written in the same transaction as they are. Rows above the cursor never exist, so a crash at any moment
//! resumes exactly at `cursor + 1`.

mod read;
mod write;

use std::{collections::HashMap, str::FromStr, sync::Arc, time::Duration};

use alloy::primitives::{Address, B256, U256};
use sqlx::{
    AnyPool, AssertSqlSafe, Executor, Row,
    any::{AnyPoolOptions, install_default_drivers},
};

pub use read::{Column, EventFilter, EventRow, Page};
pub use write::{Batch, BlockRow};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names a database this build does not support (only its scheme is kept: the rest may hold a
    /// password).
    #[error("unsupported database URL scheme {0:?}: use sqlite://<file> or postgres://…")]
    UnsupportedUrl(String),
    /// The rows were built by a newer version of the reductions than this binary's.
    #[error("the database was built by reduction version {stored}, newer than this binary's {binary}: upgrade")]
    NewerReductions {
        /// Version of the stored rows.
        stored: u32,
        /// This binary's.
        binary: u32,
    },
    /// The rows were built by another version of the reductions (a read-only command refuses them).
    #[error(
        "the database was built by reduction version {stored}, this binary uses {binary}: let `neuro-indexer run` \
         re-index it first"
    )]
    OtherReductions {
        /// Version of the stored rows.
        stored: u32,
        /// This binary's.
        binary: u32,
    },
    /// The database indexes another deployment.
    #[error("the database indexes {key} = {stored}, but this run is for {expected}: use another database")]
    OtherDeployment {
        /// Which identity field differs.
        key: &'static str,
        /// Value stored.
        stored: String,
        /// Value of this run.
        expected: String,
    },
    /// A stored value is malformed (the database was edited by hand).
    #[error("corrupt value in the database: {0}")]
    Corrupt(String),
}

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The last fully stored block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Block timestamp.
    pub timestamp: u64,
}

/// A connection pool with the indexer's schema.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL as connected (for [`Store::reader`]).
    url: DatabaseUrl,
}

/// A database URL, which may hold a password: never printed.
#[derive(Clone)]
struct DatabaseUrl(Arc<str>);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://path` creates the file) and runs the backend's migrations.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let store = Self::connect(url, max_connections).await?;
        match store.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&store.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&store.pool).await?,
        }
        Ok(store)
    }

    /// A second pool of `max_connections` on the same database, for the API: requests then queue for their own
    /// connections and can never take the ingester's.
    pub async fn reader(&self, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect(&self.url.0, max_connections).await
    }

    async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            return Err(StoreError::UnsupportedUrl(scheme.to_owned()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let mut options =
            AnyPoolOptions::new().max_connections(max_connections).acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // WAL lets API readers run while the ingester writes; NORMAL is durable across process crashes.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        Ok(Self { pool, backend, url: DatabaseUrl(url.into()) })
    }

    /// Closes the pool, waiting for connections in use to be returned (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Records which deployment this database indexes, or checks it against the one recorded.
    pub async fn bind_deployment(&self, chain_id: u64, token: Address) -> Result<(), StoreError> {
        for (key, expected) in [("chainId", chain_id.to_string()), ("token", format!("{token:#x}"))] {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(&expected)
                .execute(&self.pool)
                .await?;
            let stored: String =
                sqlx::query_scalar("SELECT value FROM meta WHERE key = $1").bind(key).fetch_one(&self.pool).await?;
            if stored != expected {
                return Err(StoreError::OtherDeployment { key, stored, expected });
            }
        }
        Ok(())
    }

    /// The version of the reductions the stored rows were built with: `None` for an empty database, 1 for rows
    /// stored before versions were recorded.
    pub async fn reduction_version(&self) -> Result<Option<u32>, StoreError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'reductionVersion'")
            .fetch_optional(&self.pool)
            .await?;
        match stored {
            Some(text) => Ok(Some(parse(&text)?)),
            None if self.cursor().await?.is_some() => Ok(Some(1)),
            None => Ok(None),
        }
    }

    /// For the ingester only: makes the stored rows match reduction `version`. An empty database is stamped
    /// with it; rows built by an older version are deleted (in one transaction) so that ingestion rebuilds
    /// everything from the deployment's start block, and `true` is returned. Rows built by a newer version are
    /// refused ([`StoreError::NewerReductions`]): a downgraded binary must not overwrite them. (The chain is the
    /// source of truth: a re-index loses nothing, and totals missing a newer reduction would be silently wrong.)
    pub async fn ensure_reduction_version(&self, version: u32) -> Result<bool, StoreError> {
        let stored = self.reduction_version().await?;
        if stored == Some(version) {
            return Ok(false);
        }
        if let Some(stored) = stored.filter(|stored| *stored > version) {
            return Err(StoreError::NewerReductions { stored, binary: version });
        }
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Two processes starting at once must not both rebuild (the second would delete the first's rows).
            sqlx::query("SELECT pg_advisory_xact_lock(7243)").execute(&mut *tx).await?;
        }
        if stored.is_some() {
            for sql in ["DELETE FROM events", "DELETE FROM totals", "DELETE FROM blocks", "DELETE FROM cursor"] {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
        }
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('reductionVersion', $1) ON CONFLICT (key) DO UPDATE SET \
             value = excluded.value",
        )
        .bind(version.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stored.is_some())
    }

    /// The last fully stored block, if any.
    pub async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        let row = sqlx::query("SELECT block_number, block_hash, timestamp FROM cursor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Cursor {
                number: to_u64(row.try_get::<i64, _>(0)?)?,
                hash: parse(&row.try_get::<String, _>(1)?)?,
                timestamp: to_u64(row.try_get::<i64, _>(2)?)?,
            })
        })
        .transpose()
    }

    /// Rollbacks applied to this database so far (0 before the first block is stored).
    pub async fn rollbacks(&self) -> Result<u64, StoreError> {
        let count: Option<i64> =
            sqlx::query_scalar("SELECT rollbacks FROM cursor WHERE id = 1").fetch_optional(&self.pool).await?;
        count.map_or(Ok(0), to_u64)
    }

    /// The timestamp of block `number`, if its header is kept.
    pub async fn block_timestamp(&self, number: u64) -> Result<Option<u64>, StoreError> {
        let timestamp: Option<i64> = sqlx::query_scalar("SELECT timestamp FROM blocks WHERE number = $1")
            .bind(to_i64(number))
            .fetch_optional(&self.pool)
            .await?;
        timestamp.map(to_u64).transpose()
    }

    /// The stored hash of block `number`, if it is among the recent blocks kept.
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, StoreError> {
        let hash: Option<String> = sqlx::query_scalar("SELECT hash FROM blocks WHERE number = $1")
            .bind(to_i64(number))
            .fetch_optional(&self.pool)
            .await?;
        hash.map(|h| parse(&h)).transpose()
    }

    /// Up to `limit` kept headers below block `below`, newest first.
    pub async fn kept_headers_below(&self, below: u64, limit: u64) -> Result<Vec<(u64, B256)>, StoreError> {
        let rows = sqlx::query("SELECT number, hash FROM blocks WHERE number < $1 ORDER BY number DESC LIMIT $2")
            .bind(to_i64(below))
            .bind(to_i64(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((to_u64(row.try_get(0)?)?, parse(&row.try_get::<String, _>(1)?)?))).collect()
    }

    /// Every block below `below` whose hash is stored (kept headers and blocks holding events), oldest first: the
    /// candidates for the common ancestor of a deep reorganisation.
    pub async fn known_hashes_below(&self, below: u64) -> Result<Vec<(u64, B256)>, StoreError> {
        let rows = sqlx::query(
            "SELECT number, hash FROM blocks WHERE number < $1 \
             UNION SELECT block_number, block_hash FROM events WHERE block_number < $1 ORDER BY 1, 2",
        )
        .bind(to_i64(below))
        .fetch_all(&self.pool)
        .await?;
        let known: Vec<(u64, B256)> = rows
            .iter()
            .map(|row| Ok((to_u64(row.try_get(0)?)?, parse(&row.try_get::<String, _>(1)?)?)))
            .collect::<Result<_, StoreError>>()?;
        // A block stored under two hashes proves nothing: leave it out (the search needs one hash per block).
        let twice = |i: usize| {
            known.get(i.wrapping_sub(1)).is_some_and(|p| p.0 == known[i].0)
                || known.get(i + 1).is_some_and(|n| n.0 == known[i].0)
        };
        Ok((0..known.len()).filter(|&i| !twice(i)).map(|i| known[i]).collect())
    }

    /// Records the hash of the deployment's start block when none is recorded yet.
    pub async fn record_start_hash(&self, hash: B256) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ('startHash', $1) ON CONFLICT (key) DO NOTHING")
            .bind(format!("{hash:#x}"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The recorded hash of the deployment's start block (none in databases indexed before it was recorded).
    pub async fn start_hash(&self) -> Result<Option<B256>, StoreError> {
        let hash: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'startHash'").fetch_optional(&self.pool).await?;
        hash.map(|h| parse(&h)).transpose()
    }

    /// The latest value of every total.
    pub async fn latest_totals(&self) -> Result<HashMap<String, U256>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.key, t.value FROM totals t \
             WHERE t.block_number = (SELECT MAX(u.block_number) FROM totals u WHERE u.key = t.key)",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get::<String, _>(0)?, parse(&row.try_get::<String, _>(1)?)?))).collect()
    }

    /// The value of total `key` at block `at` (zero before its first change).
    pub async fn total_at(&self, key: &str, at: u64) -> Result<U256, StoreError> {
        let value: Option<String> = sqlx::query_scalar(
            "SELECT value FROM totals WHERE key = $1 AND block_number <= $2 ORDER BY block_number DESC LIMIT 1",
        )
        .bind(key)
        .bind(to_i64(at))
        .fetch_optional(&self.pool)
        .await?;
        value.map(|v| parse(&v)).transpose().map(Option::unwrap_or_default)
    }

    /// The values of totals `keys` at block `at`, in the same order (zero before a key's first change), in one
    /// query.
    pub async fn totals_at(&self, keys: &[String], at: u64) -> Result<Vec<U256>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One row, a column per key, each an index seek for the key's latest row at `at`: a key changed at ten
        // thousand blocks costs what one changed once does.
        let columns: Vec<String> = (0..keys.len())
            .map(|i| {
                format!(
                    "(SELECT value FROM totals WHERE key = ${} AND block_number <= $1 ORDER BY block_number DESC LIMIT 1)",
                    i + 2
                )
            })
            .collect();
        let sql = format!("SELECT {}", columns.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(to_i64(at));
        for key in keys {
            query = query.bind(key.as_str());
        }
        let row = query.fetch_one(&self.pool).await?;
        (0..keys.len())
            .map(|i| row.try_get::<Option<String>, _>(i)?.map(|v| parse(&v)).transpose().map(Option::unwrap_or_default))
            .collect()
    }

    /// One page of the keys starting with `prefix` that exist at block `at`, by the rest of the key (returned),
    /// ascending after `after`, at most `limit`: the miners credited in an epoch, without reading the others.
    pub async fn keys_with_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        at: u64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT key FROM totals WHERE key > $1 AND key < $2 AND block_number <= $3 ORDER BY key \
             LIMIT {limit}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(format!("{prefix}{}", after.unwrap_or("")))
            .bind(format!("{prefix}\u{7f}"))
            .bind(to_i64(at))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?.get(prefix.len()..).unwrap_or_default().to_owned()))
            .collect()
    }

    /// The value at block `at` of every total whose key starts with `prefix`, by the rest of the key.
    pub async fn totals_with_prefix_at(&self, prefix: &str, at: u64) -> Result<Vec<(String, U256)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.key, t.value FROM totals t WHERE t.key >= $1 AND t.key < $2 AND t.block_number = \
             (SELECT MAX(u.block_number) FROM totals u WHERE u.key = t.key AND u.block_number <= $3) ORDER BY t.key",
        )
        .bind(prefix)
        .bind(format!("{prefix}\u{7f}"))
        .bind(to_i64(at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(0)?;
                Ok((key[prefix.len()..].to_owned(), parse(&row.try_get::<String, _>(1)?)?))
            })
            .collect()
    }

    /// Refreshes the query planner's statistics; worth it after a bulk backfill (PostgreSQL otherwise plans the
    /// API's lookups for empty tables until autovacuum runs).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A copy of every table's rows in a canonical order, for comparing two databases.
    pub async fn dump(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for (table, sql) in [
            (
                "events",
                "SELECT block_number, log_index, block_hash, tx_hash, tx_index, address, contract, name, \
                 COALESCE(CAST(epoch AS TEXT), ''), COALESCE(account, ''), COALESCE(subject, ''), args \
                 FROM events ORDER BY block_number, log_index",
            ),
            ("totals", "SELECT key, block_number, value FROM totals ORDER BY key, block_number"),
        ] {
            for row in sqlx::query(sql).fetch_all(&self.pool).await? {
                let mut line = String::from(table);
                for i in 0..row.len() {
                    line.push('|');
                    match row.try_get::<String, _>(i) {
                        Ok(text) => line.push_str(&text),
                        Err(_) => line.push_str(&row.try_get::<i64, _>(i)?.to_string()),
                    }
                }
                out.push(line);
            }
        }
        Ok(out)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// Block numbers and indexes are below 2^63 on any real chain; larger values saturate.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative number {value}")))
}

pub(crate) fn parse<T: FromStr>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("unparsable value {text:?}")))
}
