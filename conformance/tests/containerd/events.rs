//! `ctr events` of a test's namespace, recorded to a file.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use skiff_conformance::{spawn_registered, wait_spawned};

use super::harness::{which, Containerd, CTR_TIMEOUT, SEQ, SETTLE};

/// `ctr events` for the test's namespace until stopped.
pub(crate) struct EventLog {
    pub(crate) child: std::process::Child,
    pub(crate) path: PathBuf,
}

impl EventLog {
    pub(crate) fn start(cd: &Containerd) -> Self {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = cd.dir.path().join(format!("events-{n}.log"));
        let mut cmd = Command::new(which("ctr"));
        cmd.arg("--address")
            .arg(cd.sock())
            .arg("-n")
            .arg(&cd.ns)
            .arg("events")
            .stdin(Stdio::null())
            .stdout(File::create(&path).expect("events file"))
            .stderr(Stdio::null());
        let child = spawn_registered(&mut cmd).expect("ctr events");
        EventLog { child, path }
    }

    pub(crate) fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Lines of `topic` that name `id`.
    pub(crate) fn count(&self, topic: &str, id: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.contains(&format!(" {topic} ")) && l.contains(&format!("\"{id}\"")))
            .count()
    }

    /// Wait until `topic` for `id` was seen (or `SETTLE` passed).
    pub(crate) fn wait_for(&self, topic: &str, id: &str) {
        let start = Instant::now();
        while self.count(topic, id) == 0 && start.elapsed() < SETTLE {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = wait_spawned(&mut self.child, CTR_TIMEOUT);
        self.text()
    }
}
