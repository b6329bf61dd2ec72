// Command tally is a Reflow plugin in Go: a stateful aggregate. It counts each word it
// receives on `word`, keeping the counts in the actor's state (which `reflow run` keeps
// across runs unless --ephemeral), and sends {"word": W, "count": N} on `count` with the
// word's count so far. Used by examples/graphs/word-count.json.
package main

import (
	"errors"

	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func tally(ctx reflow.ActorContext) (reflow.ActorResult, error) {
	msg, ok := ctx.Payload["word"]
	if !ok {
		return reflow.ActorResult{}, nil
	}
	word, ok := msg.AsString()
	if !ok {
		return reflow.ActorResult{}, errors.New("tally: word must be a String")
	}
	// The state arrives with the context (numbers as float64); the returned State replaces it.
	state := map[string]any{}
	for k, v := range ctx.State {
		state[k] = v
	}
	count := int64(1)
	if n, ok := state[word].(float64); ok {
		count = int64(n) + 1
	}
	state[word] = count
	return reflow.ActorResult{
		Outputs: map[string]any{"count": reflow.NewObjectMessage(map[string]any{"word": word, "count": count})},
		State:   state,
	}, nil
}

func metadata() reflow.PluginMetadata {
	return reflow.PluginMetadata{
		Component:   "Tally",
		Description: "Counts words, keeping the counts in the actor's state",
		Inports:     []reflow.PortDefinition{reflow.NewRequiredPort("word", "a word", "String")},
		Outports:    []reflow.PortDefinition{reflow.NewOptionalPort("count", "the word and its count so far", "Object")},
	}
}

func init() {
	reflow.RegisterPlugin(metadata(), tally)
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
// init. It must exist and stay empty.
func main() {}
