//! The contact relation: whose presence each user sees.
//!
//! X and Y are contacts when X's list (given on connect) names Y, or Y's
//! names X, or a link joined them. One relation can have several of these
//! reasons at once, so each side keeps them as flags, and the relation ends
//! when its last reason goes. The relation is kept symmetric: the entry
//! `x → y` exists exactly when `y → x` does, with mirrored flags
//! ([`mirror`]). Nobody is his own contact, and no user is kept without at
//! least one contact.

use std::collections::HashMap;

/// The contact relation between two users, from one side's point of view.
/// Bits, because one relation can have several reasons to exist.
pub(super) type EdgeFlags = u8;
/// A link joined them (a new conversation, [`HubHandle::link`]).
///
/// [`HubHandle::link`]: super::HubHandle::link
pub(super) const LINKED: EdgeFlags = 1;
/// The `contacts` this user gave on connect list the other.
pub(super) const LISTED: EdgeFlags = 2;
/// The other user's `contacts` list this user.
pub(super) const LISTED_BY_PEER: EdgeFlags = 4;

/// The same reasons seen from the other side.
pub(super) fn mirror(flags: EdgeFlags) -> EdgeFlags {
    (flags & LINKED) | ((flags & LISTED) << 1) | ((flags & LISTED_BY_PEER) >> 1)
}

/// The symmetric contact relation: `edges[x][y]` exists iff `edges[y][x]`
/// does, with mirrored flags, never empty ones.
#[derive(Debug, Default)]
pub(super) struct Contacts {
    edges: HashMap<String, HashMap<String, EdgeFlags>>,
}

impl Contacts {
    /// The contacts of `user_id`, in no particular order.
    pub(super) fn peers<'a>(&'a self, user_id: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .get(user_id)
            .into_iter()
            .flat_map(HashMap::keys)
            .map(String::as_str)
    }

    /// Whether `a` and `b` are contacts.
    pub(super) fn are_contacts(&self, a: &str, b: &str) -> bool {
        self.edges.get(a).is_some_and(|peers| peers.contains_key(b))
    }

    /// Replaces the contacts `user_id` listed himself (himself and
    /// duplicates ignored); other reasons for a relation (links, the peer's
    /// own list) stay.
    pub(super) fn set_listed(&mut self, user_id: &str, mut listed: Vec<String>) {
        listed.retain(|c| c != user_id);
        listed.sort_unstable();
        listed.dedup();
        let stale: Vec<String> = self
            .edges
            .get(user_id)
            .map(|peers| {
                peers
                    .iter()
                    .filter(|(peer, flags)| {
                        **flags & LISTED != 0 && listed.binary_search(peer).is_err()
                    })
                    .map(|(peer, _)| peer.clone())
                    .collect()
            })
            .unwrap_or_default();
        for peer in stale {
            self.clear_edge(user_id, &peer, LISTED);
        }
        for peer in listed {
            self.set_edge(user_id, &peer, LISTED);
        }
    }

    /// Makes `listed` exactly the contacts of `user_id`: every relation he
    /// had, whatever its reason, goes, and the listed ones come back.
    pub(super) fn reset(&mut self, user_id: &str, listed: Vec<String>) {
        if let Some(peers) = self.edges.remove(user_id) {
            for peer in peers.keys() {
                if let Some(back) = self.edges.get_mut(peer) {
                    back.remove(user_id);
                    if back.is_empty() {
                        self.edges.remove(peer);
                    }
                }
            }
        }
        self.set_listed(user_id, listed);
    }

    /// Makes `a` and `b` contacts for as long as either is online (see
    /// [`Contacts::forget_offline`]). Ignored when `a` is `b`.
    pub(super) fn link(&mut self, a: &str, b: &str) {
        if a != b {
            self.set_edge(a, b, LINKED);
        }
    }

    /// Forgets the relations between `user_id`, who just went offline, and
    /// the users who are offline too (`is_online` says who is not); his
    /// relations with online users stay.
    pub(super) fn forget_offline(&mut self, user_id: &str, is_online: impl Fn(&str) -> bool) {
        let Some(peers) = self.edges.get_mut(user_id) else {
            return;
        };
        let mut offline_peers = Vec::new();
        peers.retain(|peer, _| {
            let keep = is_online(peer);
            if !keep {
                offline_peers.push(peer.clone());
            }
            keep
        });
        if peers.is_empty() {
            self.edges.remove(user_id);
        }
        for peer in offline_peers {
            if let Some(back) = self.edges.get_mut(&peer) {
                back.remove(user_id);
                if back.is_empty() {
                    self.edges.remove(&peer);
                }
            }
        }
    }

    /// Forgets every relation.
    pub(super) fn clear(&mut self) {
        self.edges.clear();
    }

    /// The reasons of `from`'s relation with `to`, if they are contacts.
    #[cfg(test)]
    pub(super) fn flags(&self, from: &str, to: &str) -> Option<EdgeFlags> {
        self.edges.get(from)?.get(to).copied()
    }

    /// Whether `user_id` has at least one contact.
    #[cfg(test)]
    pub(super) fn has_contacts(&self, user_id: &str) -> bool {
        self.edges.contains_key(user_id)
    }

    /// Whether nobody has a contact.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Adds the reasons `flags` to `a`'s relation with `b`, and their
    /// mirror to `b`'s with `a`.
    fn set_edge(&mut self, a: &str, b: &str, flags: EdgeFlags) {
        *self
            .edges
            .entry(a.to_owned())
            .or_default()
            .entry(b.to_owned())
            .or_insert(0) |= flags;
        *self
            .edges
            .entry(b.to_owned())
            .or_default()
            .entry(a.to_owned())
            .or_insert(0) |= mirror(flags);
    }

    /// Removes the reasons `flags` from `a`'s relation with `b`, and their
    /// mirror from `b`'s with `a`, dropping what is left empty.
    fn clear_edge(&mut self, a: &str, b: &str, flags: EdgeFlags) {
        self.clear_half_edge(a, b, flags);
        self.clear_half_edge(b, a, mirror(flags));
    }

    fn clear_half_edge(&mut self, from: &str, to: &str, flags: EdgeFlags) {
        if let Some(peers) = self.edges.get_mut(from) {
            if let Some(existing) = peers.get_mut(to) {
                *existing &= !flags;
                if *existing == 0 {
                    peers.remove(to);
                }
            }
            if peers.is_empty() {
                self.edges.remove(from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    fn sorted_peers<'a>(contacts: &'a Contacts, user_id: &str) -> Vec<&'a str> {
        let mut peers: Vec<&str> = contacts.peers(user_id).collect();
        peers.sort_unstable();
        peers
    }

    #[test]
    fn a_list_makes_mirrored_relations() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["m1", "m2"]));
        assert_eq!(sorted_peers(&contacts, "b1"), vec!["m1", "m2"]);
        assert_eq!(sorted_peers(&contacts, "m1"), vec!["b1"]);
        assert_eq!(contacts.flags("b1", "m1"), Some(LISTED));
        assert_eq!(contacts.flags("m1", "b1"), Some(LISTED_BY_PEER));
        assert!(contacts.are_contacts("m2", "b1"));
        assert!(!contacts.are_contacts("m1", "m2"));
    }

    #[test]
    fn nobody_is_his_own_contact_and_duplicates_count_once() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["b1", "m1", "m1"]));
        contacts.link("m1", "m1");
        assert_eq!(sorted_peers(&contacts, "b1"), vec!["m1"]);
        assert_eq!(sorted_peers(&contacts, "m1"), vec!["b1"]);
        assert!(!contacts.are_contacts("b1", "b1"));
        assert!(!contacts.are_contacts("m1", "m1"));
    }

    #[test]
    fn both_lists_and_a_link_are_separate_reasons() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["m1"]));
        contacts.set_listed("m1", ids(&["b1"]));
        contacts.link("m1", "b1");
        assert_eq!(
            contacts.flags("b1", "m1"),
            Some(LINKED | LISTED | LISTED_BY_PEER)
        );
        assert_eq!(contacts.flags("m1", "b1"), contacts.flags("b1", "m1"));

        // Dropping one reason keeps the relation while another is left.
        contacts.set_listed("b1", Vec::new());
        assert_eq!(contacts.flags("b1", "m1"), Some(LINKED | LISTED_BY_PEER));
        assert_eq!(contacts.flags("m1", "b1"), Some(LINKED | LISTED));
    }

    #[test]
    fn a_new_list_replaces_the_old_one_but_keeps_links_and_the_peers_lists() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["m1", "m2", "m3"]));
        contacts.link("b1", "m2");
        contacts.set_listed("m3", ids(&["b1"]));
        contacts.set_listed("b1", ids(&["m4"]));
        assert_eq!(sorted_peers(&contacts, "b1"), vec!["m2", "m3", "m4"]);
        assert_eq!(contacts.flags("b1", "m2"), Some(LINKED));
        assert_eq!(contacts.flags("b1", "m3"), Some(LISTED_BY_PEER));
        assert_eq!(contacts.flags("b1", "m4"), Some(LISTED));
        // m1's only reason is gone: so is m1.
        assert!(!contacts.has_contacts("m1"));
    }

    #[test]
    fn a_relation_without_reasons_leaves_nothing_behind() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["m1"]));
        contacts.set_listed("b1", Vec::new());
        assert!(contacts.is_empty());
    }

    #[test]
    fn going_offline_forgets_only_the_offline_peers() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["m1", "m2"]));
        contacts.set_listed("m2", ids(&["p1"]));
        contacts.link("b1", "m3");
        // b1 went offline; of his contacts only m1 is still online.
        contacts.forget_offline("b1", |user_id| user_id == "m1");
        assert_eq!(sorted_peers(&contacts, "b1"), vec!["m1"]);
        assert_eq!(sorted_peers(&contacts, "m1"), vec!["b1"]);
        assert!(!contacts.has_contacts("m3"));
        // m2's other relation is none of b1's business.
        assert_eq!(sorted_peers(&contacts, "m2"), vec!["p1"]);

        contacts.forget_offline("m1", |_| false);
        assert!(!contacts.has_contacts("b1"));
        assert!(!contacts.has_contacts("m1"));
        // Someone without contacts is a no-op.
        contacts.forget_offline("nobody", |_| false);
        assert_eq!(sorted_peers(&contacts, "p1"), vec!["m2"]);
    }

    #[test]
    fn clear_forgets_everyone() {
        let mut contacts = Contacts::default();
        contacts.set_listed("b1", ids(&["m1"]));
        contacts.link("b2", "m2");
        contacts.clear();
        assert!(contacts.is_empty());
        assert_eq!(contacts.peers("b1").count(), 0);
    }
}
