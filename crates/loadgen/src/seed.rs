//! Test databases, written before the server starts: `Db::open` runs the
//! migrations, then raw multi-row INSERTs in big transactions fill them.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use livechat_store::Db;

use crate::Res;

/// Rows per INSERT statement and statements per transaction.
const ROWS_PER_STATEMENT: usize = 500;
const ROWS_PER_TRANSACTION: usize = 100_000;

/// Opens (migrating) a database by its `DATABASE_URL`: a SQLite file or a
/// PostgreSQL database.
pub fn open_url(url: &str) -> Res<Db> {
    Ok(Db::open(url, 1)?)
}

fn now_ms() -> i64 {
    (crate::stats::now_us() / 1000) as i64
}

/// Inserts `rows` (each a parenthesised VALUES tuple) after `head`.
fn insert_rows(db: &Db, head: &str, rows: impl Iterator<Item = String>) -> Res<()> {
    let mut sql = String::new();
    let mut in_statement = 0;
    let mut in_transaction = 0;
    let flush = |sql: &mut String| -> Res<()> {
        if !sql.is_empty() {
            let text = std::mem::take(sql);
            db.write_blocking(move |c| Ok(c.batch_execute(&text)?))?;
        }
        Ok(())
    };
    for row in rows {
        if in_statement == 0 {
            sql.push_str(head);
            sql.push_str(" VALUES ");
        } else {
            sql.push(',');
        }
        sql.push_str(&row);
        in_statement += 1;
        in_transaction += 1;
        if in_statement == ROWS_PER_STATEMENT {
            sql.push_str(";\n");
            in_statement = 0;
        }
        if in_transaction == ROWS_PER_TRANSACTION {
            if in_statement > 0 {
                sql.push_str(";\n");
                in_statement = 0;
            }
            flush(&mut sql)?;
            in_transaction = 0;
        }
    }
    if in_statement > 0 {
        sql.push_str(";\n");
    }
    flush(&mut sql)
}

const USER_HEAD: &str = "INSERT INTO users (id, username, role, avatar, description, status, password_hash, created_at, updated_at)";

fn user_row(id: &str, role: &str, now: i64) -> String {
    format!("('{id}','{role}-{id}','{role}',NULL,NULL,'active',NULL,{now},{now})")
}

const CONVERSATION_HEAD: &str = "INSERT INTO conversations (id, kind, customer_id, merchant_id, last_message, last_message_type, last_message_time, last_message_id, created_at, updated_at)";
const PARTICIPANT_HEAD: &str = "INSERT INTO participants (conversation_id, user_id, role, last_read_message_id, unread_count, joined_at)";

/// The two participant rows of direct conversation `id` between buyer `b`
/// and merchant `m`: (read mark, unread count) of each side.
fn participant_rows(
    id: usize,
    b: &str,
    m: &str,
    customer: (i64, i64),
    agent: (i64, i64),
    joined: i64,
) -> [String; 2] {
    [
        format!(
            "({id},'{b}','customer',{},{},{joined})",
            customer.0, customer.1
        ),
        format!("({id},'{m}','agent',{},{},{joined})", agent.0, agent.1),
    ]
}

/// Users and conversations of the socket and chat scenarios.
pub struct ChatPlan {
    /// Every chat user (buyers `b…`, then merchants `m…`).
    pub users: Vec<String>,
    /// Conversation `i + 1` is `pairs[i]` = (buyer, merchant).
    pub pairs: Vec<(String, String)>,
}

/// `users` chat users, half buyers and half merchants, and `conversations`
/// buyer–merchant pairs (b_i, m_i), each with no message yet.
pub fn chat_db(path: &Path, users: usize, conversations: usize) -> Res<(Db, ChatPlan)> {
    chat_db_at(&path.display().to_string(), users, conversations)
}

/// [`chat_db`] on a database named by its URL (SQLite or PostgreSQL; on
/// PostgreSQL the conversations' id sequence is moved past the ids written).
pub fn chat_db_at(url: &str, users: usize, conversations: usize) -> Res<(Db, ChatPlan)> {
    let db = open_url(url)?;
    let buyers = users.div_ceil(2);
    let merchants = users - buyers;
    let conversations = conversations.min(merchants);
    let now = now_ms();
    let mut ids: Vec<String> = (0..buyers).map(|i| format!("b{i}")).collect();
    ids.extend((0..merchants).map(|i| format!("m{i}")));
    insert_rows(
        &db,
        USER_HEAD,
        ids.iter().map(|id| {
            let role = if id.starts_with('b') {
                "buyer"
            } else {
                "merchant"
            };
            user_row(id, role, now)
        }),
    )?;
    let pairs: Vec<(String, String)> = (0..conversations)
        .map(|i| (format!("b{i}"), format!("m{i}")))
        .collect();
    insert_rows(
        &db,
        CONVERSATION_HEAD,
        pairs.iter().enumerate().map(|(i, (b, m))| {
            format!(
                "({},'direct','{b}','{m}',NULL,NULL,NULL,0,{now},{now})",
                i + 1
            )
        }),
    )?;
    insert_rows(
        &db,
        PARTICIPANT_HEAD,
        pairs
            .iter()
            .enumerate()
            .flat_map(|(i, (b, m))| participant_rows(i + 1, b, m, (0, 0), (0, 0), now)),
    )?;
    if url.starts_with("postgres") {
        db.write_blocking(|c| {
            Ok(c.batch_execute(
                "SELECT setval(pg_get_serial_sequence('conversations', 'id'), (SELECT max(id) FROM conversations))",
            )?)
        })?;
    }
    Ok((db, ChatPlan { users: ids, pairs }))
}

/// Shape of the history database.
#[derive(Debug, Clone, Copy)]
pub struct HistoryShape {
    pub messages: usize,
    pub conversations: usize,
    /// Messages of conversation 1 (b0 with m0).
    pub long: usize,
    /// Conversations of merchant m0 (conversations 1..=this).
    pub merchant_conversations: usize,
    /// Buyers of the other merchants' conversations.
    pub other_merchants: usize,
}

/// Phrases of the generated messages; every 40th message asks for a
/// refund (`退款申请`), every 20th mentions an invoice (`发票`).
const PHRASES: [&str; 40] = [
    "请问这个商品有货吗？",
    "亲，商品有货，今天下单明天发货。",
    "什么时候可以发货？",
    "我想提交退款申请，麻烦处理一下",
    "已经为您安排发货，请注意查收",
    "可以开发票吗？公司抬头",
    "Hello, is this item still available?",
    "Yes, it ships tomorrow morning.",
    "快递单号发我一下谢谢",
    "好的，稍等我查询一下",
    "这个颜色还有别的尺码吗",
    "M码和L码都有现货",
    "能便宜一点吗，买两件",
    "两件可以打九五折哦",
    "收到货了，质量很好",
    "感谢您的支持，欢迎再次光临！",
    "包装破损了怎么办",
    "请拍照给我们，马上为您补发",
    "Can I change the delivery address?",
    "Sure, please send the new address.",
    "请问保修期多久",
    "整机保修一年，配件半年",
    "电子发票会发到您的邮箱",
    "订单显示已签收但我没收到",
    "我们联系快递核实一下",
    "How long does shipping take to Shanghai?",
    "Usually two to three days.",
    "这款适合几岁的宝宝",
    "建议三岁以上使用",
    "优惠券怎么用不了",
    "优惠券需要满199元才能使用",
    "好的明白了",
    "还有其他问题随时联系我",
    "在吗？",
    "在的，请问有什么可以帮您",
    "周末发货吗",
    "周末正常发货",
    "Thanks a lot!",
    "You are welcome, have a nice day.",
    "物流一直没有更新",
];

fn phrase(n: usize) -> &'static str {
    PHRASES[(n.wrapping_mul(2_654_435_761) >> 7) % PHRASES.len()]
}

/// Which conversation (0-based) message `n` (0-based) belongs to.
fn conversation_of(n: usize, shape: &HistoryShape) -> usize {
    let every = (shape.messages / shape.long.max(1)).max(1);
    if n.checked_rem(every) == Some(0) && n / every < shape.long {
        0
    } else {
        let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
        1 + (h as usize) % (shape.conversations - 1)
    }
}

/// Participants of conversation `k` (0-based): m0 with b0…, then the other
/// merchants with a smaller set of buyers.
fn pair_of(k: usize, shape: &HistoryShape) -> (String, String) {
    if k < shape.merchant_conversations {
        (format!("b{k}"), "m0".into())
    } else {
        let j = k - shape.merchant_conversations;
        let m = shape.other_merchants;
        (format!("b{}", j / m), format!("m{}", 1 + j % m))
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct ConvState {
    messages: u64,
    last_n: Option<usize>,
    customer_read: i64,
    merchant_read: i64,
    customer_unread: i64,
    merchant_unread: i64,
}

/// What building the history database took.
pub struct HistoryBuild {
    pub db: Db,
    pub secs: f64,
    /// Of which filling the search indexes.
    pub index_secs: f64,
    pub buyers: usize,
    pub merchants: usize,
    /// Ids of conversation 1's messages, oldest first.
    pub long_ids: Vec<i64>,
}

/// 1,000,000 messages over 100,000 conversations (by default), with
/// conversation rows (previews, last ids, unread counts, read marks) exactly
/// as the server's send transaction would have left them.
pub fn history_db(path: &Path, shape: HistoryShape) -> Res<HistoryBuild> {
    history_db_at(&path.display().to_string(), shape)
}

/// [`history_db`] on a database named by its URL (SQLite or PostgreSQL; on
/// PostgreSQL the id sequences are moved past the ids written).
pub fn history_db_at(url: &str, shape: HistoryShape) -> Res<HistoryBuild> {
    if shape.conversations < 2 || shape.merchant_conversations > shape.conversations {
        return Err("history: need 2+ conversations, at least the merchant's".into());
    }
    let started = Instant::now();
    let db = open_url(url)?;
    let now = now_ms();
    let span_ms = 30 * 86_400_000_i64;
    let times = Times {
        base: now - span_ms,
        step: (span_ms / shape.messages.max(1) as i64).max(1),
    };
    let others = shape.conversations - shape.merchant_conversations;
    let buyers = shape
        .merchant_conversations
        .max(others.div_ceil(shape.other_merchants.max(1)));
    let merchants = 1 + shape.other_merchants;
    let (conv, long_ids) = final_states(&shape);
    insert_rows(
        &db,
        USER_HEAD,
        (0..buyers)
            .map(|i| user_row(&format!("b{i}"), "buyer", now))
            .chain((0..merchants).map(|i| user_row(&format!("m{i}"), "merchant", now))),
    )?;
    insert_rows(
        &db,
        CONVERSATION_HEAD,
        conv.iter()
            .enumerate()
            .map(|(k, s)| conversation_row(k, s, &shape, times)),
    )?;
    insert_rows(
        &db,
        PARTICIPANT_HEAD,
        conv.iter().enumerate().flat_map(|(k, s)| {
            let (b, m) = pair_of(k, &shape);
            participant_rows(
                k + 1,
                &b,
                &m,
                (s.customer_read, s.customer_unread),
                (s.merchant_read, s.merchant_unread),
                times.base - 1000,
            )
        }),
    )?;
    let mut count = vec![0u64; shape.conversations];
    insert_rows(
        &db,
        "INSERT INTO messages (id, conversation_id, sender_id, message_type, content, created_at)",
        (0..shape.messages).map(|n| {
            let k = conversation_of(n, &shape);
            let (b, m) = pair_of(k, &shape);
            let sender = if count[k] & 1 == 0 { b } else { m };
            count[k] += 1;
            let mut row = String::with_capacity(96);
            let _ = write!(
                row,
                "({},{},'{sender}','text','{} {n}',{})",
                n + 1,
                k + 1,
                phrase(n),
                times.of(n)
            );
            row
        }),
    )?;
    if db.is_pg() {
        db.write_blocking(|c| {
            Ok(c.batch_execute(
                "SELECT setval(pg_get_serial_sequence('conversations', 'id'), (SELECT max(id) FROM conversations));
                 SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT max(id) FROM messages));
                 ANALYZE;",
            )?)
        })?;
    }
    // The search indexes, as the server's writer fills them after sends.
    let indexing = Instant::now();
    db.catch_up_search_index_blocking()?;
    let index_secs = indexing.elapsed().as_secs_f64();
    if db.is_pg() {
        db.write_blocking(|c| Ok(c.batch_execute("ANALYZE message_grams")?))?;
    } else {
        checkpoint(&db)?;
    }
    Ok(HistoryBuild {
        db,
        secs: started.elapsed().as_secs_f64(),
        index_secs,
        buyers,
        merchants,
        long_ids,
    })
}

/// Message `n` is sent at `base + n * step` (ms since the epoch).
#[derive(Debug, Clone, Copy)]
struct Times {
    base: i64,
    step: i64,
}

impl Times {
    fn of(self, n: usize) -> i64 {
        self.base + n as i64 * self.step
    }
}

/// Walks the messages once: each conversation's final state, and the ids
/// of conversation 1's messages.
fn final_states(shape: &HistoryShape) -> (Vec<ConvState>, Vec<i64>) {
    let mut conv = vec![ConvState::default(); shape.conversations];
    let mut long_ids = Vec::with_capacity(shape.long);
    for n in 0..shape.messages {
        let k = conversation_of(n, shape);
        let id = n as i64 + 1;
        let s = &mut conv[k];
        if s.messages & 1 == 0 {
            s.merchant_unread += 1;
            s.customer_read = id;
            s.customer_unread = 0;
        } else {
            s.customer_unread += 1;
            s.merchant_read = id;
            s.merchant_unread = 0;
        }
        s.messages += 1;
        s.last_n = Some(n);
        if k == 0 {
            long_ids.push(id);
        }
    }
    (conv, long_ids)
}

/// The VALUES tuple of conversation `k` (0-based) in its final state.
fn conversation_row(k: usize, s: &ConvState, shape: &HistoryShape, times: Times) -> String {
    let (b, m) = pair_of(k, shape);
    let created = times.base - 1000;
    match s.last_n {
        Some(n) => {
            let t = times.of(n);
            format!(
                "({},'direct','{b}','{m}','{} {n}','text',{t},{},{created},{t})",
                k + 1,
                phrase(n),
                n + 1,
            )
        }
        None => format!(
            "({},'direct','{b}','{m}',NULL,NULL,NULL,0,{created},{created})",
            k + 1
        ),
    }
}

/// Folds the WAL into the database file so the server starts on a clean one.
pub fn checkpoint(db: &Db) -> Res<()> {
    db.read_blocking(|c| Ok(c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?))?;
    Ok(())
}

/// The size of the database file and its WAL, bytes.
pub fn file_size(path: &Path) -> u64 {
    let wal = path.with_extension("db-wal");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}
