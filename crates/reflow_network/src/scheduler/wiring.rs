//! The wiring, built once in O(routes): for each actor, where each outport's messages go (its
//! targets, grouped into one outbox slot per target actor, and the graph outports it is
//! exported as); the outbox an activation sends into; which edges lie inside a cycle; the
//! order of the `finish` calls.

use super::probe::Counters;
use super::supervise::notify;
use super::{Export, Observer, Route};
use reflow_abi::Message;
use reflow_script::OutputSink;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// A message on its way to an inport, with its estimated size.
pub(crate) struct Item {
    pub port: Arc<str>,
    pub message: Message,
    pub size: usize,
}

/// One target actor of a sender.
#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub to: usize,
    /// False for an edge inside a strongly connected component (see the module docs of
    /// `scheduler`: a cycle's own queues are not bounded).
    pub bounded: bool,
}

/// What an actor has sent and not yet delivered, per target, in sending order.
pub(crate) struct Outbox {
    pub slots: Vec<Slot>,
    pub queues: Vec<VecDeque<Item>>,
    /// The slots whose queue holds messages, each once.
    pub dirty: Vec<usize>,
    /// Messages held, over all slots, and their estimated size.
    pub held: usize,
    pub bytes: usize,
    /// Messages sent on connected or exported outports.
    pub sent: u64,
}

impl Outbox {
    pub(crate) fn push(&mut self, slot: usize, item: Item) {
        let queue = &mut self.queues[slot];
        if queue.is_empty() {
            self.dirty.push(slot);
        }
        self.bytes += item.size;
        queue.push_back(item);
        self.held += 1;
    }

    /// Forgets every held message (a halted run), returning how many there were.
    pub fn clear(&mut self) -> usize {
        for queue in &mut self.queues {
            queue.clear();
        }
        self.dirty.clear();
        self.bytes = 0;
        std::mem::take(&mut self.held)
    }
}

/// One connection out of an outport.
struct Target {
    slot: usize,
    inport: Arc<str>,
    route: usize,
}

#[derive(Default)]
struct PortRoutes {
    targets: Vec<Target>,
    exports: Vec<String>,
}

/// An actor's outports and where each one's messages go. A list, not a hash map: an actor has
/// a few outports, and comparing a few names costs less than hashing one for every message.
#[derive(Default)]
struct RouteTable(Vec<(Box<str>, PortRoutes)>);

impl RouteTable {
    fn get(&self, port: &str) -> Option<&PortRoutes> {
        self.0.iter().find(|(name, _)| &**name == port).map(|(_, routes)| routes)
    }

    fn entry(&mut self, port: &str) -> &mut PortRoutes {
        let at = match self.0.iter().position(|(name, _)| &**name == port) {
            Some(at) => at,
            None => {
                self.0.push((port.into(), PortRoutes::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }
}

/// Each actor's outbox (empty) and sending function, plus the order of `finish` calls.
pub(crate) struct Wiring {
    pub outboxes: Vec<Arc<Mutex<Outbox>>>,
    pub sinks: Vec<OutputSink>,
    /// Actors in topological order; within a cycle, in graph order.
    pub finish_order: Vec<usize>,
    /// Per actor: whether its `error` outport is connected or exported.
    pub error_connected: Vec<bool>,
}

pub(crate) fn build(actors: usize, routes: &[Route], exports: &[Export], observer: &Arc<dyn Observer>, observe_edges: bool, counters: Option<&Arc<Counters>>) -> Wiring {
    let mut adjacency = vec![Vec::new(); actors];
    for route in routes {
        adjacency[route.from].push(route.to);
    }
    let mut component = vec![0; actors];
    for (c, members) in crate::validate::strongly_connected(&adjacency).iter().enumerate() {
        for &v in members {
            component[v] = c;
        }
    }
    let mut finish_order: Vec<usize> = (0..actors).collect();
    // Components complete sinks first: the highest number is upstream-most.
    finish_order.sort_by_key(|&i| (std::cmp::Reverse(component[i]), i));

    let mut tables: Vec<RouteTable> = (0..actors).map(|_| RouteTable::default()).collect();
    let mut slots: Vec<Vec<Slot>> = vec![Vec::new(); actors];
    let mut slot_of: Vec<HashMap<usize, usize>> = vec![HashMap::new(); actors];
    let mut error_connected = vec![false; actors];
    for (at, route) in routes.iter().enumerate() {
        let slot = *slot_of[route.from].entry(route.to).or_insert_with(|| {
            slots[route.from].push(Slot { to: route.to, bounded: component[route.from] != component[route.to] });
            slots[route.from].len() - 1
        });
        let inport: Arc<str> = route.inport.as_str().into();
        tables[route.from].entry(&route.outport).targets.push(Target { slot, inport, route: at });
        error_connected[route.from] |= route.outport == super::ERROR_PORT;
    }
    for export in exports {
        tables[export.actor].entry(&export.port).exports.push(export.name.clone());
        error_connected[export.actor] |= export.port == super::ERROR_PORT;
    }
    let mut outboxes = Vec::with_capacity(actors);
    let mut sinks = Vec::with_capacity(actors);
    for (table, slots) in tables.into_iter().zip(slots) {
        let queues = slots.iter().map(|_| VecDeque::new()).collect();
        let outbox = Arc::new(Mutex::new(Outbox { slots, queues, dirty: Vec::new(), held: 0, bytes: 0, sent: 0 }));
        sinks.push(sink(table, outbox.clone(), observer.clone(), observe_edges, counters.cloned()));
        outboxes.push(outbox);
    }
    Wiring { outboxes, sinks, finish_order, error_connected }
}

/// The sending function of one actor: reports exports and observed edges, then holds the
/// message (a copy per extra target) in the outbox. Never blocks: delivery is the flush's.
fn sink(table: RouteTable, outbox: Arc<Mutex<Outbox>>, observer: Arc<dyn Observer>, observe_edges: bool, counters: Option<Arc<Counters>>) -> OutputSink {
    Arc::new(move |port: &str, message: Message| {
        let Some(routes) = table.get(port) else { return };
        if let Some(counters) = &counters {
            for target in &routes.targets {
                counters.routes[target.route].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        for name in &routes.exports {
            notify(|| observer.exported(name, &message));
        }
        if observe_edges {
            for target in &routes.targets {
                notify(|| observer.edge_data(target.route, &message));
            }
        }
        let mut outbox = outbox.lock().unwrap_or_else(|p| p.into_inner());
        outbox.sent += 1;
        let Some((last, rest)) = routes.targets.split_last() else { return };
        let size = estimated_size(&message);
        for target in rest {
            outbox.push(target.slot, Item { port: target.inport.clone(), message: message.clone(), size });
        }
        outbox.push(last.slot, Item { port: last.inport.clone(), message, size });
    })
}

/// About the size of a message's JSON form, without serialising it: what queues are bounded by
/// besides their message count.
pub(crate) fn estimated_size(message: &Message) -> usize {
    const HEADER: usize = 24;
    HEADER
        + match message {
            Message::Flow | Message::Boolean(_) | Message::Integer(_) | Message::Float(_) | Message::Optional(None) => 8,
            Message::String(s) | Message::Error(s) => s.len() + 2,
            // Each byte is a number and a comma in JSON.
            Message::Stream(bytes) => bytes.len() * 4,
            Message::Array(items) => items.iter().map(value_size).sum::<usize>() + items.len() + 2,
            Message::Event(v) | Message::Object(v) | Message::Any(v) => value_size(v),
            Message::Optional(Some(v)) => value_size(v),
        }
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => items.iter().map(value_size).sum::<usize>() + items.len() + 2,
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + 4 + value_size(v)).sum::<usize>() + 2,
    }
}
