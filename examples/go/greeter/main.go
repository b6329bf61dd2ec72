// Command greeter is a Reflow actor written in Go: it greets each name it receives,
// configured per process in the graph.
//
// It shows the three ways a Go plugin talks to the host: it reads its per-process config
// (greeting, repeat, shout) with the typed accessors, sends the repeated greetings while it
// runs with SendOutput, and returns its last greeting plus a counter kept in the returned
// State. A name that is not a string fails the call with an error.
package main

import (
	"errors"
	"strconv"
	"strings"

	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

const maxRepeat = 10

func greet(ctx reflow.ActorContext) (reflow.ActorResult, error) {
	name, ok := ctx.Payload["name"].AsString()
	if !ok {
		return reflow.ActorResult{}, errors.New("greeter: the name port needs a String message")
	}

	greeting := "Hello"
	if g, ok := ctx.Config.GetString("greeting"); ok && g != "" {
		greeting = g
	}
	// Config numbers arrive as float64; GetInteger accepts 3 and 3.0, not 2.5.
	repeat := int64(1)
	if r, ok := ctx.Config.GetInteger("repeat"); ok {
		repeat = r
	}
	if repeat < 1 {
		repeat = 1
	}
	if repeat > maxRepeat {
		repeat = maxRepeat
	}
	shout, _ := ctx.Config.GetBool("shout")

	line := greeting + ", " + name + "!"
	if shout {
		line = strings.ToUpper(line)
	}

	// All but the last greeting go out at once, while the call is still running.
	for i := int64(1); i < repeat; i++ {
		err := reflow.SendOutput(map[string]any{
			"greeting": reflow.NewStringMessage(line + " (" + strconv.FormatInt(i, 10) + "/" + strconv.FormatInt(repeat, 10) + ")"),
		})
		if err != nil {
			return reflow.ActorResult{}, err
		}
	}
	last := line
	if repeat > 1 {
		last += " (" + strconv.FormatInt(repeat, 10) + "/" + strconv.FormatInt(repeat, 10) + ")"
	}

	// The state arrives in the context (numbers as float64) and the returned State
	// replaces it.
	greeted := int64(0)
	if n, ok := ctx.State["greeted"].(float64); ok {
		greeted = int64(n)
	}
	greeted++

	return reflow.ActorResult{
		Outputs: map[string]any{
			"greeting": reflow.NewStringMessage(last),
			"count":    reflow.NewIntegerMessage(greeted),
		},
		State: map[string]any{"greeted": greeted},
	}, nil
}

func metadata() reflow.PluginMetadata {
	return reflow.PluginMetadata{
		Component:   "GoGreeter",
		Description: "Greets each name it receives, as configured per process",
		Inports: []reflow.PortDefinition{
			reflow.NewRequiredPort("name", "Who to greet", "String"),
		},
		Outports: []reflow.PortDefinition{
			reflow.NewOptionalPort("greeting", "One greeting per repetition", "String"),
			reflow.NewOptionalPort("count", "How many names this actor has greeted", "Integer"),
		},
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"greeting": map[string]any{"type": "string", "default": "Hello"},
				"repeat":   map[string]any{"type": "integer", "minimum": 1, "maximum": maxRepeat, "default": 1},
				"shout":    map[string]any{"type": "boolean", "default": false},
			},
		},
	}
}

func init() {
	reflow.RegisterPlugin(metadata(), greet)
}

//go:wasmexport get_metadata
func get_metadata() int32 {
	return reflow.GetMetadata()
}

//go:wasmexport process
func process() int32 {
	return reflow.Process()
}

// main is not run: -buildmode=c-shared makes a reactor module whose _initialize export
// runs init. It must exist and stay empty.
func main() {}
