//go:build wasm || tinygo.wasm

package reflow

import (
	"encoding/binary"
	"unsafe"

	"github.com/extism/go-pdk"
)

// The plugin's end of the bulk input/output path and of batches (docs/abi.md, "Bulk input
// and output" and "Batches"). An Extism PDK moves a call's input and output 8 bytes per
// import call; a Reflow host that finds __reflow_bulk_v1 writes the input straight into
// bulkIn and reads the output from bulkOut instead, one copy each way. Extism never calls
// these exports, so the same plugin runs unchanged there. Every plugin built with this
// package has them: they are exported here, not in the plugin's main.
//
// Go's garbage collector never moves memory, so the addresses handed to the host stay valid
// while these variables hold the buffers; a plugin runs one call at a time.

const noInput = 0xFFFFFFFF

// mailbox is the record the host and the plugin share: little-endian u32 fields in this
// order (wasm is little-endian).
type mailbox struct {
	inputPtr, inputCap, inputLen, bulkCall uint32
	outputPtr, outputLen, outputSet        uint32
	batchDone, resultsPtr, resultsLen      uint32
}

var (
	box     = mailbox{inputLen: noInput}
	bulkIn  []byte
	bulkOut []byte
	results []byte
)

func address(b []byte) uint32 {
	if cap(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

//go:wasmexport __reflow_bulk_v1
func reflowBulkV1(reserve int32) int32 {
	if int(reserve) > len(bulkIn) {
		bulkIn = make([]byte, reserve)
	}
	box.inputPtr, box.inputCap = address(bulkIn), uint32(len(bulkIn))
	return int32(uintptr(unsafe.Pointer(&box)))
}

// input is this call's input: what the host wrote into bulkIn (a bulk call), else the
// Extism input.
func input() []byte {
	if box.bulkCall == 1 && box.inputLen != noInput && box.inputLen <= box.inputCap {
		n := box.inputLen
		box.inputLen = noInput
		return bulkIn[:n]
	}
	return pdk.Input()
}

// output hands out to the host: left in this plugin's memory for a bulk call, else
// written as the Extism output.
func output(out []byte) {
	if box.bulkCall != 1 {
		pdk.Output(out)
		return
	}
	bulkOut = out
	box.outputPtr, box.outputLen, box.outputSet = address(out), uint32(len(out)), 1
}

//go:wasmexport __reflow_batch_v1
func reflowBatchV1() (status int32) {
	defer func() {
		if r := recover(); r != nil {
			pdk.SetErrorString("reflow: a batch panicked: " + describePanic(r))
			status = 1
		}
	}()
	results = results[:0]
	box.batchDone, box.resultsLen = 0, 0
	err := BatchJSON(input(), func(result []byte) {
		results = binary.LittleEndian.AppendUint32(results, uint32(len(result)))
		results = append(results, result...)
		// The count goes up last, so a trap leaves the host a consistent view.
		box.resultsPtr, box.resultsLen = address(results), uint32(len(results))
		box.batchDone++
	})
	if err != nil {
		pdk.SetErrorString(errorText(err))
		return 1
	}
	return 0
}
