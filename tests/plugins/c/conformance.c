/* The C SDK's conformance plugin: the protocol of tests/conformance/README.md, written with
 * reflow.h. The harness (crates/reflow_script/tests/conformance.rs) runs every case of
 * tests/conformance/cases against it and the other SDKs' plugins. */
#include "reflow.h"

#include <stdlib.h>
#include <string.h>

static const reflow_port inports[] = {
    REFLOW_REQUIRED_PORT("cmd", "What to do", "Object"),
    REFLOW_PORT("in", "A message to echo", "Any"),
};
static const reflow_port outports[] = {
    REFLOW_PORT("out", "The answer", "Any"),
    REFLOW_PORT("extra", "A second answer", "Any"),
    REFLOW_PORT("sent", "Messages sent during the call", "Any"),
    REFLOW_PORT("count", "The counter", "Integer"),
};
static const reflow_metadata metadata = {
    "Conformance", "The ABI conformance plugin (tests/conformance)", REFLOW_PORTS(inports), REFLOW_PORTS(outports),
    "{\"type\":\"object\",\"properties\":{\"initial_value\":{\"type\":\"integer\",\"default\":0}}}",
};

static const char *text(const reflow_json *v) {
    const char *s;
    return reflow_json_as_string(v, &s, NULL) ? s : "";
}

/* A message of `type` from `data`, through the SDK's constructor for that type. */
static reflow_message *make(const char *type_name, const reflow_json *data) {
    reflow_message_type type;
    bool b;
    int64_t i;
    double f;
    const char *s;
    size_t len;
    if (!reflow_message_type_from_name(type_name, &type)) return NULL;
    switch (type) {
    case REFLOW_FLOW: return reflow_message_flow();
    case REFLOW_EVENT: return reflow_message_event(reflow_json_clone(data));
    case REFLOW_BOOLEAN: return reflow_json_as_bool(data, &b) ? reflow_message_boolean(b) : NULL;
    case REFLOW_INTEGER: return reflow_json_as_int(data, &i) ? reflow_message_integer(i) : NULL;
    case REFLOW_FLOAT: return reflow_json_as_number(data, &f) ? reflow_message_float(f) : NULL;
    case REFLOW_STRING: return reflow_json_as_string(data, &s, &len) ? reflow_message_string_n(s, len) : NULL;
    case REFLOW_OBJECT: return reflow_message_object(reflow_json_clone(data));
    case REFLOW_ARRAY:
        return reflow_json_kind_of(data) == REFLOW_JSON_ARRAY ? reflow_message_array(reflow_json_clone(data)) : NULL;
    case REFLOW_STREAM: {
        size_t n = reflow_json_len(data);
        uint8_t *bytes = (uint8_t *)malloc(n + 1);
        for (size_t k = 0; k < n; k++) {
            if (!reflow_json_as_int(reflow_json_at(data, k), &i) || i < 0 || i > 255) {
                free(bytes);
                return NULL;
            }
            bytes[k] = (uint8_t)i;
        }
        reflow_message *m = reflow_json_kind_of(data) == REFLOW_JSON_ARRAY ? reflow_message_stream(bytes, n) : NULL;
        free(bytes);
        return m;
    }
    case REFLOW_OPTIONAL:
        return reflow_message_optional(reflow_json_kind_of(data) == REFLOW_JSON_NULL ? NULL : reflow_json_clone(data));
    case REFLOW_ANY: return reflow_message_any(reflow_json_clone(data));
    case REFLOW_ERROR: return reflow_json_as_string(data, &s, NULL) ? reflow_message_error(s) : NULL;
    }
    return NULL;
}

/* The length of a string value, or -1. */
static int64_t length(const reflow_json *v) {
    size_t len;
    const char *s;
    return reflow_json_as_string(v, &s, &len) ? (int64_t)len : -1;
}

static reflow_message *any_or_null(reflow_json *v) { return reflow_message_any(v ? v : reflow_json_null()); }

static int process(const reflow_context *ctx, reflow_result *result) {
    const reflow_message *command = reflow_input(ctx, "cmd");
    if (!command || reflow_message_type_of(command) != REFLOW_OBJECT)
        return reflow_fail(result, "conformance: no Object command on `cmd`");
    const reflow_json *cmd = reflow_message_data(command);
    const char *op = text(reflow_json_get(cmd, "op"));

    if (strcmp(op, "echo") == 0) {
        const reflow_message *in = reflow_input(ctx, "in");
        if (!in) return reflow_fail(result, "conformance: echo needs a message on `in`");
        reflow_output(result, "out", reflow_message_clone(in));
    } else if (strcmp(op, "make") == 0) {
        reflow_message *m = make(text(reflow_json_get(cmd, "type")), reflow_json_get(cmd, "data"));
        if (!m) return reflow_fail(result, "conformance: cannot make a %s", text(reflow_json_get(cmd, "type")));
        reflow_output(result, "out", m);
    } else if (strcmp(op, "send_plain") == 0) {
        reflow_json *sent = reflow_json_object();
        const reflow_json *value = reflow_json_get(cmd, "value");
        reflow_json_set(sent, text(reflow_json_get(cmd, "port")), value ? reflow_json_clone(value) : reflow_json_null());
        reflow_send_json(sent);
        reflow_json_free(sent);
    } else if (strcmp(op, "send_then_return") == 0) {
        const reflow_json *sends = reflow_json_get(cmd, "send");
        for (size_t k = 0; k < reflow_json_len(sends); k++) {
            const reflow_json *pair = reflow_json_at(sends, k);
            char *error = NULL;
            reflow_message *m = reflow_message_from_json(reflow_json_at(pair, 1), &error);
            if (!m) {
                int status = reflow_fail(result, "conformance: bad message to send: %s", error);
                free(error);
                return status;
            }
            reflow_send(text(reflow_json_at(pair, 0)), m);
            reflow_message_free(m);
        }
        const reflow_json *returned = reflow_json_get(cmd, "return");
        for (size_t k = 0; k < reflow_json_len(returned); k++) {
            char *error = NULL;
            reflow_message *m = reflow_message_from_json(reflow_json_value_at(returned, k), &error);
            if (!m) {
                int status = reflow_fail(result, "conformance: bad message to return: %s", error);
                free(error);
                return status;
            }
            reflow_output(result, reflow_json_key_at(returned, k), m);
        }
    } else if (strcmp(op, "get_state") == 0) {
        reflow_output(result, "out", any_or_null(reflow_get_state(text(reflow_json_get(cmd, "key")))));
    } else if (strcmp(op, "set_get") == 0) {
        const char *key = text(reflow_json_get(cmd, "key"));
        reflow_set_state(key, reflow_json_get(cmd, "value"));
        reflow_output(result, "out", any_or_null(reflow_get_state(key)));
    } else if (strcmp(op, "count") == 0) {
        int64_t before = 0;
        const reflow_json *count = reflow_json_get(reflow_state(ctx), "count");
        if (count) reflow_json_as_int(count, &before);
        else reflow_config_integer(ctx, "initial_value", &before);
        reflow_json *state = reflow_json_object();
        reflow_json_set(state, "count", reflow_json_int(before + 1));
        reflow_set_result_state(result, state);
        reflow_output(result, "count", reflow_message_integer(before + 1));
    } else if (strcmp(op, "keep_state") == 0) {
        reflow_output(result, "out", reflow_message_flow());
    } else if (strcmp(op, "fail") == 0) {
        bool dirty = false;
        if (reflow_json_as_bool(reflow_json_get(cmd, "dirty"), &dirty) && dirty) {
            reflow_json *yes = reflow_json_bool(true);
            reflow_set_state("dirty", yes);
            reflow_json_free(yes);
            reflow_message *m = reflow_message_string("before failing");
            reflow_send("sent", m);
            reflow_message_free(m);
        }
        return reflow_fail(result, "%s", text(reflow_json_get(cmd, "message")));
    } else if (strcmp(op, "config") == 0) {
        reflow_json *answer = reflow_json_object();
        int64_t i;
        double f;
        const char *s;
        bool b;
        reflow_json_set(answer, "integer", reflow_config_integer(ctx, "i", &i) ? reflow_json_int(i) : reflow_json_null());
        reflow_json_set(answer, "number", reflow_config_number(ctx, "n", &f) ? reflow_json_float(f) : reflow_json_null());
        reflow_json_set(answer, "string", reflow_config_string(ctx, "s", &s) ? reflow_json_string(s) : reflow_json_null());
        reflow_json_set(answer, "bool", reflow_config_bool(ctx, "b", &b) ? reflow_json_bool(b) : reflow_json_null());
        reflow_json_set(answer, "missing", reflow_config_string(ctx, "absent", &s) ? reflow_json_string(s) : reflow_json_null());
        reflow_json_set(answer, "node_id", reflow_json_string(reflow_node_id(ctx)));
        reflow_json_set(answer, "component", reflow_json_string(reflow_component(ctx)));
        reflow_output(result, "out", reflow_message_object(answer));
    } else if (strcmp(op, "fill") == 0) {
        int64_t bytes = 0;
        reflow_json_as_int(reflow_json_get(cmd, "bytes"), &bytes);
        char *blob = (char *)malloc((size_t)bytes + 1);
        if (!blob) return reflow_fail(result, "conformance: out of memory");
        memset(blob, 'x', (size_t)bytes);
        reflow_json *state = reflow_json_object();
        reflow_json_set(state, text(reflow_json_get(cmd, "key")), reflow_json_string_n(blob, (size_t)bytes));
        free(blob);
        reflow_set_result_state(result, state);
        reflow_output(result, "out", reflow_message_integer(bytes));
    } else if (strcmp(op, "measure") == 0) {
        const char *key = text(reflow_json_get(cmd, "key"));
        reflow_json *from_host = reflow_get_state(key);
        reflow_output(result, "out", reflow_message_integer(length(reflow_json_get(reflow_state(ctx), key))));
        reflow_output(result, "extra", reflow_message_integer(length(from_host)));
        reflow_json_free(from_host);
    } else if (strcmp(op, "flood") == 0) {
        int64_t count = 0;
        reflow_json_as_int(reflow_json_get(cmd, "count"), &count);
        for (int64_t k = 0; k < count; k++) {
            reflow_message *m = reflow_message_integer(k);
            reflow_send("sent", m);
            reflow_message_free(m);
        }
        reflow_output(result, "out", reflow_message_integer(count));
    } else {
        return reflow_fail(result, "conformance: unknown op \"%s\"", op);
    }
    return 0;
}

REFLOW_PLUGIN(metadata, process)
