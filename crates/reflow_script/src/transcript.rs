//! One call of a plugin outside a graph, recorded whole (what `reflow call` prints): what the
//! call returned, what it sent with `__send_output` during the call, in order, and the state
//! after it; and which of those ports the plugin's metadata does not declare. In a graph such
//! messages are dropped ([`ScriptActor`](crate::ScriptActor)'s rule); a transcript keeps them,
//! so that a plugin's author sees everything it produced, and says which a graph would drop.

use crate::{ExtismEngine, OutputSink, ScriptError};
use reflow_abi::{Message, PluginMetadata};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Everything one call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The outputs the call returned, by outport.
    pub outputs: HashMap<String, Message>,
    /// The messages sent during the call, in the order sent.
    pub sent: Vec<(String, Message)>,
    /// The actor's state after the call.
    pub state: Map<String, Value>,
}

/// A message on an outport the plugin's metadata does not declare (a graph drops it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared {
    pub port: String,
    /// True for a message sent during the call, false for a returned output.
    pub sent: bool,
}

impl Transcript {
    /// Runs one call of `engine` on `payload` and records what it produced.
    pub fn record(engine: &mut ExtismEngine, payload: &HashMap<String, Message>) -> Result<Transcript, ScriptError> {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let sink: OutputSink = {
            let sent = sent.clone();
            Arc::new(move |port: &str, message: Message| {
                sent.lock().unwrap_or_else(|p| p.into_inner()).push((port.to_string(), message));
            })
        };
        let outputs = engine.process(payload, Some(&sink))?;
        let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Transcript { outputs, sent, state: engine.state().clone() })
    }

    /// The messages a graph would drop: each sent one on an undeclared outport, in order, then
    /// each returned one, by port name.
    pub fn undeclared(&self, metadata: &PluginMetadata) -> Vec<Undeclared> {
        let undeclared = |port: &str| metadata.outport(port).is_none();
        let sent = self.sent.iter().filter(|(port, _)| undeclared(port)).map(|(port, _)| Undeclared { port: port.clone(), sent: true });
        let mut returned: Vec<&String> = self.outputs.keys().filter(|port| undeclared(port)).collect();
        returned.sort();
        sent.chain(returned.into_iter().map(|port| Undeclared { port: port.clone(), sent: false })).collect()
    }

    /// `{"outputs": {PORT: MESSAGE}, "state": {..}, "sent": [{"port": PORT, "message": MESSAGE}]}`.
    pub fn to_json(&self) -> Value {
        let outputs: Map<String, Value> = self.outputs.iter().map(|(p, m)| (p.clone(), m.to_json())).collect();
        let sent: Vec<Value> = self.sent.iter().map(|(port, message)| json!({"port": port, "message": message})).collect();
        json!({"outputs": outputs, "state": self.state, "sent": sent})
    }
}
