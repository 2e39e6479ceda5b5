//! Update end to end: ctr 1.6 has no update command, so the test calls the
//! skiff shim's `containerd.task.v2.Task/Update` itself over ttrpc on the
//! shim's socket, with the OCI `LinuxResources` as containerd sends them
//! (JSON in an Any), and reads the container's cgroup files.

use std::path::PathBuf;

use containerd_shim_protos::api::UpdateTaskRequest;
use containerd_shim_protos::protobuf::well_known_types::any::Any;
use containerd_shim_protos::protobuf::MessageField;
use containerd_shim_protos::ttrpc::context::Context;
use containerd_shim_protos::{Client, TaskClient};

use super::harness::{assert_clean, Containerd};

/// The type URL containerd's typeurl gives `specs.LinuxResources`.
const RESOURCES_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

/// The v1 cgroup directory of `pid` for `controller`.
fn cgroup_of(pid: i32, controller: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("/proc/PID/cgroup");
    text.lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, names, path) = (f.next()?, f.next()?, f.next()?);
            names
                .split(',')
                .any(|n| n == controller)
                .then(|| PathBuf::from(format!("/sys/fs/cgroup/{names}{path}")))
        })
        .unwrap_or_else(|| panic!("no {controller} cgroup for {pid}: {text}"))
}

fn read(dir: &std::path::Path, file: &str) -> String {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

fn update(client: &TaskClient, id: &str, json: &str) -> Result<(), String> {
    let mut any = Any::new();
    any.type_url = RESOURCES_TYPE.into();
    any.value = json.as_bytes().to_vec();
    let req = UpdateTaskRequest {
        id: id.into(),
        resources: MessageField::some(any),
        ..Default::default()
    };
    client
        .update(Context::default(), &req)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn update_over_ttrpc_changes_the_cgroup_limits() {
    let cd = Containerd::start();
    let id = "upd";
    cd.run_sleeper(&[], id);
    let pid = cd.task_pid(id);
    let pids_dir = cgroup_of(pid, "pids");
    let memory_dir = cgroup_of(pid, "memory");
    // The new values differ from what the container started with.
    assert_ne!(read(&pids_dir, "pids.max"), "42");
    assert_ne!(read(&memory_dir, "memory.limit_in_bytes"), "50331648");

    let sockets = cd.shim_sockets();
    assert_eq!(sockets.len(), 1, "the shim's socket: {sockets:?}");
    let address = format!("unix://{}", sockets[0].display());
    let client = TaskClient::new(Client::connect(&address).expect("connect to the shim"));

    // As containerd marshals specs.LinuxResources (Go's encoding/json).
    update(
        &client,
        id,
        r#"{"memory":{"limit":50331648},"pids":{"limit":42}}"#,
    )
    .unwrap_or_else(|e| panic!("update: {e}\n{}", cd.log()));
    assert_eq!(read(&pids_dir, "pids.max"), "42");
    assert_eq!(read(&memory_dir, "memory.limit_in_bytes"), "50331648");

    // A bad value is refused, naming the field; nothing changes.
    let err = update(&client, id, r#"{"pids":{"limit":"many"}}"#).expect_err("bad pids limit");
    assert!(err.contains("resources"), "{err}");
    let err = update(&client, "no-such-task", r#"{"pids":{"limit":7}}"#).expect_err("no task");
    assert!(err.contains("not found"), "{err}");
    assert_eq!(read(&pids_dir, "pids.max"), "42");
    assert_eq!(cd.task_status(id).as_deref(), Some("RUNNING"));
    drop(client);

    cd.kill_and_remove(id);
    assert_clean(&cd);
}
