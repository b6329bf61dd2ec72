// The doubler again, compiled as C++ against the C SDK's header as it is: C++ needs nothing
// else (no C++ library either). Built as c_cpp_doubler.wasm.
#include "reflow.h"

namespace {

const reflow_port inports[] = {REFLOW_REQUIRED_PORT("input", "Input port", "Integer")};
const reflow_port outports[] = {REFLOW_PORT("output", "Output port", "Integer")};

const reflow_metadata metadata = {
    "CppDoubler", "The doubler, in C++", REFLOW_PORTS(inports), REFLOW_PORTS(outports), nullptr,
};

// A small RAII owner, to show the C API sits well in C++ code.
struct Json {
    reflow_json *value;
    ~Json() { reflow_json_free(value); }
};

int process(const reflow_context *ctx, reflow_result *result) {
    int64_t value = 0;
    if (!reflow_message_as_integer(reflow_input(ctx, "input"), &value)) return 0;
    Json calls{reflow_get_state("calls")};
    int64_t before = 0;
    reflow_json_as_int(calls.value, &before);
    Json now{reflow_json_int(before + 1)};
    reflow_set_state("calls", now.value);
    reflow_output(result, "output", reflow_message_integer(value * 2));
    return 0;
}

}  // namespace

extern "C" {
REFLOW_PLUGIN(metadata, process)
}
