//! What a plugin says about itself: its component name and its ports.

use serde::{Deserialize, Serialize};

/// The answer of a plugin's `get_metadata` export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginMetadata {
    /// The component's name, as graphs and the FBP protocol's component list show it.
    pub component: String,
    /// What the component does, for people (editors show it).
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub description: String,
    /// The ports it reads; a graph may connect only these (validation says so otherwise).
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub inports: Vec<PortDefinition>,
    /// The ports it sends on; a message on any other port is warned about and dropped.
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub outports: Vec<PortDefinition>,
    /// A JSON schema for `ActorContext.config.config`, if the plugin publishes one.
    #[serde(default)]
    pub config_schema: Option<serde_json::Value>,
}

impl PluginMetadata {
    /// The inport named `name`, if declared.
    pub fn inport(&self, name: &str) -> Option<&PortDefinition> {
        self.inports.iter().find(|p| p.name == name)
    }

    /// The outport named `name`, if declared.
    pub fn outport(&self, name: &str) -> Option<&PortDefinition> {
        self.outports.iter().find(|p| p.name == name)
    }
}

/// One port. On the wire the type field is `port_type`, as the original SDKs emit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortDefinition {
    /// The name graphs connect to.
    pub name: String,
    /// What the port carries, for people.
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub description: String,
    /// A message type name (`"Integer"`, `"Flow"`, ...) or `"Any"`.
    #[serde(default = "any_type")]
    pub port_type: String,
    /// A required inport must hold a message before `process` is called.
    #[serde(default)]
    pub required: bool,
}

fn any_type() -> String {
    "Any".to_string()
}

impl PortDefinition {
    /// A port from borrowed strings, what `port_def!` expands to.
    pub fn new(name: &str, description: &str, port_type: &str, required: bool) -> Self {
        PortDefinition {
            name: name.to_string(),
            description: description.to_string(),
            port_type: port_type.to_string(),
            required,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_type_is_the_wire_name_and_defaults_apply() {
        // The original Go SDK writes `null` for an empty port list.
        let json = r#"{"component":"C","inports":[{"name":"in","port_type":"Integer"}],"outports":null}"#;
        let meta: PluginMetadata = serde_json::from_str(json).unwrap();
        assert_eq!(meta.inports[0].port_type, "Integer");
        assert!(!meta.inports[0].required);
        assert!(meta.outports.is_empty());
        let back = serde_json::to_value(&meta).unwrap();
        assert_eq!(back["inports"][0]["port_type"], "Integer");
    }
}
