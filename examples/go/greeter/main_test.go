//go:build !(wasm || tinygo.wasm)

package main

// These tests run natively (go test): the SDK then talks to a reflow.TestHost instead of
// the wasm host, and init has registered the plugin as it does in the module.

import (
	"encoding/json"
	"reflect"
	"testing"

	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func run(t *testing.T, host *reflow.TestHost, context string) map[string]any {
	t.Helper()
	defer reflow.UseTestHost(host)()
	host.Input = []byte(context)
	if rc := reflow.Process(); rc != 0 {
		t.Fatalf("process failed (%d): %s", rc, host.Error)
	}
	var result map[string]any
	if err := json.Unmarshal(host.Output, &result); err != nil {
		t.Fatal(err)
	}
	return result
}

func TestGreetsWithConfigAndSendsRepetitions(t *testing.T) {
	host := &reflow.TestHost{}
	result := run(t, host, `{
		"payload": {"name": {"type": "String", "data": "Ada"}},
		"config": {"config": {"greeting": "Hi", "repeat": 3.0, "shout": true}},
		"state": {"greeted": 4}
	}`)
	want := map[string]any{
		"outputs": map[string]any{
			"greeting": map[string]any{"type": "String", "data": "HI, ADA! (3/3)"},
			"count":    map[string]any{"type": "Integer", "data": float64(5)},
		},
		"state": map[string]any{"greeted": float64(5)},
	}
	if !reflect.DeepEqual(result, want) {
		t.Errorf("result %#v", result)
	}
	if len(host.Sent) != 2 {
		t.Fatalf("sent %#v", host.Sent)
	}
	first := host.Sent[0]["greeting"].(map[string]any)
	if first["data"] != "HI, ADA! (1/3)" {
		t.Errorf("first sent %#v", first)
	}
}

func TestDefaults(t *testing.T) {
	host := &reflow.TestHost{}
	result := run(t, host, `{"payload": {"name": {"type": "String", "data": "Bob"}}}`)
	got := result["outputs"].(map[string]any)["greeting"].(map[string]any)["data"]
	if got != "Hello, Bob!" || len(host.Sent) != 0 {
		t.Errorf("greeting %v, sent %v", got, host.Sent)
	}
}

func TestANameThatIsNotAStringFailsTheCall(t *testing.T) {
	host := &reflow.TestHost{Input: []byte(`{"payload": {"name": {"type": "Integer", "data": 7}}}`)}
	defer reflow.UseTestHost(host)()
	if rc := reflow.Process(); rc != 1 || host.Error != "greeter: the name port needs a String message" {
		t.Errorf("status %d, error %q", rc, host.Error)
	}
}

func TestMetadataDeclaresThePorts(t *testing.T) {
	host := &reflow.TestHost{}
	defer reflow.UseTestHost(host)()
	if rc := reflow.GetMetadata(); rc != 0 {
		t.Fatal(host.Error)
	}
	var meta reflow.PluginMetadata
	if err := json.Unmarshal(host.Output, &meta); err != nil {
		t.Fatal(err)
	}
	if len(meta.Inports) != 1 || !meta.Inports[0].Required || meta.Inports[0].PortType != "String" {
		t.Errorf("inports %#v", meta.Inports)
	}
	if len(meta.Outports) != 2 {
		t.Errorf("outports %#v", meta.Outports)
	}
}
