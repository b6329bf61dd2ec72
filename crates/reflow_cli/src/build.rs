//! `reflow new` and `reflow build`: plugin projects outside this repository.

use crate::args::{BuildArgs, NewArgs};
use anyhow::Result;
use reflow_build::{BuildOptions, NewOptions};
use std::path::Path;

pub fn new(args: &NewArgs) -> Result<()> {
    let language = reflow_build::find_language(&args.lang)?;
    let sdk_path = match &args.sdk_path {
        // Absolute, so the project keeps working wherever it is built from.
        Some(dir) => Some(std::path::absolute(dir)?),
        None => None,
    };
    let options = NewOptions { name: args.name.clone(), sdk_path };
    let dir = Path::new(&args.name);
    reflow_build::create(dir, language, &options)?;
    println!("created {} ({} plugin); next: cd {} && reflow build", dir.display(), language.name, dir.display());
    Ok(())
}

pub fn build(args: &BuildArgs) -> Result<()> {
    let options = BuildOptions { release: !args.debug, wasm_opt: !args.no_wasm_opt, ..BuildOptions::default() };
    let wasm = reflow_build::build(&args.dir, &options)?;
    println!("{}", wasm.display());
    Ok(())
}
