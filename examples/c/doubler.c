/* The spec's doubler in C: doubles each Integer on `input` (examples/rust/doubler). */
#include "reflow.h"

static const reflow_port inports[] = {REFLOW_REQUIRED_PORT("input", "Input port", "Integer")};
static const reflow_port outports[] = {REFLOW_PORT("output", "Output port", "Integer")};

static const reflow_metadata metadata = {
    "MyActor", "Example WASM actor", REFLOW_PORTS(inports), REFLOW_PORTS(outports), NULL,
};

static int process(const reflow_context *ctx, reflow_result *result) {
    const reflow_message *input = reflow_input(ctx, "input");
    int64_t value;
    if (input && reflow_message_type_of(input) == REFLOW_INTEGER && reflow_message_as_integer(input, &value))
        reflow_output(result, "output", reflow_message_integer(value * 2));
    return 0;
}

REFLOW_PLUGIN(metadata, process)
