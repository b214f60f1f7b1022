-- Every decoded event of the deployment, with its position on chain.
CREATE TABLE events (
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    tx_index BIGINT NOT NULL,
    address TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    epoch BIGINT,
    account TEXT,
    subject TEXT,
    args TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX events_by_name ON events (contract, name, block_number, log_index);
CREATE INDEX events_by_contract ON events (contract, block_number, log_index);
CREATE INDEX events_by_epoch ON events (epoch, name) WHERE epoch IS NOT NULL;
CREATE INDEX events_by_account ON events (account, name, block_number) WHERE account IS NOT NULL;
CREATE INDEX events_by_subject ON events (subject, name) WHERE subject IS NOT NULL;

-- Running totals, versioned by the block that changed them (decimal strings: values exceed 64 bits).
CREATE TABLE totals (
    key TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (key, block_number)
);

-- Recent block hashes, to detect reorganisations.
CREATE TABLE blocks (
    number BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    timestamp BIGINT NOT NULL
);

-- The last block whose events are all stored; written in the same transaction as those events.
CREATE TABLE cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    timestamp BIGINT NOT NULL
);

-- Which deployment this database describes.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
