//! The spec's stateful counter in Zig (examples/rust/counter): Flow messages on increment
//! and decrement count up and down, reset returns to the config's initial_value.
const reflow = @import("reflow");

const metadata = reflow.PluginMetadata{
    .component = "Counter",
    .description = "Stateful counter actor",
    .inports = &.{
        reflow.port("increment", "Increment counter", "Flow"),
        reflow.port("decrement", "Decrement counter", "Flow"),
        reflow.port("reset", "Reset counter", "Flow"),
    },
    .outports = &.{reflow.port("count", "Current count", "Integer")},
    .config_schema =
    \\{"type":"object","properties":{"initial_value":{"type":"integer","default":0}}}
    ,
};

fn count(ctx: *reflow.ActorContext) !reflow.ActorResult {
    const initial = ctx.config.getInteger("initial_value") orelse 0;
    var n: i64 = if (ctx.state.get("count")) |v| reflow.valueAsInteger(v) orelse initial else initial;
    if (ctx.input("increment") != null) {
        n += 1;
    } else if (ctx.input("decrement") != null) {
        n -= 1;
    } else if (ctx.input("reset") != null) {
        n = initial;
    }
    var result = reflow.ActorResult.init(ctx.allocator);
    try result.output("count", reflow.Message.integer(n));
    var state: reflow.ObjectMap = .empty;
    try state.put(ctx.allocator, "count", .{ .integer = n });
    result.state = .{ .object = state };
    return result;
}

comptime {
    reflow.exportPlugin(metadata, count);
}
