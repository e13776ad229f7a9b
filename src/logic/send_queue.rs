//! The order in which outgoing Matrix messages are sent.
//!
//! Command replies go first: someone is waiting for them. Notifications are taken round-robin
//! across rooms, so one room with a long backlog (or one busy stream announced in many rooms)
//! cannot starve the others, while each room still gets its messages in order.

use std::collections::{HashMap, VecDeque};

#[derive(Debug)]
pub struct SendQueue<T> {
    urgent: VecDeque<T>,
    /// Rooms with queued notifications, in turn order.
    turns: VecDeque<String>,
    rooms: HashMap<String, VecDeque<T>>,
}

impl<T> Default for SendQueue<T> {
    fn default() -> Self {
        Self {
            urgent: VecDeque::new(),
            turns: VecDeque::new(),
            rooms: HashMap::new(),
        }
    }
}

impl<T> SendQueue<T> {
    /// Queues a command reply.
    pub fn push_urgent(&mut self, item: T) {
        self.urgent.push_back(item);
    }

    /// Queues a notification for `room`.
    pub fn push(&mut self, room: &str, item: T) {
        let queue = self.rooms.entry(room.to_owned()).or_default();
        if queue.is_empty() {
            self.turns.push_back(room.to_owned());
        }
        queue.push_back(item);
    }

    /// Puts back an item whose send must be retried, keeping its place: first of its room, and
    /// that room's turn comes next.
    pub fn push_front(&mut self, room: Option<&str>, item: T) {
        let Some(room) = room else {
            self.urgent.push_front(item);
            return;
        };
        let queue = self.rooms.entry(room.to_owned()).or_default();
        if !queue.is_empty() {
            self.turns.retain(|r| r != room);
        }
        queue.push_front(item);
        self.turns.push_front(room.to_owned());
    }

    /// The next item to send.
    pub fn pop(&mut self) -> Option<T> {
        if let Some(item) = self.urgent.pop_front() {
            return Some(item);
        }
        let room = self.turns.pop_front()?;
        let queue = self.rooms.get_mut(&room)?;
        let item = queue.pop_front();
        if queue.is_empty() {
            self.rooms.remove(&room);
        } else {
            self.turns.push_back(room);
        }
        item
    }

    pub fn len(&self) -> usize {
        self.urgent.len() + self.rooms.values().map(VecDeque::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.urgent.is_empty() && self.turns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut SendQueue<&'static str>) -> Vec<&'static str> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn rooms_take_turns_and_keep_their_order() {
        let mut q = SendQueue::default();
        for item in ["a1", "a2", "a3", "a4"] {
            q.push("!a", item);
        }
        q.push("!b", "b1");
        q.push("!c", "c1");
        q.push("!b", "b2");
        assert_eq!(q.len(), 7);
        assert_eq!(drain(&mut q), ["a1", "b1", "c1", "a2", "b2", "a3", "a4"]);
        assert!(q.is_empty());
    }

    #[test]
    fn replies_go_first() {
        let mut q = SendQueue::default();
        q.push("!a", "a1");
        q.push("!a", "a2");
        q.push_urgent("reply1");
        assert_eq!(q.pop(), Some("reply1"));
        assert_eq!(q.pop(), Some("a1"));
        q.push_urgent("reply2");
        assert_eq!(drain(&mut q), ["reply2", "a2"]);
    }

    #[test]
    fn a_retried_item_keeps_its_place() {
        let mut q = SendQueue::default();
        q.push("!a", "a1");
        q.push("!a", "a2");
        q.push("!b", "b1");
        let first = q.pop().unwrap();
        assert_eq!(first, "a1");
        q.push_front(Some("!a"), first);
        assert_eq!(drain(&mut q), ["a1", "b1", "a2"]);

        q.push_urgent("r1");
        q.push_urgent("r2");
        let reply = q.pop().unwrap();
        q.push_front(None, reply);
        assert_eq!(drain(&mut q), ["r1", "r2"]);
    }

    #[test]
    fn retry_into_an_emptied_room() {
        let mut q = SendQueue::default();
        q.push("!a", "a1");
        q.push("!b", "b1");
        let a1 = q.pop().unwrap();
        q.push_front(Some("!a"), a1);
        assert_eq!(drain(&mut q), ["a1", "b1"]);
    }
}
