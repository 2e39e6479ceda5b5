//! `skiff events [--interval D] [--stats] ID`: runc's event stream, one JSON
//! object a line. `--stats` prints `{"type":"stats","id":…,"data":{…}}` once;
//! without it the stats come every interval, and `{"type":"oom","id":…}`
//! whenever the container's memory cgroup has an OOM. Unlike runc, which
//! streams until killed, the stream ends once the container has stopped.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use skiff_core::{Container, OomWait, Stats, Status};

use super::CommandError;
use crate::args::EventsArgs;

pub(super) fn events(root: &Path, a: EventsArgs) -> Result<(), CommandError> {
    let c = Container::load(root, &a.id)?;
    if a.stats {
        return emit("stats", &a.id, Some(stats_json(&c.stats()?)));
    }
    if a.interval.is_zero() {
        return Err(CommandError::option("--interval", "must be above zero"));
    }
    // Refuse a stopped container up front, as runc.
    let first = c.stats()?;
    let mut watcher = c.oom_watcher()?;
    emit("stats", &a.id, Some(stats_json(&first)))?;
    loop {
        let deadline = Instant::now() + a.interval;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let waited = watcher.as_mut().map(|w| w.wait(left)).transpose();
            match waited.map_err(skiff_core::Error::from)? {
                Some(OomWait::Oom(_)) => emit("oom", &a.id, None)?,
                Some(OomWait::Timeout) => break,
                Some(OomWait::Gone) => watcher = None,
                None => std::thread::sleep(left.min(Duration::from_millis(100))),
            }
        }
        if c.status() == Status::Stopped {
            return Ok(());
        }
        match c.stats() {
            Ok(s) => emit("stats", &a.id, Some(stats_json(&s)))?,
            Err(_) if c.status() == Status::Stopped => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// One event line, flushed at once so that a reader sees it.
fn emit(kind: &str, id: &str, data: Option<Value>) -> Result<(), CommandError> {
    let mut event = json!({ "type": kind, "id": id });
    if let (Some(d), Some(obj)) = (data, event.as_object_mut()) {
        obj.insert("data".into(), d);
    }
    let line = serde_json::to_string(&event).map_err(CommandError::Encode)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| CommandError::Io {
            path: "stdout".into(),
            source,
        })
}

/// Insert `key: value` unless the value is zero or empty (Go's omitempty).
fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Number(n) => n.as_u64() == Some(0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if !empty {
        obj.insert(key.to_owned(), value);
    }
}

fn object(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        put(&mut m, k, v.clone());
    }
    Value::Object(m)
}

/// runc's `types.Stats` JSON (libcontainer's events types) from [`Stats`].
pub(crate) fn stats_json(s: &Stats) -> Value {
    let mut usage = Map::new();
    put(&mut usage, "total", json!(s.cpu.usage_ns));
    put(&mut usage, "percpu", json!(s.cpu.per_cpu_ns));
    usage.insert("kernel".into(), json!(s.cpu.system_ns));
    usage.insert("user".into(), json!(s.cpu.user_ns));
    let cpu = json!({
        "usage": usage,
        "throttling": object(&[
            ("periods", json!(s.cpu.periods)),
            ("throttledPeriods", json!(s.cpu.throttled_periods)),
            ("throttledTime", json!(s.cpu.throttled_ns)),
        ]),
    });
    let m = &s.memory;
    let entry = |limit: u64, usage: u64, max: u64, failcnt: u64| {
        let mut o = Map::new();
        o.insert("limit".into(), json!(limit));
        put(&mut o, "usage", json!(usage));
        put(&mut o, "max", json!(max));
        o.insert("failcnt".into(), json!(failcnt));
        Value::Object(o)
    };
    let mut memory = Map::new();
    put(&mut memory, "cache", json!(m.cache));
    memory.insert(
        "usage".into(),
        entry(m.limit, m.usage, m.max_usage, m.failcnt),
    );
    memory.insert(
        "swap".into(),
        entry(m.swap_limit, m.usage.saturating_add(m.swap_usage), 0, 0),
    );
    put(&mut memory, "raw", json!(m.raw));
    let mut blkio = Map::new();
    for (key, unit) in [
        ("ioServiceBytesRecursive", "bytes"),
        ("ioServicedRecursive", "ios"),
    ] {
        let entries: Vec<Value> =
            s.io.iter()
                .filter_map(|e| {
                    let (op, u) = e.op.rsplit_once('_')?;
                    (u == unit).then(|| {
                        object(&[
                            ("major", json!(e.major)),
                            ("minor", json!(e.minor)),
                            ("op", json!(capitalize(op))),
                            ("value", json!(e.value)),
                        ])
                    })
                })
                .collect();
        put(&mut blkio, key, Value::Array(entries));
    }
    let hugetlb: Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(size, h)| {
            let mut o = Map::new();
            put(&mut o, "usage", json!(h.usage));
            put(&mut o, "max", json!(h.max_usage));
            o.insert("failcnt".into(), json!(h.failcnt));
            (size.clone(), Value::Object(o))
        })
        .collect();
    json!({
        "cpu": cpu,
        "memory": memory,
        "pids": object(&[
            ("current", json!(s.pids.current)),
            ("limit", json!(s.pids.limit)),
        ]),
        "blkio": blkio,
        "hugetlb": hugetlb,
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_shape() {
        let mut s = Stats::default();
        s.cpu.usage_ns = 5;
        s.memory.limit = 64;
        s.memory.usage = 10;
        s.pids.current = 2;
        s.pids.limit = 9;
        s.io.push(skiff_core::IoEntry {
            major: 8,
            minor: 0,
            op: "read_bytes".into(),
            value: 512,
        });
        let v = stats_json(&s);
        assert_eq!(v["cpu"]["usage"]["total"], 5);
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert_eq!(v["memory"]["usage"]["limit"], 64);
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert_eq!(v["memory"]["swap"]["usage"], 10);
        assert_eq!(v["pids"], json!({"current": 2, "limit": 9}));
        assert_eq!(
            v["blkio"]["ioServiceBytesRecursive"][0],
            json!({"major": 8, "op": "Read", "value": 512})
        );
        assert!(v["blkio"].get("ioServicedRecursive").is_none());
        assert_eq!(v["hugetlb"], json!({}));
    }
}
