//! The shim's table of tasks and their processes, and exit bookkeeping:
//! each exit is recorded once, published once as TaskExit, and wakes every
//! Wait.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use containerd_shim::protos::events::task::TaskExit;
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::topics::TASK_EXIT_EVENT_TOPIC;

use crate::events::Events;
use crate::stdio::{IoPaths, ProcIo};

/// How long an exit waits for the terminal output copy to drain.
const IO_DRAIN: Duration = Duration::from_secs(2);

/// How a process ended.
#[derive(Debug, Clone)]
pub struct Exit {
    /// The status (128 + signal for a signal).
    pub status: u32,
    /// When it was seen.
    pub at: Timestamp,
}

impl Exit {
    /// An exit seen now.
    pub fn now(status: u32) -> Self {
        Self {
            status,
            at: Timestamp::now(),
        }
    }
}

/// The container's init process or one exec process.
#[derive(Debug, Default)]
pub struct Proc {
    /// Host pid (0: an exec not started yet).
    pub pid: i32,
    /// The exec's process spec until it is started.
    pub pending: Option<oci_spec::runtime::Process>,
    /// The streams containerd named.
    pub paths: IoPaths,
    /// What the shim holds of the streams.
    pub io: ProcIo,
    /// Reaped, not yet published.
    reaped: Option<Exit>,
    /// The terminal output has drained (or there is none).
    io_drained: bool,
    /// Published: the process is stopped for containerd.
    pub exit: Option<Exit>,
}

impl Proc {
    /// A process with these streams.
    pub fn new(pid: i32, paths: IoPaths, io: ProcIo) -> Self {
        Self {
            pid,
            paths,
            io,
            ..Self::default()
        }
    }

    /// Started and not yet published as exited.
    pub fn running(&self) -> bool {
        self.pid > 0 && self.exit.is_none()
    }
}

/// One container.
#[derive(Debug)]
pub struct Task {
    /// The bundle directory.
    pub bundle: PathBuf,
    /// skiff-core's state root for this container.
    pub root: PathBuf,
    /// Whether the shim mounted `bundle/rootfs` (and unmounts it on delete).
    pub mounted_rootfs: bool,
    /// The init process.
    pub init: Proc,
    /// Exec processes by exec id.
    pub execs: HashMap<String, Proc>,
    /// The OOM watch of its memory cgroup, finished on Delete.
    pub oom: Option<crate::oom::OomWatch>,
}

impl Task {
    /// The process `exec_id` ("" for init).
    pub fn proc(&self, exec_id: &str) -> Option<&Proc> {
        if exec_id.is_empty() {
            Some(&self.init)
        } else {
            self.execs.get(exec_id)
        }
    }

    /// The process `exec_id` ("" for init), mutable.
    pub fn proc_mut(&mut self, exec_id: &str) -> Option<&mut Proc> {
        if exec_id.is_empty() {
            Some(&mut self.init)
        } else {
            self.execs.get_mut(exec_id)
        }
    }
}

/// Every task of this shim.
pub struct Tasks {
    map: Mutex<HashMap<String, Task>>,
    changed: Condvar,
    events: Events,
}

impl Tasks {
    /// An empty table publishing to `events`.
    pub fn new(events: Events) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            changed: Condvar::new(),
            events,
        }
    }

    /// The event queue.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Lock the table.
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Task>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait until `done` holds for the table; `None` if `done` says so by
    /// returning `None` (the process is gone).
    pub fn wait_until<T>(
        &self,
        mut done: impl FnMut(&HashMap<String, Task>) -> Option<Option<T>>,
    ) -> Option<T> {
        let mut map = self.lock();
        loop {
            match done(&map) {
                Some(result) => return result,
                None => map = self.changed.wait(map).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// Wake every waiter.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Exits from the reaper: (pid, status).
    pub fn on_exits(self: &Arc<Self>, exits: Vec<(i32, u32)>) {
        let mut map = self.lock();
        for (pid, status) in exits {
            let Some((cid, exec_id)) = find_pid(&map, pid) else {
                continue; // an orphan that was reparented to us
            };
            let Some(task) = map.get_mut(&cid) else {
                continue;
            };
            let Some(proc) = task.proc_mut(&exec_id) else {
                continue;
            };
            proc.reaped = Some(Exit::now(status));
            match proc.io.out_done.take() {
                Some(rx) => {
                    // Publish once the pty output has reached containerd.
                    let me = Arc::clone(self);
                    let (c, e) = (cid.clone(), exec_id.clone());
                    let spawned = std::thread::Builder::new()
                        .name("drain".into())
                        .stack_size(64 * 1024)
                        .spawn(move || {
                            let _ = rx.recv_timeout(IO_DRAIN);
                            let mut map = me.lock();
                            if let Some(p) = map.get_mut(&c).and_then(|t| t.proc_mut(&e)) {
                                p.io_drained = true;
                            }
                            me.settle(&mut map, &c);
                        });
                    if spawned.is_err() {
                        proc.io_drained = true;
                    }
                }
                None => proc.io_drained = true,
            }
            if exec_id.is_empty() {
                // The container is gone: so are its exec processes (if they
                // shared our pid namespace, nothing else would end them).
                for p in task
                    .execs
                    .values()
                    .filter(|p| p.running() && p.reaped.is_none())
                {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p.pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            self.settle(&mut map, &cid);
        }
    }

    /// Record an exit that skiff-core reaped itself (a created container
    /// that `delete` killed), unless the reaper saw it.
    pub fn exited_elsewhere(&self, map: &mut HashMap<String, Task>, cid: &str, status: u32) {
        if let Some(task) = map.get_mut(cid) {
            if task.init.exit.is_none() && task.init.reaped.is_none() {
                task.init.reaped = Some(Exit::now(status));
                task.init.io_drained = true;
            }
        }
        self.settle(map, cid);
    }

    /// Publish what can be published for task `cid`: exec exits first, the
    /// init's last, once no exec process runs.
    pub fn settle(&self, map: &mut HashMap<String, Task>, cid: &str) {
        let Some(task) = map.get_mut(cid) else {
            return;
        };
        for (exec_id, p) in task.execs.iter_mut() {
            if p.exit.is_none() && p.io_drained {
                if let Some(exit) = p.reaped.take() {
                    self.publish_exit(cid, exec_id, p, exit);
                }
            }
        }
        let execs_running = task.execs.values().any(Proc::running);
        let init = &mut task.init;
        if init.exit.is_none() && init.io_drained && !execs_running {
            if let Some(exit) = init.reaped.take() {
                self.publish_exit(cid, cid, init, exit);
            }
        }
        self.notify();
    }

    fn publish_exit(&self, cid: &str, id: &str, p: &mut Proc, exit: Exit) {
        self.events.send(
            TASK_EXIT_EVENT_TOPIC,
            TaskExit {
                container_id: cid.to_owned(),
                id: id.to_owned(),
                pid: p.pid as u32,
                exit_status: exit.status,
                exited_at: Some(exit.at.clone()).into(),
                ..Default::default()
            },
        );
        if let Some(fifo) = p.io.stdin_fifo.take() {
            crate::stdio::release_stdin(&fifo);
        }
        p.exit = Some(exit);
    }
}

fn find_pid(map: &HashMap<String, Task>, pid: i32) -> Option<(String, String)> {
    for (cid, task) in map {
        if task.init.pid == pid && task.init.exit.is_none() && task.init.reaped.is_none() {
            return Some((cid.clone(), String::new()));
        }
        for (exec_id, p) in &task.execs {
            if p.pid == pid && p.exit.is_none() && p.reaped.is_none() {
                return Some((cid.clone(), exec_id.clone()));
            }
        }
    }
    None
}
