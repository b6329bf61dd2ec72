//go:build !(wasm || tinygo.wasm)

package reflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// tally counts the integers it is given in its state, fails on a negative one and panics on
// zero; it also changes its context's maps in place, which must not leak into the next call.
func tally(ctx ActorContext) (ActorResult, error) {
	n, ok := ctx.Payload["in"].AsInteger()
	switch {
	case !ok:
		return ActorResult{Outputs: map[string]any{"out": NewStringMessage("no change")}}, nil
	case n < 0:
		return ActorResult{}, fmt.Errorf("negative: %d", n)
	case n == 0:
		panic("zero")
	}
	total, _ := ctx.State["total"].(float64)
	ctx.State["scribbled"] = true
	ctx.Config.Config["scribbled"] = true
	total += float64(n)
	return ActorResult{Outputs: map[string]any{"out": NewIntegerMessage(int64(total))}, State: map[string]any{"total": total}}, nil
}

// oneByOne runs payloads as separate process calls, threading the state as a host does, up to
// the first failure.
func oneByOne(t *testing.T, payloads []string, state string) (results []string, failure error) {
	for _, payload := range payloads {
		ctx := fmt.Sprintf(`{"payload":%s,"config":{"node_id":"t","config":{"k":1}},"state":%s}`, payload, state)
		out, err := ProcessJSON([]byte(ctx))
		if err != nil {
			return results, err
		}
		results = append(results, string(out))
		var r struct {
			State json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		if string(r.State) != "null" {
			state = string(r.State)
		}
	}
	return results, nil
}

func batched(payloads []string, state string) (results []string, failure error) {
	input := `{"payloads":[`
	for i, p := range payloads {
		if i > 0 {
			input += ","
		}
		input += p
	}
	input += `],"config":{"node_id":"t","config":{"k":1}},"state":` + state + `}`
	err := BatchJSON([]byte(input), func(r []byte) { results = append(results, string(r)) })
	return results, err
}

func TestABatchGivesWhatTheSameCallsGiveOneByOne(t *testing.T) {
	register(t, PluginMetadata{Component: "Tally"}, tally)
	in := func(n int) string { return fmt.Sprintf(`{"in":{"type":"Integer","data":%d}}`, n) }
	cases := [][]string{
		{in(1), in(2), `{}`, in(3)},
		{in(1), in(-5), in(3)}, // an error in the middle ends the batch there
		{in(4), in(0), in(3)},  // and so does a panic
		{},
	}
	for _, payloads := range cases {
		want, wantErr := oneByOne(t, payloads, `{"total":10}`)
		got, gotErr := batched(payloads, `{"total":10}`)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: batch %v, one by one %v", payloads, got, want)
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%v: batch error %v, one by one %v", payloads, gotErr, wantErr)
		}
	}
	if got, _ := batched([]string{in(1), in(2)}, `{"total":10}`); len(got) != 2 || got[1] != `{"outputs":{"out":{"type":"Integer","data":13}},"state":{"total":13}}` {
		t.Errorf("the state is not threaded from payload to payload: %v", got)
	}
}

func TestABadBatchIsAnError(t *testing.T) {
	register(t, PluginMetadata{Component: "Tally"}, tally)
	err := BatchJSON([]byte(`{"payloads":5}`), func([]byte) { t.Error("nothing is recorded") })
	if err == nil || !strings.Contains(err.Error(), "cannot decode the batch") {
		t.Fatalf("error %v", err)
	}
}

func TestTheBatchOfAbiMdRunsEachPayload(t *testing.T) {
	register(t, PluginMetadata{Component: "Double"}, double)
	var results []string
	if err := BatchJSON([]byte(abiBatch), func(r []byte) { results = append(results, string(r)) }); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("results %v", results)
	}
	assertSameJSON(t, results[0], `{"outputs": {"output": {"type": "Integer", "data": 2}}, "state": {"count": 4}}`)
	assertSameJSON(t, results[1], `{"outputs": {"output": {"type": "Integer", "data": 4}}, "state": {"count": 4}}`)
}
