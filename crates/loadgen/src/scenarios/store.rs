//! `store`: the send transaction alone, without HTTP or sockets.

use std::time::Instant;

use livechat_domain::messages::MessageDraft;
use livechat_store::Db;
use serde::{Deserialize, Serialize};

use crate::args::Args;
use crate::seed;
use crate::stats::now_us;
use crate::Res;

use super::{round, Ctx};

/// Options of `store`.
#[derive(Debug, Clone)]
pub struct StoreOpts {
    pub messages: usize,
    pub batch: usize,
}

impl StoreOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            messages: a.get("messages", 20_000)?,
            batch: a.get("batch", 100)?,
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen store --messages {} --batch {}",
            self.messages, self.batch
        )
    }
}

/// The result of `store`: messages per second of each run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreResult {
    /// Always `store`.
    pub scenario: String,
    pub command: String,
    pub messages_each: usize,
    pub one_transaction_per_message_per_sec: f64,
    pub batch: usize,
    pub batched_per_sec: f64,
    pub database_bytes: u64,
}

/// The server's own `livechat_store::messages::send`, called through
/// `Db::write_blocking` and so on the store's writer thread: first one
/// message per write (one commit each, the writer's case when sends arrive
/// one at a time), then `batch` messages per write (one commit for all, as
/// when the writer takes a burst of queued sends together). Shows how much
/// of a send is SQLite and what committing in groups buys; the writer
/// indexes the new messages for search between writes, as in the server.
pub async fn store(ctx: &Ctx, o: &StoreOpts) -> Res<StoreResult> {
    let dir = ctx.dir("store")?;
    let db_path = dir.join("bench.db");
    let (db, plan) = seed::chat_db(&db_path, 2_000, 1_000)?;
    let sends = Sends {
        db: &db,
        pairs: &plan.pairs,
        messages: o.messages,
    };
    let batch = o.batch.max(1);
    let single = sends.run(0, 1)?;
    let batched = sends.run(o.messages, batch)?;
    let bytes = seed::file_size(&db_path);
    drop(db);
    Ok(StoreResult {
        scenario: "store".into(),
        command: o.command(),
        messages_each: o.messages,
        one_transaction_per_message_per_sec: round(single, 0),
        batch: o.batch,
        batched_per_sec: round(batched, 0),
        database_bytes: bytes,
    })
}

/// Text messages sent in turn by both participants of every conversation.
struct Sends<'a> {
    db: &'a Db,
    /// Conversation `i + 1` is `pairs[i]` = (buyer, merchant).
    pairs: &'a [(String, String)],
    /// Messages per run.
    messages: usize,
}

impl Sends<'_> {
    /// Sends messages `from..from + messages`, `batch` per write; answers
    /// messages per second.
    fn run(&self, from: usize, batch: usize) -> Res<f64> {
        let started = Instant::now();
        let end_all = from + self.messages;
        let mut i = from;
        while i < end_all {
            let end = (i + batch).min(end_all);
            let items: Vec<_> = (i..end).map(|i| self.message(i)).collect();
            self.db.write_blocking(move |c| {
                for new in items {
                    livechat_store::messages::send(c, &new)?;
                }
                Ok(())
            })?;
            i = end;
        }
        Ok(self.messages as f64 / started.elapsed().as_secs_f64())
    }

    /// The `i`-th message: conversations in turn, the customer's side on
    /// even rounds and the agent's on odd ones.
    fn message(&self, i: usize) -> MessageDraft {
        let conv = i % self.pairs.len();
        let (customer, agent) = &self.pairs[conv];
        let sender = if (i / self.pairs.len()) & 1 == 0 {
            customer
        } else {
            agent
        };
        MessageDraft::text(
            conv as i64 + 1,
            sender,
            &format!("lg {} store benchmark message {i}", now_us()),
            (now_us() / 1000) as i64,
        )
    }
}
