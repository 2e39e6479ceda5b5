//! Collected samples, summary statistics, and the table / JSON output.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::measure::Sample;
use crate::seccomp::SeccompReport;

/// The timed runtime operations, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Run,
    Create,
    Start,
    Delete,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Run, Op::Create, Op::Start, Op::Delete];

    pub fn label(self) -> &'static str {
        match self {
            Op::Run => "run (/bin/true)",
            Op::Create => "create",
            Op::Start => "start",
            Op::Delete => "delete -f",
        }
    }
}

/// How a runtime fared overall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Missing,
    Failed,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Failed => "failed",
        }
    }
}

/// Everything measured for one runtime.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeResult {
    pub name: String,
    pub path: String,
    pub version: Option<String>,
    pub binary_size_bytes: Option<u64>,
    pub status: Status,
    pub error: Option<String>,
    pub completed_iterations: usize,
    #[serde(skip)]
    pub samples: BTreeMap<Op, Vec<Sample>>,
}

impl RuntimeResult {
    pub fn new(name: &str, path: &str) -> Self {
        RuntimeResult {
            name: name.to_owned(),
            path: path.to_owned(),
            version: None,
            binary_size_bytes: None,
            status: Status::Ok,
            error: None,
            completed_iterations: 0,
            samples: BTreeMap::new(),
        }
    }

    pub fn stats(&self, op: Op) -> Option<OpStats> {
        self.samples.get(&op).and_then(|s| OpStats::from_samples(s))
    }

    /// True if this runtime produced numbers worth comparing.
    pub fn has_data(&self) -> bool {
        self.completed_iterations > 0
    }
}

/// Summary of one operation's samples.
#[derive(Debug, Clone, Serialize)]
pub struct OpStats {
    pub samples: usize,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub median_rss_kib: u64,
    pub max_rss_kib: u64,
    pub ms: Vec<f64>,
    pub rss_kib: Vec<u64>,
}

impl OpStats {
    pub fn from_samples(samples: &[Sample]) -> Option<OpStats> {
        if samples.is_empty() {
            return None;
        }
        let ms: Vec<f64> = samples
            .iter()
            .map(|s| s.elapsed.as_secs_f64() * 1000.0)
            .collect();
        let rss: Vec<u64> = samples.iter().map(|s| s.maxrss_kib).collect();
        let mut sorted_ms = ms.clone();
        sorted_ms.sort_by(f64::total_cmp);
        let mut sorted_rss = rss.clone();
        sorted_rss.sort_unstable();
        Some(OpStats {
            samples: samples.len(),
            median_ms: median_f64(&sorted_ms)?,
            p90_ms: nearest_rank(&sorted_ms, 0.9).copied()?,
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
            min_ms: sorted_ms.first().copied()?,
            max_ms: sorted_ms.last().copied()?,
            median_rss_kib: nearest_rank(&sorted_rss, 0.5).copied()?,
            max_rss_kib: sorted_rss.last().copied()?,
            ms,
            rss_kib: rss,
        })
    }
}

/// Median of sorted values (mean of the middle two for even counts).
pub fn median_f64(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        sorted.get(n / 2).copied()
    } else {
        Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0)
    }
}

/// Nearest-rank percentile (`q` in 0..=1) of sorted values.
pub fn nearest_rank<T>(sorted: &[T], q: f64) -> Option<&T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1)
}

/// The whole run, as printed or serialised.
#[derive(Debug, Serialize)]
pub struct Report {
    pub iterations: usize,
    pub warmup: usize,
    pub container_args: Vec<String>,
    pub private_mount_ns: bool,
    pub unified_unmounted: bool,
    pub interrupted: bool,
    pub runtimes: Vec<RuntimeResult>,
    /// op → runtime → stats.
    pub stats: BTreeMap<Op, BTreeMap<String, OpStats>>,
    /// "skiff/runc", "skiff/crun" → metric → ratio.
    pub ratios: BTreeMap<String, BTreeMap<String, f64>>,
    /// skiff's seccomp compiler against libseccomp, if run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompReport>,
    /// Why the seccomp comparison was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp_error: Option<String>,
}

impl Report {
    pub fn new(
        iterations: usize,
        warmup: usize,
        container_args: &[&str],
        private_mount_ns: bool,
        unified_unmounted: bool,
        interrupted: bool,
        runtimes: Vec<RuntimeResult>,
    ) -> Report {
        let mut stats: BTreeMap<Op, BTreeMap<String, OpStats>> = BTreeMap::new();
        for rt in &runtimes {
            for op in Op::ALL {
                if let Some(s) = rt.stats(op) {
                    stats.entry(op).or_default().insert(rt.name.clone(), s);
                }
            }
        }
        let mut report = Report {
            iterations,
            warmup,
            container_args: container_args.iter().map(|s| (*s).to_owned()).collect(),
            private_mount_ns,
            unified_unmounted,
            interrupted,
            runtimes,
            stats,
            ratios: BTreeMap::new(),
            seccomp: None,
            seccomp_error: None,
        };
        for other in ["runc", "crun"] {
            let mut metrics = BTreeMap::new();
            for op in Op::ALL {
                let key = serde_name(op);
                if let Some(r) = report.ratio(op, "skiff", other, |s| s.median_ms) {
                    metrics.insert(format!("{key}_median_ms"), r);
                }
                if let Some(r) = report.ratio(op, "skiff", other, |s| s.median_rss_kib as f64) {
                    metrics.insert(format!("{key}_median_rss_kib"), r);
                }
            }
            if let Some(r) = report.size_ratio("skiff", other) {
                metrics.insert("binary_size".into(), r);
            }
            if !metrics.is_empty() {
                report.ratios.insert(format!("skiff/{other}"), metrics);
            }
        }
        report
    }

    fn ratio(&self, op: Op, a: &str, b: &str, f: impl Fn(&OpStats) -> f64) -> Option<f64> {
        let per_op = self.stats.get(&op)?;
        let (x, y) = (f(per_op.get(a)?), f(per_op.get(b)?));
        (y > 0.0).then(|| x / y)
    }

    fn size(&self, name: &str) -> Option<u64> {
        self.runtimes
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.binary_size_bytes)
    }

    fn size_ratio(&self, a: &str, b: &str) -> Option<f64> {
        let (x, y) = (self.size(a)?, self.size(b)?);
        (y > 0).then(|| x as f64 / y as f64)
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let names: Vec<&str> = self.runtimes.iter().map(|r| r.name.as_str()).collect();
        let _ = writeln!(
            out,
            "skiff-bench: {} iteration(s) after {} warm-up, interleaved round-robin ({}); container: {}",
            self.iterations,
            self.warmup,
            names.join(", "),
            self.container_args.join(" ")
        );
        let _ = writeln!(
            out,
            "mount namespace: {}; /sys/fs/cgroup/unified {}{}",
            if self.private_mount_ns {
                "private"
            } else {
                "host (not unshared)"
            },
            if self.unified_unmounted {
                "unmounted there"
            } else {
                "left as is"
            },
            if self.interrupted {
                "; INTERRUPTED, partial results"
            } else {
                ""
            }
        );
        let _ = writeln!(out);

        // Time table.
        let mut header = format!("{:<18}", "time, ms");
        for n in &names {
            let _ = write!(header, "{:>20}", format!("{n} med / p90"));
        }
        header.push_str(&format!("{:>12}{:>12}", "skiff/runc", "skiff/crun"));
        let _ = writeln!(out, "{header}");
        for op in Op::ALL {
            let mut line = format!("{:<18}", op.label());
            for n in &names {
                let cell = self
                    .stats
                    .get(&op)
                    .and_then(|m| m.get(*n))
                    .map(|s| format!("{:.2} / {:.2}", s.median_ms, s.p90_ms))
                    .unwrap_or_else(|| "-".into());
                let _ = write!(line, "{cell:>20}");
            }
            for other in ["runc", "crun"] {
                let _ = write!(
                    line,
                    "{:>12}",
                    fmt_ratio(self.ratio(op, "skiff", other, |s| s.median_ms))
                );
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);

        // RSS table.
        let mut header = format!("{:<18}", "peak RSS, KiB");
        for n in &names {
            let _ = write!(header, "{:>20}", format!("{n} median"));
        }
        header.push_str(&format!("{:>12}{:>12}", "skiff/runc", "skiff/crun"));
        let _ = writeln!(out, "{header}");
        for op in [Op::Create, Op::Run] {
            let mut line = format!("{:<18}", op.label());
            for n in &names {
                let cell = self
                    .stats
                    .get(&op)
                    .and_then(|m| m.get(*n))
                    .map(|s| s.median_rss_kib.to_string())
                    .unwrap_or_else(|| "-".into());
                let _ = write!(line, "{cell:>20}");
            }
            for other in ["runc", "crun"] {
                let r = self.ratio(op, "skiff", other, |s| s.median_rss_kib as f64);
                let _ = write!(line, "{:>12}", fmt_ratio(r));
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);

        // Binary size.
        let mut line = format!("{:<18}", "binary size, KiB");
        for n in &names {
            let cell = self
                .size(n)
                .map(|b| format!("{:.0}", b as f64 / 1024.0))
                .unwrap_or_else(|| "-".into());
            let _ = write!(line, "{cell:>20}");
        }
        for other in ["runc", "crun"] {
            let _ = write!(line, "{:>12}", fmt_ratio(self.size_ratio("skiff", other)));
        }
        let _ = writeln!(out, "{line}");

        // Seccomp compile time.
        if let Some(seccomp) = &self.seccomp {
            let _ = writeln!(out);
            out.push_str(&seccomp.table());
        }

        // Notes on missing / failed runtimes and a skipped comparison.
        let mut notes: Vec<String> = self
            .runtimes
            .iter()
            .filter(|r| r.status != Status::Ok)
            .map(|r| {
                format!(
                    "  {} ({}): {} after {} iteration(s): {}",
                    r.name,
                    r.path,
                    r.status.as_str(),
                    r.completed_iterations,
                    r.error.as_deref().unwrap_or("")
                )
            })
            .collect();
        if let Some(err) = &self.seccomp_error {
            notes.push(format!("  seccomp compile comparison: {err}"));
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "\nskipped:");
            for note in notes {
                let _ = writeln!(out, "{note}");
            }
        }
        let versions: Vec<String> = self
            .runtimes
            .iter()
            .filter_map(|r| {
                r.version
                    .as_ref()
                    .map(|v| format!("  {}: {} ({})", r.name, v, r.path))
            })
            .collect();
        if !versions.is_empty() {
            let _ = writeln!(out, "\nversions:");
            for v in versions {
                let _ = writeln!(out, "{v}");
            }
        }
        out
    }
}

fn serde_name(op: Op) -> &'static str {
    match op {
        Op::Run => "run",
        Op::Create => "create",
        Op::Start => "start",
        Op::Delete => "delete",
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(ms: u64, rss: u64) -> Sample {
        Sample {
            elapsed: Duration::from_millis(ms),
            maxrss_kib: rss,
        }
    }

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(median_f64(&v), Some(2.5));
        assert_eq!(median_f64(&[5.0]), Some(5.0));
        assert_eq!(median_f64(&[]), None);
        let w: Vec<u32> = (1..=10).collect();
        assert_eq!(nearest_rank(&w, 0.9), Some(&9));
        assert_eq!(nearest_rank(&w, 0.0), Some(&1));
        assert_eq!(nearest_rank(&w, 1.0), Some(&10));
    }

    #[test]
    fn ratios_and_table() {
        let mut skiff = RuntimeResult::new("skiff", "/x/skiff");
        skiff.binary_size_bytes = Some(1024);
        skiff.completed_iterations = 1;
        skiff.samples.insert(Op::Run, vec![sample(10, 100)]);
        let mut runc = RuntimeResult::new("runc", "/x/runc");
        runc.binary_size_bytes = Some(4096);
        runc.completed_iterations = 1;
        runc.samples.insert(Op::Run, vec![sample(40, 400)]);
        let mut crun = RuntimeResult::new("crun", "/x/crun");
        crun.status = Status::Missing;
        crun.error = Some("not found".into());
        let report = Report::new(
            1,
            0,
            &["/bin/true"],
            true,
            true,
            false,
            vec![skiff, runc, crun],
        );
        let r = report.ratios.get("skiff/runc");
        assert_eq!(r.and_then(|m| m.get("run_median_ms")).copied(), Some(0.25));
        assert_eq!(r.and_then(|m| m.get("binary_size")).copied(), Some(0.25));
        assert!(!report.ratios.contains_key("skiff/crun"));
        let table = report.table();
        assert!(table.contains("0.25x"));
        assert!(table.contains("not found"));
    }
}
