//! The Reflow Zig SDK: write Reflow actors in Zig as WebAssembly plugins (docs/abi.md,
//! docs/writing-plugins-zig.md). No libc, no WASI: it builds for `wasm32-freestanding`,
//! talks to the host through the Extism imports, and reads and writes JSON with `std.json`.
//!
//! ```zig
//! const std = @import("std");
//! const reflow = @import("reflow");
//!
//! const metadata = reflow.PluginMetadata{
//!     .component = "Double",
//!     .description = "Doubles integers",
//!     .inports = &.{reflow.requiredPort("input", "A number", "Integer")},
//!     .outports = &.{reflow.port("output", "Twice the number", "Integer")},
//! };
//!
//! fn double(ctx: *reflow.ActorContext) !reflow.ActorResult {
//!     var result = reflow.ActorResult.init(ctx.allocator);
//!     const input = ctx.input("input") orelse return ctx.fail("no input", .{});
//!     const n = input.asInteger() orelse return ctx.fail("input must be an Integer", .{});
//!     try result.output("output", reflow.Message.integer(n * 2));
//!     return result;
//! }
//!
//! comptime {
//!     reflow.exportPlugin(metadata, double);
//! }
//! ```
//!
//! Memory: each call gets an arena (`ctx.allocator`) over `std.heap.wasm_allocator`, freed
//! when the call returns, so nothing a call allocates outlives it.

const std = @import("std");
const json = std.json;
const Allocator = std.mem.Allocator;

pub const Value = json.Value;
pub const ObjectMap = json.ObjectMap;
pub const Array = json.Array;

// ---- Extism's imports (handles are i64 offsets in Extism memory) ------------------------

const extism = struct {
    extern "extism:host/env" fn input_length() u64;
    extern "extism:host/env" fn input_load_u8(offset: u64) u8;
    extern "extism:host/env" fn input_load_u64(offset: u64) u64;
    extern "extism:host/env" fn alloc(length: u64) u64;
    extern "extism:host/env" fn free(handle: u64) void;
    extern "extism:host/env" fn length(handle: u64) u64;
    extern "extism:host/env" fn load_u8(address: u64) u8;
    extern "extism:host/env" fn load_u64(address: u64) u64;
    extern "extism:host/env" fn store_u8(address: u64, byte: u8) void;
    extern "extism:host/env" fn store_u64(address: u64, word: u64) void;
    extern "extism:host/env" fn output_set(handle: u64, length: u64) void;
    extern "extism:host/env" fn error_set(handle: u64) void;
    extern "extism:host/env" fn log_debug(handle: u64) void;
    extern "extism:host/env" fn log_info(handle: u64) void;
    extern "extism:host/env" fn log_warn(handle: u64) void;
    extern "extism:host/env" fn log_error(handle: u64) void;
};

const host = struct {
    extern "extism:host/user" fn __get_state(key: u64) u64;
    extern "extism:host/user" fn __set_state(key: u64, value: u64) void;
    extern "extism:host/user" fn __send_output(outputs: u64) void;
};

/// Copies `bytes` into a new Extism block, 8 bytes per import call where it can.
fn toExtism(bytes: []const u8) u64 {
    const handle = extism.alloc(bytes.len);
    if (handle == 0) return 0;
    var i: usize = 0;
    while (i + 8 <= bytes.len) : (i += 8) {
        extism.store_u64(handle + i, std.mem.readInt(u64, bytes[i..][0..8], .little));
    }
    while (i < bytes.len) : (i += 1) extism.store_u8(handle + i, bytes[i]);
    return handle;
}

/// The bytes of an Extism block, in `allocator`'s memory.
fn fromExtism(allocator: Allocator, handle: u64) ![]u8 {
    const n: usize = @intCast(extism.length(handle));
    const out = try allocator.alloc(u8, n);
    var i: usize = 0;
    while (i + 8 <= n) : (i += 8) std.mem.writeInt(u64, out[i..][0..8], extism.load_u64(handle + i), .little);
    while (i < n) : (i += 1) out[i] = extism.load_u8(handle + i);
    return out;
}

fn readInput(allocator: Allocator) ![]u8 {
    const n: usize = @intCast(extism.input_length());
    const out = try allocator.alloc(u8, n);
    var i: usize = 0;
    while (i + 8 <= n) : (i += 8) std.mem.writeInt(u64, out[i..][0..8], extism.input_load_u64(i), .little);
    while (i < n) : (i += 1) out[i] = extism.input_load_u8(i);
    return out;
}

fn setOutput(bytes: []const u8) void {
    extism.output_set(toExtism(bytes), bytes.len);
}

fn setError(text: []const u8) void {
    extism.error_set(toExtism(text));
}

// ---- Messages (docs/abi.md, "Messages") -------------------------------------------------

/// The 12 message types; `@tagName` is the wire name.
pub const MessageType = enum { Flow, Event, Boolean, Integer, Float, String, Object, Array, Stream, Optional, Any, Error };

/// A message: its type and its data as JSON (null for Flow and an empty Optional).
pub const Message = struct {
    type: MessageType,
    data: Value = .null,

    pub fn flow() Message {
        return .{ .type = .Flow };
    }
    pub fn event(data: Value) Message {
        return .{ .type = .Event, .data = data };
    }
    pub fn boolean(value: bool) Message {
        return .{ .type = .Boolean, .data = .{ .bool = value } };
    }
    pub fn integer(value: i64) Message {
        return .{ .type = .Integer, .data = .{ .integer = value } };
    }
    pub fn float(value: f64) Message {
        return .{ .type = .Float, .data = .{ .float = value } };
    }
    /// `value` must stay alive until the call returns (the call's arena is a good home).
    pub fn string(value: []const u8) Message {
        return .{ .type = .String, .data = .{ .string = value } };
    }
    pub fn object(data: Value) Message {
        return .{ .type = .Object, .data = data };
    }
    /// `items`: a JSON array.
    pub fn array(items: Array) Message {
        return .{ .type = .Array, .data = .{ .array = items } };
    }
    pub fn stream(allocator: Allocator, bytes: []const u8) !Message {
        var items = Array.init(allocator);
        for (bytes) |b| try items.append(.{ .integer = b });
        return .{ .type = .Stream, .data = .{ .array = items } };
    }
    /// null: none.
    pub fn optional(value: ?Value) Message {
        return .{ .type = .Optional, .data = value orelse .null };
    }
    pub fn any(data: Value) Message {
        return .{ .type = .Any, .data = data };
    }
    pub fn err(text: []const u8) Message {
        return .{ .type = .Error, .data = .{ .string = text } };
    }

    /// Reads a tagged message {"type": T, "data": D} by the host's rules (an Integer may be
    /// written 42.0); `error.NotAMessage` when it is not one.
    pub fn fromJson(allocator: Allocator, tagged: Value) !Message {
        if (tagged != .object) return error.NotAMessage;
        const name = tagged.object.get("type") orelse return error.NotAMessage;
        if (name != .string) return error.NotAMessage;
        const ty = std.meta.stringToEnum(MessageType, name.string) orelse return error.NotAMessage;
        const data: Value = if (ty == .Flow) .null else tagged.object.get("data") orelse .null;
        switch (ty) {
            .Boolean => if (data != .bool) return error.NotAMessage,
            .Integer => return integer(valueAsInteger(data) orelse return error.NotAMessage),
            .Float => if (valueAsNumber(data) == null) return error.NotAMessage,
            .String => if (data != .string) return error.NotAMessage,
            .Array => if (data != .array) return error.NotAMessage,
            .Stream => if (!isBytes(data)) return error.NotAMessage,
            .Error => if (data != .string) return err(try json.Stringify.valueAlloc(allocator, data, .{})),
            else => {},
        }
        return .{ .type = ty, .data = data };
    }

    /// The tagged form, as a JSON object.
    pub fn toJson(self: Message, allocator: Allocator) !Value {
        var map: ObjectMap = .empty;
        try map.put(allocator, "type", .{ .string = @tagName(self.type) });
        try map.put(allocator, "data", if (self.type == .Flow) .null else self.data);
        return .{ .object = map };
    }

    pub fn asInteger(self: Message) ?i64 {
        return valueAsInteger(self.data);
    }
    pub fn asFloat(self: Message) ?f64 {
        return valueAsNumber(self.data);
    }
    pub fn asBool(self: Message) ?bool {
        return if (self.data == .bool) self.data.bool else null;
    }
    pub fn asString(self: Message) ?[]const u8 {
        return if (self.data == .string) self.data.string else null;
    }
    /// A Stream's bytes, or null when the data is not an array of bytes.
    pub fn asBytes(self: Message, allocator: Allocator) !?[]u8 {
        if (!isBytes(self.data)) return null;
        const out = try allocator.alloc(u8, self.data.array.items.len);
        for (self.data.array.items, 0..) |b, i| out[i] = @intCast(valueAsInteger(b).?);
        return out;
    }
};

/// An integer: a JSON integer, or a whole float (3.0, as JavaScript writes it).
pub fn valueAsInteger(v: Value) ?i64 {
    return switch (v) {
        .integer => |i| i,
        .float => |f| if (f == @floor(f) and f >= -9223372036854775808.0 and f < 9223372036854775808.0) @intFromFloat(f) else null,
        else => null,
    };
}

/// A number (an integer converted), or null.
pub fn valueAsNumber(v: Value) ?f64 {
    return switch (v) {
        .integer => |i| @floatFromInt(i),
        .float => |f| f,
        .number_string => |s| std.fmt.parseFloat(f64, s) catch null,
        else => null,
    };
}

fn isBytes(v: Value) bool {
    if (v != .array) return false;
    for (v.array.items) |b| {
        const i = valueAsInteger(b) orelse return false;
        if (i < 0 or i > 255) return false;
    }
    return true;
}

// ---- Metadata -------------------------------------------------------------------------------

pub const PortDefinition = struct {
    name: []const u8,
    description: []const u8 = "",
    /// A message type name, or "Any".
    port_type: []const u8 = "Any",
    /// An inport that must hold a message before process is called.
    required: bool = false,
};

pub fn port(name: []const u8, description: []const u8, port_type: []const u8) PortDefinition {
    return .{ .name = name, .description = description, .port_type = port_type };
}

pub fn requiredPort(name: []const u8, description: []const u8, port_type: []const u8) PortDefinition {
    return .{ .name = name, .description = description, .port_type = port_type, .required = true };
}

pub const PluginMetadata = struct {
    component: []const u8,
    description: []const u8 = "",
    inports: []const PortDefinition = &.{},
    outports: []const PortDefinition = &.{},
    /// The JSON text of a JSON schema for the config, or null.
    config_schema: ?[]const u8 = null,
};

// ---- The context of one call, and its result --------------------------------------------

/// Who the actor is and how the graph configured it.
pub const ActorConfig = struct {
    /// The process name in the graph.
    node_id: []const u8 = "",
    component: []const u8 = "",
    /// The per-process configuration (empty if none).
    config: ObjectMap = .empty,
    /// Environment values the graph granted (env: grants), empty unless granted.
    resolved_env: ObjectMap = .empty,
    namespace: ?[]const u8 = null,

    pub fn get(self: ActorConfig, key: []const u8) ?Value {
        return self.config.get(key);
    }
    /// The integer under `key` (a whole float such as 3.0 counts), or null.
    pub fn getInteger(self: ActorConfig, key: []const u8) ?i64 {
        return valueAsInteger(self.config.get(key) orelse return null);
    }
    pub fn getNumber(self: ActorConfig, key: []const u8) ?f64 {
        return valueAsNumber(self.config.get(key) orelse return null);
    }
    pub fn getString(self: ActorConfig, key: []const u8) ?[]const u8 {
        const v = self.config.get(key) orelse return null;
        return if (v == .string) v.string else null;
    }
    pub fn getBool(self: ActorConfig, key: []const u8) ?bool {
        const v = self.config.get(key) orelse return null;
        return if (v == .bool) v.bool else null;
    }
    pub fn getEnv(self: ActorConfig, name: []const u8) ?[]const u8 {
        const v = self.resolved_env.get(name) orelse return null;
        return if (v == .string) v.string else null;
    }
};

/// The input of one process call.
pub const ActorContext = struct {
    /// The call's arena: everything allocated in it is freed when the call returns.
    allocator: Allocator,
    /// The messages that arrived, by inport name.
    payload: std.StringArrayHashMapUnmanaged(Message) = .empty,
    config: ActorConfig = .{},
    /// The actor's state as the host holds it (empty at first).
    state: ObjectMap = .empty,
    failure: ?[]const u8 = null,

    /// The message on `port`, or null.
    pub fn input(self: *const ActorContext, name: []const u8) ?Message {
        return self.payload.get(name);
    }

    /// Fails the call with a formatted message: `return ctx.fail("bad {s}", .{x});`.
    pub fn fail(self: *ActorContext, comptime format: []const u8, args: anytype) error{ProcessFailed} {
        self.failure = std.fmt.allocPrint(self.allocator, format, args) catch "reflow: process failed (no memory for its message)";
        return error.ProcessFailed;
    }

    fn fromJson(allocator: Allocator, root: Value) !ActorContext {
        if (root != .object) return error.NotAnActorContext;
        var ctx = ActorContext{ .allocator = allocator };
        if (root.object.get("payload")) |payload| if (payload == .object) {
            var it = payload.object.iterator();
            while (it.next()) |entry| {
                const m = Message.fromJson(allocator, entry.value_ptr.*) catch return error.BadPayloadMessage;
                try ctx.payload.put(allocator, entry.key_ptr.*, m);
            }
        };
        if (root.object.get("state")) |state| if (state == .object) {
            ctx.state = state.object;
        };
        if (root.object.get("config")) |config| if (config == .object) {
            const c = config.object;
            if (c.get("node_id")) |v| if (v == .string) {
                ctx.config.node_id = v.string;
            };
            if (c.get("component")) |v| if (v == .string) {
                ctx.config.component = v.string;
            };
            if (c.get("namespace")) |v| if (v == .string) {
                ctx.config.namespace = v.string;
            };
            if (c.get("config")) |v| if (v == .object) {
                ctx.config.config = v.object;
            };
            if (c.get("resolved_env")) |v| if (v == .object) {
                ctx.config.resolved_env = v.object;
            };
        };
        return ctx;
    }
};

/// The answer of one process call.
pub const ActorResult = struct {
    allocator: Allocator,
    /// Messages to send, by outport name.
    outputs: std.StringArrayHashMapUnmanaged(Message) = .empty,
    /// The actor's new state (a JSON object), replacing the host's copy; null: no change
    /// (written without a "state" key, as the original Reflow SDKs do).
    state: ?Value = null,

    pub fn init(allocator: Allocator) ActorResult {
        return .{ .allocator = allocator };
    }

    /// Returns `message` on `name` (a second one on the port replaces the first).
    pub fn output(self: *ActorResult, name: []const u8, message: Message) !void {
        try self.outputs.put(self.allocator, name, message);
    }

    fn toJson(self: ActorResult) !Value {
        var outputs: ObjectMap = .empty;
        var it = self.outputs.iterator();
        while (it.next()) |entry| try outputs.put(self.allocator, entry.key_ptr.*, try entry.value_ptr.toJson(self.allocator));
        var root: ObjectMap = .empty;
        try root.put(self.allocator, "outputs", .{ .object = outputs });
        if (self.state) |state| try root.put(self.allocator, "state", state);
        return .{ .object = root };
    }
};

/// A process function. An error fails the call: with the message of `ctx.fail`, or else the
/// error's name.
pub const ProcessFn = fn (ctx: *ActorContext) anyerror!ActorResult;

// ---- Host functions (docs/abi.md, "Host functions") -------------------------------------

/// The value under `key` in the actor's state now (seeing setState writes of this call), or
/// null when absent; allocated in `allocator`.
pub fn getState(allocator: Allocator, key: []const u8) !?Value {
    const k = toExtism(key);
    const handle = host.__get_state(k);
    extism.free(k);
    if (handle == 0) return null;
    const text = try fromExtism(allocator, handle);
    extism.free(handle);
    const value = try json.parseFromSliceLeaky(Value, allocator, text, .{});
    return if (value == .null) null else value;
}

/// Sets `key` to `value` in the actor's state at once.
pub fn setState(allocator: Allocator, key: []const u8, value: Value) !void {
    const text = try json.Stringify.valueAlloc(allocator, value, .{});
    const k = toExtism(key);
    const v = toExtism(text);
    host.__set_state(k, v);
    extism.free(k);
    extism.free(v);
}

/// Sends a JSON object {port: tagged message or plain JSON value} now, while the call runs.
pub fn sendJson(allocator: Allocator, outputs: Value) !void {
    const text = try json.Stringify.valueAlloc(allocator, outputs, .{});
    const handle = toExtism(text);
    host.__send_output(handle);
    extism.free(handle);
}

/// Sends `message` on `name` now: it arrives before the outputs the call returns.
pub fn sendOutput(allocator: Allocator, name: []const u8, message: Message) !void {
    var outputs: ObjectMap = .empty;
    try outputs.put(allocator, name, try message.toJson(allocator));
    try sendJson(allocator, .{ .object = outputs });
}

/// The host frees a log message's block itself.
pub fn logDebug(text: []const u8) void {
    extism.log_debug(toExtism(text));
}
pub fn logInfo(text: []const u8) void {
    extism.log_info(toExtism(text));
}
pub fn logWarn(text: []const u8) void {
    extism.log_warn(toExtism(text));
}
pub fn logError(text: []const u8) void {
    extism.log_error(toExtism(text));
}

// ---- The exports ------------------------------------------------------------------------

/// Exports `get_metadata` and `process` for `metadata` and `process`; call it in a
/// `comptime` block of the plugin's root file.
pub fn exportPlugin(comptime metadata: PluginMetadata, comptime process: ProcessFn) void {
    const Exports = struct {
        fn getMetadata() callconv(.c) i32 {
            return exportMetadata(metadata);
        }
        fn processCall() callconv(.c) i32 {
            return exportProcess(process);
        }
    };
    @export(&Exports.getMetadata, .{ .name = "get_metadata" });
    @export(&Exports.processCall, .{ .name = "process" });
}

fn portsJson(allocator: Allocator, ports: []const PortDefinition) !Value {
    var out = Array.init(allocator);
    for (ports) |p| {
        var map: ObjectMap = .empty;
        try map.put(allocator, "name", .{ .string = p.name });
        try map.put(allocator, "description", .{ .string = p.description });
        try map.put(allocator, "port_type", .{ .string = p.port_type });
        try map.put(allocator, "required", .{ .bool = p.required });
        try out.append(.{ .object = map });
    }
    return .{ .array = out };
}

fn metadataJson(allocator: Allocator, m: PluginMetadata) ![]u8 {
    var map: ObjectMap = .empty;
    try map.put(allocator, "component", .{ .string = m.component });
    try map.put(allocator, "description", .{ .string = m.description });
    try map.put(allocator, "inports", try portsJson(allocator, m.inports));
    try map.put(allocator, "outports", try portsJson(allocator, m.outports));
    const schema: Value = if (m.config_schema) |text| try json.parseFromSliceLeaky(Value, allocator, text, .{}) else .null;
    try map.put(allocator, "config_schema", schema);
    return json.Stringify.valueAlloc(allocator, Value{ .object = map }, .{});
}

/// The get_metadata export's body.
pub fn exportMetadata(metadata: PluginMetadata) i32 {
    var arena = std.heap.ArenaAllocator.init(std.heap.wasm_allocator);
    defer arena.deinit();
    const text = metadataJson(arena.allocator(), metadata) catch |e| {
        setError(@errorName(e));
        return 1;
    };
    setOutput(text);
    return 0;
}

/// The process export's body: reads the ActorContext, calls `process` with the call's arena,
/// writes its result or reports its error with Extism's error_set.
pub fn exportProcess(process: ProcessFn) i32 {
    var arena = std.heap.ArenaAllocator.init(std.heap.wasm_allocator);
    defer arena.deinit();
    const allocator = arena.allocator();
    var ctx = decodeContext(allocator) catch |e| {
        setError(std.fmt.allocPrint(allocator, "reflow: cannot decode the ActorContext: {s}", .{@errorName(e)}) catch "reflow: cannot decode the ActorContext");
        return 1;
    };
    const result = process(&ctx) catch |e| {
        setError(ctx.failure orelse @errorName(e));
        return 1;
    };
    const text = blk: {
        const root = result.toJson() catch |e| break :blk e;
        break :blk json.Stringify.valueAlloc(allocator, root, .{});
    } catch |e| {
        setError(std.fmt.allocPrint(allocator, "reflow: cannot encode the ActorResult: {s}", .{@errorName(e)}) catch "reflow: cannot encode the ActorResult");
        return 1;
    };
    setOutput(text);
    return 0;
}

fn decodeContext(allocator: Allocator) !ActorContext {
    const text = try readInput(allocator);
    const root = try json.parseFromSliceLeaky(Value, allocator, text, .{});
    return ActorContext.fromJson(allocator, root);
}
