//! A small harness for running the real `actionsync` binary, in the style of
//! ripgrep's `tests/util.rs`: build a command, run it, and check what it did. Every
//! failed expectation panics with the whole story: the command line, the folder it
//! ran in, the exit code, and everything it printed.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The crate root: fixture paths such as `tests/fixtures/x.yaml` are relative to it.
pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture's path relative to the crate root, as a string for the command line.
pub fn fixture(name: &str) -> String {
    format!("tests/fixtures/{name}")
}

/// A new temporary folder, removed when the value is dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("actionsync-cli-")
        .tempdir()
        .expect("cannot create a temporary folder")
}

/// `actionsync ARGS...`, run in the crate root.
pub fn actionsync<I, S>(args: I) -> TestCommand
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = TestCommand::new();
    cmd.args(args);
    cmd
}

/// How long a run may take before the harness gives up on it. This only keeps a
/// hung binary from hanging the test suite; no test asserts on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A command to run: the binary, its arguments, its folder, its standard input.
#[derive(Debug, Clone)]
pub struct TestCommand {
    args: Vec<OsString>,
    dir: PathBuf,
    stdin: Option<Vec<u8>>,
    env: Vec<(OsString, OsString)>,
}

impl Default for TestCommand {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCommand {
    /// The binary with no arguments, in the crate root, with empty standard input.
    pub fn new() -> Self {
        TestCommand {
            args: Vec::new(),
            dir: crate_root(),
            stdin: None,
            env: Vec::new(),
        }
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Runs in `dir` instead of the crate root.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.dir = dir.as_ref().to_path_buf();
        self
    }

    /// Feeds these bytes on standard input (by default standard input is empty).
    pub fn stdin(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Sets an environment variable for this run.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// The command line, quoted enough to paste into a shell.
    pub fn command_line(&self) -> String {
        let mut line = String::from("actionsync");
        for arg in &self.args {
            let arg = arg.to_string_lossy();
            line.push(' ');
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@+".contains(c))
            {
                line.push_str(&arg);
            } else {
                line.push('\'');
                line.push_str(&arg.replace('\'', r"'\''"));
                line.push('\'');
            }
        }
        if self.stdin.is_some() {
            line.push_str(" < (stdin bytes)");
        }
        line
    }

    /// Runs the binary to the end and returns what it did. Panics only if it could
    /// not be started or hangs; check the outcome with the [`Run`] methods.
    pub fn run(&self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
        cmd.args(&self.args)
            .current_dir(&self.dir)
            // The environment must not change the defaults under test.
            .env_remove("ACTIONSYNC_BASE_URL")
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start `{}` in {}: {e}",
                self.command_line(),
                self.dir.display()
            )
        });

        // Write stdin and read both outputs on their own threads, so that a large
        // output cannot deadlock against a full pipe.
        let writer = child.stdin.take().map(|mut pipe| {
            let bytes = self.stdin.clone().unwrap_or_default();
            thread::spawn(move || {
                // The binary may legitimately stop reading early; ignore EPIPE.
                let _ = pipe.write_all(&bytes);
            })
        });
        let mut out_pipe = child.stdout.take().expect("stdout is piped");
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let out_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out_pipe.read_to_end(&mut buf);
            buf
        });
        let err_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err_pipe.read_to_end(&mut buf);
            buf
        });

        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > HANG_GUARD => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "`{}` in {} did not finish within {:?}; killed it",
                        self.command_line(),
                        self.dir.display(),
                        HANG_GUARD
                    );
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("cannot wait for `{}`: {e}", self.command_line()),
            }
        };
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        Run {
            command: self.command_line(),
            dir: self.dir.clone(),
            status,
            stdout: out_reader.join().expect("stdout reader panicked"),
            stderr: err_reader.join().expect("stderr reader panicked"),
        }
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    command: String,
    dir: PathBuf,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Run {
    /// Panics with `message` and everything about the run.
    #[track_caller]
    pub fn fail(&self, message: impl std::fmt::Display) -> ! {
        let mut report = String::new();
        let _ = write!(
            report,
            "\n\n==================== FAILED ====================\n\
             {message}\n\
             ----- command -----\n{}\n\
             ----- folder -----\n{}\n\
             ----- exit -----\n{}\n\
             ----- stdout ({} bytes) -----\n{}\n\
             ----- stderr ({} bytes) -----\n{}\n\
             ================================================\n",
            self.command,
            self.dir.display(),
            self.exit_description(),
            self.stdout.len(),
            String::from_utf8_lossy(&self.stdout),
            self.stderr.len(),
            String::from_utf8_lossy(&self.stderr),
        );
        panic!("{report}");
    }

    fn exit_description(&self) -> String {
        match self.status.code() {
            Some(code) => format!("code {code}"),
            None => format!("killed by a signal ({})", self.status),
        }
    }

    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Standard output as UTF-8 (fails the test when it is not UTF-8).
    #[track_caller]
    pub fn stdout(&self) -> &str {
        match std::str::from_utf8(&self.stdout) {
            Ok(s) => s,
            Err(e) => self.fail(format!("stdout is not UTF-8: {e}")),
        }
    }

    /// Standard error as UTF-8 (fails the test when it is not UTF-8).
    #[track_caller]
    pub fn stderr(&self) -> &str {
        match std::str::from_utf8(&self.stderr) {
            Ok(s) => s,
            Err(e) => self.fail(format!("stderr is not UTF-8: {e}")),
        }
    }

    /// Expects this exit code.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        if self.status.code() != Some(code) {
            self.fail(format!(
                "expected exit code {code}, got {}",
                self.exit_description()
            ));
        }
        self
    }

    /// Expects exit code 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_exit(0)
    }

    /// Expects nothing on standard output.
    #[track_caller]
    pub fn assert_stdout_empty(&self) -> &Self {
        if !self.stdout.is_empty() {
            self.fail("expected an empty stdout");
        }
        self
    }

    /// Expects `needle` somewhere on standard output.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout().contains(needle) {
            self.fail(format!("expected stdout to contain {needle:?}"));
        }
        self
    }

    /// Expects `needle` somewhere on standard error.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr().contains(needle) {
            self.fail(format!("expected stderr to contain {needle:?}"));
        }
        self
    }

    /// Expects standard error to contain `needle`, ignoring ASCII case.
    #[track_caller]
    pub fn assert_stderr_contains_nocase(&self, needle: &str) -> &Self {
        if !self
            .stderr()
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase())
        {
            self.fail(format!("expected stderr to contain {needle:?} (any case)"));
        }
        self
    }

    /// Standard output parsed as one JSON document.
    #[track_caller]
    pub fn stdout_json(&self) -> Value {
        match serde_json::from_slice(&self.stdout) {
            Ok(v) => v,
            Err(e) => self.fail(format!("stdout is not valid JSON: {e}")),
        }
    }

    /// Standard output parsed as one YAML document, into the JSON data model.
    #[track_caller]
    pub fn stdout_yaml(&self) -> Value {
        match serde_yaml::from_slice(&self.stdout) {
            Ok(v) => v,
            Err(e) => self.fail(format!("stdout is not valid YAML: {e}")),
        }
    }

    /// Fails the test with everything about the run unless `condition` holds.
    #[track_caller]
    pub fn check(&self, condition: bool, message: impl std::fmt::Display) -> &Self {
        if !condition {
            self.fail(message);
        }
        self
    }
}

/// Removes from `cmd`'s environment every `ACTIONSYNC_*` variable and proxy
/// setting of the shell that runs the tests, so a developer's own settings never
/// reach a process under test. Variables set on `cmd` afterwards stay.
pub fn clear_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let text = key.to_string_lossy().to_ascii_uppercase();
        if text.starts_with("ACTIONSYNC_") || text.ends_with("_PROXY") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// The lines a child writes to `pipe`, collected in the background as they come.
pub fn collect_lines(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
    });
    lines
}
