//! The reference: the system libseccomp (libseccomp-dev), driven the way
//! runc drives it (`matchCall`), and its program taken with
//! `seccomp_export_bpf`. Built only for the tests (the differential proof)
//! and with the `bench` feature (the compile-time comparison in benches/);
//! the skiff binary never links it.

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;

use libc::sock_filter;
use nix::sys::memfd::{memfd_create, MFdFlags};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as Act};

/// Why libseccomp did not produce a program.
#[derive(Debug, thiserror::Error)]
pub enum LibseccompError {
    /// `seccomp_init` returned no context.
    #[error("libseccomp: seccomp_init failed")]
    Init,
    /// `seccomp_arch_add` failed.
    #[error("libseccomp: seccomp_arch_add({token:#x}): {rc}")]
    ArchAdd {
        /// The architecture token.
        token: u32,
        /// The negative errno returned.
        rc: i32,
    },
    /// A syscall name with a NUL byte.
    #[error("libseccomp: syscall name {0:?} contains a NUL byte")]
    Name(String),
    /// `seccomp_rule_add_array` failed.
    #[error("libseccomp: seccomp_rule_add({name}, {action:#x}): {rc}")]
    RuleAdd {
        /// The syscall name.
        name: String,
        /// The action value.
        action: u32,
        /// The negative errno returned.
        rc: i32,
    },
    /// The memfd that receives the program could not be made or read.
    #[error("libseccomp: program buffer (memfd): {0}")]
    Buffer(#[source] std::io::Error),
    /// `seccomp_export_bpf` failed.
    #[error("libseccomp: seccomp_export_bpf: {0}")]
    Export(i32),
}

#[repr(C)]
struct ScmpArgCmp {
    arg: c_uint,
    op: c_int,
    datum_a: u64,
    datum_b: u64,
}

#[cfg(feature = "bench")]
#[repr(C)]
struct ScmpVersion {
    major: c_uint,
    minor: c_uint,
    micro: c_uint,
}

#[link(name = "seccomp")]
extern "C" {
    fn seccomp_init(def_action: u32) -> *mut c_void;
    fn seccomp_release(ctx: *mut c_void);
    fn seccomp_arch_add(ctx: *mut c_void, arch_token: u32) -> c_int;
    fn seccomp_attr_set(ctx: *mut c_void, attr: c_int, value: u32) -> c_int;
    fn seccomp_syscall_resolve_name(name: *const c_char) -> c_int;
    #[cfg(test)]
    fn seccomp_syscall_resolve_name_arch(arch_token: u32, name: *const c_char) -> c_int;
    fn seccomp_rule_add_array(
        ctx: *mut c_void,
        action: u32,
        syscall: c_int,
        arg_cnt: c_uint,
        arg_array: *const ScmpArgCmp,
    ) -> c_int;
    fn seccomp_export_bpf(ctx: *mut c_void, fd: c_int) -> c_int;
    #[cfg(feature = "bench")]
    fn seccomp_version() -> *const ScmpVersion;
}

const SCMP_FLTATR_CTL_NNP: c_int = 3;
const SCMP_FLTATR_CTL_OPTIMIZE: c_int = 8;
const NR_SCMP_ERROR: c_int = -1;

/// libseccomp's number for `name` on the architecture `token`, if any
/// (pseudo numbers, negative, count as none).
#[cfg(test)]
pub(crate) fn resolve(token: u32, name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid C string for the call.
    let nr = unsafe { seccomp_syscall_resolve_name_arch(token, name.as_ptr()) };
    u32::try_from(nr).ok()
}

/// Whether libseccomp knows `name` on the architecture `token` only as a
/// pseudo syscall (a negative number): a call it multiplexes, such as
/// x86's socket calls, which it filters as `socketcall` with a condition
/// on the call number.
#[cfg(test)]
pub(crate) fn is_pseudo(token: u32, name: &str) -> bool {
    let Ok(name) = CString::new(name) else {
        return false;
    };
    // SAFETY: `name` is a valid C string for the call.
    let nr = unsafe { seccomp_syscall_resolve_name_arch(token, name.as_ptr()) };
    nr < NR_SCMP_ERROR
}

/// The linked library's version, `major.minor.micro`.
#[cfg(feature = "bench")]
pub(crate) fn version() -> Option<String> {
    // SAFETY: no arguments; the result is null or points at a static struct
    // inside the library.
    let v = unsafe { seccomp_version() };
    // SAFETY: checked for null; the struct lives as long as the library.
    let v = unsafe { v.as_ref() }?;
    Some(format!("{}.{}.{}", v.major, v.minor, v.micro))
}

/// runc's getAction.
fn action(act: Act, errno: Option<u32>) -> u32 {
    let e = errno.unwrap_or(1) & 0xffff;
    match act {
        Act::ScmpActKill | Act::ScmpActKillThread => 0,
        Act::ScmpActKillProcess => 0x8000_0000,
        Act::ScmpActTrap => 0x0003_0000,
        Act::ScmpActErrno => 0x0005_0000 | e,
        Act::ScmpActTrace => 0x7ff0_0000 | e,
        Act::ScmpActNotify => 0x7fc0_0000,
        Act::ScmpActLog => 0x7ffc_0000,
        Act::ScmpActAllow => 0x7fff_0000,
    }
}

struct Ctx(*mut c_void);

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: the context came from seccomp_init and is released once.
        unsafe { seccomp_release(self.0) }
    }
}

/// Build `s` with libseccomp as runc does (native arch = the host) and
/// export the program (through a memfd: libseccomp 2.5 has no in-memory
/// export).
pub(crate) fn compile(s: &LinuxSeccomp) -> Result<Vec<sock_filter>, LibseccompError> {
    let default = action(s.default_action(), s.default_errno_ret());
    // SAFETY: seccomp_init takes a plain action value.
    let ctx = Ctx(unsafe { seccomp_init(default) });
    if ctx.0.is_null() {
        return Err(LibseccompError::Init);
    }
    for a in s.architectures().iter().flatten() {
        let token = *a as u32;
        if token == 0 {
            continue;
        }
        // SAFETY: ctx is live; -EEXIST (the native arch) is fine.
        let rc = unsafe { seccomp_arch_add(ctx.0, token) };
        if rc < 0 && rc != -libc::EEXIST {
            return Err(LibseccompError::ArchAdd { token, rc });
        }
    }
    let calls = s.syscalls().as_deref().unwrap_or_default();
    // SAFETY: ctx is live; plain attribute values.
    unsafe {
        seccomp_attr_set(ctx.0, SCMP_FLTATR_CTL_NNP, 0);
        if calls.len() > 32 {
            seccomp_attr_set(ctx.0, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        }
    }
    for call in calls {
        let act = action(call.action(), call.errno_ret());
        if act == default {
            continue;
        }
        let conds: Vec<ScmpArgCmp> = call
            .args()
            .iter()
            .flatten()
            .map(|a| ScmpArgCmp {
                arg: a.index() as c_uint,
                op: a.op() as c_int,
                datum_a: a.value(),
                datum_b: a.value_two().unwrap_or(0),
            })
            .collect();
        let mut seen = [0u32; 6];
        for c in &conds {
            if let Some(n) = seen.get_mut(c.arg as usize) {
                *n += 1;
            }
        }
        let groups: Vec<&[ScmpArgCmp]> = if seen.iter().any(|n| *n > 1) {
            conds.chunks(1).collect()
        } else {
            vec![&conds[..]]
        };
        for name in call.names() {
            let cname =
                CString::new(name.as_str()).map_err(|_| LibseccompError::Name(name.clone()))?;
            // SAFETY: a valid C string.
            let nr = unsafe { seccomp_syscall_resolve_name(cname.as_ptr()) };
            if nr == NR_SCMP_ERROR {
                continue;
            }
            for g in &groups {
                // SAFETY: ctx is live; `g` points at `g.len()` conditions.
                let rc = unsafe {
                    seccomp_rule_add_array(ctx.0, act, nr, g.len() as c_uint, g.as_ptr())
                };
                if rc < 0 {
                    return Err(LibseccompError::RuleAdd {
                        name: name.clone(),
                        action: act,
                        rc,
                    });
                }
            }
        }
    }
    let fd = memfd_create(c"libseccomp-bpf", MFdFlags::MFD_CLOEXEC)
        .map_err(|e| LibseccompError::Buffer(e.into()))?;
    let mut f = File::from(fd);
    // SAFETY: ctx is live and the fd is open for writing.
    let rc = unsafe { seccomp_export_bpf(ctx.0, f.as_raw_fd()) };
    if rc < 0 {
        return Err(LibseccompError::Export(rc));
    }
    let mut bytes = Vec::new();
    f.rewind().map_err(LibseccompError::Buffer)?;
    f.read_to_end(&mut bytes).map_err(LibseccompError::Buffer)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}
