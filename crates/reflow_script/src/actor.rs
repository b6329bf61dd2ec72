//! An engine seen as an actor: a name, ports, and the rule for undeclared outports.

use crate::{ExtismEngine, OutputSink, PluginModule, ScriptError};
use reflow_abi::{ActorConfig, Message, PluginMetadata};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A plugin instance running as one actor of a network.
///
/// Messages on outports the plugin's metadata does not declare are dropped with one warning
/// per port (the original SDKs' own examples send such ports, so this is never fatal) and
/// counted in [`ScriptActor::dropped`].
pub struct ScriptActor {
    engine: ExtismEngine,
    declared: Arc<HashSet<String>>,
    dropped: Arc<Mutex<DropLog>>,
    /// The last `emit` given and its [`ScriptActor::filtered`] wrapper: a network passes the
    /// same sink to every call, so the wrapper is made once, not once per message.
    filtered: Option<(OutputSink, OutputSink)>,
}

#[derive(Default)]
struct DropLog {
    warned: HashSet<String>,
    count: u64,
}

impl DropLog {
    fn note(&mut self, actor: &str, port: &str) {
        self.count += 1;
        if self.warned.insert(port.to_string()) {
            tracing::warn!(
                target: "reflow_script::actor",
                "actor {actor}: dropping messages on outport {port:?}, which the plugin's metadata does not declare"
            );
        }
    }
}

impl ScriptActor {
    pub fn new(module: &PluginModule, config: ActorConfig) -> Result<ScriptActor, ScriptError> {
        let engine = ExtismEngine::from_module(module, config)?;
        let declared = engine.metadata().outports.iter().map(|p| p.name.clone()).collect();
        Ok(ScriptActor { engine, declared: Arc::new(declared), dropped: Arc::default(), filtered: None })
    }

    pub fn name(&self) -> &str {
        self.engine.actor()
    }

    pub fn metadata(&self) -> &PluginMetadata {
        self.engine.metadata()
    }

    pub fn engine(&self) -> &ExtismEngine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut ExtismEngine {
        &mut self.engine
    }

    /// How many messages were dropped for naming an undeclared outport.
    pub fn dropped(&self) -> u64 {
        self.dropped.lock().map(|d| d.count).unwrap_or(0)
    }

    /// Runs one call. Sent and returned messages on declared outports go to `emit`, sent ones
    /// during the call, returned ones after it in the metadata's outport order.
    pub fn process(&mut self, payload: &HashMap<String, Message>, emit: OutputSink) -> Result<(), ScriptError> {
        let returned = emit.clone();
        self.process_split(payload, emit, &mut |port, message| returned(port, message))
    }

    /// [`ScriptActor::process`], with the messages the call sent (`sent`, during the call) and
    /// those it returned (`returned`, after it) apart: a recording keeps them apart.
    pub fn process_split(
        &mut self,
        payload: &HashMap<String, Message>,
        sent: OutputSink,
        returned: &mut dyn FnMut(&str, Message),
    ) -> Result<(), ScriptError> {
        let filtered = self.filtered(&sent);
        let outputs = self.engine.process_ports(payload, Some(&filtered))?;
        self.emit_returned(outputs, returned);
        Ok(())
    }

    /// Runs `payloads` in order, as [`ScriptActor::process`] would one by one (the same
    /// messages, in the same order), in one call when the plugin takes batches
    /// ([`ExtismEngine::process_batch`]). Returns how many were done, and the error of the next
    /// one if it failed (the ones after it were not run).
    pub fn process_batch(&mut self, payloads: &[HashMap<String, Message>], emit: OutputSink) -> (usize, Option<ScriptError>) {
        if !self.engine.batches() {
            for (done, payload) in payloads.iter().enumerate() {
                if let Err(e) = self.process(payload, emit.clone()) {
                    return (done, Some(e));
                }
            }
            return (payloads.len(), None);
        }
        // A plugin that takes batches cannot call `__send_output`: only returned outputs.
        let (outputs, failed) = self.engine.process_batch_ports(payloads, None);
        let done = outputs.len();
        for returned in outputs {
            self.emit_returned(returned, &mut |port, message| emit(port, message));
        }
        (done, failed)
    }

    /// `emit`, keeping only the outports the metadata declares (the rest are counted).
    fn filtered(&mut self, emit: &OutputSink) -> OutputSink {
        match &self.filtered {
            Some((given, wrapper)) if Arc::ptr_eq(given, emit) => return wrapper.clone(),
            _ => {}
        }
        let declared = self.declared.clone();
        let dropped = self.dropped.clone();
        let actor: Arc<str> = self.engine.actor().into();
        let given = emit.clone();
        let wrapper: OutputSink = Arc::new(move |port: &str, message: Message| {
            if declared.contains(port) {
                given(port, message)
            } else if let Ok(mut log) = dropped.lock() {
                log.note(&actor, port)
            }
        });
        self.filtered = Some((emit.clone(), wrapper.clone()));
        wrapper
    }

    /// A call's returned outputs to `returned`, in the metadata's outport order (a port named
    /// twice: the last one, as the plugin's result map means); those on undeclared ports are
    /// counted (once per port) and dropped.
    fn emit_returned(&self, mut outputs: Vec<(String, Message)>, returned: &mut dyn FnMut(&str, Message)) {
        for port in &self.engine.metadata().outports {
            if let Some((_, message)) = outputs.extract_if(.., |(name, _)| *name == port.name).last() {
                returned(&port.name, message);
            }
        }
        if !outputs.is_empty() {
            let mut log = self.dropped.lock().unwrap_or_else(|p| p.into_inner());
            let mut ports: Vec<_> = outputs.into_iter().map(|(port, _)| port).collect();
            ports.sort();
            ports.dedup();
            for port in ports {
                log.note(self.engine.actor(), &port);
            }
        }
    }
}
