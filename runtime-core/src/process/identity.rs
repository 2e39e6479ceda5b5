//! The user process's identity: umask, groups, uid/gid, capabilities and
//! no_new_privs, set last before exec, in the order the kernel requires
//! (runc's finalizeNamespace): bounding set while still privileged, keep
//! capabilities across the uid change, then the other sets.

use caps::CapSet;
use nix::sys::stat::Mode;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::Process;
use std::os::fd::OwnedFd;

use super::capabilities::{CapSets, UnknownCapability};

/// Why the identity could not be set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    #[error(transparent)]
    Seccomp(crate::seccomp::SeccompError),
    /// Handing the NOTIFY listener to the seccomp agent.
    #[error(transparent)]
    Listener(crate::seccomp::SeccompError),
    #[error("process.user.additionalGids: setgroups: {0}")]
    Groups(nix::Error),
    #[error(
        "process.user.additionalGids: setgroups is denied in this user namespace \
         (a rootless container mapping only the caller's gid; map more gids through \
         newgidmap with linux.gidMappings to set groups)"
    )]
    GroupsDenied,
    #[error("process.user.gid {gid}: setresgid: {source}")]
    Gid { gid: u32, source: nix::Error },
    #[error("process.user.uid {uid}: setresuid: {source}")]
    Uid { uid: u32, source: nix::Error },
    #[error(transparent)]
    UnknownCapability(#[from] UnknownCapability),
    #[error(transparent)]
    Lsm(#[from] super::lsm::LsmError),
    #[error("process.capabilities.{set}: {source}")]
    Capability {
        set: &'static str,
        source: caps::errors::CapsError,
    },
    #[error("{op}: {source}")]
    Prctl {
        op: &'static str,
        source: std::io::Error,
    },
}

fn prctl(op: &'static str, option: libc::c_int, arg: libc::c_ulong) -> Result<(), IdentityError> {
    // SAFETY: these prctl options take integer arguments and touch no memory.
    if unsafe { libc::prctl(option, arg, 0, 0, 0) } != 0 {
        return Err(IdentityError::Prctl {
            op,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

fn capset(set: &'static str) -> impl Fn(caps::errors::CapsError) -> IdentityError {
    move |source| IdentityError::Capability { set, source }
}

/// Drop from the bounding set every capability not in `keep`.
fn apply_bounding(keep: &CapSets) -> Result<(), IdentityError> {
    let supported = caps::runtime::thread_all_supported();
    for cap in caps::all() {
        if !keep.bounding.contains(&cap) && supported.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(capset("bounding"))?;
        }
    }
    Ok(())
}

/// Whether setgroups(2) is denied in this process's user namespace
/// (`/proc/self/setgroups` reads `deny`, through the runtime's procfs).
fn setgroups_denied() -> bool {
    use std::io::Read;
    let Ok(fd) = crate::procfs::open_beneath(
        std::path::Path::new("self/setgroups"),
        nix::fcntl::OFlag::O_RDONLY,
    ) else {
        return false;
    };
    let mut text = String::new();
    let _ = std::fs::File::from(fd).read_to_string(&mut text);
    text.trim() == "deny"
}

/// Set the identity of `p` on the calling process, loading `seccomp` on the
/// way. A NOTIFY listener goes to `on_listener` right after the filter is
/// loaded, before any other syscall of the runtime: from then on the
/// filter may hold the runtime's own calls (setresuid, capset, ...) until
/// the agent answers them, which it can only do once it has the listener.
pub(crate) fn finish_identity(
    p: &Process,
    seccomp: Option<&crate::seccomp::Program>,
    on_listener: &mut dyn FnMut(OwnedFd) -> Result<(), crate::seccomp::SeccompError>,
) -> Result<(), IdentityError> {
    let nnp = p.no_new_privileges().unwrap_or(false);
    let mut load = |prog| -> Result<(), IdentityError> {
        if let Some(fd) = crate::seccomp::install(prog).map_err(IdentityError::Seccomp)? {
            on_listener(fd).map_err(IdentityError::Listener)?;
        }
        Ok(())
    };
    // The exec labels first, while the process may still write its attrs.
    super::lsm::apply_exec_labels(p)?;
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
    // before the capabilities go, as runc does.
    if let (Some(prog), false) = (seccomp, nnp) {
        load(prog)?;
    }
    let user = p.user();
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask as libc::mode_t));
    }
    let sets = CapSets::from_spec(p.capabilities().as_ref())?;
    apply_bounding(&sets)?;
    let gids: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    if setgroups_denied() {
        // A rootless container whose gid map the runtime wrote itself: the
        // kernel refuses setgroups(2) for good, and there are no groups to
        // drop (runc skips it too).
        if !gids.is_empty() {
            return Err(IdentityError::GroupsDenied);
        }
    } else {
        setgroups(&gids).map_err(IdentityError::Groups)?;
    }
    // Raised while CAP_SETPCAP is still effective; kept across the uid change.
    caps::set(None, CapSet::Inheritable, &sets.inheritable).map_err(capset("inheritable"))?;
    prctl("prctl(PR_SET_KEEPCAPS)", libc::PR_SET_KEEPCAPS, 1)?;
    let (uid, gid) = (user.uid(), user.gid());
    let g = Gid::from_raw(gid);
    setresgid(g, g, g).map_err(|source| IdentityError::Gid { gid, source })?;
    let u = Uid::from_raw(uid);
    setresuid(u, u, u).map_err(|source| IdentityError::Uid { uid, source })?;
    prctl("prctl(PR_SET_KEEPCAPS)", libc::PR_SET_KEEPCAPS, 0)?;
    // Effective must stay within permitted at every step.
    let both = sets
        .permitted
        .intersection(&sets.effective)
        .copied()
        .collect();
    caps::set(None, CapSet::Effective, &both).map_err(capset("effective"))?;
    caps::set(None, CapSet::Permitted, &sets.permitted).map_err(capset("permitted"))?;
    caps::set(None, CapSet::Effective, &sets.effective).map_err(capset("effective"))?;
    caps::clear(None, CapSet::Ambient).map_err(capset("ambient"))?;
    for cap in sets.raisable_ambient() {
        caps::raise(None, CapSet::Ambient, cap).map_err(capset("ambient"))?;
    }
    if nnp {
        prctl("prctl(PR_SET_NO_NEW_PRIVS)", libc::PR_SET_NO_NEW_PRIVS, 1)?;
        // With no_new_privs, as close to execve as possible.
        if let Some(prog) = seccomp {
            load(prog)?;
        }
    }
    Ok(())
}
