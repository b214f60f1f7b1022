-- Rollbacks applied so far. The API reads it before and after building a response: a response built from several
-- queries while a reorganisation was rolled back could mix two forks, and is refused (503, retry) instead.
ALTER TABLE cursor ADD COLUMN rollbacks BIGINT NOT NULL DEFAULT 0;
