-- Runtime rules. doc holds the rule as the rules file writes it (JSON with
-- the file's field names); host, "from", enabled and the window are copied
-- out of it for filtering.
CREATE TABLE rules (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT    NOT NULL UNIQUE,
	host         TEXT    NOT NULL,
	"from"       TEXT    NOT NULL,
	enabled      INTEGER NOT NULL,
	window_start INTEGER,          -- Unix milliseconds; NULL: open
	window_end   INTEGER,          -- Unix milliseconds; NULL: open
	doc          TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	created_at   INTEGER NOT NULL, -- Unix nanoseconds
	updated_at   INTEGER NOT NULL  -- Unix nanoseconds
);

CREATE INDEX rules_host ON rules (host);

-- Hit counts of any rule, file or runtime, by id.
CREATE TABLE hits (
	id       TEXT    PRIMARY KEY,
	count    INTEGER NOT NULL,
	last_hit INTEGER NOT NULL      -- Unix nanoseconds
);

-- The store's change counter: it grows with every write to rules.
CREATE TABLE meta (
	key   TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('version', 0);
