//! The `offtake` binary run by tests: one command ([`Cli`]), or
//! `offtake serve` on a free port ([`Served`]).
//!
//! A library cannot name the binary (`CARGO_BIN_EXE_offtake` exists only
//! when an integration test of the root crate is compiled), so the caller
//! passes its path.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

/// How to run `offtake`: the binary, the directory to run it in, and the
/// arguments every call starts with (`--database-url`, `--ledger`).
///
/// The environment variables that would choose another database or ledger
/// (`OFFTAKE_DATABASE_URL`, `OFFTAKE_LEDGER`) are always removed: a
/// developer's shell must not point a test at their data.
#[derive(Clone, Debug)]
pub struct Cli {
    bin: PathBuf,
    dir: Option<PathBuf>,
    leading: Vec<String>,
}

impl Cli {
    pub fn new(bin: impl Into<PathBuf>) -> Cli {
        Cli { bin: bin.into(), dir: None, leading: Vec::new() }
    }

    /// Runs in `dir` (relative paths, `sqlite:program.db`, are under it).
    pub fn in_dir(mut self, dir: &Path) -> Cli {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Every call starts with `--database-url <url>`.
    pub fn database_url(mut self, url: &str) -> Cli {
        self.leading.extend(["--database-url".to_owned(), url.to_owned()]);
        self
    }

    /// Every call starts with `--database-url sqlite:<path>`.
    pub fn sqlite(self, path: &Path) -> Cli {
        let url = format!("sqlite:{}", path.display());
        self.database_url(&url)
    }

    /// Every call starts with `--ledger <ledger>` (after the URL, if any).
    pub fn ledger(mut self, ledger: &str) -> Cli {
        self.leading.extend(["--ledger".to_owned(), ledger.to_owned()]);
        self
    }

    /// The command with its leading arguments and clean environment, for a
    /// caller that adds more (stdin, other variables) before running it.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.args(&self.leading)
            .env_remove("OFFTAKE_DATABASE_URL")
            .env_remove("OFFTAKE_LEDGER")
            .env_remove("OFFTAKE_LEDGER_MAP");
        cmd
    }

    /// Runs `offtake <leading> <args>` to its end.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        self.command().args(args).output().expect("run offtake")
    }

    /// Runs a command that must succeed; its stdout.
    #[track_caller]
    pub fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "offtake {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// `offtake <leading> serve --listen 127.0.0.1:0 <args>`, once it has
    /// printed its address. Its log (stderr) goes to `log`, or nowhere.
    pub fn serve(&self, args: &[&str], log: Option<&Path>) -> Served {
        Served::spawn(&mut self.serve_command(args, log))
    }

    /// The command [`Cli::serve`] runs, for a caller that adds to it (more
    /// environment) before [`Served::spawn`].
    pub fn serve_command(&self, args: &[&str], log: Option<&Path>) -> Command {
        let stderr = match log {
            Some(path) => {
                Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(path).expect("server log"))
            }
            None => Stdio::null(),
        };
        let mut cmd = self.command();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args).env("OFFTAKE_LOG", "warn");
        cmd.stdout(Stdio::piped()).stderr(stderr);
        cmd
    }
}

/// `offtake serve` in a child process, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Served {
    /// Spawns `cmd` (an `offtake serve` with stdout piped) and reads the
    /// `listening on <base>` line it prints first.
    pub fn spawn(cmd: &mut Command) -> Served {
        let mut child = cmd.spawn().expect("spawn offtake serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout piped")).read_line(&mut line).expect("read address");
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no address line: {line:?}");
        };
        Served { base: base.to_owned(), child }
    }

    pub fn addr(&self) -> SocketAddr {
        self.base.trim_start_matches("http://").parse().expect("address")
    }

    /// The process id, for signals.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no shutdown, no flush (std's kill() is SIGKILL on Unix).
    pub fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then waits for the exit: the graceful stop.
    pub fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill -TERM");
        assert!(sent.success(), "kill -TERM failed");
        self.child.wait().expect("wait for offtake serve")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
