//! `skiff update [OPTIONS] ID`: runc's flags, or `-r FILE|-` (a JSON
//! linux.resources; the flags are then ignored, as runc). A flag left out or
//! given as 0 leaves its setting alone. The library checks every value as
//! for `create` and writes them to the container's cgroups.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};
use skiff_core::Container;

use super::CommandError;
use crate::args::UpdateArgs;

pub(super) fn update(root: &Path, a: UpdateArgs) -> Result<(), CommandError> {
    for (flag, v) in [
        ("--l3-cache-schema", &a.l3_cache_schema),
        ("--mem-bw-schema", &a.mem_bw_schema),
    ] {
        if v.is_some() {
            return Err(CommandError::option(flag, "Intel RDT is not supported"));
        }
    }
    let resources = match &a.resources {
        Some(path) => read_resources(path)?,
        None => from_flags(&a)?,
    };
    Container::load(root, &a.id)?.update(&resources)?;
    Ok(())
}

fn read_resources(path: &Path) -> Result<LinuxResources, CommandError> {
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|source| CommandError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CommandError::Json {
        path: if path == Path::new("-") {
            PathBuf::from("<stdin>")
        } else {
            path.to_owned()
        },
        source,
    })
}

fn bad(flag: &'static str, v: &str, what: &str) -> CommandError {
    CommandError::option(flag, format!("invalid value {v:?}: {what}"))
}

fn unsigned(flag: &'static str, v: &Option<String>) -> Result<Option<Value>, CommandError> {
    v.as_deref()
        .map(|s| {
            s.parse::<u64>()
                .map(|n| json!(n))
                .map_err(|_| bad(flag, s, "not an unsigned integer"))
        })
        .transpose()
}

fn signed(flag: &'static str, v: &Option<String>) -> Result<Option<Value>, CommandError> {
    v.as_deref()
        .map(|s| {
            s.parse::<i64>()
                .map(|n| json!(n))
                .map_err(|_| bad(flag, s, "not an integer"))
        })
        .transpose()
}

fn bytes(flag: &'static str, v: &Option<String>) -> Result<Option<Value>, CommandError> {
    v.as_deref()
        .map(|s| {
            parse_bytes(s)
                .map(|n| json!(n))
                .ok_or_else(|| bad(flag, s, "not a size like 1024, 64m or 1g (or -1)"))
        })
        .transpose()
}

/// A size as docker's `RAMInBytes`: a number with an optional binary unit
/// (`k`, `m`, `g`, `t`, `p`, optionally followed by `b` or `ib`, any case);
/// `-1` is unlimited.
pub(crate) fn parse_bytes(s: &str) -> Option<i64> {
    if s == "-1" {
        return Some(-1);
    }
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    let v = num * (1u64 << shift) as f64;
    (v.is_finite() && v >= 0.0 && v < i64::MAX as f64).then_some(v as i64)
}

fn from_flags(a: &UpdateArgs) -> Result<LinuxResources, CommandError> {
    for (flag, v) in [
        ("--kernel-memory", &a.kernel_memory),
        ("--kernel-memory-tcp", &a.kernel_memory_tcp),
    ] {
        if v.is_some() {
            let _ = writeln!(
                std::io::stderr(),
                "skiff: warning: {flag} is ignored (the kernel dropped kernel memory limits)"
            );
        }
    }
    let section = |pairs: Vec<(&str, Option<Value>)>| {
        let m: Map<String, Value> = pairs
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect();
        (!m.is_empty()).then_some(Value::Object(m))
    };
    let mut memory = section(vec![
        ("limit", bytes("--memory", &a.memory)?),
        (
            "reservation",
            bytes("--memory-reservation", &a.memory_reservation)?,
        ),
        ("swap", bytes("--memory-swap", &a.memory_swap)?),
    ]);
    // runc: an unlimited memory without a swap value gets swap 0 (unchanged).
    if let Some(Value::Object(m)) = memory.as_mut() {
        if m.get("limit") == Some(&json!(-1)) && !m.contains_key("swap") {
            m.insert("swap".into(), json!(0));
        }
    }
    let cpu = section(vec![
        ("shares", unsigned("--cpu-share", &a.cpu_share)?),
        ("quota", signed("--cpu-quota", &a.cpu_quota)?),
        ("period", unsigned("--cpu-period", &a.cpu_period)?),
        (
            "realtimePeriod",
            unsigned("--cpu-rt-period", &a.cpu_rt_period)?,
        ),
        (
            "realtimeRuntime",
            signed("--cpu-rt-runtime", &a.cpu_rt_runtime)?,
        ),
        ("cpus", a.cpuset_cpus.clone().map(Value::String)),
        ("mems", a.cpuset_mems.clone().map(Value::String)),
    ]);
    let weight = a
        .blkio_weight
        .as_deref()
        .map(|s| {
            s.parse::<u16>()
                .map(|n| json!({ "weight": n }))
                .map_err(|_| bad("--blkio-weight", s, "not a weight 10..1000"))
        })
        .transpose()?;
    let pids = signed("--pids-limit", &a.pids_limit)?.map(|l| json!({ "limit": l }));
    let mut r = Map::new();
    for (k, v) in [
        ("memory", memory),
        ("cpu", cpu),
        ("blockIO", weight),
        ("pids", pids),
    ] {
        if let Some(v) = v {
            r.insert(k.to_owned(), v);
        }
    }
    serde_json::from_value(Value::Object(r)).map_err(CommandError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker() {
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("64m"), Some(64 << 20));
        assert_eq!(parse_bytes("64MB"), Some(64 << 20));
        assert_eq!(parse_bytes("1GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5k"), Some(1536));
        assert_eq!(parse_bytes("-1"), Some(-1));
        for bad in ["", "m", "-2", "12x", "1e3"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }
}
