package reflow

import (
	"encoding/json"
	"errors"
)

// ProcessFunc is an actor's behaviour: one call per activation, from the messages that
// arrived to the messages to send. Returning an error fails the call: the host reports the
// error's text, delivers nothing the call returned and keeps the state unchanged.
type ProcessFunc func(context ActorContext) (ActorResult, error)

var (
	registeredMetadata PluginMetadata
	registeredProcess  ProcessFunc
)

// RegisterPlugin sets the plugin's metadata and process function. Call it from init: Go
// runs init when the host initializes the module (the _initialize export), before the first
// get_metadata or process call. A second call replaces the first.
func RegisterPlugin(metadata PluginMetadata, process ProcessFunc) {
	registeredMetadata = metadata
	registeredProcess = process
}

var errNotRegistered = errors.New("reflow: no plugin registered (call reflow.RegisterPlugin from init)")

// MetadataJSON is the output of get_metadata: the registered metadata as JSON.
func MetadataJSON() ([]byte, error) {
	if registeredProcess == nil {
		return nil, errNotRegistered
	}
	b, err := json.Marshal(registeredMetadata)
	if err != nil {
		return nil, wrap("reflow: cannot encode the plugin metadata", err)
	}
	return b, nil
}

// ProcessJSON is process without the Extism input and output: it decodes an ActorContext
// from input, calls the registered function and encodes its ActorResult. The error of the
// function is returned as it is; a panic in it becomes an error.
func ProcessJSON(input []byte) (output []byte, err error) {
	if registeredProcess == nil {
		return nil, errNotRegistered
	}
	var ctx ActorContext
	if err := json.Unmarshal(input, &ctx); err != nil {
		return nil, wrap("reflow: cannot decode the ActorContext", err)
	}
	beginCall(ctx.State)
	defer endCall()
	result, err := callProcess(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, wrap("reflow: cannot encode the ActorResult", err)
	}
	return b, nil
}

func callProcess(ctx ActorContext) (result ActorResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("reflow: process panicked: " + describePanic(r))
		}
	}()
	return registeredProcess(ctx)
}

func describePanic(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "a value that is neither an error nor a string"
}

func errorText(err error) string {
	if msg := err.Error(); msg != "" {
		return msg
	}
	return "reflow: process failed with an empty error message"
}
