//! `reflow worker`, `reflow run --nats` and `reflow cluster status`: reflow_cluster's calls
//! on a runtime of their own, and what they print.

use crate::args::{ClusterCommand, WorkerArgs};
use anyhow::{Context, Result};
use reflow_cluster::worker::{self, Worker, WorkerOptions};
use std::io::Write;
use std::path::Path;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

pub fn worker(args: &WorkerArgs) -> Result<()> {
    let name = args.name.clone().unwrap_or_else(default_name);
    let options = WorkerOptions { ttl: args.lease_ttl, checkpoint_interval: args.checkpoint_interval, ..WorkerOptions::default() };
    runtime()?.block_on(async {
        let client = reflow_cluster::connect(&args.nats).await?;
        let worker = Worker::join(client, &name, options).await?;
        // Tests and scripts wait for this line before submitting.
        let _ = writeln!(std::io::stderr(), "reflow: worker {name:?} joined the cluster at {}", args.nats);
        worker
            .serve(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

pub fn run(graph: &Path, url: &str) -> Result<()> {
    runtime()?.block_on(async {
        let client = reflow_cluster::connect(url).await?;
        let submission = worker::submit(&client, graph).await?;
        let workers = submission.parts();
        let _ = writeln!(std::io::stderr(), "reflow: {} ran on {} worker(s): {}", graph.display(), workers.len(), workers.into_iter().collect::<Vec<_>>().join(", "));
        Ok(())
    })
}

pub fn cluster(command: &ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Status { nats } => runtime()?.block_on(async {
            let client = reflow_cluster::connect(nats).await?;
            print!("{}", reflow_cluster::status::status(&client).await?);
            Ok(())
        }),
    }
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}
