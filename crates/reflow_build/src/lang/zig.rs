//! Zig plugin projects: `src/main.zig` importing the Zig SDK as the module `reflow` (a copy
//! the project carries in `reflow/reflow.zig`), built with the pinned Zig for
//! `wasm32-freestanding`.

use super::{graph, project_wasm, readme, Language, NewOptions};
use crate::toolchain::zig::{tools_dir, Zig, ZIG_VERSION};
use crate::{BuildError, BuildOptions};
use std::path::{Path, PathBuf};

pub const LANGUAGE: Language = Language { name: "zig", marker: "src/main.zig", source: "src/main.zig", files, build };

/// The SDK, as this `reflow` was built with it.
const SDK: &str = include_str!("../../../../sdk/zig/src/reflow.zig");

fn files(options: &NewOptions) -> Vec<(PathBuf, String)> {
    let main_zig = format!(
        r#"//! {component}: doubles each Integer on `input` and sends it on `output`.
//! Built by `reflow build` with Zig {ZIG_VERSION} for wasm32-freestanding.
const reflow = @import("reflow");

const metadata = reflow.PluginMetadata{{
    .component = "{component}",
    .description = "Doubles each Integer",
    .inports = &.{{reflow.requiredPort("input", "A number to double", "Integer")}},
    .outports = &.{{reflow.port("output", "The number, doubled", "Integer")}},
}};

fn double(ctx: *reflow.ActorContext) !reflow.ActorResult {{
    var result = reflow.ActorResult.init(ctx.allocator);
    const input = ctx.input("input") orelse return result;
    const n = input.asInteger() orelse return ctx.fail("input must be an Integer", .{{}});
    const doubled = @mulWithOverflow(n, 2);
    if (doubled[1] != 0) return ctx.fail("{{d}} doubled does not fit in an Integer", .{{n}});
    try result.output("output", reflow.Message.integer(doubled[0]));
    // No state set: the actor's state stays as it is.
    return result;
}}

comptime {{
    reflow.exportPlugin(metadata, double);
}}
"#,
        component = options.component(),
    );
    vec![
        ("src/main.zig".into(), main_zig),
        ("reflow/reflow.zig".into(), SDK.into()),
        (".gitignore".into(), "*.wasm\n/.reflow\n/.zig-cache\n/zig-out\n".into()),
        ("README.md".into(), readme(options, "Zig", "src/main.zig")),
        ("graph.fbp".into(), graph(options)),
    ]
}

fn build(dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let zig = Zig::find_or_install(&tools_dir().join("zig"))?;
    let out = project_wasm(dir);
    let mut cmd = zig.build_plugin(&dir.join("src/main.zig"), &dir.join("reflow/reflow.zig"), &out, options.release);
    cmd.current_dir(dir);
    crate::run_with(&mut cmd, "zig", options)?;
    Ok(out)
}
