package reflow

import (
	"encoding/json"
	"errors"
)

// hostAPI is the host side of the three extism:host/user functions, as raw bytes: keys are
// UTF-8 text, values are JSON text. Under WebAssembly it calls the imports (host_wasm.go);
// natively it is a TestHost (host_native.go).
type hostAPI interface {
	getState(key []byte) []byte
	setState(key, value []byte)
	sendOutput(outputs []byte)
	// hasState says whether key exists in the state, when the host can tell (known); the
	// Extism host cannot: its __get_state answers null for an absent key too.
	hasState(key []byte) (present, known bool)
}

// callKeys holds the state keys that exist during the current process call: those of the
// call's ActorContext.State and those SetState wrote since (the plugin is the only writer of
// its state during its call). nil outside a call. LookupState uses it where the host cannot
// tell an absent key from a JSON null.
var callKeys map[string]bool

// beginCall and endCall bracket one process call (ProcessJSON).
func beginCall(state map[string]any) {
	callKeys = make(map[string]bool, len(state))
	for k := range state {
		callKeys[k] = true
	}
}

func endCall() { callKeys = nil }

var errEmptyKey = errors.New("reflow: a state key must not be empty")

// GetState returns the value under key in the actor's state, decoded from JSON (numbers
// are float64), or nil if the key is absent or holds JSON null (LookupState tells the two
// apart). It reads the host's copy, so it sees what SetState wrote earlier in the same call.
func GetState(key string) (any, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	h, err := currentHost()
	if err != nil {
		return nil, err
	}
	raw := h.getState([]byte(key))
	if len(raw) == 0 {
		return nil, nil
	}
	var value any
	if err := json.Unmarshal(raw, &value); err != nil {
		return nil, wrap("reflow: __get_state("+key+") returned bad JSON", err)
	}
	return value, nil
}

// SetState sets key to value (encoded as JSON) in the actor's state at once. A State
// returned by the same call replaces the whole state afterwards, so a function that both
// sets keys and returns a State should return the full state it wants.
func SetState(key string, value any) error {
	if key == "" {
		return errEmptyKey
	}
	b, err := json.Marshal(value)
	if err != nil {
		return wrap("reflow: cannot encode the state value for "+key, err)
	}
	h, err := currentHost()
	if err != nil {
		return err
	}
	h.setState([]byte(key), b)
	if callKeys != nil {
		callKeys[key] = true
	}
	return nil
}

// LookupState is GetState that also says whether key exists: (nil, false, nil) for an
// absent key, (nil, true, nil) for a key that holds JSON null.
func LookupState(key string) (value any, found bool, err error) {
	value, err = GetState(key)
	if err != nil {
		return nil, false, err
	}
	if value != nil {
		return value, true, nil
	}
	h, err := currentHost()
	if err != nil {
		return nil, false, err
	}
	if present, known := h.hasState([]byte(key)); known {
		return nil, present, nil
	}
	return nil, callKeys[key], nil
}

// SendOutput sends messages now, while the call runs: {port: Message, ToSerializable map
// or plain JSON value}. They arrive before the outputs the call returns, in the order sent,
// and stay sent even if the call then fails. An empty map sends nothing.
func SendOutput(outputs map[string]any) error {
	if len(outputs) == 0 {
		return nil
	}
	b, err := json.Marshal(outputs)
	if err != nil {
		return wrap("reflow: cannot encode the outputs", err)
	}
	h, err := currentHost()
	if err != nil {
		return err
	}
	h.sendOutput(b)
	return nil
}
