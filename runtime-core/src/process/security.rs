//! The process's settings skiff does not apply yet: the scheduling fields of
//! `process`. A spec that sets one is refused before anything is created:
//! running the process without the priority it asked for would be silently
//! different. (LSM labels are `lsm`'s: applied when the kernel runs that
//! LSM, refused when it does not.)

use oci_spec::runtime::Process;

/// A field skiff cannot honour.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {what} is not supported by skiff yet")]
pub(crate) struct Unsupported {
    pub(crate) field: &'static str,
    pub(crate) what: &'static str,
}

fn refuse(field: &'static str, what: &'static str) -> Result<(), Unsupported> {
    Err(Unsupported { field, what })
}

/// Refuse the process fields above when set (an empty string is unset).
pub(crate) fn check_process(p: &Process) -> Result<(), Unsupported> {
    if p.scheduler().is_some() {
        return refuse("process.scheduler", "a scheduling policy");
    }
    if p.io_priority().is_some() {
        return refuse("process.ioPriority", "an I/O priority");
    }
    if p.exec_cpu_affinity().is_some() {
        return refuse("process.execCPUAffinity", "a CPU affinity");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: &str) -> Process {
        serde_json::from_str(json).expect("process")
    }

    #[test]
    fn refuses_what_is_not_applied() {
        let cases = [(
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"ioPriority":{"class":"IOPRIO_CLASS_IDLE"}}"#,
            "process.ioPriority",
        )];
        for (json, field) in cases {
            let e = check_process(&process(json)).expect_err(field);
            assert_eq!(e.field, field);
            assert!(e.to_string().starts_with(field), "{e}");
        }
        let empty =
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"","selinuxLabel":""}"#;
        assert!(check_process(&process(empty)).is_ok());
        let default = crate::spec::default_spec()
            .process()
            .clone()
            .expect("process");
        assert!(check_process(&default).is_ok());
    }
}
