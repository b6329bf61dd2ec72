//! C plugin projects: `src/plugin.c` on the C SDK, which the project carries in `reflow/`
//! (one header and one source file; C has no package registry to take it from), linked with
//! clang for wasm32-wasi as a reactor module. C++ can include the same header.

use super::{graph, project_wasm, readme, Language, NewOptions};
use crate::toolchain::clang::Clang;
use crate::{BuildError, BuildOptions};
use std::path::{Path, PathBuf};

pub const LANGUAGE: Language = Language { name: "c", marker: "src/plugin.c", source: "src/plugin.c", files, build };

/// The SDK, as this `reflow` was built with it.
const SDK_HEADER: &str = include_str!("../../../../sdk/c/include/reflow.h");
const SDK_SOURCE: &str = include_str!("../../../../sdk/c/src/reflow.c");

fn files(options: &NewOptions) -> Vec<(PathBuf, String)> {
    let plugin_c = format!(
        r#"/* {component}: doubles each Integer on `input` and sends it on `output`. */
#include "reflow.h"

static const reflow_port inports[] = {{REFLOW_REQUIRED_PORT("input", "A number to double", "Integer")}};
static const reflow_port outports[] = {{REFLOW_PORT("output", "The number, doubled", "Integer")}};

static const reflow_metadata metadata = {{
    "{component}", "Doubles each Integer", REFLOW_PORTS(inports), REFLOW_PORTS(outports), NULL,
}};

static int process(const reflow_context *ctx, reflow_result *result) {{
    const reflow_message *input = reflow_input(ctx, "input");
    int64_t n;
    if (!input) return 0;
    if (reflow_message_type_of(input) != REFLOW_INTEGER || !reflow_message_as_integer(input, &n))
        return reflow_fail(result, "input must be an Integer");
    if (__builtin_mul_overflow(n, 2, &n)) return reflow_fail(result, "the input doubled does not fit in an Integer");
    reflow_output(result, "output", reflow_message_integer(n));
    /* No state set: the actor's state stays as it is. */
    return 0;
}}

REFLOW_PLUGIN(metadata, process)
"#,
        component = options.component(),
    );
    vec![
        ("src/plugin.c".into(), plugin_c),
        ("reflow/reflow.h".into(), SDK_HEADER.into()),
        ("reflow/reflow.c".into(), SDK_SOURCE.into()),
        (".gitignore".into(), "*.wasm\n/.reflow\n".into()),
        ("README.md".into(), readme(options, "C", "src/plugin.c")),
        ("graph.fbp".into(), graph(options)),
    ]
}

fn build(dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let clang = Clang::find()?;
    let out = project_wasm(dir);
    // Every C file in src/ (plugin.c and any the author adds) and the SDK's.
    let mut sources = super::files_in(&dir.join("src"), "c")?;
    sources.push(dir.join("reflow/reflow.c"));
    let mut cmd = clang.command(false, options.release);
    cmd.arg("-I").arg(dir.join("reflow")).args(Clang::PLUGIN_LINK_ARGS).args(&sources).arg("-o").arg(&out);
    crate::run_with(&mut cmd, "clang", options)?;
    Ok(out)
}
