package reflow

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The three JSON examples of docs/abi.md, in the order they appear there.
const (
	abiMetadata = `{
  "component": "Counter",
  "description": "Stateful counter actor",
  "inports":  [{"name": "increment", "description": "Increment counter", "port_type": "Flow", "required": false}],
  "outports": [{"name": "count", "description": "Current count", "port_type": "Integer", "required": false}],
  "config_schema": {"type": "object", "properties": {"initial_value": {"type": "integer", "default": 0}}}
}`
	abiContext = `{
  "payload": {"input": {"type": "Integer", "data": 21}},
  "config": {
    "node_id": "double1",
    "component": "MyActor",
    "resolved_env": {},
    "config": {"initial_value": 5},
    "namespace": null
  },
  "state": {"count": 3}
}`
	abiResult = `{"outputs": {"output": {"type": "Integer", "data": 42}}, "state": {"count": 4}}`
	abiBatch  = `{"payloads": [{"input": {"type": "Integer", "data": 1}}, {"input": {"type": "Integer", "data": 2}}],
 "config": {"node_id": "double1", "component": "MyActor", "resolved_env": {}, "config": {}, "namespace": null},
 "state": {"count": 3}}`
)

// The copies above are the examples of docs/abi.md (skipped when the module is used outside
// the repository).
func TestExamplesAreTheOnesInAbiMd(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/abi.md")
	if err != nil {
		t.Skip("docs/abi.md not found:", err)
	}
	var blocks []string
	rest := string(doc)
	for {
		i := strings.Index(rest, "```json\n")
		if i < 0 {
			break
		}
		rest = rest[i+len("```json\n"):]
		j := strings.Index(rest, "```")
		blocks = append(blocks, strings.TrimSpace(rest[:j]))
		rest = rest[j+3:]
	}
	want := []string{abiMetadata, abiContext, abiResult, abiBatch}
	if len(blocks) != len(want) {
		t.Fatalf("docs/abi.md has %d json blocks, want %d", len(blocks), len(want))
	}
	for i := range want {
		assertSameJSON(t, blocks[i], want[i])
	}
}

func TestMetadataMatchesAbiExample(t *testing.T) {
	meta := PluginMetadata{
		Component:   "Counter",
		Description: "Stateful counter actor",
		Inports:     []PortDefinition{NewOptionalPort("increment", "Increment counter", "Flow")},
		Outports:    []PortDefinition{NewOptionalPort("count", "Current count", "Integer")},
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"initial_value": map[string]any{"type": "integer", "default": 0},
			},
		},
	}
	got, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, string(got), abiMetadata)

	// And back.
	var back PluginMetadata
	mustUnmarshal(t, abiMetadata, &back)
	if back.Inports[0] != meta.Inports[0] || back.Outports[0] != meta.Outports[0] || back.Component != "Counter" {
		t.Errorf("decoded %#v", back)
	}
}

func TestPortDefinitionWireForm(t *testing.T) {
	got, _ := json.Marshal(NewRequiredPort("in", "Input", "Integer"))
	want := `{"name":"in","description":"Input","port_type":"Integer","required":true}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// nil port lists and schema must not be written as null lists: the host reads inports and
// outports as arrays. An empty port type is written as "Any".
func TestMetadataDefaults(t *testing.T) {
	got, _ := json.Marshal(PluginMetadata{
		Component: "C",
		Inports:   []PortDefinition{{Name: "in"}},
	})
	want := `{"component":"C","description":"","inports":[{"name":"in","description":"","port_type":"Any","required":false}],"outports":[],"config_schema":null}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestContextMatchesAbiExample(t *testing.T) {
	var ctx ActorContext
	mustUnmarshal(t, abiContext, &ctx)
	if ctx.Payload["input"].Type != "Integer" {
		t.Errorf("payload %#v", ctx.Payload)
	}
	if n, ok := ctx.Payload["input"].AsInteger(); !ok || n != 21 {
		t.Errorf("input = %d, %v", n, ok)
	}
	c := ctx.Config
	if c.NodeID != "double1" || c.Component != "MyActor" || c.Namespace != nil || len(c.ResolvedEnv) != 0 {
		t.Errorf("config %#v", c)
	}
	if v, ok := c.GetInteger("initial_value"); !ok || v != 5 {
		t.Errorf("GetInteger = %d, %v", v, ok)
	}
	if ctx.State["count"] != float64(3) {
		t.Errorf("state %#v", ctx.State)
	}
	// Encoding it again gives the same JSON.
	again, err := json.Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, string(again), abiContext)
}

// A minimal context: the maps a process function uses are never nil.
func TestContextMissingMapsAreEmpty(t *testing.T) {
	var ctx ActorContext
	mustUnmarshal(t, `{"payload":null,"config":{"node_id":"n","config":null,"namespace":"ns"},"state":null}`, &ctx)
	if ctx.Payload == nil || ctx.State == nil || ctx.Config.Config == nil || ctx.Config.ResolvedEnv == nil {
		t.Fatalf("nil map in %#v", ctx)
	}
	ctx.State["x"] = 1 // must not panic
	if ctx.Config.Namespace == nil || *ctx.Config.Namespace != "ns" {
		t.Errorf("namespace %v", ctx.Config.Namespace)
	}
	mustUnmarshal(t, `{}`, &ctx)
	if ctx.Payload == nil || ctx.State == nil || ctx.Config.Config == nil {
		t.Fatalf("nil map in %#v", ctx)
	}
}

func TestResultMatchesAbiExample(t *testing.T) {
	r := ActorResult{
		Outputs: map[string]any{"output": NewIntegerMessage(42)},
		State:   map[string]any{"count": int64(4)},
	}
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"outputs":{"output":{"type":"Integer","data":42}},"state":{"count":4}}` {
		t.Errorf("got %s", got)
	}
	assertSameJSON(t, string(got), abiResult)

	// The ToSerializable form (the spec's sample) gives the same JSON.
	r.Outputs["output"] = NewIntegerMessage(42).ToSerializable()
	got, _ = json.Marshal(r)
	assertSameJSON(t, string(got), abiResult)

	var back ActorResult
	mustUnmarshal(t, abiResult, &back)
	if !reflect.DeepEqual(back.State, map[string]any{"count": float64(4)}) {
		t.Errorf("state %#v", back.State)
	}
}

// nil State means "no change" (null); an empty State clears the state and must survive.
func TestResultStateNilVersusEmpty(t *testing.T) {
	got, _ := json.Marshal(ActorResult{})
	if string(got) != `{"outputs":{},"state":null}` {
		t.Errorf("nil state: %s", got)
	}
	got, _ = json.Marshal(ActorResult{State: map[string]any{}})
	if string(got) != `{"outputs":{},"state":{}}` {
		t.Errorf("empty state: %s", got)
	}
}

// JSON numbers arrive as float64; the accessors convert.
func TestConfigAccessors(t *testing.T) {
	var c ActorConfig
	mustUnmarshal(t, `{"config":{"i":7,"w":7.0,"f":2.5,"big":1e20,"neg":-3,"s":"text","b":true,"n":null}}`, &c)
	ints := map[string]int64{"i": 7, "w": 7, "neg": -3}
	for k, want := range ints {
		if got, ok := c.GetInteger(k); !ok || got != want {
			t.Errorf("GetInteger(%s) = %d, %v", k, got, ok)
		}
	}
	for _, k := range []string{"f", "big", "s", "b", "n", "missing"} {
		if got, ok := c.GetInteger(k); ok {
			t.Errorf("GetInteger(%s) = %d, want not ok", k, got)
		}
	}
	if f, ok := c.GetNumber("f"); !ok || f != 2.5 {
		t.Errorf("GetNumber(f) = %v, %v", f, ok)
	}
	if f, ok := c.GetNumber("i"); !ok || f != 7 {
		t.Errorf("GetNumber(i) = %v, %v", f, ok)
	}
	if _, ok := c.GetNumber("s"); ok {
		t.Error("GetNumber(s) ok")
	}
	if s, ok := c.GetString("s"); !ok || s != "text" {
		t.Errorf("GetString = %q, %v", s, ok)
	}
	if _, ok := c.GetString("i"); ok {
		t.Error("GetString(i) ok")
	}
	if b, ok := c.GetBool("b"); !ok || !b {
		t.Errorf("GetBool = %v, %v", b, ok)
	}
	if v, ok := c.GetInt("i"); !ok || v != 7 {
		t.Errorf("GetInt = %d, %v", v, ok)
	}
	// Values set from Go (not decoded) work too.
	c.Config["go"] = int32(9)
	if v, ok := c.GetInteger("go"); !ok || v != 9 {
		t.Errorf("GetInteger(int32) = %d, %v", v, ok)
	}
}
