//! The Zig SDK's conformance plugin: the protocol of tests/conformance/README.md, written with
//! the SDK's own API. The harness (crates/reflow_script/tests/conformance.rs) runs every case
//! of tests/conformance/cases against it and the other SDKs' plugins.
const std = @import("std");
const reflow = @import("reflow");
const Message = reflow.Message;
const Value = reflow.Value;

const metadata = reflow.PluginMetadata{
    .component = "Conformance",
    .description = "The ABI conformance plugin (tests/conformance)",
    .inports = &.{ reflow.requiredPort("cmd", "What to do", "Object"), reflow.port("in", "A message to echo", "Any") },
    .outports = &.{
        reflow.port("out", "The answer", "Any"),
        reflow.port("extra", "A second answer", "Any"),
        reflow.port("sent", "Messages sent during the call", "Any"),
        reflow.port("count", "The counter", "Integer"),
    },
    .config_schema =
    \\{"type":"object","properties":{"initial_value":{"type":"integer","default":0}}}
    ,
};

fn text(v: ?Value) []const u8 {
    const value = v orelse return "";
    return if (value == .string) value.string else "";
}

fn orNull(v: ?Value) Value {
    return v orelse .null;
}

/// A message of `type` from `data`, through the SDK's constructor for that type.
fn make(ctx: *reflow.ActorContext, name: []const u8, data: Value) !?Message {
    const ty = std.meta.stringToEnum(reflow.MessageType, name) orelse return null;
    return switch (ty) {
        .Flow => Message.flow(),
        .Event => Message.event(data),
        .Boolean => if (data == .bool) Message.boolean(data.bool) else null,
        .Integer => if (reflow.valueAsInteger(data)) |i| Message.integer(i) else null,
        .Float => if (reflow.valueAsNumber(data)) |f| Message.float(f) else null,
        .String => if (data == .string) Message.string(data.string) else null,
        .Object => Message.object(data),
        .Array => if (data == .array) Message.array(data.array) else null,
        .Stream => blk: {
            const bytes = try (Message{ .type = .Stream, .data = data }).asBytes(ctx.allocator) orelse break :blk null;
            break :blk try Message.stream(ctx.allocator, bytes);
        },
        .Optional => Message.optional(if (data == .null) null else data),
        .Any => Message.any(data),
        .Error => if (data == .string) Message.err(data.string) else null,
    };
}

/// The length of a string value, or -1.
fn length(v: ?Value) i64 {
    const value = v orelse return -1;
    return if (value == .string) @intCast(value.string.len) else -1;
}

fn fromNullable(comptime T: type, v: ?T, comptime wrap: fn (T) Value) Value {
    return if (v) |x| wrap(x) else .null;
}

fn int(i: i64) Value {
    return .{ .integer = i };
}
fn float(f: f64) Value {
    return .{ .float = f };
}
fn str(s: []const u8) Value {
    return .{ .string = s };
}
fn boolean(b: bool) Value {
    return .{ .bool = b };
}

fn conform(ctx: *reflow.ActorContext) !reflow.ActorResult {
    const a = ctx.allocator;
    var result = reflow.ActorResult.init(a);
    const command = ctx.input("cmd") orelse return ctx.fail("conformance: no Object command on `cmd`", .{});
    if (command.type != .Object or command.data != .object) return ctx.fail("conformance: no Object command on `cmd`", .{});
    const cmd = command.data.object;
    const op = text(cmd.get("op"));

    if (std.mem.eql(u8, op, "echo")) {
        const in = ctx.input("in") orelse return ctx.fail("conformance: echo needs a message on `in`", .{});
        try result.output("out", in);
    } else if (std.mem.eql(u8, op, "make")) {
        const m = try make(ctx, text(cmd.get("type")), orNull(cmd.get("data"))) orelse
            return ctx.fail("conformance: cannot make a {s}", .{text(cmd.get("type"))});
        try result.output("out", m);
    } else if (std.mem.eql(u8, op, "send_plain")) {
        var sent: reflow.ObjectMap = .empty;
        try sent.put(a, text(cmd.get("port")), orNull(cmd.get("value")));
        try reflow.sendJson(a, .{ .object = sent });
    } else if (std.mem.eql(u8, op, "send_then_return")) {
        const sends = orNull(cmd.get("send"));
        if (sends == .array) for (sends.array.items) |pair| {
            if (pair != .array or pair.array.items.len != 2) return ctx.fail("conformance: bad send", .{});
            const m = Message.fromJson(a, pair.array.items[1]) catch return ctx.fail("conformance: bad message to send", .{});
            try reflow.sendOutput(a, text(pair.array.items[0]), m);
        };
        const returned = orNull(cmd.get("return"));
        if (returned == .object) {
            var it = returned.object.iterator();
            while (it.next()) |entry| {
                const m = Message.fromJson(a, entry.value_ptr.*) catch return ctx.fail("conformance: bad message to return", .{});
                try result.output(entry.key_ptr.*, m);
            }
        }
    } else if (std.mem.eql(u8, op, "get_state")) {
        try result.output("out", Message.any(orNull(try reflow.getState(a, text(cmd.get("key"))))));
    } else if (std.mem.eql(u8, op, "set_get")) {
        const key = text(cmd.get("key"));
        try reflow.setState(a, key, orNull(cmd.get("value")));
        try result.output("out", Message.any(orNull(try reflow.getState(a, key))));
    } else if (std.mem.eql(u8, op, "count")) {
        const before: i64 = if (ctx.state.get("count")) |v| reflow.valueAsInteger(v) orelse 0 else ctx.config.getInteger("initial_value") orelse 0;
        var state: reflow.ObjectMap = .empty;
        try state.put(a, "count", int(before + 1));
        result.state = .{ .object = state };
        try result.output("count", Message.integer(before + 1));
    } else if (std.mem.eql(u8, op, "keep_state")) {
        try result.output("out", Message.flow());
    } else if (std.mem.eql(u8, op, "fail")) {
        const dirty = orNull(cmd.get("dirty"));
        if (dirty == .bool and dirty.bool) {
            try reflow.setState(a, "dirty", boolean(true));
            try reflow.sendOutput(a, "sent", Message.string("before failing"));
        }
        return ctx.fail("{s}", .{text(cmd.get("message"))});
    } else if (std.mem.eql(u8, op, "config")) {
        const c = ctx.config;
        var answer: reflow.ObjectMap = .empty;
        try answer.put(a, "integer", fromNullable(i64, c.getInteger("i"), int));
        try answer.put(a, "number", fromNullable(f64, c.getNumber("n"), float));
        try answer.put(a, "string", fromNullable([]const u8, c.getString("s"), str));
        try answer.put(a, "bool", fromNullable(bool, c.getBool("b"), boolean));
        try answer.put(a, "missing", fromNullable([]const u8, c.getString("absent"), str));
        try answer.put(a, "node_id", str(c.node_id));
        try answer.put(a, "component", str(c.component));
        try result.output("out", Message.object(.{ .object = answer }));
    } else if (std.mem.eql(u8, op, "fill")) {
        const bytes: usize = @intCast(reflow.valueAsInteger(orNull(cmd.get("bytes"))) orelse 0);
        const blob = try a.alloc(u8, bytes);
        @memset(blob, 'x');
        var state: reflow.ObjectMap = .empty;
        try state.put(a, text(cmd.get("key")), str(blob));
        result.state = .{ .object = state };
        try result.output("out", Message.integer(@intCast(bytes)));
    } else if (std.mem.eql(u8, op, "measure")) {
        const key = text(cmd.get("key"));
        try result.output("out", Message.integer(length(ctx.state.get(key))));
        try result.output("extra", Message.integer(length(try reflow.getState(a, key))));
    } else if (std.mem.eql(u8, op, "flood")) {
        const count = reflow.valueAsInteger(orNull(cmd.get("count"))) orelse 0;
        var i: i64 = 0;
        while (i < count) : (i += 1) try reflow.sendOutput(a, "sent", Message.integer(i));
        try result.output("out", Message.integer(count));
    } else {
        return ctx.fail("conformance: unknown op \"{s}\"", .{op});
    }
    return result;
}

comptime {
    reflow.exportPlugin(metadata, conform);
}
