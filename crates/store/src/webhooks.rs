//! Webhooks and their outbox: the subscriptions admins manage, one
//! delivery row per event and subscribed webhook (inserted in the
//! transaction that stored what happened), the claims that give each due
//! delivery to one node, and the log of tries.

use std::cell::Cell;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use livechat_domain::paging::Page;
use livechat_domain::webhooks::{event_id_from_random, EventType};

use crate::db::Conn;
use crate::error::StoreError;
use crate::schema::{webhook_attempts, webhook_deliveries, webhooks};

/// A webhook as stored.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    /// The subscribed events' wire names, comma-separated.
    pub events: String,
    pub secret: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl WebhookRow {
    /// The subscribed event types; a name this version does not know
    /// fails the load and names itself.
    pub fn event_types(&self) -> Result<Vec<EventType>, StoreError> {
        self.events
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|name| {
                EventType::parse(name).ok_or_else(|| {
                    StoreError::Corrupt(format!("webhooks.events: unknown event `{name}`"))
                })
            })
            .collect()
    }

    /// Whether the webhook subscribes to `event`.
    pub fn subscribes(&self, event: EventType) -> bool {
        self.events.split(',').any(|name| name == event.as_str())
    }
}

/// One event for one webhook: the outbox row.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    /// `evt_<uuid>`, the same for every webhook the event goes to and on
    /// every retry.
    pub event_id: String,
    /// The event type's wire name.
    pub event_type: String,
    /// The message or conversation the event is about.
    pub subject_id: Option<i64>,
    /// The exact body, fixed before the first try.
    pub payload: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<i64>,
    pub delivered_at: Option<i64>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub gave_up_at: Option<i64>,
}

/// One try of a delivery.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: i64,
    /// The HTTP status answered, if any answer came.
    pub status: Option<i32>,
    /// Why the try failed without an answer (timeout, refused, …), or
    /// what the answer was when it was not 2xx.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A webhook to create, already validated.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    pub secret: String,
    pub enabled: bool,
}

/// Changes to a webhook, already validated; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

fn events_column(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Stores a new webhook.
pub fn create(conn: &mut Conn, new: &NewWebhook, now: i64) -> Result<WebhookRow, StoreError> {
    Ok(diesel::insert_into(webhooks::table)
        .values((
            webhooks::url.eq(&new.url),
            webhooks::events.eq(events_column(&new.events)),
            webhooks::secret.eq(&new.secret),
            webhooks::enabled.eq(new.enabled),
            webhooks::created_at.eq(now),
            webhooks::updated_at.eq(now),
        ))
        .returning(webhooks::all_columns)
        .get_result(conn)?)
}

/// Every webhook, oldest first.
pub fn list(conn: &mut Conn) -> Result<Vec<WebhookRow>, StoreError> {
    Ok(webhooks::table
        .order(webhooks::id.asc())
        .select(WebhookRow::as_select())
        .load(conn)?)
}

/// One webhook.
pub fn get(conn: &mut Conn, id: i64) -> Result<Option<WebhookRow>, StoreError> {
    Ok(webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?)
}

fn must_get(conn: &mut Conn, id: i64) -> Result<WebhookRow, StoreError> {
    get(conn, id)?.ok_or_else(|| StoreError::not_found(format!("no webhook {id}")))
}

/// Applies `changes` to webhook `id`.
pub fn update(
    conn: &mut Conn,
    id: i64,
    changes: &WebhookChanges,
    now: i64,
) -> Result<WebhookRow, StoreError> {
    let current = must_get(conn, id)?;
    Ok(diesel::update(webhooks::table.find(id))
        .set((
            webhooks::url.eq(changes.url.as_ref().unwrap_or(&current.url)),
            webhooks::events.eq(changes
                .events
                .as_deref()
                .map(events_column)
                .unwrap_or(current.events)),
            webhooks::secret.eq(changes.secret.as_ref().unwrap_or(&current.secret)),
            webhooks::enabled.eq(changes.enabled.unwrap_or(current.enabled)),
            webhooks::updated_at.eq(now),
        ))
        .returning(webhooks::all_columns)
        .get_result(conn)?)
}

/// Deletes webhook `id` with its deliveries and their log.
pub fn delete(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
    must_get(conn, id)?;
    // Explicitly, not only by the foreign keys' cascade: the log goes
    // first, then the outbox, then the webhook.
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .select(webhook_deliveries::id);
    diesel::delete(
        webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)),
    )
    .execute(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
        .execute(conn)?;
    diesel::delete(webhooks::table.find(id)).execute(conn)?;
    Ok(())
}

thread_local! {
    /// Set when the current write enqueued a delivery; the writer reads
    /// and clears it after the commit to wake the delivery worker.
    static ENQUEUED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a write on this thread enqueued a delivery since the last call
/// (and clears the mark).
pub(crate) fn take_enqueued() -> bool {
    ENQUEUED.with(|e| e.replace(false))
}

/// A fresh event id, `evt_<uuid v4>`.
pub fn new_event_id() -> String {
    event_id_from_random(rand::random())
}

/// Enqueues `event` (about `subject_id`, at `created_at`) for every enabled
/// webhook subscribed to it: one outbox row each, all under one event id,
/// due at once. Answers how many rows. Call inside the transaction that
/// stored what happened, so the event is kept exactly when that is.
///
/// With no webhook this costs one indexed query on a tiny table.
pub fn enqueue(
    conn: &mut Conn,
    event: EventType,
    subject_id: Option<i64>,
    created_at: i64,
) -> Result<usize, StoreError> {
    let subscribers: Vec<(i64, String)> = webhooks::table
        .filter(webhooks::enabled.eq(true))
        .select((webhooks::id, webhooks::events))
        .load(conn)?;
    let targets: Vec<i64> = subscribers
        .into_iter()
        .filter(|(_, events)| events.split(',').any(|n| n == event.as_str()))
        .map(|(id, _)| id)
        .collect();
    if targets.is_empty() {
        return Ok(0);
    }
    let event_id = new_event_id();
    // One insert per webhook (there are few): batch inserts are not
    // available over a connection of either backend.
    for webhook_id in &targets {
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::webhook_id.eq(*webhook_id),
                webhook_deliveries::event_id.eq(&event_id),
                webhook_deliveries::event_type.eq(event.as_str()),
                webhook_deliveries::subject_id.eq(subject_id),
                webhook_deliveries::next_attempt_at.eq(created_at),
                webhook_deliveries::created_at.eq(created_at),
            ))
            .execute(conn)?;
    }
    let n = targets.len();
    ENQUEUED.with(|e| e.set(true));
    Ok(n)
}

/// Enqueues an event with a body fixed now (a ping) for one webhook,
/// whether or not it subscribes to it.
pub fn enqueue_to(
    conn: &mut Conn,
    webhook_id: i64,
    event: EventType,
    event_id: &str,
    payload: &str,
    created_at: i64,
) -> Result<DeliveryRow, StoreError> {
    must_get(conn, webhook_id)?;
    let row = diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(webhook_id),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event_type.eq(event.as_str()),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::next_attempt_at.eq(created_at),
            webhook_deliveries::created_at.eq(created_at),
        ))
        .returning(webhook_deliveries::all_columns)
        .get_result(conn)?;
    ENQUEUED.with(|e| e.set(true));
    Ok(row)
}

/// One delivery.
pub fn delivery(conn: &mut Conn, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
    Ok(webhook_deliveries::table
        .find(id)
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}

/// Sends a delivery again: a new outbox row for the same webhook with the
/// same event id and body (so a receiver that saw it dedupes it), due at
/// once and retried for a new day.
pub fn resend(conn: &mut Conn, delivery_id: i64, now: i64) -> Result<DeliveryRow, StoreError> {
    let old = delivery(conn, delivery_id)?
        .ok_or_else(|| StoreError::not_found(format!("no delivery {delivery_id}")))?;
    let row = diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(old.webhook_id),
            webhook_deliveries::event_id.eq(&old.event_id),
            webhook_deliveries::event_type.eq(&old.event_type),
            webhook_deliveries::subject_id.eq(old.subject_id),
            webhook_deliveries::payload.eq(&old.payload),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .returning(webhook_deliveries::all_columns)
        .get_result(conn)?;
    ENQUEUED.with(|e| e.set(true));
    Ok(row)
}

/// A delivery and its tries, oldest first.
pub type DeliveryLog = (DeliveryRow, Vec<AttemptRow>);

/// A page of a webhook's deliveries, newest first, each with its tries
/// (oldest first), and the total.
pub fn deliveries(
    conn: &mut Conn,
    webhook_id: i64,
    page: Page,
) -> Result<(i64, Vec<DeliveryLog>), StoreError> {
    must_get(conn, webhook_id)?;
    let of_webhook =
        webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(webhook_id));
    let count = of_webhook.count().get_result(conn)?;
    let rows: Vec<DeliveryRow> = of_webhook
        .order(webhook_deliveries::id.desc())
        .limit(page.page_size)
        .offset(page.offset())
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order(webhook_attempts::id.asc())
        .select(AttemptRow::as_select())
        .load(conn)?;
    let mut by_delivery: std::collections::HashMap<i64, Vec<AttemptRow>> = Default::default();
    for a in attempts {
        by_delivery.entry(a.delivery_id).or_default().push(a);
    }
    Ok((
        count,
        rows.into_iter()
            .map(|r| {
                let tries = by_delivery.remove(&r.id).unwrap_or_default();
                (r, tries)
            })
            .collect(),
    ))
}

/// A delivery claimed by this node, with where and how to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The outbox row.
    pub delivery: DeliveryRow,
    /// The webhook's URL now.
    pub url: String,
    /// The webhook's secret now.
    pub secret: String,
}

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims up to `limit` due deliveries of enabled webhooks for `node`
/// until `now + lease_ms`: rows nobody holds, or whose claim expired (a
/// node that died or stopped mid-try). On PostgreSQL the rows are picked
/// `FOR UPDATE SKIP LOCKED`, so nodes claiming at once take different
/// rows; on SQLite the single writer serializes claims. Call inside a
/// write transaction.
pub fn claim(
    conn: &mut Conn,
    node: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let due = "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
        WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND w.enabled";
    let sql = if conn.is_pg() {
        format!(
            "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2 WHERE id IN \
             ({due} AND d.next_attempt_at <= $3 AND (d.claimed_until IS NULL OR d.claimed_until < $4) \
             ORDER BY d.next_attempt_at, d.id LIMIT $5 FOR UPDATE OF d SKIP LOCKED) RETURNING id"
        )
    } else {
        format!(
            "UPDATE webhook_deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN \
             ({due} AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?) \
             ORDER BY d.next_attempt_at, d.id LIMIT ?) RETURNING id"
        )
    };
    let ids: Vec<i64> = diesel::sql_query(sql)
        .bind::<Text, _>(node)
        .bind::<BigInt, _>(now + lease_ms)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<ClaimedId>(conn)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(DeliveryRow, String, String)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order((
            webhook_deliveries::next_attempt_at.asc(),
            webhook_deliveries::id.asc(),
        ))
        .select((DeliveryRow::as_select(), webhooks::url, webhooks::secret))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, url, secret)| Claimed {
            delivery,
            url,
            secret,
        })
        .collect())
}

/// Fixes a delivery's body unless it already has one; answers the body
/// it has now (the first one written wins, so every try sends it).
pub fn fix_payload(conn: &mut Conn, delivery_id: i64, payload: &str) -> Result<String, StoreError> {
    diesel::update(
        webhook_deliveries::table
            .find(delivery_id)
            .filter(webhook_deliveries::payload.is_null()),
    )
    .set(webhook_deliveries::payload.eq(payload))
    .execute(conn)?;
    webhook_deliveries::table
        .find(delivery_id)
        .select(webhook_deliveries::payload)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten()
        .ok_or_else(|| StoreError::not_found(format!("no delivery {delivery_id}")))
}

/// What one try came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryResult {
    /// When it started (unix ms).
    pub at: i64,
    /// The HTTP status, if one came.
    pub status: Option<i32>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// What follows a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// A 2xx came: delivered at this time.
    Delivered(i64),
    /// Try again at this time.
    RetryAt(i64),
    /// No more tries: given up at this time.
    GiveUp(i64),
}

/// Logs a try and moves the delivery on (delivered, due again, or given
/// up), releasing the claim. Call inside a write transaction.
pub fn record(
    conn: &mut Conn,
    delivery_id: i64,
    tried: &TryResult,
    after: After,
) -> Result<(), StoreError> {
    diesel::insert_into(webhook_attempts::table)
        .values((
            webhook_attempts::delivery_id.eq(delivery_id),
            webhook_attempts::attempted_at.eq(tried.at),
            webhook_attempts::status.eq(tried.status),
            webhook_attempts::error.eq(&tried.error),
            webhook_attempts::duration_ms.eq(tried.duration_ms),
        ))
        .execute(conn)?;
    let row = webhook_deliveries::table.find(delivery_id);
    let common = (
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_status.eq(tried.status),
        webhook_deliveries::last_error.eq(&tried.error),
        webhook_deliveries::claimed_by.eq(None::<String>),
        webhook_deliveries::claimed_until.eq(None::<i64>),
    );
    match after {
        After::Delivered(at) => diesel::update(row)
            .set((common, webhook_deliveries::delivered_at.eq(at)))
            .execute(conn)?,
        After::RetryAt(at) => diesel::update(row)
            .set((common, webhook_deliveries::next_attempt_at.eq(at)))
            .execute(conn)?,
        After::GiveUp(at) => diesel::update(row)
            .set((common, webhook_deliveries::gave_up_at.eq(at)))
            .execute(conn)?,
    };
    Ok(())
}

/// Lets go of `node`'s claims (a node that stops), so another node may
/// take them at once instead of waiting for them to expire.
pub fn release(conn: &mut Conn, node: &str) -> Result<usize, StoreError> {
    Ok(diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::claimed_by.eq(node))
            .filter(webhook_deliveries::delivered_at.is_null())
            .filter(webhook_deliveries::gave_up_at.is_null()),
    )
    .set((
        webhook_deliveries::claimed_by.eq(None::<String>),
        webhook_deliveries::claimed_until.eq(None::<i64>),
    ))
    .execute(conn)?)
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    at: Option<i64>,
}

/// When the next pending delivery of an enabled webhook can be claimed
/// (it falls due, or the claim on it runs out), if any is pending: the
/// worker sleeps until then at most.
pub fn next_due(conn: &mut Conn) -> Result<Option<i64>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT min(CASE WHEN d.claimed_until IS NOT NULL AND d.claimed_until > d.next_attempt_at \
         THEN d.claimed_until ELSE d.next_attempt_at END) AS at \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND w.enabled",
    )
    .get_result::<Due>(conn)?
    .at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(events: &[EventType]) -> NewWebhook {
        NewWebhook {
            url: "http://127.0.0.1:9/hook".into(),
            events: events.to_vec(),
            secret: "whsec_0123456789abcdef".into(),
            enabled: true,
        }
    }

    crate::on_both_backends! {
    /// An event goes to the enabled subscribers only, under one id; a
    /// claim hands each due row to one node until it is recorded or its
    /// lease runs out.
    fn enqueue_claim_record(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let (a, b, off) = db
            .write_blocking(|c| {
                let a = create(c, &hook(&[EventType::MessageCreated]), 1)?;
                let b = create(c, &hook(&[EventType::MessageCreated, EventType::Ping]), 1)?;
                let mut disabled = hook(&[EventType::MessageCreated]);
                disabled.enabled = false;
                let off = create(c, &disabled, 1)?;
                Ok((a, b, off))
            })
            .unwrap();
        assert!(!take_enqueued());
        let n = db
            .write_blocking(|c| enqueue(c, EventType::MessageCreated, Some(7), 1_000))
            .unwrap();
        assert_eq!(n, 2);
        let none = db
            .write_blocking(|c| enqueue(c, EventType::ConversationCreated, Some(1), 1_000))
            .unwrap();
        assert_eq!(none, 0);
        let first = db
            .write_blocking(|c| claim(c, "node-a", 1_000, 30_000, 10))
            .unwrap();
        assert_eq!(first.len(), 2);
        let ids: Vec<i64> = first.iter().map(|c| c.delivery.webhook_id).collect();
        assert!(ids.contains(&a.id) && ids.contains(&b.id) && !ids.contains(&off.id));
        assert_eq!(first[0].delivery.event_id, first[1].delivery.event_id);
        assert!(first[0].delivery.event_id.starts_with("evt_"));
        let again = db
            .write_blocking(|c| claim(c, "node-b", 2_000, 30_000, 10))
            .unwrap();
        assert!(again.is_empty(), "claimed rows are not claimed twice");
        let d = first[0].delivery.id;
        db.write_blocking(move |c| {
            let body = fix_payload(c, d, "{\"x\":1}")?;
            assert_eq!(body, "{\"x\":1}");
            assert_eq!(fix_payload(c, d, "{\"x\":2}")?, "{\"x\":1}", "the first body stays");
            record(
                c,
                d,
                &TryResult { at: 2_000, status: Some(500), error: None, duration_ms: 3 },
                After::RetryAt(5_000),
            )
        })
        .unwrap();
        assert!(db.write_blocking(|c| claim(c, "node-b", 4_999, 30_000, 10)).unwrap().is_empty());
        let retried = db.write_blocking(|c| claim(c, "node-b", 5_000, 30_000, 10)).unwrap();
        assert_eq!(retried.len(), 1);
        assert_eq!(retried[0].delivery.attempts, 1);
        assert_eq!(retried[0].delivery.payload.as_deref(), Some("{\"x\":1}"));
        // The other row's claim by node-a expires: node-b takes it over.
        let expired = db.write_blocking(|c| claim(c, "node-b", 31_001, 30_000, 10)).unwrap();
        assert_eq!(expired.len(), 1);
        assert_ne!(expired[0].delivery.id, d);
        let (count, page) = db
            .read_blocking(|c| deliveries(c, first[0].delivery.webhook_id, Page::new(None, None, 20)?))
            .unwrap();
        assert_eq!(count, 1);
        assert_eq!(page[0].1.len(), usize::from(page[0].0.id == d));
        db.write_blocking(move |c| delete(c, a.id)).unwrap();
        assert!(db.read_blocking(move |c| get(c, a.id)).unwrap().is_none());
    }
    }

    fn pending(db: &crate::Db) -> Vec<(String, Option<i64>)> {
        db.read_blocking(|c| {
            Ok(webhook_deliveries::table
                .order(webhook_deliveries::id.asc())
                .select((
                    webhook_deliveries::event_type,
                    webhook_deliveries::subject_id,
                ))
                .load(c)?)
        })
        .unwrap()
    }

    crate::on_both_backends! {
    /// Sends, recalls and new conversations enqueue in their own
    /// transaction (a refused send leaves no delivery), and the commit
    /// wakes the worker.
    fn stored_events_are_enqueued_with_them(backend) {
        use livechat_domain::messages::MessageDraft;
        let (_guard, db) = crate::demo_db(backend);
        let signal = db.outbox_signal();
        let (conv, first) = db
            .write_blocking(|c| {
                let conv = crate::b1_m1(c)?;
                // Before any webhook: nothing is enqueued.
                crate::messages::send(c, &MessageDraft::text(conv.id, "b1", "before", 1))?;
                let first = create(c, &hook(&[
                    EventType::MessageCreated,
                    EventType::MessageRecalled,
                    EventType::ConversationCreated,
                ]), 1)?;
                Ok((conv, first))
            })
            .unwrap();
        assert!(pending(&db).is_empty());
        let sent = db
            .write_blocking(move |c| {
                match crate::messages::send(c, &MessageDraft::text(conv.id, "b1", "hi", 2))? {
                    crate::messages::SendOutcome::Created { message, .. } => Ok(message),
                    other => panic!("{other:?}"),
                }
            })
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), signal.notified())
                .await
                .expect("the commit woke the worker");
        });
        assert_eq!(pending(&db), vec![("message.created".to_string(), Some(sent.id))]);
        // A sender who is not a member is refused: no delivery stays.
        let refused = db.write_blocking(move |c| {
            crate::messages::send(c, &MessageDraft::text(conv.id, "b2", "intruder", 3))
        });
        assert!(refused.is_err());
        assert_eq!(pending(&db).len(), 1);
        db.write_blocking(move |c| {
            crate::messages::recall(c, &sent, 4)?;
            let sides = livechat_domain::Sides {
                customer_id: "b2".into(),
                agent_id: "m1".into(),
            };
            crate::conversations::get_or_create(c, &sides, "b2", 5)?;
            // Opening it again creates nothing.
            crate::conversations::get_or_create(c, &sides, "b2", 6)?;
            Ok(())
        })
        .unwrap();
        let kinds: Vec<String> = pending(&db).into_iter().map(|(t, _)| t).collect();
        assert_eq!(kinds, ["message.created", "message.recalled", "conversation.created"]);
        // A disabled webhook gets nothing.
        db.write_blocking(move |c| {
            update(c, first.id, &WebhookChanges { enabled: Some(false), ..Default::default() }, 7)?;
            crate::messages::send(c, &MessageDraft::text(conv.id, "m1", "quiet", 8))?;
            Ok(())
        })
        .unwrap();
        assert_eq!(pending(&db).len(), 3);
    }
    }
}
