DROP TABLE outbox;
DROP TABLE subscriptions;
DROP TABLE streams;
