/*
 * reflow.c: the C SDK's implementation (see reflow.h): the Extism imports, JSON, messages,
 * the call's context and result, the host functions and the two exports.
 */
#include "reflow.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Extism's imports (docs/abi.md; handles are i64 offsets in Extism memory) ---------- */

#define EXTISM_IMPORT(name) __attribute__((import_module("extism:host/env"), import_name(name)))
#define REFLOW_IMPORT(name) __attribute__((import_module("extism:host/user"), import_name(name)))

EXTISM_IMPORT("input_length") extern uint64_t extism_input_length(void);
EXTISM_IMPORT("input_load_u8") extern int32_t extism_input_load_u8(uint64_t offset);
EXTISM_IMPORT("input_load_u64") extern uint64_t extism_input_load_u64(uint64_t offset);
EXTISM_IMPORT("alloc") extern uint64_t extism_alloc(uint64_t length);
EXTISM_IMPORT("free") extern void extism_free(uint64_t handle);
EXTISM_IMPORT("length") extern uint64_t extism_length(uint64_t handle);
EXTISM_IMPORT("load_u8") extern int32_t extism_load_u8(uint64_t address);
EXTISM_IMPORT("load_u64") extern uint64_t extism_load_u64(uint64_t address);
EXTISM_IMPORT("store_u8") extern void extism_store_u8(uint64_t address, int32_t byte);
EXTISM_IMPORT("store_u64") extern void extism_store_u64(uint64_t address, uint64_t word);
EXTISM_IMPORT("output_set") extern void extism_output_set(uint64_t handle, uint64_t length);
EXTISM_IMPORT("error_set") extern void extism_error_set(uint64_t handle);
EXTISM_IMPORT("log_debug") extern void extism_log_debug(uint64_t handle);
EXTISM_IMPORT("log_info") extern void extism_log_info(uint64_t handle);
EXTISM_IMPORT("log_warn") extern void extism_log_warn(uint64_t handle);
EXTISM_IMPORT("log_error") extern void extism_log_error(uint64_t handle);

REFLOW_IMPORT("__get_state") extern uint64_t reflow_host_get_state(uint64_t key);
REFLOW_IMPORT("__set_state") extern void reflow_host_set_state(uint64_t key, uint64_t value);
REFLOW_IMPORT("__send_output") extern void reflow_host_send_output(uint64_t outputs);

/* Copies `len` bytes into a new Extism block, 8 bytes per import call where it can. */
static uint64_t to_extism(const void *bytes, size_t len) {
    const uint8_t *p = (const uint8_t *)bytes;
    uint64_t handle = extism_alloc(len);
    if (handle == 0) return 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        extism_store_u64(handle + i, word);
    }
    for (; i < len; i++) extism_store_u8(handle + i, p[i]);
    return handle;
}

/* The bytes of an Extism block, malloc'd with a NUL after them. */
static char *from_extism(uint64_t handle, size_t *len) {
    size_t n = (size_t)extism_length(handle);
    char *out = (char *)malloc(n + 1);
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word = extism_load_u64(handle + i);
        memcpy(out + i, &word, 8);
    }
    for (; i < n; i++) out[i] = (char)extism_load_u8(handle + i);
    out[n] = 0;
    *len = n;
    return out;
}

static char *read_input(size_t *len) {
    size_t n = (size_t)extism_input_length();
    char *out = (char *)malloc(n + 1);
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word = extism_input_load_u64(i);
        memcpy(out + i, &word, 8);
    }
    for (; i < n; i++) out[i] = (char)extism_input_load_u8(i);
    out[n] = 0;
    *len = n;
    return out;
}

static void set_output(const char *bytes, size_t len) {
    extism_output_set(to_extism(bytes, len), len);
}

static void set_error(const char *text) {
    extism_error_set(to_extism(text, strlen(text)));
}

/* ---- JSON values ------------------------------------------------------------------- */

struct reflow_json {
    reflow_json_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *bytes;
            size_t len;
        } s;
        struct {
            reflow_json **items;
            char **keys; /* objects only */
            size_t len, cap;
        } c;
    } u;
};

static reflow_json *json_new(reflow_json_kind kind) {
    reflow_json *v = (reflow_json *)calloc(1, sizeof(reflow_json));
    if (!v) abort(); /* out of plugin memory: nothing sensible is left to do */
    v->kind = kind;
    return v;
}

static char *copy_bytes(const char *bytes, size_t len) {
    char *out = (char *)malloc(len + 1);
    if (!out) abort();
    memcpy(out, bytes, len);
    out[len] = 0;
    return out;
}

reflow_json *reflow_json_null(void) { return json_new(REFLOW_JSON_NULL); }

reflow_json *reflow_json_bool(bool value) {
    reflow_json *v = json_new(REFLOW_JSON_BOOL);
    v->u.b = value;
    return v;
}

reflow_json *reflow_json_int(int64_t value) {
    reflow_json *v = json_new(REFLOW_JSON_INT);
    v->u.i = value;
    return v;
}

reflow_json *reflow_json_float(double value) {
    reflow_json *v = json_new(REFLOW_JSON_FLOAT);
    v->u.f = value;
    return v;
}

reflow_json *reflow_json_string_n(const char *value, size_t len) {
    reflow_json *v = json_new(REFLOW_JSON_STRING);
    v->u.s.bytes = copy_bytes(value, len);
    v->u.s.len = len;
    return v;
}

reflow_json *reflow_json_string(const char *value) { return reflow_json_string_n(value, strlen(value)); }
reflow_json *reflow_json_array(void) { return json_new(REFLOW_JSON_ARRAY); }
reflow_json *reflow_json_object(void) { return json_new(REFLOW_JSON_OBJECT); }

void reflow_json_free(reflow_json *v) {
    if (!v) return;
    if (v->kind == REFLOW_JSON_STRING) free(v->u.s.bytes);
    if (v->kind == REFLOW_JSON_ARRAY || v->kind == REFLOW_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.c.len; i++) {
            reflow_json_free(v->u.c.items[i]);
            if (v->u.c.keys) free(v->u.c.keys[i]);
        }
        free(v->u.c.items);
        free(v->u.c.keys);
    }
    free(v);
}

static void container_grow(reflow_json *c) {
    if (c->u.c.len < c->u.c.cap) return;
    size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
    c->u.c.items = (reflow_json **)realloc(c->u.c.items, cap * sizeof(reflow_json *));
    if (c->kind == REFLOW_JSON_OBJECT) c->u.c.keys = (char **)realloc(c->u.c.keys, cap * sizeof(char *));
    if (!c->u.c.items || (c->kind == REFLOW_JSON_OBJECT && !c->u.c.keys)) abort();
    c->u.c.cap = cap;
}

void reflow_json_push(reflow_json *array, reflow_json *item) {
    if (!array || array->kind != REFLOW_JSON_ARRAY) {
        reflow_json_free(item);
        return;
    }
    container_grow(array);
    array->u.c.items[array->u.c.len++] = item;
}

static void object_set_n(reflow_json *object, const char *key, size_t key_len, reflow_json *value) {
    for (size_t i = 0; i < object->u.c.len; i++) {
        if (strlen(object->u.c.keys[i]) == key_len && memcmp(object->u.c.keys[i], key, key_len) == 0) {
            reflow_json_free(object->u.c.items[i]);
            object->u.c.items[i] = value;
            return;
        }
    }
    container_grow(object);
    object->u.c.keys[object->u.c.len] = copy_bytes(key, key_len);
    object->u.c.items[object->u.c.len++] = value;
}

void reflow_json_set(reflow_json *object, const char *key, reflow_json *value) {
    if (!object || object->kind != REFLOW_JSON_OBJECT) {
        reflow_json_free(value);
        return;
    }
    object_set_n(object, key, strlen(key), value);
}

reflow_json *reflow_json_clone(const reflow_json *v) {
    if (!v) return NULL;
    switch (v->kind) {
    case REFLOW_JSON_NULL: return reflow_json_null();
    case REFLOW_JSON_BOOL: return reflow_json_bool(v->u.b);
    case REFLOW_JSON_INT: return reflow_json_int(v->u.i);
    case REFLOW_JSON_FLOAT: return reflow_json_float(v->u.f);
    case REFLOW_JSON_STRING: return reflow_json_string_n(v->u.s.bytes, v->u.s.len);
    case REFLOW_JSON_ARRAY: {
        reflow_json *out = reflow_json_array();
        for (size_t i = 0; i < v->u.c.len; i++) reflow_json_push(out, reflow_json_clone(v->u.c.items[i]));
        return out;
    }
    case REFLOW_JSON_OBJECT: {
        reflow_json *out = reflow_json_object();
        for (size_t i = 0; i < v->u.c.len; i++) reflow_json_set(out, v->u.c.keys[i], reflow_json_clone(v->u.c.items[i]));
        return out;
    }
    }
    return NULL;
}

reflow_json_kind reflow_json_kind_of(const reflow_json *v) { return v ? v->kind : REFLOW_JSON_NULL; }

size_t reflow_json_len(const reflow_json *v) {
    return v && (v->kind == REFLOW_JSON_ARRAY || v->kind == REFLOW_JSON_OBJECT) ? v->u.c.len : 0;
}

const reflow_json *reflow_json_at(const reflow_json *array, size_t index) {
    return array && array->kind == REFLOW_JSON_ARRAY && index < array->u.c.len ? array->u.c.items[index] : NULL;
}

const reflow_json *reflow_json_get(const reflow_json *object, const char *key) {
    if (!object || object->kind != REFLOW_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->u.c.len; i++)
        if (strcmp(object->u.c.keys[i], key) == 0) return object->u.c.items[i];
    return NULL;
}

const char *reflow_json_key_at(const reflow_json *object, size_t index) {
    return object && object->kind == REFLOW_JSON_OBJECT && index < object->u.c.len ? object->u.c.keys[index] : NULL;
}

const reflow_json *reflow_json_value_at(const reflow_json *object, size_t index) {
    return object && object->kind == REFLOW_JSON_OBJECT && index < object->u.c.len ? object->u.c.items[index] : NULL;
}

bool reflow_json_as_bool(const reflow_json *v, bool *out) {
    if (!v || v->kind != REFLOW_JSON_BOOL) return false;
    *out = v->u.b;
    return true;
}

bool reflow_json_as_int(const reflow_json *v, int64_t *out) {
    if (!v) return false;
    if (v->kind == REFLOW_JSON_INT) {
        *out = v->u.i;
        return true;
    }
    /* A whole float within int64's range (2^63 itself is not). */
    if (v->kind == REFLOW_JSON_FLOAT && v->u.f == floor(v->u.f) && v->u.f >= -9223372036854775808.0 &&
        v->u.f < 9223372036854775808.0) {
        *out = (int64_t)v->u.f;
        return true;
    }
    return false;
}

bool reflow_json_as_number(const reflow_json *v, double *out) {
    if (!v) return false;
    if (v->kind == REFLOW_JSON_FLOAT) *out = v->u.f;
    else if (v->kind == REFLOW_JSON_INT) *out = (double)v->u.i;
    else return false;
    return true;
}

bool reflow_json_as_string(const reflow_json *v, const char **out, size_t *len) {
    if (!v || v->kind != REFLOW_JSON_STRING) return false;
    *out = v->u.s.bytes;
    if (len) *len = v->u.s.len;
    return true;
}

/* ---- JSON text: the reader ---------------------------------------------------------- */

/* Nesting deeper than this is refused rather than overflowing the plugin's stack. */
#define MAX_DEPTH 256

typedef struct {
    const char *p, *start, *end;
    char *error;
} reader;

static bool fail_at(reader *r, const char *what) {
    if (!r->error) {
        r->error = (char *)malloc(96);
        if (r->error) snprintf(r->error, 96, "invalid JSON at byte %zu: %s", (size_t)(r->p - r->start), what);
    }
    return false;
}

static void skip_space(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static bool literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return fail_at(r, "unknown literal");
    r->p += n;
    return true;
}

/* A growable byte buffer, used by the reader for strings and by the writer. */
typedef struct {
    char *bytes;
    size_t len, cap;
} buffer;

static void buf_reserve(buffer *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    b->bytes = (char *)realloc(b->bytes, cap);
    if (!b->bytes) abort();
    b->cap = cap;
}

static void buf_put(buffer *b, const char *bytes, size_t len) {
    buf_reserve(b, len);
    memcpy(b->bytes + b->len, bytes, len);
    b->len += len;
}

static void buf_byte(buffer *b, char c) { buf_put(b, &c, 1); }

static void put_utf8(buffer *b, uint32_t cp) {
    char out[4];
    if (cp < 0x80) {
        out[0] = (char)cp;
        buf_put(b, out, 1);
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        buf_put(b, out, 2);
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        buf_put(b, out, 3);
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        buf_put(b, out, 4);
    }
}

static bool hex4(reader *r, uint32_t *out) {
    if (r->end - r->p < 4) return fail_at(r, "short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *r->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail_at(r, "bad \\u escape");
    }
    *out = v;
    return true;
}

/* Reads a string after its opening quote into `b`. */
static bool read_string(reader *r, buffer *b) {
    for (;;) {
        const char *run = r->p;
        while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20) r->p++;
        buf_put(b, run, (size_t)(r->p - run));
        if (r->p >= r->end) return fail_at(r, "unterminated string");
        char c = *r->p++;
        if (c == '"') return true;
        if (c != '\\') {
            r->p--;
            return fail_at(r, "control character in a string");
        }
        if (r->p >= r->end) return fail_at(r, "unterminated string");
        c = *r->p++;
        switch (c) {
        case '"': buf_byte(b, '"'); break;
        case '\\': buf_byte(b, '\\'); break;
        case '/': buf_byte(b, '/'); break;
        case 'b': buf_byte(b, '\b'); break;
        case 'f': buf_byte(b, '\f'); break;
        case 'n': buf_byte(b, '\n'); break;
        case 'r': buf_byte(b, '\r'); break;
        case 't': buf_byte(b, '\t'); break;
        case 'u': {
            uint32_t cp;
            if (!hex4(r, &cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return fail_at(r, "lone surrogate");
                r->p += 2;
                if (!hex4(r, &low)) return false;
                if (low < 0xDC00 || low > 0xDFFF) return fail_at(r, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail_at(r, "lone surrogate");
            }
            put_utf8(b, cp);
            break;
        }
        default: return fail_at(r, "bad escape");
        }
    }
}

static reflow_json *read_number(reader *r) {
    const char *s = r->p;
    bool is_float = false;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail_at(r, "bad number"), NULL;
    if (*r->p == '0') r->p++;
    else while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    if (r->p < r->end && *r->p == '.') {
        is_float = true;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail_at(r, "bad fraction"), NULL;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        is_float = true;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail_at(r, "bad exponent"), NULL;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    char text[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof(text)) {
        /* Longer than any int64 or float needs: read it as a float, as any reader would. */
        char *copy = copy_bytes(s, n);
        reflow_json *v = reflow_json_float(strtod(copy, NULL));
        free(copy);
        return v;
    }
    memcpy(text, s, n);
    text[n] = 0;
    if (!is_float) {
        /* Digits only: an int64 unless it overflows, then a float. */
        bool negative = text[0] == '-';
        uint64_t magnitude = 0;
        bool overflow = false;
        for (const char *d = text + negative; *d; d++) {
            uint64_t digit = (uint64_t)(*d - '0');
            if (magnitude > (UINT64_MAX - digit) / 10) overflow = true;
            magnitude = magnitude * 10 + digit;
        }
        if (!overflow && !negative && magnitude <= (uint64_t)INT64_MAX) return reflow_json_int((int64_t)magnitude);
        if (!overflow && negative && magnitude <= (uint64_t)INT64_MAX + 1)
            return reflow_json_int(magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude);
    }
    return reflow_json_float(strtod(text, NULL));
}

static reflow_json *read_value(reader *r, int depth);

static reflow_json *read_container(reader *r, int depth, bool object) {
    reflow_json *out = object ? reflow_json_object() : reflow_json_array();
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == (object ? '}' : ']')) {
        r->p++;
        return out;
    }
    buffer key = {0};
    for (;;) {
        skip_space(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"') goto bad_key;
            r->p++;
            key.len = 0;
            if (!read_string(r, &key)) goto fail;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':') {
                fail_at(r, "expected ':'");
                goto fail;
            }
            r->p++;
        }
        reflow_json *item = read_value(r, depth + 1);
        if (!item) goto fail;
        if (object) object_set_n(out, key.bytes ? key.bytes : "", key.len, item);
        else reflow_json_push(out, item);
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == (object ? '}' : ']')) {
            r->p++;
            free(key.bytes);
            return out;
        }
        fail_at(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto fail;
    }
bad_key:
    fail_at(r, "expected a string key");
fail:
    free(key.bytes);
    reflow_json_free(out);
    return NULL;
}

static reflow_json *read_value(reader *r, int depth) {
    if (depth > MAX_DEPTH) return fail_at(r, "nested too deeply"), NULL;
    skip_space(r);
    if (r->p >= r->end) return fail_at(r, "unexpected end"), NULL;
    switch (*r->p) {
    case '{': return read_container(r, depth, true);
    case '[': return read_container(r, depth, false);
    case '"': {
        buffer b = {0};
        r->p++;
        if (!read_string(r, &b)) {
            free(b.bytes);
            return NULL;
        }
        reflow_json *v = reflow_json_string_n(b.bytes ? b.bytes : "", b.len);
        free(b.bytes);
        return v;
    }
    case 't': return literal(r, "true") ? reflow_json_bool(true) : NULL;
    case 'f': return literal(r, "false") ? reflow_json_bool(false) : NULL;
    case 'n': return literal(r, "null") ? reflow_json_null() : NULL;
    default: return read_number(r);
    }
}

reflow_json *reflow_json_parse(const char *text, size_t len, char **error) {
    reader r = {text, text, text + len, NULL};
    reflow_json *v = read_value(&r, 0);
    if (v) {
        skip_space(&r);
        if (r.p != r.end) {
            fail_at(&r, "trailing characters");
            reflow_json_free(v);
            v = NULL;
        }
    }
    if (error) *error = r.error;
    else free(r.error);
    return v;
}

/* ---- JSON text: the writer ---------------------------------------------------------- */

static void write_string(buffer *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    buf_reserve(b, len + 2);
    buf_byte(b, '"');
    const char *run = s;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_put(b, run, (size_t)(s + i - run));
        run = s + i + 1;
        switch (c) {
        case '"': buf_put(b, "\\\"", 2); break;
        case '\\': buf_put(b, "\\\\", 2); break;
        case '\n': buf_put(b, "\\n", 2); break;
        case '\r': buf_put(b, "\\r", 2); break;
        case '\t': buf_put(b, "\\t", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_put(b, esc, 6);
        }
        }
    }
    buf_put(b, run, (size_t)(s + len - run));
    buf_byte(b, '"');
}

/* The shortest %g text that reads back as the same double, with ".0" added to a whole
 * number so that it stays a float for readers that tell the two apart. */
static void write_float(buffer *b, double f) {
    if (!isfinite(f)) {
        buf_put(b, "null", 4);
        return;
    }
    char text[40];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, sizeof(text), "%.*g", precision, f);
        if (strtod(text, NULL) == f) break;
    }
    buf_put(b, text, strlen(text));
    if (!strpbrk(text, ".eEn")) buf_put(b, ".0", 2);
}

static void write_value(buffer *b, const reflow_json *v) {
    char text[24];
    switch (v ? v->kind : REFLOW_JSON_NULL) {
    case REFLOW_JSON_NULL: buf_put(b, "null", 4); break;
    case REFLOW_JSON_BOOL: v->u.b ? buf_put(b, "true", 4) : buf_put(b, "false", 5); break;
    case REFLOW_JSON_INT:
        snprintf(text, sizeof(text), "%lld", (long long)v->u.i);
        buf_put(b, text, strlen(text));
        break;
    case REFLOW_JSON_FLOAT: write_float(b, v->u.f); break;
    case REFLOW_JSON_STRING: write_string(b, v->u.s.bytes, v->u.s.len); break;
    case REFLOW_JSON_ARRAY:
        buf_byte(b, '[');
        for (size_t i = 0; i < v->u.c.len; i++) {
            if (i) buf_byte(b, ',');
            write_value(b, v->u.c.items[i]);
        }
        buf_byte(b, ']');
        break;
    case REFLOW_JSON_OBJECT:
        buf_byte(b, '{');
        for (size_t i = 0; i < v->u.c.len; i++) {
            if (i) buf_byte(b, ',');
            write_string(b, v->u.c.keys[i], strlen(v->u.c.keys[i]));
            buf_byte(b, ':');
            write_value(b, v->u.c.items[i]);
        }
        buf_byte(b, '}');
        break;
    }
}

char *reflow_json_write(const reflow_json *value, size_t *len) {
    buffer b = {0};
    write_value(&b, value);
    buf_byte(&b, 0);
    if (len) *len = b.len - 1;
    return b.bytes;
}

/* ---- Messages --------------------------------------------------------------------------- */

struct reflow_message {
    reflow_message_type type;
    reflow_json *data;
};

static const char *const TYPE_NAMES[12] = {
    "Flow", "Event", "Boolean", "Integer", "Float", "String",
    "Object", "Array", "Stream", "Optional", "Any", "Error",
};

const char *reflow_message_type_name(reflow_message_type type) {
    return (unsigned)type < 12 ? TYPE_NAMES[type] : "Any";
}

bool reflow_message_type_from_name(const char *name, reflow_message_type *out) {
    for (int i = 0; i < 12; i++) {
        if (strcmp(TYPE_NAMES[i], name) == 0) {
            *out = (reflow_message_type)i;
            return true;
        }
    }
    return false;
}

static reflow_message *message_new(reflow_message_type type, reflow_json *data) {
    reflow_message *m = (reflow_message *)malloc(sizeof(reflow_message));
    if (!m) abort();
    m->type = type;
    m->data = data ? data : reflow_json_null();
    return m;
}

reflow_message *reflow_message_flow(void) { return message_new(REFLOW_FLOW, NULL); }
reflow_message *reflow_message_event(reflow_json *data) { return message_new(REFLOW_EVENT, data); }
reflow_message *reflow_message_boolean(bool value) { return message_new(REFLOW_BOOLEAN, reflow_json_bool(value)); }
reflow_message *reflow_message_integer(int64_t value) { return message_new(REFLOW_INTEGER, reflow_json_int(value)); }
reflow_message *reflow_message_float(double value) { return message_new(REFLOW_FLOAT, reflow_json_float(value)); }
reflow_message *reflow_message_string(const char *value) { return message_new(REFLOW_STRING, reflow_json_string(value)); }
reflow_message *reflow_message_string_n(const char *value, size_t len) {
    return message_new(REFLOW_STRING, reflow_json_string_n(value, len));
}
reflow_message *reflow_message_object(reflow_json *data) { return message_new(REFLOW_OBJECT, data); }
reflow_message *reflow_message_array(reflow_json *items) {
    return message_new(REFLOW_ARRAY, items ? items : reflow_json_array());
}
reflow_message *reflow_message_stream(const uint8_t *bytes, size_t len) {
    reflow_json *items = reflow_json_array();
    for (size_t i = 0; i < len; i++) reflow_json_push(items, reflow_json_int(bytes[i]));
    return message_new(REFLOW_STREAM, items);
}
reflow_message *reflow_message_optional(reflow_json *value) { return message_new(REFLOW_OPTIONAL, value); }
reflow_message *reflow_message_any(reflow_json *data) { return message_new(REFLOW_ANY, data); }
reflow_message *reflow_message_error(const char *text) { return message_new(REFLOW_ERROR, reflow_json_string(text)); }

reflow_message *reflow_message_clone(const reflow_message *m) {
    return m ? message_new(m->type, reflow_json_clone(m->data)) : NULL;
}

void reflow_message_free(reflow_message *m) {
    if (!m) return;
    reflow_json_free(m->data);
    free(m);
}

static char *error_text(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *error_text(const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *out = (char *)malloc((size_t)(n < 0 ? 0 : n) + 1);
    if (!out) abort();
    va_start(args, format);
    vsnprintf(out, (size_t)(n < 0 ? 0 : n) + 1, format, args);
    va_end(args);
    return out;
}

/* Whether `data` fits a message of `type` (the host's own rules, docs/abi.md). */
static bool data_fits(reflow_message_type type, const reflow_json *data) {
    int64_t i;
    switch (type) {
    case REFLOW_BOOLEAN: return data->kind == REFLOW_JSON_BOOL;
    case REFLOW_INTEGER: return reflow_json_as_int(data, &i);
    case REFLOW_FLOAT: return data->kind == REFLOW_JSON_INT || data->kind == REFLOW_JSON_FLOAT;
    case REFLOW_STRING: return data->kind == REFLOW_JSON_STRING;
    case REFLOW_ARRAY: return data->kind == REFLOW_JSON_ARRAY;
    case REFLOW_STREAM:
        if (data->kind != REFLOW_JSON_ARRAY) return false;
        for (size_t k = 0; k < data->u.c.len; k++)
            if (!reflow_json_as_int(data->u.c.items[k], &i) || i < 0 || i > 255) return false;
        return true;
    default: return true;
    }
}

reflow_message *reflow_message_from_json(const reflow_json *tagged, char **error) {
    const char *name;
    reflow_message_type type;
    if (!tagged || tagged->kind != REFLOW_JSON_OBJECT) {
        if (error) *error = error_text("a message must be a JSON object");
        return NULL;
    }
    if (!reflow_json_as_string(reflow_json_get(tagged, "type"), &name, NULL) || !reflow_message_type_from_name(name, &type)) {
        if (error) *error = error_text("a message needs a \"type\" naming one of the 12 message types");
        return NULL;
    }
    const reflow_json *data = reflow_json_get(tagged, "data");
    reflow_json null_data = {REFLOW_JSON_NULL, {0}};
    if (!data || type == REFLOW_FLOW) data = &null_data;
    if (!data_fits(type, data)) {
        if (error) *error = error_text("the data of a %s message has the wrong kind", name);
        return NULL;
    }
    /* An Integer written as a whole float (42.0) is stored as the integer it means. */
    int64_t whole;
    if (type == REFLOW_INTEGER && reflow_json_as_int(data, &whole)) return reflow_message_integer(whole);
    if (type == REFLOW_ERROR && data->kind != REFLOW_JSON_STRING) {
        char *text = reflow_json_write(data, NULL);
        reflow_message *m = reflow_message_error(text);
        free(text);
        return m;
    }
    return message_new(type, reflow_json_clone(data));
}

reflow_json *reflow_message_to_json(const reflow_message *m) {
    reflow_json *out = reflow_json_object();
    reflow_json_set(out, "type", reflow_json_string(reflow_message_type_name(m->type)));
    reflow_json_set(out, "data", m->type == REFLOW_FLOW ? reflow_json_null() : reflow_json_clone(m->data));
    return out;
}

reflow_message_type reflow_message_type_of(const reflow_message *m) { return m->type; }
const reflow_json *reflow_message_data(const reflow_message *m) { return m->data; }

bool reflow_message_as_integer(const reflow_message *m, int64_t *out) { return m && reflow_json_as_int(m->data, out); }
bool reflow_message_as_float(const reflow_message *m, double *out) { return m && reflow_json_as_number(m->data, out); }
bool reflow_message_as_bool(const reflow_message *m, bool *out) { return m && reflow_json_as_bool(m->data, out); }
bool reflow_message_as_string(const reflow_message *m, const char **out, size_t *len) {
    return m && reflow_json_as_string(m->data, out, len);
}

uint8_t *reflow_message_as_bytes(const reflow_message *m, size_t *len) {
    if (!m || !data_fits(REFLOW_STREAM, m->data)) return NULL;
    size_t n = m->data->u.c.len;
    uint8_t *out = (uint8_t *)malloc(n ? n : 1);
    if (!out) abort();
    for (size_t i = 0; i < n; i++) {
        int64_t b = 0;
        reflow_json_as_int(m->data->u.c.items[i], &b);
        out[i] = (uint8_t)b;
    }
    *len = n;
    return out;
}

/* ---- The context and the result --------------------------------------------------------- */

struct reflow_context {
    reflow_json *root;   /* the whole ActorContext */
    const char **ports;  /* payload port names, by index */
    reflow_message **inputs;
    size_t input_count;
    const reflow_json *state, *config, *env;
    const char *node_id, *component, *namespace_;
};

struct reflow_result {
    reflow_json *outputs; /* port -> tagged message */
    reflow_json *state;   /* NULL: no state key (no change) */
    char *error;
};

static const reflow_json EMPTY_OBJECT = {REFLOW_JSON_OBJECT, {0}};

static const char *string_or(const reflow_json *v, const char *fallback) {
    const char *s;
    return reflow_json_as_string(v, &s, NULL) ? s : fallback;
}

static const reflow_json *object_or_empty(const reflow_json *v) {
    return v && v->kind == REFLOW_JSON_OBJECT ? v : &EMPTY_OBJECT;
}

/* Reads the ActorContext; on failure returns a malloc'd reason. */
static char *context_read(reflow_context *ctx, const char *text, size_t len) {
    char *error = NULL;
    memset(ctx, 0, sizeof(*ctx));
    ctx->root = reflow_json_parse(text, len, &error);
    if (!ctx->root) return error;
    if (ctx->root->kind != REFLOW_JSON_OBJECT) return error_text("the ActorContext is not a JSON object");
    const reflow_json *payload = object_or_empty(reflow_json_get(ctx->root, "payload"));
    ctx->input_count = payload->u.c.len;
    ctx->ports = (const char **)calloc(ctx->input_count + 1, sizeof(char *));
    ctx->inputs = (reflow_message **)calloc(ctx->input_count + 1, sizeof(reflow_message *));
    if (!ctx->ports || !ctx->inputs) abort();
    for (size_t i = 0; i < ctx->input_count; i++) {
        ctx->ports[i] = payload->u.c.keys[i];
        ctx->inputs[i] = reflow_message_from_json(payload->u.c.items[i], &error);
        if (!ctx->inputs[i]) {
            char *why = error_text("inport \"%s\": %s", ctx->ports[i], error ? error : "bad message");
            free(error);
            return why;
        }
    }
    const reflow_json *config = object_or_empty(reflow_json_get(ctx->root, "config"));
    ctx->state = object_or_empty(reflow_json_get(ctx->root, "state"));
    ctx->config = object_or_empty(reflow_json_get(config, "config"));
    ctx->env = object_or_empty(reflow_json_get(config, "resolved_env"));
    ctx->node_id = string_or(reflow_json_get(config, "node_id"), "");
    ctx->component = string_or(reflow_json_get(config, "component"), "");
    ctx->namespace_ = string_or(reflow_json_get(config, "namespace"), NULL);
    return NULL;
}

static void context_free(reflow_context *ctx) {
    for (size_t i = 0; ctx->inputs && i < ctx->input_count; i++) reflow_message_free(ctx->inputs[i]);
    free(ctx->inputs);
    free(ctx->ports);
    reflow_json_free(ctx->root);
}

const reflow_message *reflow_input(const reflow_context *ctx, const char *port) {
    for (size_t i = 0; i < ctx->input_count; i++)
        if (strcmp(ctx->ports[i], port) == 0) return ctx->inputs[i];
    return NULL;
}

const reflow_json *reflow_state(const reflow_context *ctx) { return ctx->state; }
const reflow_json *reflow_config(const reflow_context *ctx) { return ctx->config; }
const char *reflow_node_id(const reflow_context *ctx) { return ctx->node_id; }
const char *reflow_component(const reflow_context *ctx) { return ctx->component; }
const char *reflow_namespace(const reflow_context *ctx) { return ctx->namespace_; }
const char *reflow_env(const reflow_context *ctx, const char *name) { return string_or(reflow_json_get(ctx->env, name), NULL); }

bool reflow_config_integer(const reflow_context *ctx, const char *key, int64_t *out) {
    return reflow_json_as_int(reflow_json_get(ctx->config, key), out);
}
bool reflow_config_number(const reflow_context *ctx, const char *key, double *out) {
    return reflow_json_as_number(reflow_json_get(ctx->config, key), out);
}
bool reflow_config_string(const reflow_context *ctx, const char *key, const char **out) {
    return reflow_json_as_string(reflow_json_get(ctx->config, key), out, NULL);
}
bool reflow_config_bool(const reflow_context *ctx, const char *key, bool *out) {
    return reflow_json_as_bool(reflow_json_get(ctx->config, key), out);
}

void reflow_output(reflow_result *result, const char *port, reflow_message *message) {
    if (!message) return;
    reflow_json_set(result->outputs, port, reflow_message_to_json(message));
    reflow_message_free(message);
}

void reflow_set_result_state(reflow_result *result, reflow_json *state) {
    reflow_json_free(result->state);
    result->state = state;
}

int reflow_fail(reflow_result *result, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    free(result->error);
    result->error = (char *)malloc((size_t)(n < 0 ? 0 : n) + 1);
    if (!result->error) abort();
    va_start(args, format);
    vsnprintf(result->error, (size_t)(n < 0 ? 0 : n) + 1, format, args);
    va_end(args);
    return 1;
}

/* ---- Host functions ---------------------------------------------------------------------- */

reflow_json *reflow_get_state(const char *key) {
    uint64_t k = to_extism(key, strlen(key));
    uint64_t handle = reflow_host_get_state(k);
    extism_free(k);
    if (handle == 0) return NULL;
    size_t len;
    char *text = from_extism(handle, &len);
    extism_free(handle);
    if (!text) return NULL;
    reflow_json *value = reflow_json_parse(text, len, NULL);
    free(text);
    if (value && value->kind == REFLOW_JSON_NULL) {
        reflow_json_free(value);
        return NULL;
    }
    return value;
}

void reflow_set_state(const char *key, const reflow_json *value) {
    size_t len;
    char *text = reflow_json_write(value, &len);
    uint64_t k = to_extism(key, strlen(key));
    uint64_t v = to_extism(text, len);
    free(text);
    reflow_host_set_state(k, v);
    extism_free(k);
    extism_free(v);
}

void reflow_send_json(const reflow_json *outputs) {
    size_t len;
    char *text = reflow_json_write(outputs, &len);
    uint64_t handle = to_extism(text, len);
    free(text);
    reflow_host_send_output(handle);
    extism_free(handle);
}

void reflow_send(const char *port, const reflow_message *message) {
    reflow_json *outputs = reflow_json_object();
    reflow_json_set(outputs, port, reflow_message_to_json(message));
    reflow_send_json(outputs);
    reflow_json_free(outputs);
}

/* The host frees a log message's block itself. */
void reflow_log_debug(const char *text) { extism_log_debug(to_extism(text, strlen(text))); }
void reflow_log_info(const char *text) { extism_log_info(to_extism(text, strlen(text))); }
void reflow_log_warn(const char *text) { extism_log_warn(to_extism(text, strlen(text))); }
void reflow_log_error(const char *text) { extism_log_error(to_extism(text, strlen(text))); }

/* ---- The exports ------------------------------------------------------------------------- */

static reflow_json *ports_json(const reflow_port *ports, size_t count) {
    reflow_json *out = reflow_json_array();
    for (size_t i = 0; i < count; i++) {
        reflow_json *port = reflow_json_object();
        reflow_json_set(port, "name", reflow_json_string(ports[i].name));
        reflow_json_set(port, "description", reflow_json_string(ports[i].description ? ports[i].description : ""));
        reflow_json_set(port, "port_type", reflow_json_string(ports[i].port_type ? ports[i].port_type : "Any"));
        reflow_json_set(port, "required", reflow_json_bool(ports[i].required));
        reflow_json_push(out, port);
    }
    return out;
}

int32_t reflow_export_metadata(const reflow_metadata *m) {
    reflow_json *meta = reflow_json_object();
    reflow_json_set(meta, "component", reflow_json_string(m->component));
    reflow_json_set(meta, "description", reflow_json_string(m->description ? m->description : ""));
    reflow_json_set(meta, "inports", ports_json(m->inports, m->inport_count));
    reflow_json_set(meta, "outports", ports_json(m->outports, m->outport_count));
    reflow_json *schema = reflow_json_null();
    if (m->config_schema) {
        char *error = NULL;
        reflow_json_free(schema);
        schema = reflow_json_parse(m->config_schema, strlen(m->config_schema), &error);
        if (!schema) {
            char *why = error_text("reflow: the config_schema is not JSON: %s", error ? error : "");
            set_error(why);
            free(why);
            free(error);
            reflow_json_free(meta);
            return 1;
        }
    }
    reflow_json_set(meta, "config_schema", schema);
    size_t len;
    char *text = reflow_json_write(meta, &len);
    reflow_json_free(meta);
    set_output(text, len);
    free(text);
    return 0;
}

int32_t reflow_export_process(reflow_process_fn process) {
    size_t len;
    char *input = read_input(&len);
    if (!input) {
        set_error("reflow: out of memory reading the ActorContext");
        return 1;
    }
    reflow_context ctx;
    char *error = context_read(&ctx, input, len);
    free(input);
    if (error) {
        char *why = error_text("reflow: cannot decode the ActorContext: %s", error);
        set_error(why);
        free(why);
        free(error);
        context_free(&ctx);
        return 1;
    }
    reflow_result result = {reflow_json_object(), NULL, NULL};
    int status = process(&ctx, &result);
    context_free(&ctx);
    if (status != 0 || result.error) {
        set_error(result.error ? result.error : "reflow: process failed without a message");
        free(result.error);
        reflow_json_free(result.outputs);
        reflow_json_free(result.state);
        return 1;
    }
    reflow_json *answer = reflow_json_object();
    reflow_json_set(answer, "outputs", result.outputs);
    if (result.state) reflow_json_set(answer, "state", result.state);
    char *text = reflow_json_write(answer, &len);
    reflow_json_free(answer);
    set_output(text, len);
    free(text);
    return 0;
}
