//! `history`: the conversation list, history pages and search on a large
//! database, one request at a time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::Args;
use crate::client::{admin_token, http_client, session_tokens};
use crate::seed;
use crate::server::ServerProc;
use crate::stats::{hist, record, summary, LatencySummary};
use crate::Res;

use super::{round, Ctx, ADMIN};

/// Options of `history`.
#[derive(Debug, Clone)]
pub struct HistoryOpts {
    pub messages: usize,
    pub conversations: usize,
    pub long: usize,
    pub merchant_conversations: usize,
    pub requests: usize,
    pub budget_secs: u64,
    /// A PostgreSQL server's admin URL: run on a throw-away database there
    /// instead of a SQLite file.
    pub postgres: Option<String>,
}

impl HistoryOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            messages: a.get("messages", 1_000_000)?,
            conversations: a.get("conversations", 100_000)?,
            long: a.get("long", 100_000)?,
            merchant_conversations: a.get("merchant-conversations", 10_000)?,
            requests: a.get("requests", 300)?,
            budget_secs: a.get("budget", 15)?,
            postgres: Some(a.str("postgres", "")).filter(|u| !u.is_empty()),
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen history --messages {} --conversations {} --long {} --merchant-conversations {} --requests {} --budget {}",
            self.messages, self.conversations, self.long, self.merchant_conversations, self.requests, self.budget_secs
        ) + &self.postgres.as_ref().map(|u| format!(" --postgres {u}")).unwrap_or_default()
    }
}

/// The result of `history`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryResult {
    /// Always `history`.
    pub scenario: String,
    pub command: String,
    pub messages: usize,
    pub conversations: usize,
    pub long_conversation_messages: usize,
    pub merchant_conversations: usize,
    pub buyers: usize,
    pub merchants: usize,
    pub build_secs: f64,
    /// Of `build_secs`, filling the search indexes after the inserts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_index_secs: Option<f64>,
    /// `postgres` when run on PostgreSQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    pub database_bytes: u64,
    /// What each timed request is.
    pub queries: PerQuery<String>,
    pub results: PerQuery<QueryResult>,
    pub server_log_lines: usize,
    /// How long after a send's answer its message was first found by a
    /// search (every probe a message with a word of its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_lag: Option<LatencySummary>,
}

/// One value per kind of timed request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PerQuery<T> {
    pub conversation_list: T,
    pub history_newest_page: T,
    pub history_deep_page: T,
    /// Chinese, 3+ characters.
    pub search_3plus_chars: T,
    /// Chinese, 2 characters.
    pub search_2_chars: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_3plus_chars_en: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_2_chars_en: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_1_char: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_1_char_en: Option<T>,
}

impl<T> PerQuery<T> {
    /// The search rows in the order they are shown, with a label each.
    pub fn searches(&self) -> Vec<(&'static str, &T)> {
        let mut rows = vec![("≥ 3 chars, Chinese", &self.search_3plus_chars)];
        rows.extend(
            self.search_3plus_chars_en
                .as_ref()
                .map(|r| ("≥ 3 chars, English", r)),
        );
        rows.push(("2 chars, Chinese", &self.search_2_chars));
        rows.extend(
            self.search_2_chars_en
                .as_ref()
                .map(|r| ("2 chars, English", r)),
        );
        rows.extend(self.search_1_char.as_ref().map(|r| ("1 char, Chinese", r)));
        rows.extend(
            self.search_1_char_en
                .as_ref()
                .map(|r| ("1 char, English", r)),
        );
        rows
    }
}

/// Timings of one kind of request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryResult {
    #[serde(flatten)]
    pub latency: LatencySummary,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// The `count` field of the first answer that had one.
    pub count_in_answer: Option<u64>,
}

/// The searched words (see the phrases in `seed.rs`): three or more
/// characters go through the FTS5 trigram index, one or two through the
/// short-gram index. Each is in at least one phrase of 40.
const SEARCH_3: &str = "退款申请";
const SEARCH_3_EN: &str = "address";
const SEARCH_2: &str = "发票";
const SEARCH_2_EN: &str = "to";
const SEARCH_1: &str = "货";
const SEARCH_1_EN: &str = "a";

/// Times sequential GETs of one kind (one at a time: the latency of a
/// single request, not of a queue).
async fn time_requests(
    http: &reqwest::Client,
    token: &str,
    urls: &[String],
    requests: usize,
    budget: Duration,
) -> Res<QueryResult> {
    let mut h = hist()?;
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut count_in_answer = None;
    // Warm-up: the first requests fill SQLite's page cache.
    for url in urls.iter().cycle().take(5) {
        let res = http.get(url).bearer_auth(token).send().await?;
        let body: Value = res.json().await?;
        if count_in_answer.is_none() {
            count_in_answer = body["count"].as_u64();
        }
    }
    let started = Instant::now();
    for url in urls.iter().cycle().take(requests) {
        if started.elapsed() > budget {
            break;
        }
        let t = Instant::now();
        let res = http.get(url).bearer_auth(token).send().await?;
        let status = res.status().as_u16();
        let _ = res.bytes().await?;
        record(&mut h, t.elapsed().as_micros() as u64);
        *statuses.entry(status.to_string()).or_default() += 1;
    }
    Ok(QueryResult {
        latency: summary(&h),
        statuses,
        count_in_answer,
    })
}

/// Deep cursors: 64 `before_id` pages from the older half of conversation 1
/// (5% to 50% of the way back from its oldest message).
fn deep_page_urls(base: &str, long_ids: &[i64]) -> Vec<String> {
    let len = long_ids.len();
    let (lo, hi) = (len / 20, (len / 2).max(len / 20 + 1));
    (0..64)
        .map(|k| {
            let idx = lo + (k * 7_919) % (hi - lo);
            let id = long_ids.get(idx).copied().unwrap_or(1);
            format!("{base}/api/conversations/1/messages?page_size=50&before_id={id}")
        })
        .collect()
}

fn search_url(base: &str, q: &str) -> String {
    let mut u = reqwest::Url::parse(&format!("{base}/api/messages/")).ok();
    if let Some(u) = u.as_mut() {
        u.query_pairs_mut().append_pair("q", q);
    }
    u.map(|u| u.to_string()).unwrap_or_default()
}

fn query_descriptions() -> PerQuery<String> {
    PerQuery {
        conversation_list: "GET /api/conversations/?page_size=20 as merchant m0 (10,000 conversations)".into(),
        history_newest_page: "GET /api/conversations/1/messages?page_size=50 as b0 (100,000-message conversation)".into(),
        history_deep_page: "GET /api/conversations/1/messages?page_size=50&before_id=<an id in the older half> as b0".into(),
        search_3plus_chars: format!("GET /api/messages/?q={SEARCH_3} as admin (FTS5 trigram from 3 characters)"),
        search_2_chars: format!("GET /api/messages/?q={SEARCH_2} as admin (short-gram index under 3 characters)"),
        search_3plus_chars_en: Some(format!("GET /api/messages/?q={SEARCH_3_EN} as admin")),
        search_2_chars_en: Some(format!("GET /api/messages/?q={SEARCH_2_EN} as admin")),
        search_1_char: Some(format!("GET /api/messages/?q={SEARCH_1} as admin")),
        search_1_char_en: Some(format!("GET /api/messages/?q={SEARCH_1_EN} as admin")),
    }
}

/// Times every kind of request, in turn, as merchant m0, buyer b0 or the
/// admin.
async fn time_all(
    server: &ServerProc,
    o: &HistoryOpts,
    long_ids: &[i64],
) -> Res<PerQuery<QueryResult>> {
    let base = server.base();
    let http = http_client(4)?;
    let tokens = session_tokens(&http, &base, &["m0".to_string(), "b0".to_string()], 2).await?;
    let token = |id: &str| {
        tokens
            .iter()
            .find(|(u, _)| u == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let (merchant, buyer) = (token("m0"), token("b0"));
    let admin = admin_token(&http, &base, ADMIN.1, ADMIN.2).await?;
    let time = |token: &str, urls: Vec<String>| {
        let (http, token) = (http.clone(), token.to_string());
        let budget = Duration::from_secs(o.budget_secs);
        async move { time_requests(&http, &token, &urls, o.requests, budget).await }
    };
    Ok(PerQuery {
        conversation_list: time(
            &merchant,
            vec![format!("{base}/api/conversations/?page_size=20")],
        )
        .await?,
        history_newest_page: time(
            &buyer,
            vec![format!("{base}/api/conversations/1/messages?page_size=50")],
        )
        .await?,
        history_deep_page: time(&buyer, deep_page_urls(&base, long_ids)).await?,
        search_3plus_chars: time(&admin, vec![search_url(&base, SEARCH_3)]).await?,
        search_2_chars: time(&admin, vec![search_url(&base, SEARCH_2)]).await?,
        search_3plus_chars_en: Some(time(&admin, vec![search_url(&base, SEARCH_3_EN)]).await?),
        search_2_chars_en: Some(time(&admin, vec![search_url(&base, SEARCH_2_EN)]).await?),
        search_1_char: Some(time(&admin, vec![search_url(&base, SEARCH_1)]).await?),
        search_1_char_en: Some(time(&admin, vec![search_url(&base, SEARCH_1_EN)]).await?),
    })
}

/// Probes sent to measure how far search lags behind a send.
const LAG_PROBES: usize = 50;

/// Sends `LAG_PROBES` messages as b0 (one at a time), each with a word of
/// its own, and after each send's answer searches for that word as the
/// admin until it is found: the time from the answer to the first search
/// that finds it.
async fn search_lag(server: &ServerProc) -> Res<LatencySummary> {
    let base = server.base();
    let http = http_client(2)?;
    let tokens = session_tokens(&http, &base, &["b0".to_string()], 1).await?;
    let buyer = tokens.first().map(|(_, t)| t.clone()).unwrap_or_default();
    let admin = admin_token(&http, &base, ADMIN.1, ADMIN.2).await?;
    let mut h = hist()?;
    let deadline = Duration::from_secs(10);
    for i in 0..LAG_PROBES {
        let word = format!("lagprobe{i}x{}", crate::stats::now_us());
        let res = http
            .post(format!("{base}/api/messages/"))
            .bearer_auth(&buyer)
            .json(&serde_json::json!({
                "conversation_id": 1,
                "message_type": "text",
                "content": format!("search lag {word}"),
            }))
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(format!("lag probe send answered {}", res.status()).into());
        }
        let sent = Instant::now();
        let url = search_url(&base, &word);
        loop {
            let body: Value = http
                .get(&url)
                .bearer_auth(&admin)
                .send()
                .await?
                .json()
                .await?;
            if body["count"].as_u64().unwrap_or(0) > 0 {
                record(&mut h, sent.elapsed().as_micros() as u64);
                break;
            }
            if sent.elapsed() > deadline {
                return Err(format!("lag probe {i} not found within {deadline:?}").into());
            }
        }
    }
    Ok(summary(&h))
}

/// A large database (by default 1,000,000 messages, one conversation of
/// 100,000); p50/p99 of the conversation list, newest and deep history
/// pages and search.
pub async fn history(ctx: &Ctx, o: &HistoryOpts) -> Res<HistoryResult> {
    let dir = ctx.dir("history")?;
    let db_path = dir.join("bench.db");
    let shape = seed::HistoryShape {
        messages: o.messages,
        conversations: o.conversations,
        long: o.long,
        merchant_conversations: o.merchant_conversations,
        other_merchants: 99,
    };
    let pg = match &o.postgres {
        Some(admin) => Some(super::cluster::ThrowAwayDb::create(
            admin,
            &format!("history_{:x}", crate::stats::now_us() & 0xffff_ffff),
        )?),
        None => None,
    };
    let url = pg
        .as_ref()
        .map_or_else(|| db_path.display().to_string(), |d| d.url.clone());
    let run = history_on(ctx, o, &dir, &db_path, &url, shape).await;
    if let Some(pg) = &pg {
        pg.drop_now();
    }
    run
}

async fn history_on(
    ctx: &Ctx,
    o: &HistoryOpts,
    dir: &std::path::Path,
    db_path: &std::path::Path,
    url: &str,
    shape: seed::HistoryShape,
) -> Res<HistoryResult> {
    let built = seed::history_db_at(url, shape)?;
    livechat_server::admin_tools::create_admin(&built.db, ADMIN.0, ADMIN.1, ADMIN.2, 4)
        .map_err(|e| e.to_string())?;
    let db_bytes = if built.db.is_pg() {
        pg_database_bytes(&built.db)?
    } else {
        seed::checkpoint(&built.db)?;
        0
    };
    let (build_secs, buyers, merchants) = (built.secs, built.buyers, built.merchants);
    let index_secs = built.index_secs;
    let long_ids = built.long_ids;
    built.db.close();
    drop(built.db);
    let db_bytes = if o.postgres.is_some() {
        db_bytes
    } else {
        seed::file_size(db_path)
    };
    let extra: Vec<(&str, String)> = if o.postgres.is_some() {
        vec![("DATABASE_URL", url.to_string())]
    } else {
        Vec::new()
    };
    let server = ServerProc::start_with(
        &ctx.server_bin,
        &ctx.config_dir,
        dir,
        db_path,
        "server.log",
        &extra,
    )
    .await?;
    let results = time_all(&server, o, &long_ids).await?;
    let lag = search_lag(&server).await?;
    let log_lines = server.log_lines();
    server.stop().await?;
    Ok(HistoryResult {
        scenario: "history".into(),
        command: o.command(),
        messages: o.messages,
        conversations: o.conversations,
        long_conversation_messages: long_ids.len(),
        merchant_conversations: o.merchant_conversations,
        buyers,
        merchants,
        build_secs: round(build_secs, 1),
        search_index_secs: Some(round(index_secs, 1)),
        backend: o.postgres.as_ref().map(|_| "postgres".to_string()),
        database_bytes: db_bytes,
        queries: query_descriptions(),
        results,
        server_log_lines: log_lines,
        search_lag: Some(lag),
    })
}

#[derive(diesel::QueryableByName)]
struct Bytes {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

/// The PostgreSQL database's size on disk.
fn pg_database_bytes(db: &livechat_store::Db) -> Res<u64> {
    let b: Bytes = db.read_blocking(|c| {
        Ok(diesel::RunQueryDsl::get_result(
            diesel::sql_query("SELECT pg_database_size(current_database()) AS bytes"),
            c,
        )?)
    })?;
    Ok(b.bytes.max(0) as u64)
}
