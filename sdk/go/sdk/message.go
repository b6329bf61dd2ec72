package reflow

import (
	"encoding/json"
	"errors"
	"math"
)

// The 12 message type names, as written in a message's "type" field.
const (
	TypeFlow     = "Flow"
	TypeEvent    = "Event"
	TypeBoolean  = "Boolean"
	TypeInteger  = "Integer"
	TypeFloat    = "Float"
	TypeString   = "String"
	TypeObject   = "Object"
	TypeArray    = "Array"
	TypeStream   = "Stream"
	TypeOptional = "Optional"
	TypeAny      = "Any"
	TypeError    = "Error"
)

// MessageTypes lists the 12 message type names in the order of docs/abi.md.
var MessageTypes = [12]string{
	TypeFlow, TypeEvent, TypeBoolean, TypeInteger, TypeFloat, TypeString,
	TypeObject, TypeArray, TypeStream, TypeOptional, TypeAny, TypeError,
}

// IsMessageType reports whether name is one of the 12 message type names.
func IsMessageType(name string) bool {
	for _, t := range MessageTypes {
		if t == name {
			return true
		}
	}
	return false
}

// Message is a Reflow message, adjacently tagged on the wire: {"type": Type, "data": Data}.
//
// A Message decoded from the host (a payload entry) holds in Data what encoding/json
// produces: nil, bool, float64, string, []any or map[string]any. A Message
// built with a constructor holds the Go value given to it (an int64 for NewIntegerMessage,
// a []byte for NewStreamMessage, ...). Marshal it directly or through ToSerializable: both
// write the tagged form, Flow with "data": null and Stream as an array of byte values.
type Message struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// NewFlowMessage is a control signal without data.
func NewFlowMessage() Message { return Message{Type: TypeFlow} }

// NewEventMessage is an event carrying any JSON value.
func NewEventMessage(data any) Message { return Message{Type: TypeEvent, Data: data} }

// NewBooleanMessage is a boolean.
func NewBooleanMessage(value bool) Message { return Message{Type: TypeBoolean, Data: value} }

// NewIntegerMessage is a signed 64-bit integer.
func NewIntegerMessage(value int64) Message { return Message{Type: TypeInteger, Data: value} }

// NewFloatMessage is a 64-bit float. NaN and infinities cannot be written as JSON: a result
// holding one fails to encode.
func NewFloatMessage(value float64) Message { return Message{Type: TypeFloat, Data: value} }

// NewStringMessage is a UTF-8 string.
func NewStringMessage(value string) Message { return Message{Type: TypeString, Data: value} }

// NewObjectMessage is a JSON value, normally an object (a map or a struct).
func NewObjectMessage(data any) Message { return Message{Type: TypeObject, Data: data} }

// NewArrayMessage is an array of JSON values.
func NewArrayMessage(data []any) Message {
	if data == nil {
		data = []any{}
	}
	return Message{Type: TypeArray, Data: data}
}

// NewStreamMessage is binary data; on the wire it is an array of byte values 0..255.
func NewStreamMessage(data []byte) Message {
	if data == nil {
		data = []byte{}
	}
	return Message{Type: TypeStream, Data: data}
}

// NewOptionalMessage is an optional value: nil means none.
func NewOptionalMessage(data any) Message { return Message{Type: TypeOptional, Data: data} }

// NewAnyMessage is any JSON value.
func NewAnyMessage(data any) Message { return Message{Type: TypeAny, Data: data} }

// NewErrorMessage is an error text sent as data on a port (not a failure of the call: to
// fail the call, return an error from the process function).
func NewErrorMessage(message string) Message { return Message{Type: TypeError, Data: message} }

// ToSerializable returns the tagged map {"type": Type, "data": data} that encoding/json
// writes as the wire form: data is nil for Flow and a []int of byte values for a Stream
// built from a []byte.
func (m Message) ToSerializable() map[string]any {
	return map[string]any{"type": m.Type, "data": m.wireData()}
}

func (m Message) wireData() any {
	switch m.Type {
	case TypeFlow:
		return nil
	case TypeStream:
		if b, ok := m.Data.([]byte); ok {
			ints := make([]int, len(b))
			for i, v := range b {
				ints[i] = int(v)
			}
			return ints
		}
	}
	return m.Data
}

// tagged fixes the key order of the wire form: "type" first, as in docs/abi.md.
type tagged struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// MarshalJSON writes the tagged form, e.g. {"type":"Integer","data":42}.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Type == "" {
		return nil, errors.New("reflow: a message needs a type")
	}
	return json.Marshal(tagged{Type: m.Type, Data: m.wireData()})
}

// UnmarshalJSON reads the tagged form. A missing "data" (as the original SDKs write Flow)
// reads as nil.
func (m *Message) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type *string `json:"type"`
		Data any     `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return wrap("reflow: a message must be a JSON object {\"type\":...,\"data\":...}", err)
	}
	if raw.Type == nil || *raw.Type == "" {
		return errors.New("reflow: a message needs a string \"type\" field")
	}
	m.Type, m.Data = *raw.Type, raw.Data
	return nil
}

// IsFlow reports whether m is a Flow message.
func (m Message) IsFlow() bool { return m.Type == TypeFlow }

// AsInteger returns Data as an int64 when it is a whole number (a float64 such as 42 decoded
// from JSON, or any Go integer). It looks at Data only, not at Type.
func (m Message) AsInteger() (int64, bool) { return toInt64(m.Data) }

// AsFloat returns Data as a float64 when it is a number.
func (m Message) AsFloat() (float64, bool) { return toFloat64(m.Data) }

// AsString returns Data when it is a string.
func (m Message) AsString() (string, bool) {
	s, ok := m.Data.(string)
	return s, ok
}

// AsBool returns Data when it is a boolean.
func (m Message) AsBool() (bool, bool) {
	b, ok := m.Data.(bool)
	return b, ok
}

// AsBytes returns the data of a Stream message: a []byte, or an array of numbers 0..255 as
// decoded from JSON.
func (m Message) AsBytes() ([]byte, bool) {
	switch d := m.Data.(type) {
	case []byte:
		return d, true
	case []int:
		out := make([]byte, len(d))
		for i, v := range d {
			if v < 0 || v > 255 {
				return nil, false
			}
			out[i] = byte(v)
		}
		return out, true
	case []any:
		out := make([]byte, len(d))
		for i, v := range d {
			n, ok := toInt64(v)
			if !ok || n < 0 || n > 255 {
				return nil, false
			}
			out[i] = byte(n)
		}
		return out, true
	}
	return nil, false
}

// AsArray returns Data when it is an array decoded from JSON.
func (m Message) AsArray() ([]any, bool) {
	a, ok := m.Data.([]any)
	return a, ok
}

// AsObject returns Data when it is an object decoded from JSON.
func (m Message) AsObject() (map[string]any, bool) {
	o, ok := m.Data.(map[string]any)
	return o, ok
}

// toInt64 converts a whole number held in any Go numeric type (float64 above all, as
// encoding/json decodes numbers) to int64.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return floatToInt64(n)
	case float32:
		return floatToInt64(float64(n))
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return uintToInt64(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return uintToInt64(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil {
			return floatToInt64(f)
		}
	}
	return 0, false
}

func floatToInt64(f float64) (int64, bool) {
	// -2^63 is exact in float64; 2^63 is not an int64.
	if f != math.Trunc(f) || f < -9223372036854775808.0 || f >= 9223372036854775808.0 {
		return 0, false
	}
	return int64(f), true
}

func uintToInt64(u uint64) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func toFloat64(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	if i, ok := toInt64(v); ok {
		return float64(i), true
	}
	if u, ok := v.(uint64); ok {
		return float64(u), true
	}
	if u, ok := v.(uint); ok {
		return float64(u), true
	}
	return 0, false
}
