//! Running part of a graph in this process, the rest elsewhere ([`Network::prepare_part`]).
//!
//! A graph spread over several processes (`reflow_cluster`) runs, in each, the processes
//! placed there and the edges between them as usual; an edge whose other end is in another
//! process is a [`CrossingEdge`], and the caller gives a component, a [`Bridge`], that stands
//! for that other end: on the sending side a sink that carries what it receives away, on the
//! receiving side a source that sends what arrives. To the scheduler a bridge is an actor like
//! any other, so it is checkpointed, resumed, back-pressured and finished like one, and the
//! scheduler stays private: the hook is a set of processes and a function making components.
//!
//! Why components rather than a hook inside the scheduler: a bridge's position on its edge
//! must be in the same consistent cut as the states of the actors beside it (so a part resumed
//! on another machine neither loses nor repeats a message), and a component's
//! [`Component::checkpoint`] is exactly that; the scheduler needs no notion of "remote".
//!
//! [`Network::prepare_part`]: crate::Network::prepare_part
//! [`Component::checkpoint`]: crate::Component::checkpoint

use crate::component::Component;

/// An edge of the graph with exactly one end in the part being prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossingEdge {
    /// The edge's position in the graph's edge order ([`crate::Graph::edges`]): the same
    /// number in every part, so both ends can name the edge alike.
    pub connection: usize,
    /// Source process and outport (the component's own spelling when the process is in the
    /// part, the graph's otherwise).
    pub from: (String, String),
    /// Target process and inport (likewise).
    pub to: (String, String),
    /// True when the edge leaves the part (its source is in it), false when it enters.
    pub leaves: bool,
}

impl CrossingEdge {
    /// `from.port -> to.port`, as errors name a connection.
    pub fn describe(&self) -> String {
        format!("{}.{} -> {}.{}", self.from.0, self.from.1, self.to.0, self.to.1)
    }
}

/// The component standing for a crossing edge's far end. For an edge that leaves the part
/// it receives on its first inport what the part's process sends; for one that enters, it
/// sends on its first outport what the part's process should receive.
pub struct Bridge {
    /// The actor's name: stable across restarts of the part (a checkpoint names its actors),
    /// and unlike any process's.
    pub name: String,
    pub component: Box<dyn Component>,
}
