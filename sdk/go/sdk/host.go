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
}

var errEmptyKey = errors.New("reflow: a state key must not be empty")

// GetState returns the value under key in the actor's state, decoded from JSON (numbers
// are float64), or nil if the key is absent. It reads the host's copy, so it sees what
// SetState wrote earlier in the same call.
func GetState(key string) (interface{}, error) {
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
	var value interface{}
	if err := json.Unmarshal(raw, &value); err != nil {
		return nil, errors.New("reflow: __get_state(" + key + ") returned bad JSON: " + err.Error())
	}
	return value, nil
}

// SetState sets key to value (encoded as JSON) in the actor's state at once. A State
// returned by the same call replaces the whole state afterwards, so a function that both
// sets keys and returns a State should return the full state it wants.
func SetState(key string, value interface{}) error {
	if key == "" {
		return errEmptyKey
	}
	b, err := json.Marshal(value)
	if err != nil {
		return errors.New("reflow: cannot encode the state value for " + key + ": " + err.Error())
	}
	h, err := currentHost()
	if err != nil {
		return err
	}
	h.setState([]byte(key), b)
	return nil
}

// SendOutput sends messages now, while the call runs: {port: Message, ToSerializable map
// or plain JSON value}. They arrive before the outputs the call returns, in the order sent,
// and stay sent even if the call then fails. An empty map sends nothing.
func SendOutput(outputs map[string]interface{}) error {
	if len(outputs) == 0 {
		return nil
	}
	b, err := json.Marshal(outputs)
	if err != nil {
		return errors.New("reflow: cannot encode the outputs: " + err.Error())
	}
	h, err := currentHost()
	if err != nil {
		return err
	}
	h.sendOutput(b)
	return nil
}
