-- A dispute's events (and a timelock operation's) are found by their `id`, which now fills the `subject` lookup
-- column before `modelId` (schema::LOOKUP_SUBJECT). Rows stored before get it here.
UPDATE events SET subject = json_extract(args, '$.id') WHERE json_extract(args, '$.id') IS NOT NULL;
