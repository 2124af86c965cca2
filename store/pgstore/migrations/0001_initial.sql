-- 1: the initial schema of the store.Driver contract (issue 8).
-- Times are bigint Unix nanoseconds (0 for the zero time), so every time a
-- caller passes in comes back exactly (timestamptz keeps microseconds).

CREATE TABLE objects (
	seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- first insertion order
	iri         text PRIMARY KEY,
	type        text NOT NULL,
	actor       text NOT NULL,
	in_reply_to text NOT NULL,
	local       boolean NOT NULL,
	data        bytea NOT NULL, -- the JSON document as given, byte for byte
	created     bigint NOT NULL,
	updated     bigint NOT NULL
);
-- FindObjects: every indexed field with seq, so a page is one range scan
-- in either direction.
CREATE INDEX objects_by_actor ON objects (actor, seq);
CREATE INDEX objects_by_in_reply_to ON objects (in_reply_to, seq);
CREATE INDEX objects_by_type ON objects (type, seq);

-- One sequence for the members of every collection: a member's number
-- increases with every insertion in the whole store.
CREATE SEQUENCE collection_item_seq AS bigint;

CREATE TABLE collection_items (
	collection text NOT NULL,
	item       text NOT NULL,
	seq        bigint NOT NULL DEFAULT nextval('collection_item_seq'),
	PRIMARY KEY (collection, item) -- membership
);
ALTER SEQUENCE collection_item_seq OWNED BY collection_items.seq;
-- Paging both ways: one btree scanned forwards or backwards from a bound.
CREATE UNIQUE INDEX collection_items_by_seq ON collection_items (collection, seq);

-- CountItems reads one row instead of counting members.
CREATE TABLE collection_counts (
	collection text PRIMARY KEY,
	n          bigint NOT NULL CHECK (n >= 0)
);

CREATE TABLE public_keys (
	id         text PRIMARY KEY,
	owner      text NOT NULL,
	public_pem text NOT NULL,
	fetched    bigint NOT NULL
);
CREATE INDEX public_keys_by_owner ON public_keys (owner);

CREATE TABLE accounts (
	username        text COLLATE "C" PRIMARY KEY, -- case-sensitive, byte order
	actor_iri       text NOT NULL,
	private_key_pem bytea NOT NULL,
	created         bigint NOT NULL
);

CREATE TABLE protocol_values (
	key     text PRIMARY KEY,
	value   bytea NOT NULL,
	expires bigint NOT NULL -- 0 for never
);
CREATE INDEX protocol_values_by_expiry ON protocol_values (expires) WHERE expires <> 0;

CREATE TABLE jobs (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind        text NOT NULL,
	payload     bytea NOT NULL,
	unique_key  text UNIQUE, -- NULL for a job that is not unique
	state       text NOT NULL CHECK (state IN ('available', 'running', 'retryable', 'completed', 'discarded')),
	attempt     integer NOT NULL,
	run_at      bigint NOT NULL,
	lease_until bigint NOT NULL,
	last_error  text NOT NULL,
	created     bigint NOT NULL,
	finished    bigint NOT NULL
);
-- Claiming scans the unfinished jobs in claim order (run_at, id) and stops
-- after the limit; finished jobs, the bulk of the table, are not in it.
CREATE INDEX jobs_to_claim ON jobs (run_at, id) WHERE state IN ('available', 'retryable', 'running');
-- DeleteJobs: the finished jobs by when they finished.
CREATE INDEX jobs_finished ON jobs (finished) WHERE state IN ('completed', 'discarded');
CREATE INDEX jobs_by_kind_state ON jobs (kind, state, id);
