//! The admin dashboard's figures: message counts over a time range, active
//! conversations, users per role, and first-response times per agent.
//!
//! The first-response rule is a pure function over messages reduced to
//! [`Point`]s ([`first_response_waits`], [`summarize`]), so it is tested
//! without a database; [`figures`] loads the points of one range with a
//! single query and computes everything else from them.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::db::Conn;
use crate::error::StoreError;
use crate::schema::messages;

/// One message, reduced to what the figures need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Point {
    /// Its conversation.
    #[diesel(sql_type = BigInt)]
    pub conversation_id: i64,
    /// Sent by the agent side (the merchant, or the platform) of its conversation.
    #[diesel(sql_type = Bool)]
    pub sender_is_agent: bool,
    /// Sent at (ms).
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
    /// Its id: the order of a conversation's messages.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

/// A customer's wait that the agent side answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Its conversation.
    pub conversation_id: i64,
    /// When the customer message that opened it was sent (ms).
    pub opened_at: i64,
    /// When the agent side's next message was sent (ms).
    pub answered_at: i64,
}

impl Wait {
    /// How long the customer waited (ms; never negative, even if clocks were).
    pub fn wait_ms(&self) -> i64 {
        (self.answered_at - self.opened_at).max(0)
    }
}

/// The answered waits of the range `[from, to)`.
///
/// A customer message opens a wait when the message before it in its
/// conversation (by id) is from the agent side, or when there is none; the
/// customer messages that follow it before a reply open nothing. The wait
/// ends at the agent side's next message. A wait counts when its opening
/// message is in `[from, to)` and its answer is before `to`: waits still
/// open at `to` are left out, and so are waits opened before `from` (even
/// when answered in the range).
///
/// `points` are the messages of the range plus, for each conversation, the
/// last message before `from` (to tell whether the first customer message
/// in the range opens a wait); points at or after `to` are ignored. Any
/// order; the answer is sorted by conversation, then opening time.
pub fn first_response_waits(points: &[Point], from: i64, to: i64) -> Vec<Wait> {
    let mut sorted: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.created_at < to)
        .collect();
    sorted.sort_by_key(|p| (p.conversation_id, p.id));
    let mut waits = Vec::new();
    let mut conversation = None;
    // The previous message's side in this conversation (None: no message yet).
    let mut previous_is_agent: Option<bool> = None;
    // When the open wait, if any, started.
    let mut open: Option<i64> = None;
    for p in sorted {
        if conversation != Some(p.conversation_id) {
            conversation = Some(p.conversation_id);
            previous_is_agent = None;
            open = None;
        }
        let in_range = p.created_at >= from;
        if p.sender_is_agent {
            if let Some(opened_at) = open.take() {
                waits.push(Wait {
                    conversation_id: p.conversation_id,
                    opened_at,
                    answered_at: p.created_at,
                });
            }
        } else if in_range && previous_is_agent != Some(false) {
            open = Some(p.created_at);
        }
        previous_is_agent = Some(p.sender_is_agent);
    }
    waits
}

/// Average and median of some waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// How many waits.
    pub waits: i64,
    /// Their mean (ms, rounded down).
    pub average_ms: i64,
    /// Their median (ms): the middle value, or for an even count the mean
    /// of the two middle values rounded down.
    pub median_ms: i64,
}

/// Average and median of `waits_ms`; `None` when there are none.
pub fn summarize(waits_ms: &[i64]) -> Option<Summary> {
    if waits_ms.is_empty() {
        return None;
    }
    let mut sorted = waits_ms.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let sum: i128 = sorted.iter().map(|&w| i128::from(w)).sum();
    let average = sum.div_euclid(n as i128);
    let median = if n % 2 == 1 {
        i128::from(sorted[n / 2])
    } else {
        (i128::from(sorted[n / 2 - 1]) + i128::from(sorted[n / 2])).div_euclid(2)
    };
    Some(Summary {
        waits: n as i64,
        average_ms: i64::try_from(average).unwrap_or(i64::MAX),
        median_ms: i64::try_from(median).unwrap_or(i64::MAX),
    })
}

/// How many of `points` fall in each bucket. Bucket `i` spans
/// `[starts[i], starts[i + 1])`, the last one up to `to`; `starts` must be
/// ascending. Points outside `[from, to)` are not counted.
pub fn bucket_counts(points: &[Point], starts: &[i64], from: i64, to: i64) -> Vec<i64> {
    let mut counts = vec![0; starts.len()];
    for p in points {
        if p.created_at < from || p.created_at >= to {
            continue;
        }
        // The last bucket starting at or before the message.
        let i = starts.partition_point(|&s| s <= p.created_at);
        if i > 0 {
            counts[i - 1] += 1;
        }
    }
    counts
}

/// An agent's first-response figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentResponse {
    /// The agent (merchant or platform user).
    pub agent_id: String,
    /// Their username (empty if the user is gone).
    pub agent_name: String,
    /// Their role (none if the user is gone).
    pub role: Option<livechat_domain::Role>,
    /// Their waits' figures.
    pub summary: Summary,
}

/// Everything the dashboard shows that the database knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// Messages ever.
    pub messages_total: i64,
    /// Messages in `[from, to)`.
    pub messages_in_range: i64,
    /// Messages in the `today` range.
    pub messages_today: i64,
    /// Messages per bucket, in the order of the bucket starts given.
    pub buckets: Vec<i64>,
    /// Conversations with at least one message in the range.
    pub active_conversations: i64,
    /// Calls in the range that were answered (completed or failed).
    pub calls_answered: i64,
    /// Calls in the range nobody answered.
    pub calls_missed: i64,
    /// Users per role (every status), as `(role, count)`.
    pub users_by_role: Vec<(livechat_domain::Role, i64)>,
    /// First-response figures of every agent with an answered wait in the
    /// range, by agent id.
    pub first_response: Vec<AgentResponse>,
}

/// A point with its conversation's agent, as loaded.
#[derive(Debug, Clone, QueryableByName)]
struct AgentPoint {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    agent_id: Option<String>,
    #[diesel(embed)]
    point: Point,
}

/// The messages of `[from, to)` and, for each conversation among them, the
/// message before its first one in the range, with their conversation's
/// agent (null in a group, which has no sides and no first-response
/// figures). System messages (membership changes) are nobody's words and
/// are left out.
///
/// The first half reads the range through the `messages_created` index;
/// the second finds each active conversation's previous message with one
/// step back along `messages_conversation` (conversation, id). Unordered:
/// [`first_response_waits`] sorts.
const POINTS_SQL: &str = "
SELECT m.conversation_id AS conversation_id, c.merchant_id AS agent_id,
       COALESCE(m.sender_id = c.merchant_id, FALSE) AS sender_is_agent, m.created_at AS created_at, m.id AS id
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.created_at >= ?1 AND m.created_at < ?2 AND m.message_type <> 'system'
UNION ALL
SELECT m.conversation_id, c.merchant_id, COALESCE(m.sender_id = c.merchant_id, FALSE), m.created_at, m.id
FROM (SELECT conversation_id AS cid, min(id) AS first_id FROM messages
      WHERE created_at >= ?1 AND created_at < ?2 AND message_type <> 'system'
      GROUP BY conversation_id) AS a
JOIN conversations c ON c.id = a.cid
JOIN messages m ON m.id = (
    SELECT max(p.id) FROM messages p
    WHERE p.conversation_id = a.cid AND p.id < a.first_id AND p.message_type <> 'system')";

/// Call records of `[from, to)` that ended with one of `outcomes`.
fn calls_between(
    conn: &mut Conn,
    from: i64,
    to: i64,
    outcomes: &[&str],
) -> Result<i64, StoreError> {
    Ok(messages::table
        .filter(messages::message_type.eq("call"))
        .filter(messages::created_at.ge(from))
        .filter(messages::created_at.lt(to))
        .filter(messages::call_outcome.eq_any(outcomes))
        .count()
        .get_result(conn)?)
}

fn count_between(conn: &mut Conn, from: i64, to: i64) -> Result<i64, StoreError> {
    Ok(messages::table
        .filter(messages::created_at.ge(from))
        .filter(messages::created_at.lt(to))
        .count()
        .get_result(conn)?)
}

/// The dashboard's figures for `[from, to)`, with messages counted per
/// bucket (`bucket_starts`, ascending; see [`bucket_counts`]) and "today"
/// being `today` (`[start, end)`). Runs in one read transaction, so every
/// figure sees the same data.
pub fn figures(
    conn: &mut Conn,
    from: i64,
    to: i64,
    today: (i64, i64),
    bucket_starts: &[i64],
) -> Result<Figures, StoreError> {
    conn.transaction::<_, StoreError, _>(|conn| {
        // PostgreSQL reads each statement's own snapshot unless asked.
        if conn.is_pg() {
            conn.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        }
        // Placeholders: SQLite's `?1` is PostgreSQL's `$1`.
        let sql = if conn.is_pg() {
            POINTS_SQL.replace("?1", "$1").replace("?2", "$2")
        } else {
            POINTS_SQL.to_string()
        };
        let loaded: Vec<AgentPoint> = diesel::sql_query(sql)
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(to)
            .load(conn)?;
        let points: Vec<Point> = loaded.iter().map(|p| p.point).collect();
        let agent_of: HashMap<i64, &str> = loaded
            .iter()
            .filter_map(|p| Some((p.point.conversation_id, p.agent_id.as_deref()?)))
            .collect();
        let in_range: Vec<Point> = points
            .iter()
            .copied()
            .filter(|p| p.created_at >= from && p.created_at < to)
            .collect();
        let active: HashSet<i64> = in_range.iter().map(|p| p.conversation_id).collect();

        let mut per_agent: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for w in first_response_waits(&points, from, to) {
            if let Some(agent) = agent_of.get(&w.conversation_id) {
                per_agent.entry(agent).or_default().push(w.wait_ms());
            }
        }
        let ids: Vec<String> = per_agent.keys().map(|s| s.to_string()).collect();
        let agents: HashMap<String, crate::models::UserRow> = crate::users::get_many(conn, &ids)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        let first_response = per_agent
            .iter()
            .filter_map(|(agent, waits)| {
                let summary = summarize(waits)?;
                let user = agents.get(*agent);
                Some(AgentResponse {
                    agent_id: agent.to_string(),
                    agent_name: user.map(|u| u.username.clone()).unwrap_or_default(),
                    role: user.map(|u| u.role),
                    summary,
                })
            })
            .collect();

        Ok(Figures {
            messages_total: messages::table.count().get_result(conn)?,
            messages_in_range: in_range.len() as i64,
            messages_today: count_between(conn, today.0, today.1)?,
            buckets: bucket_counts(&in_range, bucket_starts, from, to),
            active_conversations: active.len() as i64,
            calls_answered: calls_between(conn, from, to, &["completed", "failed"])?,
            calls_missed: calls_between(conn, from, to, &["missed"])?,
            users_by_role: crate::users::count_by_role(conn)?,
            first_response,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    /// Points of one conversation from `(is_agent, at)` pairs, ids in order.
    fn conv(conversation_id: i64, first_id: i64, msgs: &[(bool, i64)]) -> Vec<Point> {
        msgs.iter()
            .enumerate()
            .map(|(i, &(sender_is_agent, created_at))| Point {
                conversation_id,
                sender_is_agent,
                created_at,
                id: first_id + i as i64,
            })
            .collect()
    }

    fn waits_ms(points: &[Point], from: i64, to: i64) -> Vec<i64> {
        first_response_waits(points, from, to)
            .iter()
            .map(Wait::wait_ms)
            .collect()
    }

    const C: bool = false;
    const A: bool = true;

    #[test]
    fn a_wait_runs_from_the_first_customer_message_to_the_next_reply() {
        let p = conv(1, 1, &[(C, 10 * M), (C, 11 * M), (C, 12 * M), (A, 15 * M)]);
        assert_eq!(waits_ms(&p, 0, 100 * M), vec![5 * M]);
    }

    #[test]
    fn each_reply_closes_a_wait_and_the_next_customer_message_opens_one() {
        let p = conv(
            1,
            1,
            &[
                (C, M),
                (A, 2 * M),
                (A, 3 * M),
                (C, 10 * M),
                (A, 14 * M),
                (C, 20 * M),
                (C, 21 * M),
                (A, 30 * M),
            ],
        );
        assert_eq!(waits_ms(&p, 0, 100 * M), vec![M, 4 * M, 10 * M]);
    }

    #[test]
    fn agent_first_messages_open_nothing() {
        let p = conv(1, 1, &[(A, M), (A, 2 * M), (C, 5 * M), (A, 6 * M)]);
        assert_eq!(waits_ms(&p, 0, 100 * M), vec![M]);
    }

    #[test]
    fn waits_open_at_the_end_of_the_range_are_left_out() {
        // Answered exactly at `to`: outside the half-open range.
        let p = conv(1, 1, &[(C, 10 * M), (A, 20 * M)]);
        assert!(waits_ms(&p, 0, 20 * M).is_empty());
        assert_eq!(waits_ms(&p, 0, 20 * M + 1), vec![10 * M]);
        let p = conv(1, 1, &[(C, 10 * M)]);
        assert!(waits_ms(&p, 0, 100 * M).is_empty());
    }

    #[test]
    fn waits_opened_before_the_range_are_left_out() {
        // The wait opened at 5; the customer's message at 12 continues it.
        let p = conv(
            1,
            1,
            &[
                (C, 5 * M),
                (C, 12 * M),
                (A, 15 * M),
                (C, 20 * M),
                (A, 22 * M),
            ],
        );
        assert_eq!(waits_ms(&p, 10 * M, 100 * M), vec![2 * M]);
    }

    #[test]
    fn a_reply_before_the_range_lets_the_first_message_in_it_open_a_wait() {
        let p = conv(1, 1, &[(C, 5 * M), (A, 6 * M), (C, 12 * M), (A, 15 * M)]);
        assert_eq!(waits_ms(&p, 10 * M, 100 * M), vec![3 * M]);
        // Only the last message before the range is needed to know.
        let p = conv(1, 2, &[(A, 6 * M), (C, 12 * M), (A, 15 * M)]);
        assert_eq!(waits_ms(&p, 10 * M, 100 * M), vec![3 * M]);
    }

    #[test]
    fn the_range_starts_inclusive_and_conversations_do_not_mix() {
        let mut p = conv(1, 1, &[(C, 10 * M), (A, 11 * M)]);
        // Conversation 2 interleaves by id and time with conversation 1.
        p.extend(conv(2, 3, &[(C, 10 * M + 1), (A, 13 * M)]));
        p.extend(conv(3, 5, &[(A, 9 * M)]));
        p.reverse();
        let waits = first_response_waits(&p, 10 * M, 100 * M);
        assert_eq!(
            waits,
            vec![
                Wait {
                    conversation_id: 1,
                    opened_at: 10 * M,
                    answered_at: 11 * M
                },
                Wait {
                    conversation_id: 2,
                    opened_at: 10 * M + 1,
                    answered_at: 13 * M
                },
            ]
        );
    }

    #[test]
    fn medians_take_the_mean_of_the_middle_two_rounded_down() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(
            summarize(&[7]),
            Some(Summary {
                waits: 1,
                average_ms: 7,
                median_ms: 7
            })
        );
        assert_eq!(
            summarize(&[300, 100, 200]),
            Some(Summary {
                waits: 3,
                average_ms: 200,
                median_ms: 200
            })
        );
        // (2 + 5) / 2 = 3.5 → 3; (1 + 2 + 5 + 100) / 4 = 27
        assert_eq!(
            summarize(&[100, 5, 1, 2]),
            Some(Summary {
                waits: 4,
                average_ms: 27,
                median_ms: 3
            })
        );
        assert_eq!(
            summarize(&[1, 2]),
            Some(Summary {
                waits: 2,
                average_ms: 1,
                median_ms: 1
            })
        );
    }

    #[test]
    fn buckets_count_what_falls_in_them() {
        let p = conv(1, 1, &[(C, 5), (C, 10), (A, 19), (C, 20), (A, 35), (C, 40)]);
        // Buckets [0,10) [10,20) [20,30) [30,40), range [6, 40).
        assert_eq!(bucket_counts(&p, &[0, 10, 20, 30], 6, 40), vec![0, 2, 1, 1]);
    }
}
