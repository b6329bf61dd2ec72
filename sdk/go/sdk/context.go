package reflow

import "encoding/json"

// ActorContext is the input of one process call (docs/abi.md, "process").
type ActorContext struct {
	// Payload holds the messages that arrived, by inport name (only ports that have data).
	Payload map[string]Message `json:"payload"`
	// Config says who the actor is and how the graph configured it.
	Config ActorConfig `json:"config"`
	// State is the actor's state as the host holds it: empty (never nil) before the first
	// change. Numbers in it are float64.
	State map[string]any `json:"state"`
}

// UnmarshalJSON reads an ActorContext; missing or null maps read as empty maps, so a
// process function may index and write them without nil checks.
func (c *ActorContext) UnmarshalJSON(b []byte) error {
	type plain ActorContext
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.Payload == nil {
		p.Payload = map[string]Message{}
	}
	if p.State == nil {
		p.State = map[string]any{}
	}
	if p.Config.ResolvedEnv == nil { // no "config" key at all
		p.Config.ResolvedEnv = map[string]string{}
	}
	if p.Config.Config == nil {
		p.Config.Config = map[string]any{}
	}
	*c = ActorContext(p)
	return nil
}

// ActorConfig says who the actor is and how the graph configured it.
type ActorConfig struct {
	// NodeID is the process name in the graph.
	NodeID string `json:"node_id"`
	// Component is the component name.
	Component string `json:"component"`
	// ResolvedEnv holds the environment values the graph granted (empty unless granted).
	ResolvedEnv map[string]string `json:"resolved_env"`
	// Config is the per-process configuration from the graph (empty if none). Numbers in
	// it are float64: use GetInteger and GetNumber.
	Config map[string]any `json:"config"`
	// Namespace is nil when the host sends null.
	Namespace *string `json:"namespace"`
}

// UnmarshalJSON reads an ActorConfig; missing or null maps read as empty maps.
func (c *ActorConfig) UnmarshalJSON(b []byte) error {
	type plain ActorConfig
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.ResolvedEnv == nil {
		p.ResolvedEnv = map[string]string{}
	}
	if p.Config == nil {
		p.Config = map[string]any{}
	}
	*c = ActorConfig(p)
	return nil
}

// MarshalJSON writes nil maps as {} (the host's reader does not take null for them).
func (c ActorConfig) MarshalJSON() ([]byte, error) {
	type plain ActorConfig
	p := plain(c)
	if p.ResolvedEnv == nil {
		p.ResolvedEnv = map[string]string{}
	}
	if p.Config == nil {
		p.Config = map[string]any{}
	}
	return json.Marshal(p)
}

// Get returns the raw configuration value under key.
func (c ActorConfig) Get(key string) (any, bool) {
	v, ok := c.Config[key]
	return v, ok
}

// GetInteger returns the setting under key as an int64. JSON numbers arrive as float64: a
// whole number (5 or 5.0) counts, 5.5 or a string does not.
func (c ActorConfig) GetInteger(key string) (int64, bool) {
	return toInt64(c.Config[key])
}

// GetNumber returns the setting under key as a float64 (any JSON number).
func (c ActorConfig) GetNumber(key string) (float64, bool) {
	return toFloat64(c.Config[key])
}

// GetString returns the setting under key when it is a string.
func (c ActorConfig) GetString(key string) (string, bool) {
	s, ok := c.Config[key].(string)
	return s, ok
}

// GetBool returns the setting under key when it is a boolean.
func (c ActorConfig) GetBool(key string) (bool, bool) {
	b, ok := c.Config[key].(bool)
	return b, ok
}

// GetInt is GetInteger, under the name the original Go SDK used.
func (c ActorConfig) GetInt(key string) (int64, bool) { return c.GetInteger(key) }

// GetFloat is GetNumber, under the name the original Go SDK used.
func (c ActorConfig) GetFloat(key string) (float64, bool) { return c.GetNumber(key) }

// GetEnv returns a granted environment value.
func (c ActorConfig) GetEnv(key string) (string, bool) {
	v, ok := c.ResolvedEnv[key]
	return v, ok
}

// ActorResult is the answer of one process call.
type ActorResult struct {
	// Outputs are the messages to send, by outport name. A value may be a Message, the
	// map from Message.ToSerializable, or a plain JSON value (the host maps it by kind:
	// a whole number becomes Integer, a string String, ...).
	Outputs map[string]any `json:"outputs"`
	// State, when not nil, replaces the actor's whole state (an empty map clears it).
	// nil means "no change" and is written as "state": null.
	State map[string]any `json:"state"`
}

// MarshalJSON writes {"outputs": {...}, "state": {...} or null}; nil Outputs are written
// as {}. An empty, non-nil State is kept: it clears the state, unlike nil.
func (r ActorResult) MarshalJSON() ([]byte, error) {
	type plain ActorResult
	p := plain(r)
	if p.Outputs == nil {
		p.Outputs = map[string]any{}
	}
	return json.Marshal(p)
}
