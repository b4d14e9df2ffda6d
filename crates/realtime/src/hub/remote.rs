//! Who is online on the other nodes of a cluster.
//!
//! A node's hub owns its own sockets; with several nodes, a user is online
//! when any node holds a socket of his. The cluster layer tells the hub
//! which users each other node holds (by events as they happen and by a
//! full listing on every heartbeat), and this module keeps that as one set
//! per node plus a count per user, so that "is he online anywhere else" is
//! one lookup and a node's departure is one call.

use std::collections::{HashMap, HashSet};

/// The users online on each other node.
#[derive(Debug, Default)]
pub(super) struct Remote {
    nodes: HashMap<String, HashSet<String>>,
    /// On how many other nodes each user is online (never 0).
    counts: HashMap<String, usize>,
}

/// What a change did to the users' presence on the other nodes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Changed {
    /// Users who were on no other node and now are on one.
    pub(super) came: Vec<String>,
    /// Users who were on another node and now are on none.
    pub(super) went: Vec<String>,
}

impl Remote {
    /// Whether `user_id` is online on another node.
    pub(super) fn contains(&self, user_id: &str) -> bool {
        self.counts.contains_key(user_id)
    }

    /// Every user online on another node, once each.
    pub(super) fn users(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().map(String::as_str)
    }

    /// `node` holds `user_id` now; true when he was on no other node.
    pub(super) fn add(&mut self, node: &str, user_id: &str) -> bool {
        let inserted = self
            .nodes
            .entry(node.to_owned())
            .or_default()
            .insert(user_id.to_owned());
        inserted && self.count_up(user_id)
    }

    /// `node` no longer holds `user_id`; true when he is on no other node.
    pub(super) fn remove(&mut self, node: &str, user_id: &str) -> bool {
        let removed = self
            .nodes
            .get_mut(node)
            .is_some_and(|users| users.remove(user_id));
        if self.nodes.get(node).is_some_and(HashSet::is_empty) {
            self.nodes.remove(node);
        }
        removed && self.count_down(user_id)
    }

    /// `node` holds exactly `users` now (an empty set when it is gone).
    pub(super) fn replace(&mut self, node: &str, users: HashSet<String>) -> Changed {
        let before = self.nodes.remove(node).unwrap_or_default();
        let mut changed = Changed::default();
        for user in before.difference(&users) {
            if self.count_down(user) {
                changed.went.push(user.clone());
            }
        }
        for user in users.difference(&before) {
            if self.count_up(user) {
                changed.came.push(user.clone());
            }
        }
        if !users.is_empty() {
            self.nodes.insert(node.to_owned(), users);
        }
        changed.came.sort_unstable();
        changed.went.sort_unstable();
        changed
    }

    /// Forgets every other node.
    pub(super) fn clear(&mut self) {
        self.nodes.clear();
        self.counts.clear();
    }

    fn count_up(&mut self, user_id: &str) -> bool {
        let count = self.counts.entry(user_id.to_owned()).or_insert(0);
        *count += 1;
        *count == 1
    }

    fn count_down(&mut self, user_id: &str) -> bool {
        match self.counts.get_mut(user_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                self.counts.remove(user_id);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(users: &[&str]) -> HashSet<String> {
        users.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn a_user_is_remote_while_any_node_holds_him() {
        let mut r = Remote::default();
        assert!(r.add("n1", "b1"), "first node: he came");
        assert!(!r.add("n2", "b1"), "second node: he was there already");
        assert!(!r.add("n2", "b1"), "the same node twice counts once");
        assert!(!r.remove("n1", "b1"), "still on n2");
        assert!(r.contains("b1"));
        assert!(r.remove("n2", "b1"), "on no node now");
        assert!(!r.contains("b1"));
        assert!(!r.remove("n2", "b1"), "removing twice says nothing");
    }

    #[test]
    fn a_listing_replaces_what_a_node_held_and_says_who_came_and_went() {
        let mut r = Remote::default();
        r.add("n1", "b1");
        r.add("n1", "m1");
        r.add("n2", "m1");
        let changed = r.replace("n1", set(&["m1", "p1"]));
        assert_eq!(
            changed,
            Changed {
                came: vec!["p1".into()],
                went: vec!["b1".into()],
            }
        );
        let gone = r.replace("n2", HashSet::new());
        assert!(gone.went.is_empty(), "m1 is still on n1");
        let gone = r.replace("n1", HashSet::new());
        assert_eq!(gone.went, vec!["m1".to_string(), "p1".to_string()]);
        assert_eq!(r.users().count(), 0);
        assert!(r.nodes.is_empty(), "an empty node is not kept");
    }
}
