/*
 * reflow.h: write Reflow actors in C (or C++) as WebAssembly plugins.
 *
 * The plugin ABI is docs/abi.md: a plugin exports `get_metadata` and `process`, reads its
 * input and writes its output through Extism's `extism:host/env` imports, and calls the
 * Reflow host functions `__get_state`, `__set_state` and `__send_output`. This header and
 * reflow.c wrap all of it, with a small JSON reader and writer of their own:
 *
 *     #include "reflow.h"
 *
 *     static const reflow_port inports[] = { REFLOW_PORT("input", "Input port", "Integer") };
 *     static const reflow_port outports[] = { REFLOW_PORT("output", "Output port", "Integer") };
 *     static const reflow_metadata metadata = {
 *         "Doubler", "Doubles an integer", REFLOW_PORTS(inports), REFLOW_PORTS(outports), NULL,
 *     };
 *
 *     static int process(const reflow_context *ctx, reflow_result *result) {
 *         int64_t n;
 *         if (reflow_message_as_integer(reflow_input(ctx, "input"), &n))
 *             reflow_output(result, "output", reflow_message_integer(n * 2));
 *         return 0;
 *     }
 *
 *     REFLOW_PLUGIN(metadata, process)
 *
 * Build (Debian's clang 14 and wasi-libc, as `cargo xtask build-plugins` does):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -Isdk/c/include \
 *         plugin.c sdk/c/src/reflow.c -o plugin.wasm
 *
 * Ownership: a function that takes a `reflow_json *` or `reflow_message *` argument without
 * `const` takes it over (frees it); one that returns a non-const pointer hands it to you
 * (free it with reflow_json_free / reflow_message_free). Everything the context holds lives
 * until `process` returns. Memory is wasi-libc's malloc on the plugin's own linear memory.
 *
 * C++ includes this header as is (it has `extern "C"` guards and no C-only syntax);
 * examples/c/cpp_doubler.cpp is compiled as C++ by the project's build.
 */
#ifndef REFLOW_H
#define REFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- JSON values ------------------------------------------------------------------- */

typedef enum {
    REFLOW_JSON_NULL,
    REFLOW_JSON_BOOL,
    REFLOW_JSON_INT,   /* a number written without fraction or exponent that fits int64 */
    REFLOW_JSON_FLOAT, /* any other number */
    REFLOW_JSON_STRING,
    REFLOW_JSON_ARRAY,
    REFLOW_JSON_OBJECT,
} reflow_json_kind;

typedef struct reflow_json reflow_json;

/* Parses `len` bytes of JSON text. On failure returns NULL and, if `error` is not NULL,
 * sets *error to a malloc'd message naming the problem and its byte offset. */
reflow_json *reflow_json_parse(const char *text, size_t len, char **error);
/* Writes `value` as compact JSON text: a malloc'd, NUL-terminated string (its length in
 * *len if len is not NULL). NaN and infinities are written as null. */
char *reflow_json_write(const reflow_json *value, size_t *len);

reflow_json *reflow_json_null(void);
reflow_json *reflow_json_bool(bool value);
reflow_json *reflow_json_int(int64_t value);
reflow_json *reflow_json_float(double value);
reflow_json *reflow_json_string(const char *value);            /* NUL-terminated UTF-8 */
reflow_json *reflow_json_string_n(const char *value, size_t len);
reflow_json *reflow_json_array(void);
reflow_json *reflow_json_object(void);
reflow_json *reflow_json_clone(const reflow_json *value);
void reflow_json_free(reflow_json *value);

reflow_json_kind reflow_json_kind_of(const reflow_json *value);
/* Arrays and objects: the number of items or entries; 0 for other kinds. */
size_t reflow_json_len(const reflow_json *value);
/* The array item at `index`, or NULL. */
const reflow_json *reflow_json_at(const reflow_json *array, size_t index);
/* The object's value under `key`, or NULL (also when `object` is not an object). */
const reflow_json *reflow_json_get(const reflow_json *object, const char *key);
/* The object's key and value at `index` (in insertion order), or NULL. */
const char *reflow_json_key_at(const reflow_json *object, size_t index);
const reflow_json *reflow_json_value_at(const reflow_json *object, size_t index);
/* Appends `item` to an array (taking it over). */
void reflow_json_push(reflow_json *array, reflow_json *item);
/* Sets `key` to `value` in an object (taking `value` over, replacing an older value). */
void reflow_json_set(reflow_json *object, const char *key, reflow_json *value);

/* Readers: true and *out set when the value has that kind. An integer reader takes a whole
 * float (3.0, as JavaScript writes it); a number reader takes integers too. */
bool reflow_json_as_bool(const reflow_json *value, bool *out);
bool reflow_json_as_int(const reflow_json *value, int64_t *out);
bool reflow_json_as_number(const reflow_json *value, double *out);
/* The string's bytes (NUL-terminated; *len, if not NULL, counts bytes before the NUL). */
bool reflow_json_as_string(const reflow_json *value, const char **out, size_t *len);

/* ---- Messages (docs/abi.md, "Messages") ---------------------------------------------- */

typedef enum {
    REFLOW_FLOW,
    REFLOW_EVENT,
    REFLOW_BOOLEAN,
    REFLOW_INTEGER,
    REFLOW_FLOAT,
    REFLOW_STRING,
    REFLOW_OBJECT,
    REFLOW_ARRAY,
    REFLOW_STREAM,
    REFLOW_OPTIONAL,
    REFLOW_ANY,
    REFLOW_ERROR,
} reflow_message_type;

/* A message: its type and its data as JSON (null for Flow and an empty Optional). */
typedef struct reflow_message reflow_message;

reflow_message *reflow_message_flow(void);
reflow_message *reflow_message_event(reflow_json *data);
reflow_message *reflow_message_boolean(bool value);
reflow_message *reflow_message_integer(int64_t value);
reflow_message *reflow_message_float(double value);
reflow_message *reflow_message_string(const char *value);
reflow_message *reflow_message_string_n(const char *value, size_t len);
reflow_message *reflow_message_object(reflow_json *data);
reflow_message *reflow_message_array(reflow_json *items); /* a JSON array */
reflow_message *reflow_message_stream(const uint8_t *bytes, size_t len);
reflow_message *reflow_message_optional(reflow_json *value); /* NULL: none */
reflow_message *reflow_message_any(reflow_json *data);
reflow_message *reflow_message_error(const char *text);
reflow_message *reflow_message_clone(const reflow_message *message);
void reflow_message_free(reflow_message *message);

/* Reads a tagged message {"type": T, "data": D}; NULL (and a malloc'd *error) if it is not one. */
reflow_message *reflow_message_from_json(const reflow_json *tagged, char **error);
/* The tagged form, a new JSON object. */
reflow_json *reflow_message_to_json(const reflow_message *message);

reflow_message_type reflow_message_type_of(const reflow_message *message);
/* "Flow", "Integer", ...; and back (false if `name` is none of the 12). */
const char *reflow_message_type_name(reflow_message_type type);
bool reflow_message_type_from_name(const char *name, reflow_message_type *out);
/* The message's data (never NULL for a message; a JSON null for Flow). */
const reflow_json *reflow_message_data(const reflow_message *message);
/* Typed readers: false when `message` is NULL or its data has another kind. */
bool reflow_message_as_integer(const reflow_message *message, int64_t *out);
bool reflow_message_as_float(const reflow_message *message, double *out);
bool reflow_message_as_bool(const reflow_message *message, bool *out);
bool reflow_message_as_string(const reflow_message *message, const char **out, size_t *len);
/* A Stream's bytes, malloc'd (*len set); NULL if the data is not an array of bytes. */
uint8_t *reflow_message_as_bytes(const reflow_message *message, size_t *len);

/* ---- Metadata ------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *description;
    const char *port_type; /* a message type name, or "Any" */
    bool required;         /* an inport that must hold a message before process is called */
} reflow_port;

typedef struct {
    const char *component;
    const char *description;
    const reflow_port *inports;
    size_t inport_count;
    const reflow_port *outports;
    size_t outport_count;
    const char *config_schema; /* JSON text of a JSON schema for the config, or NULL */
} reflow_metadata;

#define REFLOW_PORT(name, description, type) {(name), (description), (type), false}
#define REFLOW_REQUIRED_PORT(name, description, type) {(name), (description), (type), true}
/* A static array of ports and its length, for reflow_metadata's two fields. */
#define REFLOW_PORTS(array) (array), (sizeof(array) / sizeof((array)[0]))

/* ---- The context of one call, and its result ----------------------------------------- */

typedef struct reflow_context reflow_context;

/* The message that arrived on inport `port`, or NULL. */
const reflow_message *reflow_input(const reflow_context *ctx, const char *port);
/* The actor's state as the host holds it (a JSON object, empty before the first change). */
const reflow_json *reflow_state(const reflow_context *ctx);
/* The process configuration from the graph (a JSON object, empty if none). */
const reflow_json *reflow_config(const reflow_context *ctx);
const char *reflow_node_id(const reflow_context *ctx);
const char *reflow_component(const reflow_context *ctx);
const char *reflow_namespace(const reflow_context *ctx); /* NULL when null */
/* A granted environment value (env: grants), or NULL. */
const char *reflow_env(const reflow_context *ctx, const char *name);
/* Config getters: true and *out set when `key` holds a value of that kind. */
bool reflow_config_integer(const reflow_context *ctx, const char *key, int64_t *out);
bool reflow_config_number(const reflow_context *ctx, const char *key, double *out);
bool reflow_config_string(const reflow_context *ctx, const char *key, const char **out);
bool reflow_config_bool(const reflow_context *ctx, const char *key, bool *out);

typedef struct reflow_result reflow_result;

/* Returns `message` on outport `port` (taking it over; a second one on the port replaces it). */
void reflow_output(reflow_result *result, const char *port, reflow_message *message);
/* Returns `state` (a JSON object, taken over) as the actor's whole new state. Without this
 * call the result carries no state and the host keeps the state as it is. */
void reflow_set_result_state(reflow_result *result, reflow_json *state);
/* Fails the call with a message (printf-style); returns 1, for `return reflow_fail(...)`. */
int reflow_fail(reflow_result *result, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* A process function: 0 on success, non-zero after reflow_fail (a non-zero return without
 * it fails the call with a generic message). */
typedef int (*reflow_process_fn)(const reflow_context *ctx, reflow_result *result);

/* ---- Host functions (docs/abi.md, "Host functions") ---------------------------------- */

/* The value under `key` in the actor's state now (seeing __set_state writes of this call),
 * or NULL when absent. Free it with reflow_json_free. */
reflow_json *reflow_get_state(const char *key);
/* Sets `key` to `value` in the actor's state at once. */
void reflow_set_state(const char *key, const reflow_json *value);
/* Sends `message` on `port` now, while the call runs (before the returned outputs). */
void reflow_send(const char *port, const reflow_message *message);
/* Sends a JSON object {port: tagged message or plain JSON value} now. */
void reflow_send_json(const reflow_json *outputs);

void reflow_log_debug(const char *text);
void reflow_log_info(const char *text);
void reflow_log_warn(const char *text);
void reflow_log_error(const char *text);

/* ---- The exports ------------------------------------------------------------------------ */

int32_t reflow_export_metadata(const reflow_metadata *metadata);
int32_t reflow_export_process(reflow_process_fn process);

/* Defines the plugin's two exports from a reflow_metadata and a reflow_process_fn. */
#define REFLOW_PLUGIN(metadata, process_fn)                                                   \
    __attribute__((export_name("get_metadata"))) int32_t reflow_plugin_get_metadata(void) {  \
        return reflow_export_metadata(&(metadata));                                          \
    }                                                                                         \
    __attribute__((export_name("process"))) int32_t reflow_plugin_process(void) {            \
        return reflow_export_process(process_fn);                                            \
    }

#ifdef __cplusplus
}
#endif

#endif /* REFLOW_H */
