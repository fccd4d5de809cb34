//! The README's walk-through ("A first run"), run as written from a copy of a fresh
//! clone: every command in its `sh` blocks, in order, on the real binary. A command
//! that fails or warns, or a line this test cannot run, fails the test, so the
//! README cannot drift from what the binary does.
//!
//! Two liberties, both invisible to the commands: `serve` listens on a free port
//! (`--listen 127.0.0.1:0`, then `127.0.0.1:8080` in later lines means that port) and
//! logs JSON, so the test can tell when it is ready; `curl` is done with reqwest.

mod util;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long `serve` may take to get ready; only a guard against a hang.
const WAIT: Duration = Duration::from_secs(60);

/// The lines of the `sh` blocks in the README section titled `heading`.
fn walk_through(readme: &str, heading: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no section `## {heading}`"));
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut lines: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in section[..end].lines() {
        if line.starts_with("```") {
            in_block = !in_block && line == "```sh";
            continue;
        }
        if !in_block || line.trim().is_empty() {
            continue;
        }
        // A line ending in `\` goes on on the next.
        match lines.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => lines.push(line.trim().to_string()),
        }
    }
    lines
}

/// Splits a command line as `sh` would for the forms the README uses: words,
/// '…' and "…" quoting, `$NAME` from `vars` outside single quotes, `# comment`.
fn words(line: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                words.extend(word.take());
            }
            (None, '#') if word.is_none() => break,
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (None | Some('"'), '$') => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let value = vars
                    .get(&name)
                    .unwrap_or_else(|| panic!("`{line}`: ${name} is not set"));
                word.get_or_insert_with(String::new).push_str(value);
            }
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "`{line}`: an unclosed quote");
    words.extend(word);
    words
}

/// A running `actionsync serve`, killed when dropped.
struct Serve {
    child: Child,
    address: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `actionsync ARGS --listen 127.0.0.1:0 --log-format json` in `dir`; returns once
/// every source was reconciled once.
fn serve(dir: &Path, args: &[String], env: &HashMap<String, String>) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
    cmd.args(args)
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .current_dir(dir)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // The walk-through's environment is the README's, not the test runner's.
    for (key, _) in std::env::vars_os() {
        if key != "ACTIONSYNC_TOKEN"
            && key
                .to_string_lossy()
                .to_ascii_uppercase()
                .starts_with("ACTIONSYNC_")
        {
            cmd.env_remove(&key);
        }
    }
    let mut child = cmd.spawn().expect("start actionsync serve");
    let pipe = child.stderr.take().expect("stderr is piped");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut serve = Serve {
        child,
        address: String::new(),
    };
    let mut logs = Vec::new();
    let started = Instant::now();
    loop {
        let Ok(line) = lines.recv_timeout(Duration::from_millis(100)) else {
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!(
                    "`actionsync {}` exited ({status}):\n{}",
                    args.join(" "),
                    logs.join("\n")
                );
            }
            assert!(
                started.elapsed() < WAIT,
                "`actionsync {}` is not ready:\n{}",
                args.join(" "),
                logs.join("\n")
            );
            continue;
        };
        let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if event["message"] == "listening" {
            serve.address = event["address"].as_str().unwrap_or_default().to_string();
        }
        let ready = event["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("ready"));
        assert!(
            !line.contains("WARN") && !line.contains("ERROR"),
            "`actionsync {}` logged a problem: {line}",
            args.join(" ")
        );
        logs.push(line);
        if ready && !serve.address.is_empty() {
            return serve;
        }
    }
}

/// The README's first run: serve one spec, create a token, push the other spec, set
/// hand-owned fields, read the tool list over HTTP and offline.
#[test]
fn the_first_run_in_the_readme_runs_as_written() {
    let readme = std::fs::read_to_string(util::crate_root().join("README.md")).expect("README");
    let lines = walk_through(&readme, "A first run");
    assert!(
        lines.len() >= 5,
        "the walk-through has its commands: {lines:?}"
    );

    // A fresh clone, as far as the commands can tell: the bundled specs, no catalogue.
    let clone = util::tempdir();
    std::fs::create_dir(clone.path().join("specs")).expect("mkdir specs");
    for entry in std::fs::read_dir(util::crate_root().join("specs")).expect("specs/") {
        let entry = entry.expect("an entry of specs/");
        std::fs::copy(
            entry.path(),
            clone.path().join("specs").join(entry.file_name()),
        )
        .expect("copy a spec");
    }

    let mut vars: HashMap<String, String> = HashMap::new();
    let mut server: Option<Serve> = None;
    let mut tools_over_http: Option<Value> = None;
    let mut exported: Option<Value> = None;
    let exports = exports(&lines);
    for original in &lines {
        let line = match &server {
            Some(s) => original.replace("127.0.0.1:8080", &s.address),
            None => original.clone(),
        };
        if let Some((name, command)) = exports.get(original.as_str()) {
            let args = words(command, &vars);
            assert_eq!(args[0], "actionsync", "`{line}`");
            let run = util::actionsync(&args[1..]).current_dir(clone.path()).run();
            run.assert_success();
            let value = run.stdout().lines().last().unwrap_or_default().to_string();
            vars.insert(name.clone(), value);
            continue;
        }
        let args = words(&line, &vars);
        match args.first().map(String::as_str) {
            Some("actionsync") if args.get(1).is_some_and(|a| a == "serve") => {
                server = Some(serve(clone.path(), &args[1..], &vars));
            }
            Some("actionsync") => {
                let mut cmd = util::actionsync(&args[1..]);
                cmd.current_dir(clone.path());
                for (k, v) in &vars {
                    cmd.env(k, v);
                }
                let run = cmd.run();
                run.assert_success();
                run.check(!run.stderr().contains("warning"), format!("`{line}` warns"));
                if args.get(1).is_some_and(|a| a == "export") {
                    exported = Some(run.stdout_json());
                }
            }
            Some("curl") => {
                let mut headers = Vec::new();
                let mut url = None;
                let mut rest = args[1..].iter();
                while let Some(arg) = rest.next() {
                    match arg.as_str() {
                        "-s" => {}
                        "-H" => headers.push(rest.next().expect("-H takes a header").clone()),
                        other if other.starts_with("http://") => url = Some(other.to_string()),
                        other => panic!("`{line}`: this test does not know curl's {other}"),
                    }
                }
                let url = url.unwrap_or_else(|| panic!("`{line}` has no URL"));
                actionsync::tls::install_provider();
                let client = reqwest::blocking::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("an HTTP client");
                let mut request = client.get(&url);
                for header in headers {
                    let (name, value) = header.split_once(": ").expect("Name: value");
                    request = request.header(name, value);
                }
                let response = request.send().expect("the server answers");
                assert_eq!(response.status().as_u16(), 200, "`{line}`");
                let body = response.text().expect("a body");
                tools_over_http = Some(serde_json::from_str(&body).expect("JSON"));
            }
            _ => panic!("the README's walk-through has a line this test cannot run: `{line}`"),
        }
    }

    // What the README says the tool list holds: cancel_order, without the argument
    // the magic field fills.
    let tools = tools_over_http.expect("the walk-through reads the tool list over HTTP");
    let names: Vec<&str> = tools
        .as_array()
        .expect("an OpenAI tool list is an array")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert_eq!(names, ["cancel_order"], "{tools:#}");
    let properties = &tools[0]["function"]["parameters"]["properties"];
    assert!(
        properties.get("order_id").is_none(),
        "the magic field's argument is left out: {properties:#}"
    );
    assert_eq!(
        exported.as_ref(),
        Some(&tools),
        "export writes what /v1/tools answers"
    );
}

/// The `export NAME=$(COMMAND | tail -n 1)` lines, by line: the variable and the
/// command.
fn exports(lines: &[String]) -> HashMap<&str, (String, String)> {
    lines
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("export ")?;
            let (name, value) = rest.split_once('=')?;
            let command = value.strip_prefix("$(")?.strip_suffix(" | tail -n 1)")?;
            Some((line.as_str(), (name.to_string(), command.to_string())))
        })
        .collect()
}

/// "Keep a catalogue": its commands, in order, on a copy of the bundled specs, each
/// succeeding without a warning (the `actions set` example names a parameter the
/// bundled spec has).
#[test]
fn the_catalogue_commands_in_the_readme_run_as_written() {
    let readme = std::fs::read_to_string(util::crate_root().join("README.md")).expect("README");
    let lines = walk_through(&readme, "Keep a catalogue");
    assert!(lines.len() >= 5, "the section has its commands: {lines:?}");
    let clone = util::tempdir();
    std::fs::create_dir(clone.path().join("specs")).expect("mkdir specs");
    for entry in std::fs::read_dir(util::crate_root().join("specs")).expect("specs/") {
        let entry = entry.expect("an entry of specs/");
        std::fs::copy(
            entry.path(),
            clone.path().join("specs").join(entry.file_name()),
        )
        .expect("copy a spec");
    }
    for line in &lines {
        let args = words(line, &HashMap::new());
        assert_eq!(args[0], "actionsync", "`{line}`");
        let run = util::actionsync(&args[1..]).current_dir(clone.path()).run();
        run.assert_success();
        run.check(!run.stderr().contains("warning"), format!("`{line}` warns"));
    }
}

/// The repository's Markdown files, outside `target/` and hidden folders.
fn markdown_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a folder").flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            markdown_files(&path, found);
        } else if name.ends_with(".md") {
            found.push(path);
        }
    }
}

/// A clone stands on its own: no doc points outside the repository (the design
/// is `docs/design.md`), and every relative link in a doc leads to a file.
#[test]
fn the_docs_stand_on_their_own() {
    let root = util::crate_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(files.iter().any(|f| f.ends_with("docs/design.md")));
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a doc");
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("../shared") && !line.contains("shared/DESIGN"),
                "{shown}:{}: points outside the repository: {line}",
                n + 1
            );
        }
        // `[text](target)` links that are not URLs or anchors.
        for part in text.split("](").skip(1) {
            let Some(target) = part.split(')').next() else {
                continue;
            };
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let folder = file.parent().unwrap_or(&root);
            assert!(
                folder.join(target).exists(),
                "{shown}: the link `{target}` leads nowhere"
            );
        }
    }
}
