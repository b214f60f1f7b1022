-- A participant's history by epoch (`/v1/miners/{a}` pages of epochs): the page's epochs are found in the index
-- and only their events are read, so a response costs the same for a miner of ten epochs and of ten thousand.
CREATE INDEX events_by_account_epoch ON events (account, epoch, name) WHERE account IS NOT NULL AND epoch IS NOT NULL;
