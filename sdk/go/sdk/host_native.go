//go:build !(wasm || tinygo.wasm)

package reflow

import (
	"encoding/json"
	"errors"
)

// TestHost stands in for the Reflow host when this package is built natively (not for
// WebAssembly), so that plugin code runs under plain "go test". Values pass through JSON
// exactly as with the real host: GetState returns float64 numbers, Sent holds decoded JSON
// (a Message appears as map{"type":..., "data":...}).
//
// Install it with UseTestHost. It is one global, so tests using it must not run in
// parallel.
type TestHost struct {
	// State is what GetState reads and SetState writes, as decoded JSON values.
	State map[string]any
	// Sent holds one decoded outputs map per SendOutput call, in order.
	Sent []map[string]any
	// Input is what Process reads as the Extism input (a JSON ActorContext).
	Input []byte
	// Output is what the last GetMetadata or Process wrote as the Extism output.
	Output []byte
	// Error is what the last GetMetadata or Process set as the Extism error.
	Error string
	// LikeExtism makes the host as blind as the real one: its __get_state answers null for
	// an absent key too, so LookupState must rely on what the SDK tracks during a call.
	LikeExtism bool
}

var testHost *TestHost

// UseTestHost makes h the host seen by GetState, SetState, SendOutput, GetMetadata and
// Process, and returns a function that restores the previous one.
func UseTestHost(h *TestHost) (restore func()) {
	previous := testHost
	testHost = h
	return func() { testHost = previous }
}

var errNoHost = errors.New("reflow: no host: not running as WebAssembly (install a TestHost with reflow.UseTestHost)")

func currentHost() (hostAPI, error) {
	if testHost == nil {
		return nil, errNoHost
	}
	return testHost, nil
}

func (h *TestHost) getState(key []byte) []byte {
	v, ok := h.State[string(key)]
	if !ok {
		return []byte("null")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("reflow: TestHost.State[" + string(key) + "] is not JSON: " + err.Error())
	}
	return b
}

func (h *TestHost) hasState(key []byte) (present, known bool) {
	if h.LikeExtism {
		return false, false
	}
	_, present = h.State[string(key)]
	return present, true
}

func (h *TestHost) setState(key, value []byte) {
	var v any
	if err := json.Unmarshal(value, &v); err != nil {
		panic("reflow: __set_state got bad JSON: " + err.Error())
	}
	if h.State == nil {
		h.State = map[string]any{}
	}
	h.State[string(key)] = v
}

func (h *TestHost) sendOutput(outputs []byte) {
	var v map[string]any
	if err := json.Unmarshal(outputs, &v); err != nil {
		panic("reflow: __send_output got bad JSON: " + err.Error())
	}
	h.Sent = append(h.Sent, v)
}

// GetMetadata implements the get_metadata export. Natively it writes to the TestHost
// (Output, or Error and status 1); without one it returns 1.
func GetMetadata() int32 {
	if testHost == nil {
		return 1
	}
	out, err := MetadataJSON()
	return testHost.finish(out, err)
}

// Process implements the process export. Natively it reads TestHost.Input and writes
// TestHost.Output (or Error and status 1); without a TestHost it returns 1.
func Process() int32 {
	if testHost == nil {
		return 1
	}
	out, err := ProcessJSON(testHost.Input)
	return testHost.finish(out, err)
}

func (h *TestHost) finish(out []byte, err error) int32 {
	if err != nil {
		h.Output, h.Error = nil, errorText(err)
		return 1
	}
	h.Output, h.Error = out, ""
	return 0
}
