//! `reflow serve`: the FBP network-protocol server. Prints one line on stdout once it
//! listens (tools that start it, such as `fbp-test`, wait for that line), then serves until
//! killed.

use crate::args::ServeArgs;
use anyhow::Result;
use reflow_protocol::{serve as serve_protocol, RuntimeConfig, ServeConfig};
use std::io::Write;

pub fn serve(args: &ServeArgs) -> Result<()> {
    let config = ServeConfig {
        host: args.host.clone(),
        port: args.port,
        runtime: RuntimeConfig {
            secret: args.secret.clone(),
            components: args.components.clone(),
            limits: args.limits.to_limits(),
        },
    };
    serve_protocol(config, |addr| {
        let mut out = std::io::stdout().lock();
        // Whoever reads stdout may stop reading later; a lost line must not stop the server.
        let _ = writeln!(out, "reflow serve: listening on ws://{addr} (subprotocol noflo)");
        let _ = out.flush();
    })?;
    Ok(())
}
