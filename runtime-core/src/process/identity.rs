//! The user process's identity: umask, groups, uid/gid, capabilities and
//! no_new_privs, set last before exec, in the order the kernel requires.

use caps::CapSet;
use nix::sys::stat::Mode;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::Process;

use super::capabilities::convert;

/// Why the identity could not be set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    #[error("process.user.additionalGids: setgroups: {0}")]
    Groups(nix::Error),
    #[error("process.user: set gid {gid}: {source}")]
    Gid { gid: u32, source: nix::Error },
    #[error("process.user: set uid {uid}: {source}")]
    Uid { uid: u32, source: nix::Error },
    #[error("process.capabilities.{set}: unknown capability {name}")]
    UnknownCapability { set: &'static str, name: String },
    #[error("process.capabilities.{set}: {source}")]
    Capability { set: &'static str, source: caps::errors::CapsError },
    #[error("{op}: {source}")]
    Prctl { op: &'static str, source: std::io::Error },
}

fn prctl(op: &'static str, option: libc::c_int, arg: libc::c_ulong) -> Result<(), IdentityError> {
    // SAFETY: these prctl options take integer arguments and touch no memory.
    if unsafe { libc::prctl(option, arg, 0, 0, 0) } != 0 {
        return Err(IdentityError::Prctl { op, source: std::io::Error::last_os_error() });
    }
    Ok(())
}

/// Set the identity of `p` on the calling process.
pub(crate) fn finish_identity(p: &Process) -> Result<(), IdentityError> {
    let user = p.user();
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask as libc::mode_t));
    }
    let gids: Vec<Gid> = user.additional_gids().iter().flatten().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&gids).map_err(IdentityError::Groups)?;
    let spec_caps = p.capabilities().as_ref();
    let get = |set: &'static str, pick: fn(&oci_spec::runtime::LinuxCapabilities) -> &Option<_>| {
        convert(spec_caps.map(pick).unwrap_or(&None))
            .map_err(|name| IdentityError::UnknownCapability { set, name })
    };
    let bounding = get("bounding", |c| c.bounding())?;
    let effective = get("effective", |c| c.effective())?;
    let permitted = get("permitted", |c| c.permitted())?;
    let inheritable = get("inheritable", |c| c.inheritable())?;
    let ambient = get("ambient", |c| c.ambient())?;
    let capset = |set: &'static str| move |source| IdentityError::Capability { set, source };
    for cap in caps::all() {
        if !bounding.contains(&cap) {
            match caps::drop(None, CapSet::Bounding, cap) {
                // A capability this kernel does not have is not in the bounding set.
                Err(_) if !caps::runtime::thread_all_supported().contains(&cap) => {}
                other => other.map_err(capset("bounding"))?,
            }
        }
    }
    // Raised while CAP_SETPCAP is still effective; kept across the uid change.
    caps::set(None, CapSet::Inheritable, &inheritable).map_err(capset("inheritable"))?;
    prctl("prctl(PR_SET_KEEPCAPS)", libc::PR_SET_KEEPCAPS, 1)?;
    let (uid, gid) = (user.uid(), user.gid());
    setresgid(Gid::from_raw(gid), Gid::from_raw(gid), Gid::from_raw(gid))
        .map_err(|source| IdentityError::Gid { gid, source })?;
    setresuid(Uid::from_raw(uid), Uid::from_raw(uid), Uid::from_raw(uid))
        .map_err(|source| IdentityError::Uid { uid, source })?;
    prctl("prctl(PR_SET_KEEPCAPS)", libc::PR_SET_KEEPCAPS, 0)?;
    caps::set(None, CapSet::Effective, &permitted.intersection(&effective).copied().collect())
        .map_err(capset("effective"))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(capset("permitted"))?;
    caps::set(None, CapSet::Effective, &effective).map_err(capset("effective"))?;
    caps::clear(None, CapSet::Ambient).map_err(capset("ambient"))?;
    // The kernel allows an ambient capability only when it is both permitted
    // and inheritable; runc's own default spec lists ambient capabilities
    // without inheritable ones, so the others are skipped, as runc does.
    for cap in ambient.iter().filter(|c| permitted.contains(c) && inheritable.contains(c)).copied() {
        caps::raise(None, CapSet::Ambient, cap).map_err(capset("ambient"))?;
    }
    if p.no_new_privileges().unwrap_or(false) {
        prctl("prctl(PR_SET_NO_NEW_PRIVS)", libc::PR_SET_NO_NEW_PRIVS, 1)?;
    }
    Ok(())
}
