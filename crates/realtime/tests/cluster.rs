#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Two nodes in one process, joined through the Redis at 127.0.0.1:6379
//! (or `LIVECHAT_TEST_REDIS_URL`) under a key prefix of their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livechat_realtime::{
    Audience, Broker, Cluster, ClusterConfig, Connection, HubConfig, HubHandle, Outbound,
};
use serde_json::{json, Value};

fn redis_url() -> String {
    std::env::var("LIVECHAT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique_prefix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "livechat-test-{}-{}-{}",
        std::process::id(),
        livechat_domain::now_ms(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn node(prefix: &str, ttl: Duration) -> (Cluster, HubHandle) {
    Cluster::start(ClusterConfig {
        redis_url: redis_url(),
        prefix: prefix.to_owned(),
        node_ttl: ttl,
        hub: HubConfig::default(),
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}\nthese tests need Redis: start it with \
             `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no`"
        )
    })
}

/// The next frame within 5 s.
async fn next(conn: &mut Connection) -> Value {
    match tokio::time::timeout(Duration::from_secs(5), conn.recv()).await {
        Ok(Some(Outbound::Frame(text))) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a frame, got {other:?}"),
    }
}

async fn connect(hub: &HubHandle, user: &str, admin: bool, contacts: &[&str]) -> Connection {
    hub.connect(
        user.into(),
        admin,
        contacts.iter().map(|c| (*c).to_owned()).collect(),
    )
    .await
    .unwrap()
}

/// Polls `check` until it holds, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_presence_and_signals_cross_nodes() {
    let prefix = unique_prefix();
    let (one, hub1) = node(&prefix, Duration::from_secs(15)).await;
    let (two, hub2) = node(&prefix, Duration::from_secs(15)).await;
    assert_ne!(one.node_id(), two.node_id());

    let mut admin = connect(&hub2, "a1", true, &[]).await;
    assert_eq!(
        next(&mut admin).await,
        json!({"type":"online_users","users":[]})
    );
    let mut buyer = connect(&hub1, "b1", false, &["m1"]).await;
    assert_eq!(next(&mut buyer).await["type"], "online_users");
    // The admin on node 2 sees b1 (node 1) come online.
    assert_eq!(
        next(&mut admin).await,
        json!({"type":"status","user_id":"b1","status":"online"})
    );
    eventually(Duration::from_secs(5), || async {
        hub2.is_online("b1").await.unwrap()
    })
    .await;
    let mut merchant = connect(&hub2, "m1", false, &["b1"]).await;
    // His listing counts b1, whose socket is on node 1.
    assert_eq!(
        next(&mut merchant).await,
        json!({"type":"online_users","users":["b1"]})
    );
    // b1 on node 1 hears that m1 came online on node 2.
    assert_eq!(
        next(&mut buyer).await,
        json!({"type":"status","user_id":"m1","status":"online"})
    );
    assert_eq!(next(&mut admin).await["user_id"], "m1");

    // A publish on node 1 reaches node 2's sockets once, and node 1's.
    one.publish(
        Audience::members(["b1".to_string(), "m1".to_string()]),
        Arc::from(r#"{"type":"message","id":1}"#),
    );
    assert_eq!(next(&mut buyer).await, json!({"type":"message","id":1}));
    assert_eq!(next(&mut merchant).await, json!({"type":"message","id":1}));
    assert_eq!(next(&mut admin).await, json!({"type":"message","id":1}));

    // A signal for b1's socket, sent from node 2, reaches that socket only.
    two.send_to_socket("b1", buyer.id, Arc::from(r#"{"type":"call.signal"}"#));
    assert_eq!(next(&mut buyer).await, json!({"type":"call.signal"}));

    // Closing m1 from node 1 closes his socket on node 2.
    one.close_user("m1", 4403, "account disabled");
    match tokio::time::timeout(Duration::from_secs(5), merchant.recv()).await {
        Ok(Some(Outbound::Close { code, .. })) => assert_eq!(code, 4403),
        other => panic!("expected a close, got {other:?}"),
    }
    assert_eq!(
        next(&mut buyer).await,
        json!({"type":"status","user_id":"m1","status":"offline"})
    );
    // Nothing arrived twice: the admin's next frame is m1 going offline.
    assert_eq!(
        next(&mut admin).await,
        json!({"type":"status","user_id":"m1","status":"offline"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_departed_node_takes_its_users_offline_and_user_changes_reach_listeners() {
    let prefix = unique_prefix();
    let (one, hub1) = node(&prefix, Duration::from_secs(2)).await;
    let (two, hub2) = node(&prefix, Duration::from_secs(2)).await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    two.on_user_changed(Arc::new(move |user| {
        log.lock().unwrap().push(user.map(str::to_owned));
    }));
    one.user_changed("m1");
    eventually(Duration::from_secs(5), || async {
        heard.lock().unwrap().as_slice() == [Some("m1".to_string())]
    })
    .await;

    let mut buyer = connect(&hub2, "b1", false, &["m1"]).await;
    next(&mut buyer).await;
    let _merchant = connect(&hub1, "m1", false, &["b1"]).await;
    assert_eq!(next(&mut buyer).await["status"], "online");
    one.leave().await;
    assert_eq!(
        next(&mut buyer).await,
        json!({"type":"status","user_id":"m1","status":"offline"})
    );
    assert!(!hub2.is_online("m1").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_shared_and_expire_with_their_window() {
    let prefix = unique_prefix();
    let (one, _hub1) = node(&prefix, Duration::from_secs(15)).await;
    let (two, _hub2) = node(&prefix, Duration::from_secs(15)).await;
    let window = Duration::from_millis(400);
    assert_eq!(one.counters().hit("sends:b1", window).await.unwrap().0, 1);
    let (count, left) = two.counters().hit("sends:b1", window).await.unwrap();
    assert_eq!(count, 2, "the other node counts in the same window");
    assert!(left <= window && left > Duration::ZERO);
    assert_eq!(one.counters().peek("sends:b1").await.unwrap().0, 2);
    eventually(Duration::from_secs(5), || async {
        one.counters().peek("sends:b1").await.unwrap().0 == 0
    })
    .await;
    two.counters().hit("x", window).await.unwrap();
    two.counters().clear("x").await.unwrap();
    assert_eq!(one.counters().peek("x").await.unwrap().0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_another_node_dropped_is_gone_here_too() {
    let prefix = unique_prefix();
    // Node one beats rarely (every 12 s), so nothing puts it back soon.
    let (one, hub1) = node(&prefix, Duration::from_secs(60)).await;
    let (_two, hub2) = node(&prefix, Duration::from_secs(2)).await;
    let mut buyer = connect(&hub2, "b1", false, &["m1"]).await;
    next(&mut buyer).await;
    let _merchant = connect(&hub1, "m1", false, &["b1"]).await;
    assert_eq!(next(&mut buyer).await["status"], "online");
    // A third node found node one's heartbeat expired and removed it from
    // the node set with its users, as its reconcile does: node two, which
    // no longer sees node one listed, takes node one's users offline too.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::pipe()
        .cmd("SREM")
        .arg(format!("{prefix}:nodes"))
        .arg(one.node_id())
        .ignore()
        .cmd("DEL")
        .arg(format!("{prefix}:node:{}:users", one.node_id()))
        .ignore()
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        next(&mut buyer).await,
        json!({"type":"status","user_id":"m1","status":"offline"})
    );
    assert!(!hub2.is_online("m1").await.unwrap());
}
