//! The admin dashboard's figures: `GET /api/admin/stats`.
//!
//! Definitions (first response, medians, buckets, time zone) are in
//! `docs/statistics.md`; the computation is `livechat_store::stats`. This
//! module turns the range into buckets of local hours or days in the
//! configured time zone, and adds presence from the hub.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use livechat_domain::Role;
use livechat_store::stats::Figures;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// The longest range one request may ask for, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The latest time a range may name: the last millisecond of 9999 (UTC);
/// the earliest is 0, 1970-01-01.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
/// Ranges up to this many days are counted per hour; longer ones per day.
pub const HOURLY_UP_TO_DAYS: i64 = 7;

/// The range of the figures.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StatsParams {
    /// Start, inclusive (unix ms, 0 to the end of 9999). Default: the start of today in the
    /// statistics time zone.
    pub from: Option<i64>,
    /// End, exclusive (unix ms). Default: the end of today in the
    /// statistics time zone. At most 366 days after `from`.
    pub to: Option<i64>,
}

/// The size of the `messages_per_hour` buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketSize {
    /// Local clock hours (ranges up to 7 days).
    Hour,
    /// Local calendar days (longer ranges).
    Day,
}

/// Messages sent in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BucketCount {
    /// Where the local hour (or day) starts, unix ms; the first bucket may
    /// start before `from`, but only messages in the range are counted.
    pub hour_start: i64,
    pub count: i64,
}

/// A number per role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RoleCounts {
    pub buyer: i64,
    pub merchant: i64,
    pub platform: i64,
    pub admin: i64,
}

impl Stats {
    /// The answer from the store's figures over `range`, bucketed at
    /// `starts`, with the online users' counts beside them.
    fn new(
        tz: Tz,
        (from, to, bucket): (i64, i64, BucketSize),
        starts: &[i64],
        figures: Figures,
        users_online: RoleCounts,
    ) -> Self {
        Stats {
            timezone: tz.name().to_string(),
            from,
            to,
            messages_total: figures.messages_total,
            messages_in_range: figures.messages_in_range,
            messages_today: figures.messages_today,
            bucket,
            messages_per_hour: starts
                .iter()
                .zip(&figures.buckets)
                .map(|(&hour_start, &count)| BucketCount { hour_start, count })
                .collect(),
            active_conversations: figures.active_conversations,
            calls_answered: figures.calls_answered,
            calls_missed: figures.calls_missed,
            users_online,
            users_total: RoleCounts::of(figures.users_by_role.iter().copied()),
            first_response: figures
                .first_response
                .into_iter()
                .map(|a| FirstResponse {
                    agent_id: a.agent_id,
                    agent_name: a.agent_name,
                    role: a.role.map(Role::as_str),
                    waits: a.summary.waits,
                    average_ms: a.summary.average_ms,
                    median_ms: a.summary.median_ms,
                })
                .collect(),
        }
    }
}

impl RoleCounts {
    /// Sums `(role, count)` pairs.
    fn of(counts: impl IntoIterator<Item = (Role, i64)>) -> Self {
        let mut all = Self::default();
        for (role, n) in counts {
            all.add(role, n);
        }
        all
    }

    fn add(&mut self, role: Role, n: i64) {
        match role {
            Role::Buyer => self.buyer += n,
            Role::Merchant => self.merchant += n,
            Role::Platform => self.platform += n,
            Role::Admin => self.admin += n,
        }
    }
}

/// One agent's first-response times over the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FirstResponse {
    pub agent_id: String,
    pub agent_name: String,
    /// merchant or platform (null if the user is gone).
    pub role: Option<&'static str>,
    /// Answered waits opened in the range.
    pub waits: i64,
    /// Mean wait, ms, rounded down.
    pub average_ms: i64,
    /// Median wait, ms; for an even count the mean of the two middle waits, rounded down.
    pub median_ms: i64,
}

/// The dashboard's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    /// The IANA time zone that "today", hours and days are counted in.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    /// Range start, inclusive (ms).
    pub from: i64,
    /// Range end, exclusive (ms).
    pub to: i64,
    /// Messages ever sent.
    pub messages_total: i64,
    /// Messages sent in the range.
    pub messages_in_range: i64,
    /// Messages sent today (in `timezone`), whatever the range.
    pub messages_today: i64,
    /// The size of the buckets of `messages_per_hour`: `hour` for ranges up
    /// to 7 days, `day` beyond.
    pub bucket: BucketSize,
    /// Messages per bucket, every bucket of the range, zeros included.
    pub messages_per_hour: Vec<BucketCount>,
    /// Conversations with at least one message in the range.
    pub active_conversations: i64,
    /// Calls in the range that were answered (completed, or failed after answering).
    pub calls_answered: i64,
    /// Calls in the range nobody answered.
    pub calls_missed: i64,
    /// Users with an open WebSocket now, per role.
    pub users_online: RoleCounts,
    /// Users per role (every status).
    pub users_total: RoleCounts,
    /// Per agent with at least one answered wait in the range, by agent id.
    pub first_response: Vec<FirstResponse>,
}

/// The instant `ms` in `tz` (None outside chrono's range).
fn local(tz: Tz, ms: i64) -> Option<DateTime<Tz>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz))
}

/// The start of the local clock hour holding `ms`. Offsets change on
/// (quarter-)hour boundaries, so within an hour the local minutes and
/// seconds are the time since the hour began.
pub fn hour_start(tz: Tz, ms: i64) -> i64 {
    match local(tz, ms) {
        Some(t) => {
            ms - i64::from(t.minute()) * MINUTE
                - i64::from(t.second()) * 1000
                - i64::from(t.timestamp_subsec_millis())
        }
        None => ms - ms.rem_euclid(HOUR),
    }
}

/// The start of the local calendar day holding `ms`: local midnight, its
/// first occurrence when the clock repeats, or when a DST change skips
/// midnight the first minute that exists.
pub fn day_start(tz: Tz, ms: i64) -> i64 {
    let Some(t) = local(tz, ms) else {
        return ms - ms.rem_euclid(DAY);
    };
    let midnight = t.date_naive().and_time(chrono::NaiveTime::MIN);
    for minutes in 0..=(26 * 60) {
        let candidate = midnight + chrono::Duration::minutes(minutes);
        if let Some(start) = tz.from_local_datetime(&candidate).earliest() {
            return start.timestamp_millis().min(ms);
        }
    }
    ms - ms.rem_euclid(DAY)
}

/// The start of the local day after the one starting at `start` (local days
/// last 23 to 25 hours, so 25 hours on is always inside the next one).
pub fn next_day_start(tz: Tz, start: i64) -> i64 {
    day_start(tz, start + 25 * HOUR)
}

/// Today in `tz`, as `[start, end)`.
pub fn today(tz: Tz, now: i64) -> (i64, i64) {
    let start = day_start(tz, now);
    (start, next_day_start(tz, start))
}

/// The starts of every bucket that meets `[from, to)`, ascending.
pub fn bucket_starts(tz: Tz, size: BucketSize, from: i64, to: i64) -> Vec<i64> {
    let mut starts = Vec::new();
    let mut at = match size {
        BucketSize::Hour => hour_start(tz, from),
        BucketSize::Day => day_start(tz, from),
    };
    while at < to {
        starts.push(at);
        let next = match size {
            BucketSize::Hour => hour_start(tz, at + HOUR),
            BucketSize::Day => next_day_start(tz, at),
        };
        // A safeguard: time must move on.
        at = next.max(at + MINUTE);
    }
    starts
}

/// Resolves and checks the requested range; answers it and the bucket size.
pub fn resolve_range(
    tz: Tz,
    now: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<(i64, i64, BucketSize), ApiError> {
    for (name, value) in [("from", from), ("to", to)] {
        if let Some(v) = value {
            if !(0..=MAX_TIME_MS).contains(&v) || local(tz, v).is_none() {
                return Err(ApiError::Validation(format!(
                    "`{name}` is not a usable time: {v} (unix ms from 0 to {MAX_TIME_MS})"
                )));
            }
        }
    }
    let (today_start, today_end) = today(tz, now);
    let from = from.unwrap_or(today_start);
    let to = to.unwrap_or(today_end);
    if from >= to {
        return Err(ApiError::Validation(format!(
            "`from` ({from}) must be before `to` ({to})"
        )));
    }
    if to - from > MAX_RANGE_DAYS * DAY {
        return Err(ApiError::Validation(format!(
            "the range may span at most {MAX_RANGE_DAYS} days"
        )));
    }
    let size = if to - from > HOURLY_UP_TO_DAYS * DAY {
        BucketSize::Day
    } else {
        BucketSize::Hour
    };
    Ok((from, to, size))
}

/// The dashboard's figures over `[from, to)` (default: today in the
/// configured time zone): message counts per hour (per day beyond 7 days),
/// active conversations, users online and in total per role, and each
/// agent's first-response times. See docs/statistics.md.
#[utoipa::path(tag = "admin", params(StatsParams),
    responses((status = 200, body = Stats), (status = 401, description = "no or bad token"),
        (status = 403, description = "not an administrator"),
        (status = 422, description = "from ≥ to, or a range over 366 days")))]
#[get("/api/admin/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<StatsParams>,
) -> ApiResult<HttpResponse> {
    let tz = state.settings.stats_timezone;
    let now = livechat_domain::now_ms();
    let (from, to, size) = resolve_range(tz, now, query.from, query.to)?;
    let today = today(tz, now);
    let starts = bucket_starts(tz, size, from, to);
    let online = state.hub.online_users().await.map_err(ApiError::internal)?;
    let bucket_starts = starts.clone();
    let (figures, online_users): (Figures, _) = state
        .db
        .read(move |c| {
            let figures = livechat_store::stats::figures(c, from, to, today, &bucket_starts)?;
            let online_users = livechat_store::users::get_many(c, &online)?;
            Ok((figures, online_users))
        })
        .await?;
    let users_online = RoleCounts::of(online_users.iter().map(|u| (u.role, 1)));
    let body = Stats::new(tz, (from, to, size), &starts, figures, users_online);
    Ok(HttpResponse::Ok().json(body))
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(stats);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ms(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn today_is_local_midnight_to_midnight() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-03-10 01:30 in Shanghai is 2026-03-09 17:30 UTC.
        let now = ms(tz, 2026, 3, 10, 1, 30);
        assert_eq!(
            today(tz, now),
            (ms(tz, 2026, 3, 10, 0, 0), ms(tz, 2026, 3, 11, 0, 0))
        );
        assert_eq!(ms(tz, 2026, 3, 10, 0, 0), 1_773_072_000_000);
    }

    #[test]
    fn hours_follow_the_local_clock() {
        let tz = chrono_tz::Asia::Kolkata; // +05:30
        let from = ms(tz, 2026, 1, 1, 10, 20);
        let to = ms(tz, 2026, 1, 1, 13, 0);
        assert_eq!(
            bucket_starts(tz, BucketSize::Hour, from, to),
            vec![
                ms(tz, 2026, 1, 1, 10, 0),
                ms(tz, 2026, 1, 1, 11, 0),
                ms(tz, 2026, 1, 1, 12, 0)
            ]
        );
    }

    #[test]
    fn daylight_saving_days_have_23_and_25_hours() {
        let tz = chrono_tz::Europe::Berlin;
        // Spring forward on 2026-03-29, fall back on 2026-10-25.
        let spring = ms(tz, 2026, 3, 29, 0, 0);
        let days = bucket_starts(tz, BucketSize::Hour, spring, next_day_start(tz, spring));
        assert_eq!(days.len(), 23);
        let autumn = ms(tz, 2026, 10, 25, 0, 0);
        let hours = bucket_starts(tz, BucketSize::Hour, autumn, next_day_start(tz, autumn));
        assert_eq!(hours.len(), 25);
        assert!(hours.windows(2).all(|w| w[1] - w[0] == HOUR));
        let days = bucket_starts(
            tz,
            BucketSize::Day,
            ms(tz, 2026, 3, 28, 12, 0),
            ms(tz, 2026, 3, 31, 0, 0),
        );
        assert_eq!(
            days,
            vec![
                ms(tz, 2026, 3, 28, 0, 0),
                ms(tz, 2026, 3, 29, 0, 0),
                ms(tz, 2026, 3, 30, 0, 0)
            ]
        );
        assert_eq!(days[2] - days[1], 23 * HOUR);
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_when_the_clock_resumes() {
        // Chile's spring change skips 2026-09-06 00:00 → 01:00.
        let tz = chrono_tz::America::Santiago;
        let noon = ms(tz, 2026, 9, 6, 12, 0);
        assert_eq!(day_start(tz, noon), ms(tz, 2026, 9, 6, 1, 0));
        assert_eq!(noon - day_start(tz, noon), 11 * HOUR);
    }

    #[test]
    fn ranges_are_checked() {
        let tz = chrono_tz::Asia::Shanghai;
        let now = ms(tz, 2026, 3, 10, 1, 30);
        let (from, to, size) = resolve_range(tz, now, None, None).unwrap();
        assert_eq!(
            (from, to, size),
            (today(tz, now).0, today(tz, now).1, BucketSize::Hour)
        );
        assert!(resolve_range(tz, now, Some(10), Some(10)).is_err());
        assert!(resolve_range(tz, now, Some(11), Some(10)).is_err());
        assert!(resolve_range(tz, now, Some(0), Some(366 * DAY)).is_ok());
        assert!(resolve_range(tz, now, Some(0), Some(366 * DAY + 1)).is_err());
        assert!(resolve_range(tz, now, Some(i64::MIN), Some(0)).is_err());
        assert_eq!(
            resolve_range(tz, now, Some(0), Some(7 * DAY)).unwrap().2,
            BucketSize::Hour
        );
        assert_eq!(
            resolve_range(tz, now, Some(0), Some(7 * DAY + 1))
                .unwrap()
                .2,
            BucketSize::Day
        );
    }
}
