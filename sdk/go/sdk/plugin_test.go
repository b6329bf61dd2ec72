//go:build !(wasm || tinygo.wasm)

package reflow

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// register installs a plugin for one test and removes it afterwards.
func register(t *testing.T, meta PluginMetadata, fn ProcessFunc) {
	t.Helper()
	RegisterPlugin(meta, fn)
	t.Cleanup(func() { RegisterPlugin(PluginMetadata{}, nil) })
}

func useHost(t *testing.T, h *TestHost) *TestHost {
	t.Helper()
	t.Cleanup(UseTestHost(h))
	return h
}

func double(ctx ActorContext) (ActorResult, error) {
	n, ok := ctx.Payload["input"].AsInteger()
	if !ok {
		return ActorResult{}, errors.New("input is not an integer")
	}
	return ActorResult{
		Outputs: map[string]any{"output": NewIntegerMessage(n * 2)},
		State:   map[string]any{"count": 4},
	}, nil
}

func TestProcessJSONRunsTheRegisteredFunction(t *testing.T) {
	register(t, PluginMetadata{Component: "Double"}, double)
	out, err := ProcessJSON([]byte(abiContext))
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, string(out), abiResult)
}

func TestProcessErrorsCarryTheMessage(t *testing.T) {
	register(t, PluginMetadata{Component: "Double"}, double)
	h := useHost(t, &TestHost{Input: []byte(`{"payload":{"input":{"type":"String","data":"x"}}}`)})
	if rc := Process(); rc != 1 {
		t.Fatalf("status %d", rc)
	}
	if h.Error != "input is not an integer" || h.Output != nil {
		t.Errorf("error %q, output %s", h.Error, h.Output)
	}

	h.Input = []byte(`{"payload":{"input":5}}`) // not a tagged message
	if rc := Process(); rc != 1 || !strings.Contains(h.Error, "ActorContext") {
		t.Errorf("status %d, error %q", rc, h.Error)
	}

	h.Input = []byte(abiContext)
	if rc := Process(); rc != 0 || h.Error != "" {
		t.Fatalf("status %d, error %q", rc, h.Error)
	}
	assertSameJSON(t, string(h.Output), abiResult)
}

func TestAPanicBecomesAnError(t *testing.T) {
	register(t, PluginMetadata{Component: "P"}, func(ctx ActorContext) (ActorResult, error) {
		var m map[string]int
		m["boom"] = 1
		return ActorResult{}, nil
	})
	_, err := ProcessJSON([]byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("err = %v", err)
	}
}

func TestNothingRegistered(t *testing.T) {
	RegisterPlugin(PluginMetadata{}, nil)
	h := useHost(t, &TestHost{Input: []byte(`{}`)})
	if GetMetadata() != 1 || !strings.Contains(h.Error, "RegisterPlugin") {
		t.Errorf("GetMetadata: error %q", h.Error)
	}
	if Process() != 1 || !strings.Contains(h.Error, "RegisterPlugin") {
		t.Errorf("Process: error %q", h.Error)
	}
}

func TestGetMetadataWritesTheOutput(t *testing.T) {
	register(t, PluginMetadata{
		Component:   "Counter",
		Description: "Stateful counter actor",
		Inports:     []PortDefinition{NewOptionalPort("increment", "Increment counter", "Flow")},
		Outports:    []PortDefinition{NewOptionalPort("count", "Current count", "Integer")},
		ConfigSchema: map[string]any{"type": "object", "properties": map[string]any{
			"initial_value": map[string]any{"type": "integer", "default": 0},
		}},
	}, double)
	h := useHost(t, &TestHost{})
	if rc := GetMetadata(); rc != 0 {
		t.Fatalf("status %d, error %q", rc, h.Error)
	}
	assertSameJSON(t, string(h.Output), abiMetadata)
}

// The host functions pass JSON both ways, as the wasm host does.
func TestHostFunctions(t *testing.T) {
	h := useHost(t, &TestHost{State: map[string]any{"count": float64(3)}})

	v, err := GetState("count")
	if err != nil || v != float64(3) {
		t.Fatalf("GetState = %#v, %v", v, err)
	}
	if v, err := GetState("absent"); v != nil || err != nil {
		t.Errorf("absent key: %#v, %v", v, err)
	}
	if err := SetState("count", int64(4)); err != nil {
		t.Fatal(err)
	}
	if err := SetState("list", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := GetState("count"); v != float64(4) {
		t.Errorf("after SetState: %#v", v)
	}
	if !reflect.DeepEqual(h.State["list"], []any{"a"}) {
		t.Errorf("list stored as %#v", h.State["list"])
	}

	if err := SendOutput(map[string]any{
		"status": "Processing complete",
		"count":  int64(4),
		"value":  NewIntegerMessage(4),
		"flow":   NewFlowMessage().ToSerializable(),
	}); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{
		"status": "Processing complete",
		"count":  float64(4),
		"value":  map[string]any{"type": "Integer", "data": float64(4)},
		"flow":   map[string]any{"type": "Flow", "data": nil},
	}}
	if !reflect.DeepEqual(h.Sent, want) {
		t.Errorf("sent %#v", h.Sent)
	}
	if err := SendOutput(nil); err != nil || len(h.Sent) != 1 {
		t.Errorf("empty SendOutput: %v, %d sends", err, len(h.Sent))
	}
}

func TestHostFunctionErrors(t *testing.T) {
	restore := UseTestHost(nil)
	defer restore()
	if _, err := GetState("k"); err == nil {
		t.Error("GetState without a host")
	}
	useHost(t, &TestHost{})
	if _, err := GetState(""); err == nil {
		t.Error("GetState with an empty key")
	}
	if err := SetState("", 1); err == nil {
		t.Error("SetState with an empty key")
	}
	if err := SetState("k", func() {}); err == nil {
		t.Error("SetState with a value JSON cannot hold")
	}
	if err := SendOutput(map[string]any{"x": NewFloatMessage(nanValue())}); err == nil {
		t.Error("SendOutput with NaN")
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

// LookupState tells an absent key from one holding JSON null, both with a host that knows
// (TestHost) and, inside a call, with one that answers null for both (the Extism host).
func TestLookupStateTellsAbsentFromNull(t *testing.T) {
	for _, likeExtism := range []bool{false, true} {
		var seen []string
		register(t, PluginMetadata{Component: "Lookup"}, func(ctx ActorContext) (ActorResult, error) {
			if err := SetState("later", nil); err != nil {
				return ActorResult{}, err
			}
			for _, key := range []string{"held_null", "absent", "later", "n"} {
				v, found, err := LookupState(key)
				if err != nil {
					return ActorResult{}, err
				}
				seen = append(seen, key+"="+describe(v, found))
			}
			return ActorResult{}, nil
		})
		h := useHost(t, &TestHost{State: map[string]any{"held_null": nil, "n": 3.0}, LikeExtism: likeExtism})
		h.Input = []byte(`{"payload":{},"config":{},"state":{"held_null":null,"n":3}}`)
		if rc := Process(); rc != 0 {
			t.Fatalf("likeExtism=%v: process failed: %s", likeExtism, h.Error)
		}
		want := []string{"held_null=null", "absent=absent", "later=null", "n=3"}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("likeExtism=%v: got %v, want %v", likeExtism, seen, want)
		}
	}
}

func describe(v any, found bool) string {
	switch {
	case !found:
		return "absent"
	case v == nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// The SDK's errors wrap their cause: errors.As reaches encoding/json's error.
func TestErrorsWrapTheirCause(t *testing.T) {
	register(t, PluginMetadata{Component: "X"}, double)
	_, err := ProcessJSON([]byte(`{"payload": nope}`))
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Fatalf("got %v (%T), want a wrapped *json.SyntaxError", err, err)
	}
	if !strings.HasPrefix(err.Error(), "reflow: cannot decode the ActorContext: ") {
		t.Errorf("message lost its context: %q", err)
	}
}
