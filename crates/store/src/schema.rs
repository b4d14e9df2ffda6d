//! Diesel table definitions, matching `migrations/sqlite`.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        role -> Text,
        avatar -> Nullable<Text>,
        description -> Nullable<Text>,
        status -> Text,
        password_hash -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        kind -> Text,
        title -> Nullable<Text>,
        created_by -> Nullable<Text>,
        mediates_conversation_id -> Nullable<BigInt>,
        customer_id -> Nullable<Text>,
        merchant_id -> Nullable<Text>,
        last_message -> Nullable<Text>,
        last_message_type -> Nullable<Text>,
        last_message_time -> Nullable<BigInt>,
        last_message_id -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    participants (conversation_id, user_id) {
        conversation_id -> BigInt,
        user_id -> Text,
        role -> Text,
        last_read_message_id -> BigInt,
        unread_count -> Integer,
        joined_at -> BigInt,
        visible_after_id -> BigInt,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        path -> Text,
        file_name -> Text,
        file_size -> BigInt,
        mime -> Text,
        thumbnail_path -> Nullable<Text>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        duration_ms -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        sender_id -> Text,
        message_type -> Text,
        content -> Text,
        client_msg_id -> Nullable<Text>,
        upload_id -> Nullable<Text>,
        file_name -> Nullable<Text>,
        file_size -> Nullable<BigInt>,
        mime -> Nullable<Text>,
        thumbnail_path -> Nullable<Text>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        duration_ms -> Nullable<BigInt>,
        order_snapshot -> Nullable<Text>,
        system_event -> Nullable<Text>,
        recalled_at -> Nullable<BigInt>,
        call_record -> Nullable<Text>,
        call_outcome -> Nullable<Text>,
        counts_unread -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    quick_replies (id) {
        id -> BigInt,
        user_id -> Text,
        content -> Text,
        position -> Integer,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    orders (order_no) {
        order_no -> Text,
        buyer_id -> Text,
        merchant_id -> Text,
        title -> Text,
        amount_cents -> BigInt,
        product_count -> Integer,
        product_image -> Nullable<Text>,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        scopes -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        details -> Text,
        at -> BigInt,
    }
}

diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(participants -> conversations (conversation_id));
diesel::joinable!(participants -> users (user_id));
diesel::joinable!(messages -> users (sender_id));
diesel::joinable!(quick_replies -> users (user_id));
diesel::joinable!(uploads -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    conversations,
    participants,
    uploads,
    messages,
    quick_replies,
    orders,
    api_keys,
    audit_log
);
