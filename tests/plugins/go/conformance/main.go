// The Go SDK's conformance plugin: the protocol of tests/conformance/README.md, written with
// the SDK's own API. The harness (crates/reflow_script/tests/conformance.rs) runs every case
// of tests/conformance/cases against it and the other SDKs' plugins.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func metadata() reflow.PluginMetadata {
	return reflow.PluginMetadata{
		Component:   "Conformance",
		Description: "The ABI conformance plugin (tests/conformance)",
		Inports: []reflow.PortDefinition{
			reflow.NewRequiredPort("cmd", "What to do", "Object"),
			reflow.NewOptionalPort("in", "A message to echo", "Any"),
		},
		Outports: []reflow.PortDefinition{
			reflow.NewOptionalPort("out", "The answer", "Any"),
			reflow.NewOptionalPort("extra", "A second answer", "Any"),
			reflow.NewOptionalPort("sent", "Messages sent during the call", "Any"),
			reflow.NewOptionalPort("count", "The counter", "Integer"),
		},
		ConfigSchema: map[string]any{
			"type":       "object",
			"properties": map[string]any{"initial_value": map[string]any{"type": "integer", "default": 0}},
		},
	}
}

func process(ctx reflow.ActorContext) (reflow.ActorResult, error) {
	command, ok := ctx.Payload["cmd"].AsObject()
	if !ok {
		return reflow.ActorResult{}, errors.New("conformance: no Object command on `cmd`")
	}
	op, _ := command["op"].(string)
	outputs := map[string]any{}
	var state map[string]any
	switch op {
	case "echo":
		in, ok := ctx.Payload["in"]
		if !ok {
			return reflow.ActorResult{}, errors.New("conformance: echo needs a message on `in`")
		}
		outputs["out"] = in
	case "make":
		ty, _ := command["type"].(string)
		m, err := makeMessage(ty, command["data"])
		if err != nil {
			return reflow.ActorResult{}, err
		}
		outputs["out"] = m
	case "send_plain":
		port, _ := command["port"].(string)
		if err := reflow.SendOutput(map[string]any{port: command["value"]}); err != nil {
			return reflow.ActorResult{}, err
		}
	case "send_then_return":
		sends, _ := command["send"].([]any)
		for _, s := range sends {
			pair, _ := s.([]any)
			if len(pair) != 2 {
				return reflow.ActorResult{}, fmt.Errorf("conformance: bad send %v", s)
			}
			m, err := tagged(pair[1])
			if err != nil {
				return reflow.ActorResult{}, err
			}
			port, _ := pair[0].(string)
			if err := reflow.SendOutput(map[string]any{port: m}); err != nil {
				return reflow.ActorResult{}, err
			}
		}
		returned, _ := command["return"].(map[string]any)
		for port, v := range returned {
			m, err := tagged(v)
			if err != nil {
				return reflow.ActorResult{}, err
			}
			outputs[port] = m
		}
	case "get_state":
		key, _ := command["key"].(string)
		v, err := reflow.GetState(key)
		if err != nil {
			return reflow.ActorResult{}, err
		}
		outputs["out"] = reflow.NewAnyMessage(v)
	case "set_get":
		key, _ := command["key"].(string)
		if err := reflow.SetState(key, command["value"]); err != nil {
			return reflow.ActorResult{}, err
		}
		v, err := reflow.GetState(key)
		if err != nil {
			return reflow.ActorResult{}, err
		}
		outputs["out"] = reflow.NewAnyMessage(v)
	case "count":
		var before int64
		if v, ok := ctx.State["count"]; ok {
			before, _ = reflow.NewAnyMessage(v).AsInteger()
		} else if initial, ok := ctx.Config.GetInteger("initial_value"); ok {
			before = initial
		}
		state = map[string]any{"count": before + 1}
		outputs["count"] = reflow.NewIntegerMessage(before + 1)
	case "keep_state":
		outputs["out"] = reflow.NewFlowMessage()
	case "fail":
		if dirty, _ := command["dirty"].(bool); dirty {
			if err := reflow.SetState("dirty", true); err != nil {
				return reflow.ActorResult{}, err
			}
			if err := reflow.SendOutput(map[string]any{"sent": reflow.NewStringMessage("before failing")}); err != nil {
				return reflow.ActorResult{}, err
			}
		}
		message, _ := command["message"].(string)
		return reflow.ActorResult{}, errors.New(message)
	case "config":
		c := ctx.Config
		answer := map[string]any{"node_id": c.NodeID, "component": c.Component}
		answer["integer"] = orNil(c.GetInteger("i"))
		answer["number"] = orNil(c.GetNumber("n"))
		answer["string"] = orNil(c.GetString("s"))
		answer["bool"] = orNil(c.GetBool("b"))
		answer["missing"] = orNil(c.GetString("absent"))
		outputs["out"] = reflow.NewObjectMessage(answer)
	case "fill":
		key, _ := command["key"].(string)
		n, _ := reflow.NewAnyMessage(command["bytes"]).AsInteger()
		state = map[string]any{key: strings.Repeat("x", int(n))}
		outputs["out"] = reflow.NewIntegerMessage(n)
	case "measure":
		key, _ := command["key"].(string)
		fromHost, err := reflow.GetState(key)
		if err != nil {
			return reflow.ActorResult{}, err
		}
		outputs["out"] = reflow.NewIntegerMessage(length(ctx.State[key]))
		outputs["extra"] = reflow.NewIntegerMessage(length(fromHost))
	case "flood":
		n, _ := reflow.NewAnyMessage(command["count"]).AsInteger()
		for i := int64(0); i < n; i++ {
			if err := reflow.SendOutput(map[string]any{"sent": reflow.NewIntegerMessage(i)}); err != nil {
				return reflow.ActorResult{}, err
			}
		}
		outputs["out"] = reflow.NewIntegerMessage(n)
	default:
		return reflow.ActorResult{}, fmt.Errorf("conformance: unknown op %q", op)
	}
	return reflow.ActorResult{Outputs: outputs, State: state}, nil
}

// makeMessage builds a ty message from data with the SDK's constructor for that type.
func makeMessage(ty string, data any) (reflow.Message, error) {
	raw := reflow.NewAnyMessage(data)
	wrong := fmt.Errorf("conformance: cannot make a %s from %v", ty, data)
	switch ty {
	case reflow.TypeFlow:
		return reflow.NewFlowMessage(), nil
	case reflow.TypeEvent:
		return reflow.NewEventMessage(data), nil
	case reflow.TypeBoolean:
		if b, ok := raw.AsBool(); ok {
			return reflow.NewBooleanMessage(b), nil
		}
	case reflow.TypeInteger:
		if i, ok := raw.AsInteger(); ok {
			return reflow.NewIntegerMessage(i), nil
		}
	case reflow.TypeFloat:
		if f, ok := raw.AsFloat(); ok {
			return reflow.NewFloatMessage(f), nil
		}
	case reflow.TypeString:
		if s, ok := raw.AsString(); ok {
			return reflow.NewStringMessage(s), nil
		}
	case reflow.TypeObject:
		return reflow.NewObjectMessage(data), nil
	case reflow.TypeArray:
		if a, ok := raw.AsArray(); ok {
			return reflow.NewArrayMessage(a), nil
		}
	case reflow.TypeStream:
		if b, ok := raw.AsBytes(); ok {
			return reflow.NewStreamMessage(b), nil
		}
	case reflow.TypeOptional:
		return reflow.NewOptionalMessage(data), nil
	case reflow.TypeAny:
		return reflow.NewAnyMessage(data), nil
	case reflow.TypeError:
		if s, ok := raw.AsString(); ok {
			return reflow.NewErrorMessage(s), nil
		}
	}
	return reflow.Message{}, wrong
}

// tagged reads a message of the command as the SDK reads the host's messages.
func tagged(v any) (reflow.Message, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return reflow.Message{}, err
	}
	var m reflow.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return reflow.Message{}, fmt.Errorf("conformance: bad message %s: %v", b, err)
	}
	return m, nil
}

// orNil turns a getter's (value, found) into the value, or nil when nothing was found.
func orNil[T any](v T, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

func length(v any) int64 {
	s, ok := v.(string)
	if !ok {
		return -1
	}
	return int64(len(s))
}

func init() {
	reflow.RegisterPlugin(metadata(), process)
}

//go:wasmexport get_metadata
func get_metadata() int32 { return reflow.GetMetadata() }

//go:wasmexport process
func process_() int32 { return reflow.Process() }

func main() {}
