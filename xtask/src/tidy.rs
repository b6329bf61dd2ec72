//! Tidy checks that keep the written map of the code true, run by `cargo test` (as
//! rust-analyzer's `xtask/src/tidy.rs` does): ARCHITECTURE.md has a `### ` section for every
//! crate under `crates/` and every SDK under `sdk/`, each crate's section names every
//! top-level module of its `src/` (`name.rs` or `name/`), and every file or folder a
//! section names in backticks exists. A new module without a line in the map, or a line about
//! a module that is gone, fails the suite.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        crate::project_root()
    }

    /// The `### ` sections of ARCHITECTURE.md: (heading, body).
    fn sections(text: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if let Some(heading) = line.strip_prefix("### ") {
                out.push((heading.to_string(), String::new()));
            } else if line.starts_with("## ") {
                out.push((String::new(), String::new()));
            } else if let Some((_, body)) = out.last_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        out.retain(|(h, _)| !h.is_empty());
        out
    }

    /// Every `code span` of `text`.
    fn code_spans(text: &str) -> Vec<String> {
        text.split('`').skip(1).step_by(2).map(str::to_string).collect()
    }

    /// The folders directly under `dir` (sorted), by name.
    fn subdirs(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A crate's top-level modules as ARCHITECTURE.md spells them: `name.rs` or `name/`
    /// (`lib.rs` and `main.rs` are the crate itself).
    fn top_level_modules(src: &Path) -> BTreeSet<String> {
        std::fs::read_dir(src)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", src.display()))
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if e.path().is_dir() {
                    Some(format!("{name}/"))
                } else if name.ends_with(".rs") && name != "lib.rs" && name != "main.rs" {
                    Some(name)
                } else {
                    None
                }
            })
            .collect()
    }

    fn architecture() -> String {
        std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md at the project root")
    }

    #[test]
    fn every_crate_and_sdk_has_a_section() {
        let text = architecture();
        let headings: Vec<String> = sections(&text).into_iter().map(|(h, _)| h).collect();
        let mut missing = Vec::new();
        for (parent, name) in subdirs(&root().join("crates"))
            .into_iter()
            .map(|n| ("crates", n))
            .chain(subdirs(&root().join("sdk")).into_iter().map(|n| ("sdk", n)))
        {
            let path = format!("`{parent}/{name}`");
            if !headings.iter().any(|h| h.contains(&path)) {
                missing.push(path);
            }
        }
        assert!(missing.is_empty(), "ARCHITECTURE.md has no `### ` section for {}", missing.join(", "));
    }

    #[test]
    fn every_top_level_module_is_named_in_its_crates_section() {
        let text = architecture();
        let mut problems = Vec::new();
        for (heading, body) in sections(&text) {
            let Some(krate) = code_spans(&heading).into_iter().find(|s| s.starts_with("crates/")) else { continue };
            let src = root().join(&krate).join("src");
            if !src.is_dir() {
                continue; // reported by the next test
            }
            let named: BTreeSet<String> = code_spans(&body).into_iter().collect();
            for module in top_level_modules(&src) {
                // `graph/` may also be named as `graph/mod.rs` or `graph/types.rs`.
                let mentioned = named.iter().any(|s| *s == module || s.starts_with(&module) || s.ends_with(&format!("/{module}")));
                if !mentioned {
                    problems.push(format!("{krate}: `{module}`"));
                }
            }
        }
        assert!(problems.is_empty(), "modules that ARCHITECTURE.md does not name in their crate's section:\n{}", problems.join("\n"));
    }

    #[test]
    fn every_path_the_map_names_exists() {
        let text = architecture();
        let mut gone = Vec::new();
        for (heading, body) in sections(&text) {
            // The section's own folder: `crates/x` or `sdk/x`, else the project root.
            let base = code_spans(&heading)
                .into_iter()
                .find(|s| root().join(s.trim_end_matches('/')).is_dir())
                .map(|s| root().join(s))
                .unwrap_or_else(root);
            for span in code_spans(&body) {
                let looks_like_path = !span.contains(' ')
                    && !span.contains("::")
                    && (span.ends_with(".rs") || span.ends_with(".wat") || span.ends_with('/'));
                // Build outputs (`target/...`) exist only after a build: not the map's business.
                if !looks_like_path || span.starts_with("target/") {
                    continue;
                }
                let candidates =
                    [root().join(&span), base.join(&span), base.join("src").join(&span)];
                let found = candidates.iter().any(|p| p.exists())
                    // A bare file name in a section: anywhere below the section's folder.
                    || (!span.trim_end_matches('/').contains('/') && exists_below(&base, span.trim_end_matches('/')));
                if !found {
                    gone.push(format!("{heading}: `{span}`"));
                }
            }
        }
        assert!(gone.is_empty(), "ARCHITECTURE.md names paths that do not exist:\n{}", gone.join("\n"));
    }

    fn exists_below(dir: &Path, name: &str) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        entries.filter_map(Result::ok).any(|e| {
            let path = e.path();
            let skip = path.file_name().is_some_and(|n| n == "target" || n == "node_modules" || n == ".git");
            !skip && (e.file_name() == name || (path.is_dir() && exists_below(&path, name)))
        })
    }

    /// The checks themselves can fail: a made-up module is caught.
    #[test]
    fn a_module_missing_from_the_map_is_caught() {
        let body = "`graph/` and `network.rs`";
        let named: BTreeSet<String> = code_spans(body).into_iter().collect();
        assert!(named.contains("graph/") && named.contains("network.rs"));
        assert!(!named.iter().any(|s| s == "scheduler.rs"));
        let parsed = sections("## Code map\n### `crates/a`\nx `one.rs`\n### `crates/b`\ny\n## Other\nz `two.rs`\n");
        assert_eq!(parsed.len(), 2);
        assert_eq!(code_spans(&parsed[0].1), vec!["one.rs"]);
        assert!(parsed[1].1.trim() == "y");
    }
}
