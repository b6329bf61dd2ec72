package reflow

import "encoding/json"

// actorBatch is the input of __reflow_batch_v1 (docs/abi.md, "Batches"): several firings'
// payloads, in order, with the config once and the state before the first of them. Config
// and state stay JSON text, so that each payload's context is decoded afresh, exactly as it
// would be for a call of its own (a process function that changes its context's maps in
// place changes nothing the next payload sees).
type actorBatch struct {
	Payloads []map[string]Message `json:"payloads"`
	Config   json.RawMessage      `json:"config"`
	State    json.RawMessage      `json:"state"`
}

// BatchJSON is __reflow_batch_v1 without the mailbox: it calls the registered function for
// each payload of the batch in input, in order, each context holding the state the previous
// payload returned (or the batch's, until one returns a state), and hands each ActorResult
// to record as it is done. A failed payload (an error or a panic) ends the batch with its
// error; the host keeps what was recorded before it.
func BatchJSON(input []byte, record func(result []byte)) error {
	if registeredProcess == nil {
		return errNotRegistered
	}
	var batch actorBatch
	if err := json.Unmarshal(input, &batch); err != nil {
		return wrap("reflow: cannot decode the batch", err)
	}
	state := batch.State
	for _, payload := range batch.Payloads {
		var ctx ActorContext
		if err := ctx.UnmarshalJSON(batchContext(batch.Config, state)); err != nil {
			return wrap("reflow: cannot decode the batch's config or state", err)
		}
		if payload != nil {
			ctx.Payload = payload
		}
		beginCall(ctx.State)
		result, err := callProcess(ctx)
		endCall()
		if err != nil {
			return err
		}
		b, err := json.Marshal(result)
		if err != nil {
			return wrap("reflow: cannot encode the ActorResult", err)
		}
		record(b)
		if result.State != nil {
			if state, err = json.Marshal(result.State); err != nil {
				return wrap("reflow: cannot encode the state", err)
			}
		}
	}
	return nil
}

// batchContext is {"config":CONFIG,"state":STATE}, either missing part left out.
func batchContext(config, state json.RawMessage) []byte {
	b := []byte(`{"config":`)
	if len(config) == 0 {
		config = json.RawMessage("null")
	}
	b = append(b, config...)
	b = append(b, `,"state":`...)
	if len(state) == 0 {
		state = json.RawMessage("null")
	}
	b = append(b, state...)
	return append(b, '}')
}
