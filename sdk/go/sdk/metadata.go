package reflow

import "encoding/json"

// PluginMetadata is what a plugin says about itself (the answer of get_metadata).
type PluginMetadata struct {
	Component   string           `json:"component"`
	Description string           `json:"description"`
	Inports     []PortDefinition `json:"inports"`
	Outports    []PortDefinition `json:"outports"`
	// ConfigSchema is an optional JSON schema for ActorConfig.Config; nil is written as null.
	ConfigSchema any `json:"config_schema"`
}

// MarshalJSON writes nil port lists as [] (the host's reader does not take null for them)
// and an empty port type as "Any".
func (m PluginMetadata) MarshalJSON() ([]byte, error) {
	type plain PluginMetadata
	p := plain(m)
	p.Inports = normalizePorts(p.Inports)
	p.Outports = normalizePorts(p.Outports)
	return json.Marshal(p)
}

func normalizePorts(ports []PortDefinition) []PortDefinition {
	out := make([]PortDefinition, len(ports))
	for i, port := range ports {
		if port.PortType == "" {
			port.PortType = TypeAny
		}
		out[i] = port
	}
	return out
}

// PortDefinition is one port. Its type is written as "port_type": a message type name
// ("Integer", "Flow", ...) or "Any".
type PortDefinition struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	PortType    string `json:"port_type"`
	// Required, on an inport, makes the host call process only once that port holds a
	// message. It has no effect on outports.
	Required bool `json:"required"`
}

// NewPort defines a port.
func NewPort(name, description, portType string, required bool) PortDefinition {
	return PortDefinition{Name: name, Description: description, PortType: portType, Required: required}
}

// NewRequiredPort defines a port that must hold a message before process is called.
func NewRequiredPort(name, description, portType string) PortDefinition {
	return NewPort(name, description, portType, true)
}

// NewOptionalPort defines a port that need not hold a message.
func NewOptionalPort(name, description, portType string) PortDefinition {
	return NewPort(name, description, portType, false)
}
