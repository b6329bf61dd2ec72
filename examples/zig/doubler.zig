//! The spec's doubler in Zig: doubles each Integer on `input` (examples/rust/doubler).
const reflow = @import("reflow");

const metadata = reflow.PluginMetadata{
    .component = "MyActor",
    .description = "Example WASM actor",
    .inports = &.{reflow.requiredPort("input", "Input port", "Integer")},
    .outports = &.{reflow.port("output", "Output port", "Integer")},
};

fn double(ctx: *reflow.ActorContext) !reflow.ActorResult {
    var result = reflow.ActorResult.init(ctx.allocator);
    if (ctx.input("input")) |input| {
        if (input.type == .Integer) try result.output("output", reflow.Message.integer(input.asInteger().? *% 2));
    }
    return result;
}

comptime {
    reflow.exportPlugin(metadata, double);
}
