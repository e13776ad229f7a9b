// Shared by both backends; see diesel.toml.

diesel::table! {
    streams (domain) {
        domain -> Text,
        observed -> Bool,
        name -> Text,
        title -> Text,
        last_connect_time -> Nullable<BigInt>,
        last_disconnect_time -> Nullable<BigInt>,
        offline_since -> Nullable<BigInt>,
        last_notified -> Nullable<BigInt>,
        failure_streak -> Integer,
        first_failure_at -> Nullable<BigInt>,
        warned -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    subscriptions (room_id, domain) {
        room_id -> Text,
        domain -> Text,
        subscribed_by -> Text,
        subscribed_at -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        txn_id -> Text,
        room_id -> Text,
        domain -> Text,
        kind -> Text,
        payload -> Text,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        event_id -> Nullable<Text>,
    }
}

// Every subscription has its stream row (created by subscribing, deleted with the last one).
diesel::joinable!(subscriptions -> streams (domain));

diesel::allow_tables_to_appear_in_same_query!(streams, subscriptions, outbox);
