//! Semantic checks of the spec's `process` object (also an exec's process).

use oci_spec::runtime::Process;

use super::SpecError;
use crate::process::{self, CapSets, EnvError, RlimitError};

fn env_error(e: EnvError) -> SpecError {
    let index = match &e {
        EnvError::NoEquals { index, .. }
        | EnvError::EmptyName { index, .. }
        | EnvError::Nul { index, .. } => *index,
    };
    let message = e.to_string();
    let message = message
        .split_once(": ")
        .map_or(message.as_str(), |(_, m)| m);
    SpecError::invalid(format!("process.env[{index}]"), message)
}

fn rlimit_error(e: RlimitError) -> SpecError {
    let index = match &e {
        RlimitError::SoftAboveHard { index, .. }
        | RlimitError::Duplicate { index, .. }
        | RlimitError::AboveHard { index, .. }
        | RlimitError::Set { index, .. } => *index,
    };
    let message = e.to_string();
    let message = message
        .split_once(": ")
        .map_or(message.as_str(), |(_, m)| m);
    SpecError::invalid(format!("process.rlimits[{index}]"), message)
}

/// The message of an LSM error without its leading field name.
pub(crate) fn lsm_message(e: &process::lsm::LsmError) -> String {
    let text = e.to_string();
    text.strip_prefix(e.field())
        .map(|t| t.trim_start_matches(": ").to_owned())
        .unwrap_or(text)
}

/// Check `process` before anything is created: every rule names its field.
pub(crate) fn validate_process(p: &Process) -> Result<(), SpecError> {
    match p.args() {
        None => {
            return Err(SpecError::invalid(
                "process.args",
                "missing: name the program to run",
            ))
        }
        Some(a) if a.is_empty() => {
            return Err(SpecError::invalid(
                "process.args",
                "empty: name the program to run",
            ))
        }
        Some(a) if a[0].is_empty() => return Err(SpecError::invalid("process.args[0]", "empty")),
        Some(_) => {}
    }
    if !p.cwd().is_absolute() {
        return Err(SpecError::invalid(
            "process.cwd",
            format!(
                "{:?} is not an absolute path",
                p.cwd().display().to_string()
            ),
        ));
    }
    process::check_env(p.env().as_deref().unwrap_or_default()).map_err(env_error)?;
    process::check_rlimits(p.rlimits().as_deref().unwrap_or_default()).map_err(rlimit_error)?;
    if let Some(adj) = p.oom_score_adj() {
        if !process::OOM_SCORE_ADJ.contains(&adj) {
            return Err(SpecError::invalid(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    CapSets::from_spec(p.capabilities().as_ref()).map_err(|e| {
        SpecError::invalid(
            format!("process.capabilities.{}", e.set),
            format!("unknown capability {}", e.name),
        )
    })?;
    process::lsm::check(p, None).map_err(|e| SpecError::invalid(e.field(), lsm_message(&e)))?;
    process::check_supported_process(p).map_err(|e| {
        SpecError::invalid(e.field, format!("{} is not supported by skiff yet", e.what))
    })?;
    Ok(())
}
