-- Times are milliseconds since the Unix epoch, so both backends share one schema.rs.
CREATE TABLE streams (
    domain TEXT PRIMARY KEY NOT NULL,
    observed BOOLEAN NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    last_connect_time BIGINT,
    last_disconnect_time BIGINT,
    offline_since BIGINT,
    last_notified BIGINT,
    failure_streak INTEGER NOT NULL DEFAULT 0,
    first_failure_at BIGINT,
    warned BOOLEAN NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    room_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    subscribed_by TEXT NOT NULL,
    subscribed_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, domain)
);
CREATE INDEX subscriptions_by_domain ON subscriptions (domain);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    txn_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    event_id TEXT
);
CREATE INDEX outbox_by_delivery ON outbox (delivered_at, id);
