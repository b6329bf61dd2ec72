//go:build wasm || tinygo.wasm

package reflow

import (
	"github.com/extism/go-pdk"
)

// The Reflow host functions (docs/abi.md, "Host functions"). Every argument and result is
// an Extism memory handle (an i64 offset); the host frees nothing the plugin owns and a
// returned handle belongs to the plugin.

//go:wasmimport extism:host/user __get_state
func hostGetState(key uint64) uint64

//go:wasmimport extism:host/user __set_state
func hostSetState(key uint64, value uint64)

//go:wasmimport extism:host/user __send_output
func hostSendOutput(outputs uint64)

type extismHost struct{}

func currentHost() (hostAPI, error) { return extismHost{}, nil }

func (extismHost) hasState([]byte) (present, known bool) { return false, false }

func (extismHost) getState(key []byte) []byte {
	k := pdk.AllocateBytes(key)
	handle := hostGetState(k.Offset())
	k.Free()
	if handle == 0 {
		return nil
	}
	value := pdk.FindMemory(handle)
	if value.Length() == 0 {
		return nil
	}
	b := value.ReadBytes()
	value.Free()
	return b
}

func (extismHost) setState(key, value []byte) {
	k := pdk.AllocateBytes(key)
	v := pdk.AllocateBytes(value)
	hostSetState(k.Offset(), v.Offset())
	k.Free()
	v.Free()
}

func (extismHost) sendOutput(outputs []byte) {
	o := pdk.AllocateBytes(outputs)
	hostSendOutput(o.Offset())
	o.Free()
}

// GetMetadata implements the get_metadata export: it writes the registered metadata as
// the Extism output and returns 0, or sets the Extism error and returns 1.
//
//	//go:wasmexport get_metadata
//	func get_metadata() int32 { return reflow.GetMetadata() }
func GetMetadata() (status int32) {
	defer func() {
		if r := recover(); r != nil {
			pdk.SetErrorString("reflow: get_metadata panicked: " + describePanic(r))
			status = 1
		}
	}()
	out, err := MetadataJSON()
	if err != nil {
		pdk.SetErrorString(errorText(err))
		return 1
	}
	output(out)
	return 0
}

// Process implements the process export: it reads the ActorContext from the Extism input,
// calls the registered function and writes its ActorResult as the output, returning 0. On
// an error (or a panic) it sets the Extism error to the message and returns 1.
//
//	//go:wasmexport process
//	func process() int32 { return reflow.Process() }
func Process() (status int32) {
	defer func() {
		if r := recover(); r != nil {
			pdk.SetErrorString("reflow: process panicked: " + describePanic(r))
			status = 1
		}
	}()
	out, err := ProcessJSON(input())
	if err != nil {
		pdk.SetErrorString(errorText(err))
		return 1
	}
	output(out)
	return 0
}
