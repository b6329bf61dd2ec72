//! Installing Debian packages a build needs, once: only as root on a machine with apt-get
//! (our CI machines); elsewhere the error says what to install.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::Command;

/// Installs `packages` with apt-get, or fails naming them and `what` needs them.
pub fn install(packages: &[&str], what: &str) -> Result<()> {
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
    if !is_root || !Path::new("/usr/bin/apt-get").exists() {
        bail!("{what} needs the Debian packages {} (as root: apt-get install {})", packages.join(" "), packages.join(" "));
    }
    eprintln!("xtask: installing {what} from Debian: {}", packages.join(" "));
    crate::run(Command::new("apt-get").arg("update").arg("-qq"))?;
    crate::run(
        Command::new("apt-get").args(["install", "-y", "-qq"]).args(packages).env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
