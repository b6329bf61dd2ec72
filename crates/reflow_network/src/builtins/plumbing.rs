//! Components that only move or make messages.

use super::{meta, port};
use crate::component::{Component, ComponentError, Outputs, Payload, SourceStatus};
use crate::error::NetworkError;
use reflow_abi::{Message, PluginMetadata};
use serde_json::{Map, Value};

/// `core/Repeat`: sends every message on `in` to `out` unchanged.
pub struct Repeat(PluginMetadata);

impl Repeat {
    pub fn new() -> Self {
        Repeat(Self::metadata_value())
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("core/Repeat", "Forwards each message unchanged", vec![port("in", "any message", "Any")], vec![port("out", "the same message", "Any")])
    }
}

impl Component for Repeat {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        for (_, message) in payload.drain() {
            out.send("out", message);
        }
        Ok(())
    }
}

/// `core/Drop`: accepts and forgets every message.
pub struct Drop(PluginMetadata);

impl Drop {
    pub fn new() -> Self {
        Drop(Self::metadata_value())
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("core/Drop", "Discards every message", vec![port("in", "any message", "Any")], vec![])
    }
}

impl Component for Drop {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// `reflow/Double`: the native twin of the doubler plugin (Integer in, twice it out), the
/// baseline for measuring what the sandbox costs.
pub struct Double(PluginMetadata);

impl Double {
    pub fn new() -> Self {
        Double(Self::metadata_value())
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("reflow/Double", "Doubles each Integer", vec![port("input", "a number", "Integer")], vec![port("output", "twice the number", "Integer")])
    }
}

impl Component for Double {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        if let Some(Message::Integer(n)) = payload.get("input") {
            out.send("output", Message::Integer(n.wrapping_mul(2)));
        }
        Ok(())
    }
}

/// `reflow/Range`: a source sending the Integers `start..=end` (by `step`) on `out`.
pub struct Range {
    metadata: PluginMetadata,
    /// The next integer to send (the source's position).
    next: i64,
    end: i64,
    step: i64,
    /// The pause before each integer (`interval_ms`), for demos and the inspector's test: a
    /// paced source. The pause holds a worker, as any long call does (the pool compensates).
    interval: std::time::Duration,
}

impl Range {
    pub fn new(config: &Map<String, Value>) -> Result<Self, NetworkError> {
        let problem = |reason: String| NetworkError::Config { component: "reflow/Range".into(), reason };
        let int = |key: &str, default: Option<i64>| match config.get(key) {
            None => default.ok_or_else(|| problem(format!("needs an integer `{key}` in its config"))),
            Some(v) => v.as_i64().ok_or_else(|| problem(format!("config `{key}` must be an integer, got {v}"))),
        };
        let (start, end, step) = (int("start", Some(0))?, int("end", None)?, int("step", Some(1))?);
        if step <= 0 {
            return Err(problem(format!("config `step` must be positive, got {step}")));
        }
        let interval = int("interval_ms", Some(0))?;
        let interval = u64::try_from(interval).map_err(|_| problem(format!("config `interval_ms` must not be negative, got {interval}")))?;
        Ok(Range { metadata: Self::metadata_value(), next: start, end, step, interval: std::time::Duration::from_millis(interval) })
    }

    pub fn metadata_value() -> PluginMetadata {
        let mut m = meta("reflow/Range", "Sends the integers start..=end (config: start, end, step, interval_ms)", vec![], vec![port("out", "each integer", "Integer")]);
        m.config_schema = Some(serde_json::json!({
            "type": "object",
            "required": ["end"],
            "properties": {"start": {"type": "integer", "default": 0}, "end": {"type": "integer"}, "step": {"type": "integer", "default": 1}, "interval_ms": {"type": "integer", "default": 0}}
        }));
        m
    }
}

impl Component for Range {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }
    fn poll_source(&mut self, out: &Outputs, budget: usize) -> Result<SourceStatus, ComponentError> {
        let paced = !self.interval.is_zero();
        if paced {
            std::thread::sleep(self.interval);
        }
        for _ in 0..if paced { 1 } else { budget } {
            if self.next > self.end || out.stopping() {
                return Ok(SourceStatus::Done);
            }
            out.send("out", Message::Integer(self.next));
            match self.next.checked_add(self.step) {
                Some(next) => self.next = next,
                None => return Ok(SourceStatus::Done),
            }
        }
        Ok(match () {
            _ if self.next > self.end => SourceStatus::Done,
            _ if paced => SourceStatus::Yield,
            _ => SourceStatus::More,
        })
    }
    /// The position is the next integer to send.
    fn checkpoint(&mut self) -> Result<Option<Value>, ComponentError> {
        Ok(Some(serde_json::json!({"next": self.next})))
    }
    fn restore(&mut self, saved: Value) -> Result<(), ComponentError> {
        self.next = saved.get("next").and_then(Value::as_i64).ok_or_else(|| ComponentError::new(format!("reflow/Range: a checkpointed position must be {{\"next\": INTEGER}}, got {saved}")))?;
        Ok(())
    }
}
