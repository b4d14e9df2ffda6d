#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Hub behaviour, driven through the public handle. No sleeps: every check
//! that something did *not* arrive first awaits a round trip to the hub
//! (`settle`), which is served after every earlier command.

use serde_json::{json, Value};
use tokio::sync::mpsc::error::TryRecvError;

use super::contacts::{mirror, LINKED, LISTED, LISTED_BY_PEER};
use super::*;

fn hub() -> HubHandle {
    spawn_hub(HubConfig::default())
}

async fn join(hub: &HubHandle, user: &str, contacts: &[&str]) -> Connection {
    join_as(hub, user, false, contacts).await
}

async fn join_as(hub: &HubHandle, user: &str, is_admin: bool, contacts: &[&str]) -> Connection {
    hub.connect(
        user.to_owned(),
        is_admin,
        contacts.iter().map(|c| (*c).to_owned()).collect(),
    )
    .await
    .unwrap()
}

/// Waits until the hub has served every command sent before.
async fn settle(hub: &HubHandle) {
    hub.stats().await.unwrap();
}

fn frame(text: &str) -> Arc<str> {
    Arc::from(text)
}

/// The next queued frame, parsed (fails on a close or an empty queue).
fn next(conn: &mut Connection) -> Value {
    match conn.rx.try_recv() {
        Ok(Outbound::Frame(text)) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// Asserts that nothing is queued (call after `settle`).
fn assert_quiet(conn: &mut Connection) {
    match conn.rx.try_recv() {
        Err(TryRecvError::Empty) => {}
        other => panic!("expected nothing, got {other:?}"),
    }
}

fn status(user: &str, status: &str) -> Value {
    json!({"type": "status", "user_id": user, "status": status})
}

fn online_users(users: &[&str]) -> Value {
    json!({"type": "online_users", "users": users})
}

#[tokio::test]
async fn every_socket_of_a_user_gets_each_frame_once() {
    let hub = hub();
    let mut tab1 = join(&hub, "b1", &[]).await;
    let mut tab2 = join(&hub, "b1", &[]).await;
    assert_ne!(tab1.id, tab2.id);
    assert_eq!(next(&mut tab1), online_users(&[]));
    assert_eq!(next(&mut tab2), online_users(&[]));

    let audience = Audience {
        users: vec!["b1".into(), "m1".into(), "b1".into()],
        admins: false,
    };
    hub.publish(audience, frame(r#"{"type":"x"}"#));
    settle(&hub).await;
    for tab in [&mut tab1, &mut tab2] {
        assert_eq!(next(tab), json!({"type": "x"}));
        assert_quiet(tab);
    }
    assert_eq!(
        hub.stats().await.unwrap(),
        HubStats {
            sockets: 2,
            users_online: 1,
            deliveries: 2,
            overflows: 0,
        }
    );
}

#[tokio::test]
async fn admins_get_admin_frames_once_and_strangers_nothing() {
    let hub = hub();
    let mut admin = join_as(&hub, "a1", true, &[]).await;
    let mut buyer = join(&hub, "b1", &["m1"]).await;
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let mut stranger = join(&hub, "b2", &[]).await;
    settle(&hub).await;
    for conn in [&mut admin, &mut buyer, &mut merchant, &mut stranger] {
        while conn.rx.try_recv().is_ok() {}
    }

    hub.publish(
        Audience {
            users: vec!["b1".into(), "m1".into()],
            admins: true,
        },
        frame(r#"{"type":"message"}"#),
    );
    // An admin also listed by name still gets it once.
    hub.publish(
        Audience {
            users: vec!["a1".into()],
            admins: true,
        },
        frame(r#"{"type":"conversation"}"#),
    );
    // Not for admins.
    hub.publish(
        Audience {
            users: vec!["m1".into()],
            admins: false,
        },
        frame(r#"{"type":"typing"}"#),
    );
    settle(&hub).await;

    assert_eq!(next(&mut admin), json!({"type": "message"}));
    assert_eq!(next(&mut admin), json!({"type": "conversation"}));
    assert_quiet(&mut admin);
    assert_eq!(next(&mut buyer), json!({"type": "message"}));
    assert_quiet(&mut buyer);
    assert_eq!(next(&mut merchant), json!({"type": "message"}));
    assert_eq!(next(&mut merchant), json!({"type": "typing"}));
    assert_quiet(&mut merchant);
    assert_quiet(&mut stranger);
}

#[tokio::test]
async fn presence_reaches_contacts_and_admins_but_not_strangers() {
    let hub = hub();
    let mut admin = join_as(&hub, "a1", true, &[]).await;
    // m1's own list does not name b1: b1's list naming m1 is enough.
    let mut merchant = join(&hub, "m1", &[]).await;
    let mut stranger = join(&hub, "b2", &["m2"]).await;
    settle(&hub).await;
    assert_eq!(next(&mut admin), online_users(&[]));
    assert_eq!(next(&mut admin), status("m1", "online"));
    assert_eq!(next(&mut admin), status("b2", "online"));
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut stranger), online_users(&[]));

    let mut buyer = join(&hub, "b1", &["m1", "p1"]).await;
    settle(&hub).await;
    assert_eq!(next(&mut buyer), online_users(&["m1"]));
    assert_quiet(&mut buyer);
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_quiet(&mut merchant);
    assert_eq!(next(&mut admin), status("b1", "online"));
    assert_quiet(&mut admin);
    assert_quiet(&mut stranger);

    // An admin's own presence goes to other admins, not to chat users.
    let mut admin2 = join_as(&hub, "a2", true, &[]).await;
    settle(&hub).await;
    assert_eq!(next(&mut admin2), online_users(&["a1", "b1", "b2", "m1"]));
    assert_eq!(next(&mut admin), status("a2", "online"));
    for conn in [&mut buyer, &mut merchant, &mut stranger] {
        assert_quiet(conn);
    }
}

#[tokio::test]
async fn a_user_goes_offline_only_when_his_last_socket_closes() {
    let hub = hub();
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let tab1 = join(&hub, "b1", &["m1"]).await;
    let tab2 = join(&hub, "b1", &["m1"]).await;
    settle(&hub).await;
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_quiet(&mut merchant);

    hub.disconnect("b1", tab1.id);
    settle(&hub).await;
    assert_quiet(&mut merchant);
    assert!(hub.is_online("b1").await.unwrap());

    hub.disconnect("b1", tab2.id);
    assert!(!hub.is_online("b1").await.unwrap());
    assert_eq!(next(&mut merchant), status("b1", "offline"));
    assert_quiet(&mut merchant);
    assert_eq!(hub.online_users().await.unwrap(), vec!["m1".to_owned()]);
}

#[tokio::test]
async fn disconnect_is_idempotent() {
    let hub = hub();
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let buyer = join(&hub, "b1", &[]).await;
    hub.disconnect("b1", buyer.id);
    hub.disconnect("b1", buyer.id);
    hub.disconnect("b1", 9999);
    hub.disconnect("nobody", buyer.id);
    hub.disconnect("m1", buyer.id);
    settle(&hub).await;
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_eq!(next(&mut merchant), status("b1", "offline"));
    assert_quiet(&mut merchant);
    assert_eq!(
        hub.stats().await.unwrap(),
        HubStats {
            sockets: 1,
            users_online: 1,
            deliveries: 2,
            overflows: 0,
        }
    );
}

#[tokio::test]
async fn online_users_on_connect_lists_only_online_contacts() {
    let hub = hub();
    let _m1 = join(&hub, "m1", &[]).await;
    let _m2 = join(&hub, "m2", &[]).await;
    let _p1 = join(&hub, "p1", &["b1"]).await;
    let mut buyer = join(&hub, "b1", &["m3", "m1", "b1", "m1"]).await;
    // m1 from his own list, p1 from p1's list; m2 is no contact, m3 offline,
    // himself never.
    assert_eq!(next(&mut buyer), online_users(&["m1", "p1"]));
    let mut admin = join_as(&hub, "a1", true, &[]).await;
    assert_eq!(next(&mut admin), online_users(&["b1", "m1", "m2", "p1"]));
    assert_eq!(
        hub.online_users().await.unwrap(),
        vec!["a1", "b1", "m1", "m2", "p1"]
    );
}

#[tokio::test]
async fn link_makes_two_online_users_see_each_other() {
    let hub = hub();
    let mut buyer = join(&hub, "b1", &[]).await;
    let mut merchant = join(&hub, "m1", &[]).await;
    settle(&hub).await;
    assert_eq!(next(&mut buyer), online_users(&[]));
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_quiet(&mut buyer);

    hub.link("b1", "m1");
    settle(&hub).await;
    assert_eq!(next(&mut buyer), status("m1", "online"));
    assert_eq!(next(&mut merchant), status("b1", "online"));

    // The relation lasts, even across a reconnect with a list loaded before
    // the conversation existed.
    let tab2 = join(&hub, "b1", &[]).await;
    hub.disconnect("b1", buyer.id);
    hub.disconnect("b1", tab2.id);
    settle(&hub).await;
    assert_eq!(next(&mut merchant), status("b1", "offline"));
    assert_quiet(&mut merchant);

    let mut buyer = join(&hub, "b1", &[]).await;
    assert_eq!(next(&mut buyer), online_users(&["m1"]));
    settle(&hub).await;
    assert_eq!(next(&mut merchant), status("b1", "online"));
}

#[tokio::test]
async fn contacts_given_again_replace_the_previous_list_but_keep_links() {
    let hub = hub();
    let mut m1 = join(&hub, "m1", &[]).await;
    let mut m2 = join(&hub, "m2", &[]).await;
    let mut m3 = join(&hub, "m3", &[]).await;
    let tab1 = join(&hub, "b1", &["m1", "m2"]).await;
    hub.link("b1", "m3");
    // A later socket brings a list without m2 (and without the link).
    let tab2 = join(&hub, "b1", &["m1"]).await;
    settle(&hub).await;
    for m in [&mut m1, &mut m2, &mut m3] {
        while m.rx.try_recv().is_ok() {}
    }
    hub.disconnect("b1", tab1.id);
    hub.disconnect("b1", tab2.id);
    settle(&hub).await;
    assert_eq!(next(&mut m1), status("b1", "offline"));
    assert_quiet(&mut m2);
    assert_eq!(next(&mut m3), status("b1", "offline"));
}

#[tokio::test]
async fn a_full_queue_closes_that_socket_only() {
    let hub = spawn_hub(HubConfig {
        queue_capacity: 4,
        admin_queue_capacity: 4,
        ..HubConfig::default()
    });
    let mut fast = join(&hub, "b1", &[]).await;
    let mut slow = join(&hub, "b1", &[]).await;
    assert_eq!(next(&mut fast), online_users(&[]));

    for i in 0..20 {
        hub.publish(Audience::user("b1"), frame(&format!(r#"{{"n":{i}}}"#)));
        settle(&hub).await;
        assert_eq!(next(&mut fast), json!({ "n": i }));
    }
    assert_quiet(&mut fast);
    assert!(hub.is_online("b1").await.unwrap());
    let stats = hub.stats().await.unwrap();
    assert_eq!((stats.sockets, stats.overflows), (1, 1));

    // The close comes first, out of band, ahead of the backlog.
    assert_eq!(
        slow.recv().await,
        Some(Outbound::Close {
            code: 1008,
            reason: OVERFLOW_REASON.to_owned()
        })
    );
    assert_eq!(slow.recv().await, None);
}

#[tokio::test]
async fn a_full_queue_still_ends_with_a_close_in_band() {
    let hub = spawn_hub(HubConfig {
        queue_capacity: 3,
        admin_queue_capacity: 3,
        ..HubConfig::default()
    });
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let mut slow = join(&hub, "b1", &[]).await;
    for i in 0..5 {
        hub.publish(Audience::user("b1"), frame(&format!(r#"{{"n":{i}}}"#)));
    }
    settle(&hub).await;
    // His only socket: he is offline now, and his contact is told.
    assert!(!hub.is_online("b1").await.unwrap());
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_eq!(next(&mut merchant), status("b1", "offline"));

    // Reading the queue alone: the frames that fitted, then the close, then the end.
    assert_eq!(next(&mut slow), online_users(&["m1"]));
    assert_eq!(next(&mut slow), json!({"n": 0}));
    assert_eq!(next(&mut slow), json!({"n": 1}));
    assert_eq!(
        slow.rx.recv().await,
        Some(Outbound::Close {
            code: 1008,
            reason: OVERFLOW_REASON.to_owned()
        })
    );
    assert_eq!(slow.rx.recv().await, None);
    // The out-of-band signal fired too.
    assert_eq!(slow.closed().await, (1008, OVERFLOW_REASON.to_owned()));
}

#[tokio::test]
async fn close_user_closes_every_socket_and_marks_him_offline() {
    let hub = hub();
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let mut tab1 = join(&hub, "b1", &["m1"]).await;
    let mut tab2 = join(&hub, "b1", &["m1"]).await;
    hub.close_user("b1", 4403, "user disabled");
    assert!(!hub.is_online("b1").await.unwrap());
    for tab in [&mut tab1, &mut tab2] {
        assert_eq!(
            tab.recv().await,
            Some(Outbound::Close {
                code: 4403,
                reason: "user disabled".to_owned()
            })
        );
        assert_eq!(tab.recv().await, None);
    }
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_eq!(next(&mut merchant), status("b1", "offline"));
    assert_quiet(&mut merchant);
    // Closing someone offline is harmless.
    hub.close_user("b1", 4403, "user disabled");
    hub.close_user("nobody", 4403, "user disabled");
    settle(&hub).await;
    assert_quiet(&mut merchant);
}

#[tokio::test]
async fn shutdown_closes_everyone_with_1001_and_stops_the_hub() {
    let hub = hub();
    let mut conns = vec![
        join(&hub, "b1", &["m1"]).await,
        join(&hub, "b1", &["m1"]).await,
        join(&hub, "m1", &["b1"]).await,
        join_as(&hub, "a1", true, &[]).await,
    ];
    hub.shutdown().await.unwrap();
    let close = Outbound::Close {
        code: 1001,
        reason: SHUTDOWN_REASON.to_owned(),
    };
    for conn in &mut conns {
        assert_eq!(conn.recv().await, Some(close.clone()));
        assert_eq!(conn.recv().await, None);
    }
    assert_eq!(hub.online_users().await, Err(HubError::Stopped));
    assert_eq!(hub.is_online("b1").await, Err(HubError::Stopped));
    assert!(matches!(
        hub.connect("b1".into(), false, vec![]).await,
        Err(HubError::Stopped)
    ));
    assert_eq!(hub.shutdown().await, Err(HubError::Stopped));
    // Fire-and-forget calls on a stopped hub are no-ops.
    hub.publish(Audience::user("b1"), frame("{}"));
    hub.disconnect("b1", 1);
}

#[tokio::test]
async fn an_abandoned_socket_is_removed_on_the_next_frame() {
    let hub = hub();
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let buyer = join(&hub, "b1", &[]).await;
    drop(buyer);
    hub.publish(Audience::user("b1"), frame("{}"));
    assert!(!hub.is_online("b1").await.unwrap());
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_eq!(next(&mut merchant), status("b1", "offline"));
}

#[tokio::test]
async fn the_sweep_removes_abandoned_sockets() {
    let hub = hub();
    let mut merchant = join(&hub, "m1", &["b1"]).await;
    let buyer = join(&hub, "b1", &[]).await;
    drop(buyer);
    hub.sweep().await.unwrap();
    assert!(!hub.is_online("b1").await.unwrap());
    assert!(hub.is_online("m1").await.unwrap());
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_eq!(next(&mut merchant), status("b1", "online"));
    assert_eq!(next(&mut merchant), status("b1", "offline"));
}

#[tokio::test]
async fn relations_between_offline_users_are_forgotten() {
    let hub = hub();
    let buyer = join(&hub, "b1", &["m1", "m2"]).await;
    let merchant = join(&hub, "m1", &[]).await;
    hub.link("b2", "m9"); // both offline: nothing kept
    hub.disconnect("b1", buyer.id);
    settle(&hub).await;
    // Still online m1 keeps his relation with b1; m2 and b2–m9 are gone.
    hub.disconnect("m1", merchant.id);
    settle(&hub).await;
    // A fresh m1 with no list sees nobody, and b1 coming back tells him nothing.
    let mut merchant = join(&hub, "m1", &[]).await;
    let _b1 = join(&hub, "b1", &[]).await;
    settle(&hub).await;
    assert_eq!(next(&mut merchant), online_users(&[]));
    assert_quiet(&mut merchant);
}

#[test]
fn mirrored_flags() {
    assert_eq!(mirror(LINKED), LINKED);
    assert_eq!(mirror(LISTED), LISTED_BY_PEER);
    assert_eq!(mirror(LISTED_BY_PEER), LISTED);
    assert_eq!(mirror(LINKED | LISTED), LINKED | LISTED_BY_PEER);
}

#[test]
fn hub_state_forgets_offline_pairs() {
    let mut hub = Hub::new(HubConfig::default(), None);
    let b1 = hub.connect("b1".into(), false, vec!["m1".into(), "m2".into()]);
    let m1 = hub.connect("m1".into(), false, vec![]);
    hub.link("b2", "m9");
    assert!(!hub.contacts.has_contacts("b2"));
    assert_eq!(hub.contacts.peers("b1").count(), 2);
    assert_eq!(hub.contacts.flags("m2", "b1"), Some(LISTED_BY_PEER));

    hub.remove_sockets(vec![Removal {
        user_id: "b1".into(),
        conn_id: b1.id,
        leave: Leave::Disconnected,
    }]);
    // m2 is offline: forgotten; m1 is online: kept.
    assert!(!hub.contacts.has_contacts("m2"));
    assert_eq!(hub.contacts.peers("b1").collect::<Vec<_>>(), vec!["m1"]);
    assert_eq!(hub.contacts.flags("m1", "b1"), Some(LISTED_BY_PEER));

    hub.remove_sockets(vec![Removal {
        user_id: "m1".into(),
        conn_id: m1.id,
        leave: Leave::Disconnected,
    }]);
    assert!(hub.contacts.is_empty());
    assert!(hub.online.is_empty());
    assert!(hub.admins.is_empty());
}

#[tokio::test]
async fn online_among_answers_in_one_round_trip() {
    let hub = hub();
    let _b1 = join(&hub, "b1", &[]).await;
    let _m1 = join(&hub, "m1", &[]).await;
    let ids = ["m1", "b2", "b1", "m1"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        hub.online_among(ids).await.unwrap(),
        vec!["m1".to_owned(), "b1".to_owned()]
    );
    assert!(hub.online_among(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn send_to_reaches_one_socket_after_earlier_publishes() {
    let hub = hub();
    let mut a = join(&hub, "b1", &[]).await;
    let mut b = join(&hub, "b1", &[]).await;
    next(&mut a);
    next(&mut b);
    hub.publish(Audience::user("b1"), frame(r#"{"type":"first"}"#));
    hub.send_to("b1", a.id, frame(r#"{"type":"pong"}"#));
    settle(&hub).await;
    assert_eq!(next(&mut a)["type"], "first");
    assert_eq!(next(&mut a)["type"], "pong");
    assert_eq!(next(&mut b)["type"], "first");
    assert!(matches!(b.rx.try_recv(), Err(TryRecvError::Empty)));
    hub.send_to("b1", 999, frame(r#"{"type":"pong"}"#));
    hub.send_to("nobody", a.id, frame(r#"{"type":"pong"}"#));
    settle(&hub).await;
    assert!(matches!(a.rx.try_recv(), Err(TryRecvError::Empty)));
}

#[tokio::test]
async fn admin_sockets_have_the_larger_queue() {
    let hub = spawn_hub(HubConfig {
        queue_capacity: 2,
        admin_queue_capacity: 8,
        ..HubConfig::default()
    });
    let mut admin = join_as(&hub, "a1", true, &[]).await;
    let mut user = join(&hub, "b1", &[]).await;
    assert_eq!(next(&mut admin)["type"], "online_users");
    assert_eq!(next(&mut admin)["type"], "status");
    next(&mut user);
    for i in 0..6 {
        hub.publish(
            Audience {
                users: vec!["b1".into()],
                admins: true,
            },
            frame(&format!(r#"{{"n":{i}}}"#)),
        );
    }
    settle(&hub).await;
    // The admin gets all six (and b1's "offline" when his queue overflowed).
    let got: Vec<Value> = (0..7).map(|_| next(&mut admin)).collect();
    let numbers: Vec<i64> = got.iter().filter_map(|f| f["n"].as_i64()).collect();
    assert_eq!(numbers, vec![0, 1, 2, 3, 4, 5], "{got:?}");
    assert!(got
        .iter()
        .any(|f| f["type"] == "status" && f["status"] == "offline"));
    assert_eq!(
        hub.stats().await.unwrap().sockets,
        1,
        "the participant's small queue overflowed"
    );
}

/// After a membership change the database's contacts replace the hub's:
/// a relation that ended carries no presence, a new one does at once.
#[tokio::test]
async fn set_contacts_ends_and_starts_relations() {
    let hub = hub();
    let mut b1 = join(&hub, "b1", &["m1"]).await;
    let mut m1 = join(&hub, "m1", &["b1"]).await;
    let mut p1 = join(&hub, "p1", &[]).await;
    assert_eq!(next(&mut b1), online_users(&[]));
    assert_eq!(next(&mut b1), status("m1", "online"));
    assert_eq!(next(&mut m1), online_users(&["b1"]));
    assert_eq!(next(&mut p1), online_users(&[]));
    // b1 left the only conversation he shared with m1 and joined one with p1.
    hub.set_contacts("b1", vec!["p1".into()]);
    hub.set_contacts("m1", vec![]);
    hub.set_contacts("p1", vec!["b1".into()]);
    settle(&hub).await;
    assert_eq!(next(&mut b1), status("p1", "online"));
    assert_eq!(next(&mut p1), status("b1", "online"));
    assert_quiet(&mut b1);
    assert_quiet(&mut p1);
    hub.disconnect("m1", m1.id);
    settle(&hub).await;
    assert_quiet(&mut b1);
    hub.disconnect("p1", p1.id);
    settle(&hub).await;
    assert_eq!(next(&mut b1), status("p1", "offline"));
}

#[tokio::test]
async fn presence_is_the_union_of_this_node_and_the_others() {
    let hub = hub();
    let mut admin = join_as(&hub, "a1", true, &[]).await;
    let mut buyer = join(&hub, "b1", &["m1"]).await;
    settle(&hub).await;
    assert_eq!(next(&mut buyer), online_users(&[]));
    while admin.rx.try_recv().is_ok() {}

    // m1 opens a socket on node 2: b1 and the admin here are told once.
    hub.remote_presence("n2", "m1", true);
    hub.remote_presence("n3", "m1", true);
    settle(&hub).await;
    assert_eq!(next(&mut buyer), status("m1", "online"));
    assert_eq!(next(&mut admin), status("m1", "online"));
    assert_quiet(&mut buyer);
    assert!(hub.is_online("m1").await.unwrap());
    assert_eq!(
        hub.online_among(vec!["m1".into(), "x".into()])
            .await
            .unwrap(),
        vec!["m1".to_string()]
    );
    assert_eq!(
        hub.online_users().await.unwrap(),
        vec!["a1".to_string(), "b1".into(), "m1".into()]
    );

    // A socket here too, then gone: still online on the others, no frame.
    let local = join(&hub, "m1", &["b1"]).await;
    hub.disconnect("m1", local.id);
    settle(&hub).await;
    assert_quiet(&mut buyer);

    // A new admin's listing counts the other nodes.
    let mut late_admin = join_as(&hub, "a2", true, &[]).await;
    settle(&hub).await;
    assert_eq!(next(&mut late_admin), online_users(&["a1", "b1", "m1"]));

    // Node 2 lets go, node 3 is gone: offline once, when the last goes.
    hub.remote_presence("n2", "m1", false);
    settle(&hub).await;
    assert_quiet(&mut buyer);
    hub.remote_node("n3", HashSet::new());
    settle(&hub).await;
    assert_eq!(next(&mut buyer), status("m1", "offline"));
    assert!(!hub.is_online("m1").await.unwrap());
}

#[tokio::test]
async fn a_node_listing_brings_and_takes_users_and_links_cross_nodes() {
    let hub = hub();
    let mut buyer = join(&hub, "b1", &[]).await;
    settle(&hub).await;
    assert_eq!(next(&mut buyer), online_users(&[]));

    hub.remote_node("n2", ["m1".to_string(), "m2".to_string()].into());
    settle(&hub).await;
    assert_quiet(&mut buyer);
    // A conversation between b1 here and m1 on node 2 is made.
    hub.link("b1", "m1");
    settle(&hub).await;
    assert_eq!(next(&mut buyer), status("m1", "online"));
    // A group makes m2 one of b1's contacts.
    hub.set_contacts("b1", vec!["m1".into(), "m2".into()]);
    settle(&hub).await;
    assert_eq!(next(&mut buyer), status("m2", "online"));

    hub.remote_node("n2", ["m2".to_string()].into());
    settle(&hub).await;
    assert_eq!(next(&mut buyer), status("m1", "offline"));
    assert_quiet(&mut buyer);
}

#[tokio::test]
async fn a_reporting_hub_tells_each_change_of_socket_counts() {
    let (hub, mut reports) = spawn_hub_reporting(HubConfig {
        first_conn_id: (7 << 40) + 1,
        ..HubConfig::default()
    });
    let one = join(&hub, "b1", &[]).await;
    let two = join(&hub, "b1", &[]).await;
    assert_eq!(
        one.id,
        (7 << 40) + 1,
        "socket ids start where the node says"
    );
    hub.disconnect("b1", one.id);
    hub.close_user("b1", 4403, "account disabled");
    settle(&hub).await;
    let mut seen = Vec::new();
    while let Ok(report) = reports.try_recv() {
        seen.push(report.sockets);
    }
    assert_eq!(seen, vec![1, 2, 1, 0]);
    assert_eq!(hub.local_users().await.unwrap(), Vec::new());
    drop(two);
}
