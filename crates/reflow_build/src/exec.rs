//! Running a compiler the way [`BuildOptions`] asks: its output to the terminal (`reflow
//! build`) or captured for the caller to show (a build asked for over the FBP protocol), and
//! within a time limit.
//!
//! With a time limit the compiler runs in a process group of its own, so that a build past
//! its limit is ended with everything it started (cargo runs rustc, build scripts and the
//! linker as children; killing cargo alone would leave them running). Without one it stays in
//! ours, so that the terminal's Ctrl-C reaches it as before.

use crate::{BuildError, BuildOptions};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use wait_timeout::ChildExt;

/// What a finished command wrote on stdout (when asked to keep it).
pub(crate) struct Finished {
    pub stdout: Vec<u8>,
}

/// Runs `cmd`. Its stdout is returned when `keep_stdout` (cargo's JSON messages), otherwise it
/// goes where stderr goes: `reflow build`'s own stdout is the module's path alone. A failure
/// names the command and, when captured, carries what the compiler said.
pub(crate) fn run(cmd: &mut Command, tool: &str, options: &BuildOptions, keep_stdout: bool) -> Result<Finished, BuildError> {
    cmd.stdin(Stdio::null());
    if options.timeout.is_some() {
        // Only then: in a group of its own the compiler no longer gets the terminal's Ctrl-C.
        cmd.process_group(0);
    }
    if options.capture || keep_stdout {
        cmd.stdout(Stdio::piped());
    } else {
        cmd.stdout(std::io::stderr());
    }
    if options.capture {
        cmd.stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|e| BuildError::MissingTool {
        tool: tool.to_string(),
        why: format!("cannot start it ({e})"),
        install: String::new(),
    })?;
    // Read on threads of their own: a compiler writing more than a pipe holds would otherwise
    // block while we wait for it to end.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = wait(&mut child, options, cmd)?;
    let stdout = stdout.map(collect).unwrap_or_default();
    let stderr = stderr.map(collect).unwrap_or_default();
    if status.success() {
        return Ok(Finished { stdout: if keep_stdout { stdout } else { Vec::new() } });
    }
    let mut output = String::from_utf8_lossy(&stderr).into_owned();
    if options.capture && !keep_stdout {
        // Some compilers (Go's vet, AssemblyScript's) report on stdout.
        output.insert_str(0, &String::from_utf8_lossy(&stdout));
    }
    Err(BuildError::Failed { command: format!("{cmd:?}"), status: status.to_string(), output })
}

fn wait(child: &mut Child, options: &BuildOptions, cmd: &Command) -> Result<ExitStatus, BuildError> {
    let waited = match options.timeout {
        Some(limit) => child.wait_timeout(limit),
        None => child.wait().map(Some),
    };
    match waited {
        Ok(Some(status)) => Ok(status),
        Ok(None) => {
            // Past the limit: end the whole group, then reap the child so no zombie is left.
            kill_group(child);
            let _ = child.kill();
            let _ = child.wait();
            Err(BuildError::TimedOut { command: format!("{cmd:?}"), limit: options.timeout.unwrap_or_default() })
        }
        Err(e) => Err(BuildError::Failed { command: format!("{cmd:?}"), status: format!("cannot wait for it: {e}"), output: String::new() }),
    }
}

/// SIGKILL to the process group `child` leads (it was started as its own group's leader).
fn kill_group(child: &Child) {
    let Ok(group) = libc::pid_t::try_from(child.id()) else { return };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid
    // names the process group, which holds only the compiler and what it started.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn collect(reader: JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn limited(timeout: Duration) -> BuildOptions {
        BuildOptions { capture: true, timeout: Some(timeout), ..BuildOptions::default() }
    }

    #[test]
    fn a_failing_compiler_s_output_is_captured() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'src/lib.rs:3:5: error' >&2; exit 3"]);
        match run(&mut cmd, "sh", &limited(Duration::from_secs(60)), false) {
            Err(BuildError::Failed { output, status, .. }) => {
                assert_eq!(output, "src/lib.rs:3:5: error\n");
                assert!(status.contains('3'), "{status}");
            }
            other => panic!("expected a failure, got {:?}", other.map(|f| f.stdout)),
        }
    }

    #[test]
    fn a_build_past_its_limit_is_killed_with_what_it_started() {
        let dir = std::env::temp_dir().join(format!("reflow-build-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("pid");
        // A "compiler" that starts a child of its own, then waits for it (as cargo waits for rustc).
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("sleep 600 & echo $! > {}; wait", pid_file.display()));
        let error = run(&mut cmd, "sh", &limited(Duration::from_millis(300)), false).err();
        assert!(matches!(error, Some(BuildError::TimedOut { .. })), "{error:?}");
        let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        // The child is gone too (a zombie awaiting its new parent counts as gone); a hang
        // guard, not a timing claim.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()).unwrap_or("gone");
            if state == "gone" || state == "Z" || state == "X" {
                break;
            }
            assert!(Instant::now() < deadline, "the compiler's child {pid} still runs ({state})");
            std::thread::yield_now();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
