// The spec's doubler in Go: doubles each Integer on `input` (examples/rust/doubler).
package main

import (
	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func double(ctx reflow.ActorContext) (reflow.ActorResult, error) {
	outputs := map[string]interface{}{}
	if msg, ok := ctx.Payload["input"]; ok {
		if n, ok := msg.AsInteger(); ok {
			outputs["output"] = reflow.NewIntegerMessage(n * 2)
		}
	}
	return reflow.ActorResult{Outputs: outputs}, nil
}

func init() {
	reflow.RegisterPlugin(reflow.PluginMetadata{
		Component:   "MyActor",
		Description: "Example WASM actor",
		Inports:     []reflow.PortDefinition{reflow.NewRequiredPort("input", "Input port", "Integer")},
		Outports:    []reflow.PortDefinition{reflow.NewOptionalPort("output", "Output port", "Integer")},
	}, double)
}

//go:wasmexport get_metadata
func get_metadata() int32 {
	return reflow.GetMetadata()
}

//go:wasmexport process
func process() int32 {
	return reflow.Process()
}

// main is not run: -buildmode=c-shared makes a reactor module whose _initialize export runs
// init.
func main() {}
