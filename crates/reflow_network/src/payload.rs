//! [`Payload`]: one firing's messages, by inport.
//!
//! Built by the scheduler for every firing, so it must cost no allocation of its own: a
//! firing carries one message in the common case and a few (one per `required` inport) at
//! most, so the entries live inline in a small vector and a lookup is a scan of one or two
//! names. The port names are the scheduler's shared `Arc<str>`s, so building a payload copies
//! no string either. A `HashMap<String, Message>` (what this replaced) cost two allocations
//! per message, about half the per-hop cost of a native chain.

use reflow_abi::Message;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;

/// One firing's messages, by inport: a small map with the methods of a map that components
/// use (`get`, `remove`, `insert`, `drain`, ...). Each inport appears at most once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    entries: SmallVec<[(Arc<str>, Message); 1]>,
}

impl Payload {
    /// An empty payload.
    pub fn new() -> Payload {
        Payload::default()
    }

    /// The message on `port`, if the firing has one.
    pub fn get(&self, port: &str) -> Option<&Message> {
        self.entries.iter().find(|(p, _)| &**p == port).map(|(_, m)| m)
    }

    /// The message on `port`, to change in place.
    pub fn get_mut(&mut self, port: &str) -> Option<&mut Message> {
        self.entries.iter_mut().find(|(p, _)| &**p == port).map(|(_, m)| m)
    }

    /// Whether the firing has a message on `port`.
    pub fn contains_key(&self, port: &str) -> bool {
        self.get(port).is_some()
    }

    /// Takes the message on `port` out of the payload (a component forwarding it without a
    /// copy; what is left is what a failure dead-letters).
    pub fn remove(&mut self, port: &str) -> Option<Message> {
        let at = self.entries.iter().position(|(p, _)| &**p == port)?;
        Some(self.entries.remove(at).1)
    }

    /// Sets the message on `port`, returning the one it replaces.
    pub fn insert(&mut self, port: impl Into<Arc<str>>, message: Message) -> Option<Message> {
        let port = port.into();
        match self.get_mut(&port) {
            Some(old) => Some(std::mem::replace(old, message)),
            None => {
                self.entries.push((port, message));
                None
            }
        }
    }

    /// The number of inports with a message.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no inport has a message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The inports and their messages, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Message)> + '_ {
        self.entries.iter().map(|(p, m)| (&**p, m))
    }

    /// The inports with a message.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(p, _)| &**p)
    }

    /// The messages.
    pub fn values(&self) -> impl Iterator<Item = &Message> + '_ {
        self.entries.iter().map(|(_, m)| m)
    }

    /// Takes every message out, leaving the payload empty.
    pub fn drain(&mut self) -> impl Iterator<Item = (Arc<str>, Message)> + '_ {
        self.entries.drain(..)
    }

    /// The payload as the map that plugin calls and reports carry (`ActorContext.payload`,
    /// [`crate::DeadLetter::payload`]).
    pub fn to_map(&self) -> HashMap<String, Message> {
        self.iter().map(|(p, m)| (p.to_string(), m.clone())).collect()
    }

    /// [`Payload::to_map`], moving the messages.
    pub fn into_map(self) -> HashMap<String, Message> {
        self.entries.into_iter().map(|(p, m)| (p.to_string(), m)).collect()
    }
}

impl<K: Into<Arc<str>>> FromIterator<(K, Message)> for Payload {
    fn from_iter<I: IntoIterator<Item = (K, Message)>>(entries: I) -> Payload {
        let mut payload = Payload::new();
        for (port, message) in entries {
            payload.insert(port, message);
        }
        payload
    }
}

impl<K: Into<Arc<str>>, const N: usize> From<[(K, Message); N]> for Payload {
    fn from(entries: [(K, Message); N]) -> Payload {
        entries.into_iter().collect()
    }
}

impl IntoIterator for Payload {
    type Item = (Arc<str>, Message);
    type IntoIter = smallvec::IntoIter<[(Arc<str>, Message); 1]>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map_of_inports() {
        let mut payload = Payload::from([("a", Message::Integer(1))]);
        assert_eq!(payload.insert("b", Message::Integer(2)), None);
        assert_eq!(payload.insert("a", Message::Integer(3)), Some(Message::Integer(1)));
        assert_eq!(payload.len(), 2);
        assert_eq!(payload.get("a"), Some(&Message::Integer(3)));
        assert!(payload.contains_key("b") && !payload.contains_key("c"));
        assert_eq!(payload.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(payload.remove("a"), Some(Message::Integer(3)));
        assert_eq!(payload.remove("a"), None);
        let map = payload.clone().into_map();
        assert_eq!(map, HashMap::from([("b".to_string(), Message::Integer(2))]));
        assert_eq!(payload.to_map(), map);
        assert_eq!(payload.drain().count(), 1);
        assert!(payload.is_empty());
    }
}
