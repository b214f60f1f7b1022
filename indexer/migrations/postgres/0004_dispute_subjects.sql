-- A dispute's events (and a timelock operation's) are found by their `id`, which now fills the `subject` lookup
-- column before `modelId` (schema::LOOKUP_SUBJECT). Rows stored before get it here.
UPDATE events SET subject = (args::json ->> 'id') WHERE (args::json ->> 'id') IS NOT NULL;
