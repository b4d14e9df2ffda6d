//! Demo data: the seed's test users, quick replies and order history.

use diesel::prelude::*;
use livechat_domain::{now_ms, OrderStatus, Role, UserStatus};

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::{OrderRow, UserRow};
use crate::schema::{orders, quick_replies, users};

const MERCHANTS: [(&str, &str, &str); 9] = [
    ("m1", "康健大药房", "正品保障，执业药师在线答疑"),
    ("m2", "优品母婴旗舰店", "母婴用品一站式选购"),
    ("m3", "鲜果园生鲜", "产地直发，坏果包赔"),
    ("m4", "数码潮玩馆", "手机、耳机与智能穿戴"),
    ("m5", "悦读书店", "新书速递，正版图书"),
    ("m6", "居家百货", "厨房、收纳与清洁好物"),
    ("m7", "运动户外专营店", "跑步、骑行、露营装备"),
    ("m8", "美妆护肤馆", "官方授权，假一赔十"),
    ("m9", "宠物生活馆", "猫粮狗粮与宠物用品"),
];

const PRODUCTS: [(&str, i64); 9] = [
    ("维生素C咀嚼片 60片", 3990),
    ("婴儿纸尿裤 L码 52片", 12900),
    ("赣南脐橙 5斤装", 3980),
    ("无线蓝牙耳机", 19900),
    ("《三体》全集", 9300),
    ("不锈钢保温杯 500ml", 6900),
    ("速干运动T恤", 8900),
    ("补水保湿面膜 10片", 9900),
    ("全价成猫粮 2kg", 8800),
];

const AGENT_REPLIES: [&str; 3] = [
    "您好，欢迎光临，请问有什么可以帮您？",
    "亲，商品有货，今天下单明天发货。",
    "感谢您的耐心等待，祝您生活愉快！",
];

const BUYER_REPLIES: [&str; 2] = ["请问这个商品有货吗？", "什么时候可以发货？"];

/// Loads the demo users, quick replies and orders unless a chat user exists.
/// Answers whether anything was loaded. Call inside a write transaction.
pub fn seed(conn: &mut Conn) -> Result<bool, StoreError> {
    // Nodes starting together on PostgreSQL: the first one seeds, the
    // others wait for it here and then find the users.
    crate::db::lock_message_order(conn)?;
    if crate::users::count_chat_users(conn)? > 0 {
        return Ok(false);
    }
    let now = now_ms();
    let user = |id: &str, name: &str, role: Role, description: &str| UserRow {
        id: id.into(),
        username: name.into(),
        role,
        avatar: None,
        description: Some(description.into()),
        status: UserStatus::Active,
        password_hash: None,
        created_at: now,
        updated_at: now,
    };
    let mut rows = vec![
        user("b1", "药师09685", Role::Buyer, "普通买家"),
        user("b2", "买家小王", Role::Buyer, "普通买家"),
        user(
            "p1",
            "官方客服",
            Role::Platform,
            "平台官方客服，7×24 小时为您服务",
        ),
    ];
    rows.extend(
        MERCHANTS
            .iter()
            .map(|(id, name, d)| user(id, name, Role::Merchant, d)),
    );
    for row in &rows {
        // A name taken by an admin made earlier must not stop the seeding.
        if crate::users::by_username(conn, &row.username)?.is_some() {
            continue;
        }
        diesel::insert_into(users::table)
            .values(row.clone())
            .execute(conn)?;
    }
    for row in &rows {
        let texts: &[&str] = if row.role == Role::Buyer {
            &BUYER_REPLIES
        } else {
            &AGENT_REPLIES
        };
        for (i, text) in texts.iter().enumerate() {
            diesel::insert_into(quick_replies::table)
                .values((
                    quick_replies::user_id.eq(&row.id),
                    quick_replies::content.eq(text),
                    quick_replies::position.eq(i as i32),
                    quick_replies::created_at.eq(now),
                    quick_replies::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    const DAY: i64 = 86_400_000;
    let statuses = [
        OrderStatus::Completed,
        OrderStatus::Shipped,
        OrderStatus::Paid,
    ];
    for (b, buyer) in ["b1", "b2"].iter().enumerate() {
        for (m, (merchant, _, _)) in MERCHANTS.iter().enumerate() {
            let (title, price) = PRODUCTS[m];
            for (k, status) in statuses.iter().enumerate() {
                let count = (k + 1) as i32;
                let created = now - DAY * (30 - 10 * k as i64) - (m as i64) * 3_600_000;
                let order = OrderRow {
                    order_no: format!("DD2026{:02}{:02}{:03}", b + 1, m + 1, k + 1),
                    buyer_id: (*buyer).into(),
                    merchant_id: (*merchant).into(),
                    title: title.into(),
                    amount_cents: price * i64::from(count),
                    product_count: count,
                    product_image: None,
                    status: *status,
                    created_at: created,
                    updated_at: created,
                };
                diesel::insert_into(orders::table)
                    .values(order)
                    .execute(conn)?;
            }
        }
    }
    Ok(true)
}
