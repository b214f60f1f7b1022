-- Totals are looked up by key prefix with a range (key >= 'p' AND key < 'p\x7f'). Under a linguistic collation
-- (en_US.UTF-8, the default of managed PostgreSQL) such a range matches nothing: control characters are ignored
-- and punctuation sorts by other rules. Byte-wise comparison makes the range exact under any database locale,
-- and the primary key's index serves it.
ALTER TABLE totals ALTER COLUMN key TYPE TEXT COLLATE "C";
