//! What the CLI writes: data on stdout (JSON or a table), hints on stderr.
//!
//! A closed stdout (`offtake demo | head -1`) ends the process quietly with
//! status 0, the way Unix filters do, instead of panicking inside
//! `println!`. Every line of data goes through [`out!`].

use std::io::Write;
use std::sync::OnceLock;

use clap::ValueEnum;
use serde::Serialize;

/// How commands that show data print it.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The API's wire objects, pretty-printed (for `jq` and programs).
    Json,
    /// Aligned text for people.
    Table,
}

/// `--output`, set once in `main`: a process-wide setting (like the
/// terminal's), so the many printing functions need no extra parameter.
static CHOSEN: OnceLock<Option<Format>> = OnceLock::new();

pub fn init(chosen: Option<Format>) {
    let _ = CHOSEN.set(chosen);
}

/// The format asked for, or the command's own default.
pub fn format_or(default: Format) -> Format {
    CHOSEN.get().copied().flatten().unwrap_or(default)
}

/// Writes one line to stdout. A broken pipe exits 0 at once (the reader
/// has what it wanted); any other write error exits 74 (`EX_IOERR`).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let _ = writeln!(std::io::stderr(), "error[io]: writing to stdout: {e}");
        std::process::exit(74);
    }
}

/// `println!` for data: see [`line`].
macro_rules! out {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}
pub(crate) use out;

/// Shows a wire object (or a list of them) in the chosen format.
pub fn show<T: Serialize>(value: &T, default: Format) -> anyhow::Result<()> {
    let json = serde_json::to_value(value)?;
    match format_or(default) {
        Format::Json => out!("{}", serde_json::to_string_pretty(&json)?),
        Format::Table => out!("{}", crate::table::render(&json)),
    }
    Ok(())
}

/// Like [`show`], one compact JSON line per value: for commands that print
/// a stream (`settle --watch`, `entries`), so `jq` reads one object a line.
pub fn show_line<T: Serialize>(value: &T, default: Format) -> anyhow::Result<()> {
    let json = serde_json::to_value(value)?;
    match format_or(default) {
        Format::Json => out!("{}", serde_json::to_string(&json)?),
        Format::Table => out!("{}", crate::table::render(&json)),
    }
    Ok(())
}
