/* The spec's stateful counter in C (examples/rust/counter): Flow messages on increment and
 * decrement count up and down, reset returns to the config's initial_value. */
#include "reflow.h"

static const reflow_port inports[] = {
    REFLOW_PORT("increment", "Increment counter", "Flow"),
    REFLOW_PORT("decrement", "Decrement counter", "Flow"),
    REFLOW_PORT("reset", "Reset counter", "Flow"),
};
static const reflow_port outports[] = {REFLOW_PORT("count", "Current count", "Integer")};

static const reflow_metadata metadata = {
    "Counter", "Stateful counter actor", REFLOW_PORTS(inports), REFLOW_PORTS(outports),
    "{\"type\":\"object\",\"properties\":{\"initial_value\":{\"type\":\"integer\",\"default\":0}}}",
};

static int process(const reflow_context *ctx, reflow_result *result) {
    int64_t initial = 0;
    reflow_config_integer(ctx, "initial_value", &initial);
    int64_t count;
    if (!reflow_json_as_int(reflow_json_get(reflow_state(ctx), "count"), &count)) count = initial;

    if (reflow_input(ctx, "increment")) count += 1;
    else if (reflow_input(ctx, "decrement")) count -= 1;
    else if (reflow_input(ctx, "reset")) count = initial;

    reflow_output(result, "count", reflow_message_integer(count));
    reflow_json *state = reflow_json_object();
    reflow_json_set(state, "count", reflow_json_int(count));
    reflow_set_result_state(result, state);
    return 0;
}

REFLOW_PLUGIN(metadata, process)
