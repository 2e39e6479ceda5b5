//! Seccomp compile time: the containers-common default profile
//! (/usr/share/containers/seccomp.json, converted to `linux.seccomp` as
//! podman does) compiled to BPF by skiff and by the system libseccomp (the
//! way runc builds it), in this process, alternating the two in every round
//! so that neither always runs first on a warm cache.
//!
//! skiff's time is the program in memory; libseccomp's is `seccomp_init`,
//! the rules, and `seccomp_export_bpf` into a memfd read back (libseccomp
//! 2.5 has no in-memory export). Both are what a runtime pays per container.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use skiff_core::bench as core;

use crate::error::{BenchError, Result};
use crate::report::{median_f64, nearest_rank};

/// Rounds and warm-up of one comparison.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Timed rounds; each compiles once with each compiler.
    pub rounds: usize,
    /// Untimed rounds before.
    pub warmup: usize,
}

/// One compiler's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct CompilerResult {
    /// `skiff` or `libseccomp`.
    pub name: String,
    /// The library's version (libseccomp only).
    pub version: Option<String>,
    /// Length of the program, in BPF instructions.
    pub instructions: usize,
    pub samples: usize,
    pub median_us: f64,
    pub p90_us: f64,
    pub mean_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    pub us: Vec<f64>,
}

impl CompilerResult {
    fn new(name: &str, version: Option<String>, instructions: usize, us: Vec<f64>) -> Self {
        let mut sorted = us.clone();
        sorted.sort_by(f64::total_cmp);
        CompilerResult {
            name: name.to_owned(),
            version,
            instructions,
            samples: us.len(),
            median_us: median_f64(&sorted).unwrap_or(0.0),
            p90_us: nearest_rank(&sorted, 0.9).copied().unwrap_or(0.0),
            mean_us: if us.is_empty() {
                0.0
            } else {
                us.iter().sum::<f64>() / us.len() as f64
            },
            min_us: sorted.first().copied().unwrap_or(0.0),
            max_us: sorted.last().copied().unwrap_or(0.0),
            us,
        }
    }

    fn label(&self) -> String {
        match &self.version {
            Some(v) => format!("{} {v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The comparison, as printed or serialised.
#[derive(Debug, Clone, Serialize)]
pub struct SeccompReport {
    /// The source profile.
    pub profile: String,
    /// Rules (`syscalls` entries) and architectures of the converted profile.
    pub rules: usize,
    pub architectures: usize,
    pub rounds: usize,
    pub warmup: usize,
    /// skiff, then libseccomp.
    pub compilers: Vec<CompilerResult>,
    /// "median", "p90", "instructions" → skiff / libseccomp.
    pub ratios: std::collections::BTreeMap<String, f64>,
}

/// Load the profile at `path`, check that both compilers take it, then
/// time them.
pub fn run(path: &Path, plan: Plan) -> Result<SeccompReport> {
    let profile = core::containers_common(path)?;
    let skiff_len = core::skiff_compile(&profile).map_err(BenchError::SkiffCompile)?;
    let lib_len = core::libseccomp_compile(&profile)?;

    let mut skiff_us = Vec::with_capacity(plan.rounds);
    let mut lib_us = Vec::with_capacity(plan.rounds);
    for round in 0..plan.warmup + plan.rounds {
        let (s, l) = if round % 2 == 0 {
            let s = time(|| core::skiff_compile(&profile).map_err(BenchError::SkiffCompile))?;
            let l = time(|| Ok(core::libseccomp_compile(&profile)?))?;
            (s, l)
        } else {
            let l = time(|| Ok(core::libseccomp_compile(&profile)?))?;
            let s = time(|| core::skiff_compile(&profile).map_err(BenchError::SkiffCompile))?;
            (s, l)
        };
        if round >= plan.warmup {
            skiff_us.push(s);
            lib_us.push(l);
        }
    }

    let skiff = CompilerResult::new("skiff", None, skiff_len, skiff_us);
    let lib = CompilerResult::new("libseccomp", core::libseccomp_version(), lib_len, lib_us);
    let mut ratios = std::collections::BTreeMap::new();
    for (key, a, b) in [
        ("median", skiff.median_us, lib.median_us),
        ("p90", skiff.p90_us, lib.p90_us),
        ("instructions", skiff_len as f64, lib_len as f64),
    ] {
        if b > 0.0 {
            ratios.insert(key.to_owned(), a / b);
        }
    }
    Ok(SeccompReport {
        profile: path.display().to_string(),
        rules: profile.syscalls().as_ref().map_or(0, Vec::len),
        architectures: profile.architectures().as_ref().map_or(0, Vec::len),
        rounds: plan.rounds,
        warmup: plan.warmup,
        compilers: vec![skiff, lib],
        ratios,
    })
}

/// Microseconds taken by one compile.
fn time(compile: impl FnOnce() -> Result<usize>) -> Result<f64> {
    let start = Instant::now();
    let len = black_box(compile()?);
    let elapsed = start.elapsed();
    black_box(len);
    Ok(elapsed.as_secs_f64() * 1e6)
}

impl SeccompReport {
    /// The human-readable table: one row per compiler, then the ratios.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "seccomp compile: {} as podman converts it ({} rules, {} architectures); {} round(s) after {} warm-up, alternating",
            self.profile, self.rules, self.architectures, self.rounds, self.warmup
        );
        let _ = writeln!(
            out,
            "{:<22}{:>14}{:>14}{:>16}",
            "compile, us", "median", "p90", "instructions"
        );
        for c in &self.compilers {
            let _ = writeln!(
                out,
                "{:<22}{:>14.1}{:>14.1}{:>16}",
                c.label(),
                c.median_us,
                c.p90_us,
                c.instructions
            );
        }
        let ratio = |k: &str| {
            self.ratios
                .get(k)
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into())
        };
        let _ = writeln!(
            out,
            "{:<22}{:>14}{:>14}{:>16}",
            "skiff/libseccomp",
            ratio("median"),
            ratio("p90"),
            ratio("instructions")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_both_rows_and_ratios() {
        let report = SeccompReport {
            profile: "/x/seccomp.json".into(),
            rules: 3,
            architectures: 3,
            rounds: 2,
            warmup: 0,
            compilers: vec![
                CompilerResult::new("skiff", None, 50, vec![10.0, 30.0]),
                CompilerResult::new("libseccomp", Some("2.5.4".into()), 100, vec![80.0, 80.0]),
            ],
            ratios: [("median".to_owned(), 0.25)].into_iter().collect(),
        };
        let t = report.table();
        assert!(t.lines().any(|l| l.starts_with("skiff ")), "{t}");
        assert!(t.contains("libseccomp 2.5.4"), "{t}");
        assert!(t.contains("0.25x"), "{t}");
        assert_eq!(report.compilers[0].median_us, 20.0);
    }
}
