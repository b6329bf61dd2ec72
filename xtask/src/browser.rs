//! What the inspector's browser test needs (crates/reflow_cli/tests/inspect.rs): Debian's
//! Chromium, and `puppeteer-core` pinned in `tests/inspector/` (it drives an installed browser
//! and downloads none).

use anyhow::Result;
use std::path::Path;

/// Where the test finds the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Chromium (Debian) and the pinned puppeteer-core, each unless already there.
pub fn install(root: &Path) -> Result<()> {
    if !Path::new(CHROMIUM).exists() {
        crate::apt::install(&["chromium"], "the inspector's browser test")?;
    }
    Ok(reflow_build::toolchain::npm::ci_unless_installed(&root.join("tests/inspector"), "puppeteer-core")?)
}
