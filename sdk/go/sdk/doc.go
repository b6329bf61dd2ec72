// Package reflow is the reflow_wasm contract for Go plugins (GOOS=wasip1), same ABI as
// docs/abi.md: a Reflow actor written in Go and built as an Extism WebAssembly plugin.
//
// # Brief overview
//
// A plugin registers two things in init: its [PluginMetadata] (component name and ports,
// each port's type is written as "port_type") and one [ProcessFunc] from [ActorContext]
// (the messages that arrived, the per-process config, the state) to [ActorResult] (the
// messages to send and, optionally, the new state; a nil State means "no change"). Its main
// package then exports two functions that forward to [GetMetadata] and [Process]:
//
//	package main
//
//	import reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
//
//	func double(ctx reflow.ActorContext) (reflow.ActorResult, error) {
//		out := map[string]any{}
//		if n, ok := ctx.Payload["input"].AsInteger(); ok {
//			out["output"] = reflow.NewIntegerMessage(n * 2)
//		}
//		return reflow.ActorResult{Outputs: out}, nil
//	}
//
//	func init() {
//		reflow.RegisterPlugin(reflow.PluginMetadata{
//			Component: "Double",
//			Inports:   []reflow.PortDefinition{reflow.NewRequiredPort("input", "A number", "Integer")},
//			Outports:  []reflow.PortDefinition{reflow.NewOptionalPort("output", "Twice the number", "Integer")},
//		}, double)
//	}
//
//	//go:wasmexport get_metadata
//	func get_metadata() int32 { return reflow.GetMetadata() }
//
//	//go:wasmexport process
//	func process() int32 { return reflow.Process() }
//
//	func main() {}
//
// Build it with standard Go >= 1.24:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o double.wasm .
//
// With TinyGo, write "//export get_metadata" and "//export process" instead of the
// //go:wasmexport lines (TinyGo >= 0.34 also accepts //go:wasmexport) and build with
// "tinygo build -target wasip1 -buildmode=c-shared -o double.wasm .". See
// docs/writing-plugins-go.md.
//
// # Import path and package name
//
// The package lives at import path github.com/darmie/reflow/reflow_wasm_go/sdk but is
// named reflow, as the specification's Go samples call it (reflow.RegisterPlugin, ...). Go
// names an imported package by its package clause, not by the last path element, so the
// import works without an alias; gofmt and goimports still write one
// (import reflow ".../sdk") because the names differ, and so do the examples, to make the
// name visible where it is used.
//
// # Host functions
//
// [GetState], [SetState] and [SendOutput] call the host's imports "__get_state",
// "__set_state" and "__send_output" (module "extism:host/user"). Values cross as JSON, so a
// number read back with GetState is a float64, as every number decoded by encoding/json.
// The host answers JSON null for an absent key, so GetState returns nil for both; use
// [LookupState] to tell them apart (the SDK tracks which keys exist during a call).
//
// # Where the code runs
//
// The Extism glue (go-pdk and the host imports) is compiled only for WebAssembly (build tag
// wasm, or tinygo.wasm). On other platforms the package builds with a stand-in host,
// [TestHost], so that a plugin's process function can be unit-tested with plain "go test".
//
// # Numbers
//
// Message data and config values are decoded by encoding/json: JSON numbers arrive as
// float64. Use [Message.AsInteger], [ActorConfig.GetInteger] and the other accessors rather
// than type assertions; integers beyond ±2^53 lose precision on the way in.
//
// Avoid package fmt in plugin code: it is large and the original SDK notes warn it can
// panic under some WebAssembly toolchains. This package uses only encoding/json, errors,
// math and go-pdk at run time.
package reflow
