package reflow

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Every constructor writes the wire form of docs/abi.md, "Messages", byte for byte.
func TestMessagesMarshalToTheTaggedWireForm(t *testing.T) {
	cases := []struct {
		msg  Message
		want string
	}{
		{NewFlowMessage(), `{"type":"Flow","data":null}`},
		{NewEventMessage(map[string]any{"kind": "tick"}), `{"type":"Event","data":{"kind":"tick"}}`},
		{NewBooleanMessage(true), `{"type":"Boolean","data":true}`},
		{NewIntegerMessage(42), `{"type":"Integer","data":42}`},
		{NewIntegerMessage(-9223372036854775808), `{"type":"Integer","data":-9223372036854775808}`},
		{NewFloatMessage(2.5), `{"type":"Float","data":2.5}`},
		{NewStringMessage("hi"), `{"type":"String","data":"hi"}`},
		{NewObjectMessage(map[string]any{"a": 1}), `{"type":"Object","data":{"a":1}}`},
		{NewArrayMessage([]any{1, "x"}), `{"type":"Array","data":[1,"x"]}`},
		{NewArrayMessage(nil), `{"type":"Array","data":[]}`},
		{NewStreamMessage([]byte{0, 255, 7}), `{"type":"Stream","data":[0,255,7]}`},
		{NewStreamMessage(nil), `{"type":"Stream","data":[]}`},
		{NewOptionalMessage(nil), `{"type":"Optional","data":null}`},
		{NewOptionalMessage(3), `{"type":"Optional","data":3}`},
		{NewAnyMessage([]any{true}), `{"type":"Any","data":[true]}`},
		{NewErrorMessage("bad"), `{"type":"Error","data":"bad"}`},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		got, err := json.Marshal(c.msg)
		if err != nil {
			t.Fatalf("%s: %v", c.want, err)
		}
		if string(got) != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
		seen[c.msg.Type] = true
	}
	for _, ty := range MessageTypes {
		if !seen[ty] {
			t.Errorf("no case for %s", ty)
		}
	}
}

// ToSerializable gives the same JSON as the Message, as a map a plugin can put in outputs.
func TestToSerializableIsTheTaggedMap(t *testing.T) {
	flow := NewFlowMessage()
	flow.Data = "ignored"
	cases := []struct {
		msg  Message
		want map[string]any
	}{
		{flow, map[string]any{"type": "Flow", "data": nil}},
		{NewIntegerMessage(42), map[string]any{"type": "Integer", "data": int64(42)}},
		{NewStreamMessage([]byte{1, 200}), map[string]any{"type": "Stream", "data": []int{1, 200}}},
		{NewStringMessage("s"), map[string]any{"type": "String", "data": "s"}},
	}
	for _, c := range cases {
		got := c.msg.ToSerializable()
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.msg.Type, got, c.want)
		}
		direct, _ := json.Marshal(c.msg)
		viaMap, _ := json.Marshal(got)
		assertSameJSON(t, string(viaMap), string(direct))
	}
}

func TestMessagesDecodeFromTheHost(t *testing.T) {
	var m Message
	mustUnmarshal(t, `{"type":"Integer","data":42}`, &m)
	if m.Type != "Integer" || m.Data != float64(42) {
		t.Fatalf("got %#v", m)
	}
	if n, ok := m.AsInteger(); !ok || n != 42 {
		t.Errorf("AsInteger = %d, %v", n, ok)
	}

	// The original SDKs omit data for Flow.
	mustUnmarshal(t, `{"type":"Flow"}`, &m)
	if !m.IsFlow() || m.Data != nil {
		t.Errorf("got %#v", m)
	}

	mustUnmarshal(t, `{"type":"Stream","data":[0,255,7]}`, &m)
	if b, ok := m.AsBytes(); !ok || !reflect.DeepEqual(b, []byte{0, 255, 7}) {
		t.Errorf("AsBytes = %v, %v", b, ok)
	}
	// What a plugin receives it can send on unchanged.
	out, _ := json.Marshal(m)
	if string(out) != `{"type":"Stream","data":[0,255,7]}` {
		t.Errorf("re-encoded as %s", out)
	}

	for _, bad := range []string{`[1]`, `{"data":1}`, `{"type":5}`, `{"type":""}`, `"Flow"`} {
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if _, err := json.Marshal(Message{Data: 1}); err == nil {
		t.Error("a message without a type was encoded")
	}
}

func TestMessageAccessors(t *testing.T) {
	if _, ok := (Message{Type: "Float", Data: 2.5}).AsInteger(); ok {
		t.Error("2.5 read as an integer")
	}
	if _, ok := (Message{Type: "Integer", Data: 1e19}).AsInteger(); ok {
		t.Error("1e19 read as an int64")
	}
	if f, ok := NewIntegerMessage(3).AsFloat(); !ok || f != 3 {
		t.Errorf("AsFloat = %v, %v", f, ok)
	}
	if s, ok := NewStringMessage("x").AsString(); !ok || s != "x" {
		t.Errorf("AsString = %q, %v", s, ok)
	}
	if b, ok := NewBooleanMessage(true).AsBool(); !ok || !b {
		t.Errorf("AsBool = %v, %v", b, ok)
	}
	if _, ok := (Message{Type: "Stream", Data: []any{float64(256)}}).AsBytes(); ok {
		t.Error("256 read as a byte")
	}
	var missing Message // what a missing payload entry looks like
	if _, ok := missing.AsInteger(); ok {
		t.Error("the zero Message read as an integer")
	}
}

func assertSameJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs:\n got  %s\n want %s", got, want)
	}
}

func mustUnmarshal(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
}
