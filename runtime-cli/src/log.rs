//! skiff's log, in runc's (logrus's) line formats, which containerd parses
//! from the `--log` file of a failed command:
//!
//! ```text
//! time="2024-01-02T03:04:05Z" level=error msg="container c1 does not exist"
//! {"level":"error","msg":"container c1 does not exist","time":"2024-01-02T03:04:05Z"}
//! ```
//!
//! Without `--log` the lines go to stderr. With `--log`, they go to the file,
//! and an error's bare message is also printed on stderr, as runc does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::args::LogFormat;

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The `--log` file could not be opened.
    #[error("open log file {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Shown with `--debug` only.
    Debug,
    /// A failure.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Error => "error",
        }
    }
}

/// Where log lines go.
#[derive(Debug)]
pub struct Logger {
    format: LogFormat,
    debug: bool,
    file: Option<File>,
}

impl Logger {
    /// A logger writing to `path` (appending), or to stderr when `None`.
    pub fn new(path: Option<&Path>, format: LogFormat, debug: bool) -> Result<Self, LogError> {
        let file = match path {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o644)
                    .open(path)
                    .map_err(|source| LogError::Open {
                        path: path.to_owned(),
                        source,
                    })?,
            ),
            None => None,
        };
        Ok(Self {
            format,
            debug,
            file,
        })
    }

    /// A logger to stderr, for failures before the options are known.
    pub fn stderr() -> Self {
        Self {
            format: LogFormat::Text,
            debug: false,
            file: None,
        }
    }

    /// Log a debug message (only with `--debug`).
    pub fn debug(&mut self, msg: &str) {
        if self.debug {
            self.write(Level::Debug, msg);
        }
    }

    /// Log an error; with a log file, also print it bare on stderr.
    pub fn error(&mut self, msg: &str) {
        self.write(Level::Error, msg);
        if self.file.is_some() {
            eprintln!("{msg}");
        }
    }

    fn write(&mut self, level: Level, msg: &str) {
        let line = format_line(self.format, level, msg, &rfc3339_utc(SystemTime::now()));
        // A log that cannot be written has nowhere to report to: ignore.
        let _ = match &mut self.file {
            Some(f) => f.write_all(line.as_bytes()),
            None => std::io::stderr().write_all(line.as_bytes()),
        };
    }
}

/// One log line, newline-terminated.
pub fn format_line(format: LogFormat, level: Level, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => {
            // Field order is logrus's (sorted keys); serde_json escapes.
            let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
            format!(
                "{{\"level\":{},\"msg\":{},\"time\":{}}}\n",
                q(level.as_str()),
                q(msg),
                q(time)
            )
        }
        LogFormat::Text => format!(
            "time={} level={} msg={}\n",
            quote(time),
            level.as_str(),
            quote(msg)
        ),
    }
}

/// Quote as Go's `%q` does for the printable ASCII and the usual escapes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `t` as RFC 3339 in UTC with second precision, e.g. `2024-01-02T03:04:05Z`.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An error and its causes, each cause appended unless the message already
/// says it (the library's messages often include their source).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn json_line_is_runcs_shape() {
        let line = format_line(
            LogFormat::Json,
            Level::Error,
            "container \"x\" does not exist",
            "2024-01-02T03:04:05Z",
        );
        assert_eq!(
            line,
            "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\",\"time\":\"2024-01-02T03:04:05Z\"}\n"
        );
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => panic!("{line}: {e}"),
        };
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
    }

    #[test]
    fn text_line_is_logrus_shape() {
        let line = format_line(
            LogFormat::Text,
            Level::Debug,
            "a \"b\"\nc",
            "2024-01-02T03:04:05Z",
        );
        assert_eq!(
            line,
            "time=\"2024-01-02T03:04:05Z\" level=debug msg=\"a \\\"b\\\"\\nc\"\n"
        );
    }

    #[test]
    fn time_format() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(1_704_164_645)),
            "2024-01-02T03:04:05Z"
        );
    }

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("read {path}: {source}")]
        Read {
            path: String,
            source: std::io::Error,
        },
        #[error("start container")]
        Wrapped(#[source] std::io::Error),
    }

    #[test]
    fn chain_appends_unsaid_causes_only() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        assert_eq!(
            error_chain(&Outer::Read {
                path: "/x".into(),
                source: io()
            }),
            "read /x: no such file"
        );
        assert_eq!(
            error_chain(&Outer::Wrapped(io())),
            "start container: no such file"
        );
    }

    #[test]
    fn log_file_gets_json_lines() {
        let dir = std::env::temp_dir().join(format!("skiff-log-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("log.json");
        let mut log = match Logger::new(Some(&path), LogFormat::Json, false) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        log.debug("hidden");
        log.write(Level::Error, "boom");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("{\"level\":\"error\",\"msg\":\"boom\",\"time\":\""),
            "{text}"
        );
    }
}
