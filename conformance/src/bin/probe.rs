//! skiff-probe: a static binary copied into container bundles that reports, as JSON on
//! stdout, what a process sees from inside the container.
//!
//! Sub-commands:
//!
//! ```text
//! probe [info]              everything below, as one JSON object
//! probe exit N              exit with status N
//! probe sleep SECS          sleep, then exit 0
//! probe write-file PATH [S] write S (default "probe") to PATH; JSON {"ok":..,"error":..}
//! probe mkdir P...          for each path: one mkdir, then {"ok","errno","exists"}
//! probe paths P...          for each path: exists, readable, empty, writable
//! probe cat PATH            copy PATH to stdout
//! probe sysctl NAME...      values of /proc/sys/NAME (dots become slashes)
//! probe fds                 only the open file descriptors
//! probe clocks              CLOCK_MONOTONIC and CLOCK_BOOTTIME in seconds (time namespaces)
//! probe alloc MB            allocate and touch MB MiB (a memory limit OOM-kills it); JSON
//!                           {"allocated_mb":..} once done
//! probe fork N              fork N children that wait; JSON {"forked":..,"error":..}; the
//!                           children are killed and reaped before it exits (pids limits)
//! probe spin SECS           burn CPU for SECS seconds (CPU quota throttling)
//! probe hunt-exe SECS       CVE-2019-5736: for SECS seconds hold open the exe of every
//!                           other process whose exe is not busybox or the probe, then
//!                           try to append to each through /proc/self/fd/N
//! ```
//!
//! The probe never panics on what it reads: anything it cannot read is reported as a
//! JSON `null` or an `"error"` string, so the test that reads the report decides.
//!
//! It depends on nothing but std, so that `build.rs` can compile this same file with a
//! plain `rustc -C target-feature=+crt-static` into a static binary (cargo cannot give one
//! binary of a workspace its own rustflags). The few libc calls std lacks are declared in
//! `sys` below, and a small JSON writer lives in `json` below.

use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use json::{Map, Value};

/// Names of the resource limits, indexed by their `RLIMIT_*` number on Linux.
const RLIMITS: [(&str, u32); 16] = [
    ("RLIMIT_CPU", 0),
    ("RLIMIT_FSIZE", 1),
    ("RLIMIT_DATA", 2),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_CORE", 4),
    ("RLIMIT_RSS", 5),
    ("RLIMIT_NPROC", 6),
    ("RLIMIT_NOFILE", 7),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_AS", 9),
    ("RLIMIT_LOCKS", 10),
    ("RLIMIT_SIGPENDING", 11),
    ("RLIMIT_MSGQUEUE", 12),
    ("RLIMIT_NICE", 13),
    ("RLIMIT_RTPRIO", 14),
    ("RLIMIT_RTTIME", 15),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        None | Some("info") => print_json(&info()),
        Some("exit") => args.get(1).and_then(|s| s.parse::<i32>().ok()).unwrap_or(1),
        Some("sleep") => {
            let secs = args
                .get(1)
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(1.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.0)));
            0
        }
        Some("write-file") => match args.get(1) {
            Some(path) => {
                let content = args.get(2).map(String::as_str).unwrap_or("probe");
                let res = std::fs::write(path, content);
                let ok = res.is_ok();
                print_json(&obj! {
                    "path" => path,
                    "ok" => ok,
                    "error" => res.err().map(|e| e.to_string()),
                });
                if ok {
                    0
                } else {
                    1
                }
            }
            None => usage(),
        },
        Some("mkdir") => print_json(&Value::Array(
            args[1..]
                .iter()
                .map(|path| {
                    // One mkdir syscall per path, then whether the directory is there.
                    let res = std::fs::create_dir(path);
                    obj! {
                        "path" => path,
                        "ok" => res.is_ok(),
                        "errno" => res.err().and_then(|e| e.raw_os_error()),
                        "exists" => Path::new(path).is_dir(),
                    }
                })
                .collect(),
        )),
        Some("paths") => print_json(&Value::Array(
            args[1..].iter().map(|p| path_report(p)).collect(),
        )),
        Some("cat") => match args.get(1) {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let mut out = std::io::stdout().lock();
                    if out.write_all(&bytes).and_then(|()| out.flush()).is_ok() {
                        0
                    } else {
                        1
                    }
                }
                Err(e) => {
                    eprintln!("probe: cat {path}: {e}");
                    1
                }
            },
            None => usage(),
        },
        Some("sysctl") => {
            let mut map = Map::new();
            for name in &args[1..] {
                map.insert(name.clone(), sysctl(name));
            }
            print_json(&Value::Object(map))
        }
        Some("fds") => print_json(&fds()),
        Some("clocks") => print_json(&clocks()),
        Some("alloc") => match args.get(1).and_then(|s| s.parse::<usize>().ok()) {
            Some(mb) => alloc(mb),
            None => usage(),
        },
        Some("fork") => match args.get(1).and_then(|s| s.parse::<usize>().ok()) {
            Some(n) => fork_children(n),
            None => usage(),
        },
        Some("spin") => match args.get(1).and_then(|s| s.parse::<f64>().ok()) {
            Some(secs) => {
                let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
                let mut x: u64 = 0;
                while std::time::Instant::now() < end {
                    for i in 0..10_000u64 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                    }
                }
                0
            }
            None => usage(),
        },
        Some("hunt-exe") => {
            let secs = args
                .get(1)
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(1.0);
            print_json(&hunt_exe(secs))
        }
        Some(_) => usage(),
    };
    std::process::exit(code);
}

fn usage() -> i32 {
    eprintln!(
        "usage: probe [info | exit N | sleep SECS | write-file PATH [TEXT] | paths P... | \
         cat PATH | sysctl NAME... | fds | clocks | alloc MB | fork N | spin SECS | hunt-exe SECS]"
    );
    2
}

/// Allocate and touch `mb` MiB, one MiB at a time, then report.
fn alloc(mb: usize) -> i32 {
    let mut chunks: Vec<Vec<u8>> = Vec::with_capacity(mb);
    for _ in 0..mb {
        chunks.push(vec![1u8; 1 << 20]);
    }
    let total: usize = chunks
        .iter()
        .map(|c| std::hint::black_box(c[0]) as usize)
        .sum();
    print_json(&obj! { "allocated_mb" => total as u64 })
}

/// Fork `n` children that wait for a signal; report how many forks worked,
/// then kill and reap them.
fn fork_children(n: usize) -> i32 {
    let mut pids = Vec::new();
    let mut error: Option<String> = None;
    for _ in 0..n {
        // SAFETY: the probe is single-threaded; the child only calls pause and _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: async-signal-safe calls in the forked child.
            unsafe {
                libc::pause();
                libc::_exit(0)
            }
        }
        if pid < 0 {
            error = Some(std::io::Error::last_os_error().to_string());
            break;
        }
        pids.push(pid);
    }
    let forked = pids.len();
    for pid in pids {
        let mut status = 0;
        // SAFETY: plain syscalls on our own children.
        unsafe {
            libc::kill(pid, 9);
            libc::waitpid(pid, &mut status, 0);
        }
    }
    print_json(&obj! { "forked" => forked as u64, "error" => error })
}

fn print_json(v: &Value) -> i32 {
    let mut text = String::new();
    v.write(&mut text);
    text.push('\n');
    let mut out = std::io::stdout().lock();
    let ok = out.write_all(text.as_bytes()).is_ok() && out.flush().is_ok();
    if ok {
        0
    } else {
        1
    }
}

/// Everything the probe knows, as one JSON object.
fn info() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let status_field = |key: &str| -> Option<String> {
        status.lines().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        })
    };
    let caps = obj! {
        "inheritable" => status_field("CapInh"),
        "permitted" => status_field("CapPrm"),
        "effective" => status_field("CapEff"),
        "bounding" => status_field("CapBnd"),
        "ambient" => status_field("CapAmb"),
    };

    let env: Map<String, Value> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                Value::String(v.to_string_lossy().into_owned()),
            )
        })
        .collect();

    let (hostname, domainname) = uname_names();

    // SAFETY: the get*id calls have no preconditions and cannot fail.
    let ids = unsafe {
        (
            libc::getppid(),
            libc::getuid(),
            libc::getgid(),
            libc::geteuid(),
            libc::getegid(),
        )
    };
    obj! {
        "args" => std::env::args().collect::<Vec<_>>(),
        "pid" => std::process::id(),
        "ppid" => ids.0,
        "uid" => ids.1,
        "gid" => ids.2,
        "euid" => ids.3,
        "egid" => ids.4,
        "groups" => groups(),
        "cwd" => std::env::current_dir().ok().map(|p| p.to_string_lossy().into_owned()),
        "env" => env,
        "hostname" => hostname,
        "domainname" => domainname,
        "capabilities" => caps,
        "no_new_privs" => no_new_privs(),
        "seccomp" => status_field("Seccomp").and_then(|s| s.parse::<u32>().ok()),
        "umask" => status_field("Umask"),
        "rlimits" => rlimits(),
        "fds" => fds(),
        "mounts" => mounts(),
        "namespaces" => namespaces(),
        "oom_score_adj" => std::fs::read_to_string("/proc/self/oom_score_adj")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok()),
        "cgroup" => std::fs::read_to_string("/proc/self/cgroup").ok(),
        "exe" => readlink("/proc/self/exe"),
    }
}

fn readlink(path: &str) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn uname_names() -> (Option<String>, Option<String>) {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return (None, None);
    }
    let field = |raw: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = raw
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (Some(field(&uts.nodename)), Some(field(&uts.domainname)))
}

fn groups() -> Option<Vec<u32>> {
    // SAFETY: a zero size asks only for the count; the list pointer is not written.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let len = usize::try_from(n).ok()?;
    let mut list: Vec<libc::gid_t> = vec![0; len];
    // SAFETY: `list` has room for `n` gids.
    let got = unsafe { libc::getgroups(n, list.as_mut_ptr()) };
    list.truncate(usize::try_from(got).ok()?);
    Some(list)
}

fn no_new_privs() -> Option<bool> {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers and only reads a flag.
    let r = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    match r {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn rlimits() -> Value {
    let mut map = Map::new();
    for (name, res) in RLIMITS {
        // SAFETY: rlimit is plain old data.
        let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: `lim` is a valid, writable rlimit; `res` is a known resource number.
        let r = unsafe { libc::getrlimit(res, &mut lim) };
        if r == 0 {
            map.insert(
                name.to_string(),
                obj! { "soft" => lim.rlim_cur, "hard" => lim.rlim_max },
            );
        }
    }
    Value::Object(map)
}

/// Open descriptors with their targets. The names are collected first and the directory
/// closed, so the descriptor used for the listing fails its readlink and is left out.
fn fds() -> Value {
    let names: Vec<String> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => return obj! { "error" => e.to_string() },
    };
    let mut list: Vec<(u64, String)> = names
        .iter()
        .filter_map(|n| {
            let fd = n.parse::<u64>().ok()?;
            let target = std::fs::read_link(format!("/proc/self/fd/{n}")).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    list.sort();
    Value::Array(
        list.into_iter()
            .map(|(fd, target)| obj! { "fd" => fd, "target" => target })
            .collect(),
    )
}

/// Undoes mountinfo's octal escapes (`\040` for a space and so on).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts() -> Value {
    let text = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => return obj! { "error" => e.to_string() },
    };
    let mut list = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if sep < 6 || fields.len() < sep + 3 {
            continue;
        }
        let split = |s: &str| -> Vec<String> { s.split(',').map(str::to_string).collect() };
        list.push(obj! {
            "id" => fields[0].parse::<u64>().ok(),
            "parent" => fields[1].parse::<u64>().ok(),
            "root" => unescape(fields[3]),
            "mount_point" => unescape(fields[4]),
            "options" => split(fields[5]),
            "fstype" => fields[sep + 1],
            "source" => unescape(fields[sep + 2]),
            "super_options" => fields.get(sep + 3).map(|s| split(s)).unwrap_or_default(),
        });
    }
    Value::Array(list)
}

fn namespaces() -> Value {
    let mut map = Map::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/ns") {
        for e in dir.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(target) = readlink(&format!("/proc/self/ns/{name}")) {
                map.insert(name, Value::String(target));
            }
        }
    }
    Value::Object(map)
}

/// Seconds of CLOCK_MONOTONIC (1) and CLOCK_BOOTTIME (7), which a time namespace offsets.
/// Catch the exe of processes that appear in the container (a runtime's helper joining
/// it for `exec`), keep each open, and once the hunt is over (the helper has exec'd or
/// exited, so no ETXTBSY) try to append a marker through the kept fd. Reports what was
/// caught and every write's outcome; never writes to the container's own binaries.
fn hunt_exe(secs: f64) -> Value {
    let me = std::process::id().to_string();
    let own = ["/bin/busybox", "/bin/probe"];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs.max(0.0));
    let mut held: Vec<(String, String, std::fs::File)> = Vec::new();
    let mut open_errors: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    while std::time::Instant::now() < deadline && held.len() < 64 {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            break;
        };
        for e in dir.filter_map(Result::ok) {
            let pid = e.file_name().to_string_lossy().into_owned();
            if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) || seen.contains(&pid) {
                continue;
            }
            let exe = format!("/proc/{pid}/exe");
            let Some(target) = readlink(&exe) else {
                continue;
            };
            if own.contains(&target.as_str()) {
                continue;
            }
            seen.insert(pid.clone());
            match std::fs::File::open(&exe) {
                Ok(f) => held.push((pid, target, f)),
                Err(err) => open_errors.push(format!("{pid} {target}: {err}")),
            }
        }
    }
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut caught = Vec::new();
    let mut writes_ok = 0u64;
    for (pid, target, f) in &held {
        use std::os::fd::AsRawFd;
        let path = format!("/proc/self/fd/{}", f.as_raw_fd());
        let res = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut w| w.write_all(b"skiff-cve-2019-5736"));
        if res.is_ok() {
            writes_ok += 1;
        }
        caught.push(obj! {
            "pid" => pid,
            "exe" => target,
            "write_error" => res.err().map(|e| e.to_string()),
        });
    }
    obj! {
        "caught" => caught,
        "open_errors" => open_errors,
        "writes_ok" => writes_ok,
    }
}

fn clocks() -> Value {
    let read = |clock: i32| -> Option<f64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through the valid pointer.
        let r = unsafe { libc::clock_gettime(clock, &mut ts) };
        (r == 0).then(|| ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
    };
    obj! { "monotonic" => read(1), "boottime" => read(7) }
}

fn sysctl(name: &str) -> Value {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    match std::fs::read_to_string(&path) {
        Ok(v) => Value::String(v.trim_end().to_string()),
        Err(e) => obj! { "error" => e.to_string() },
    }
}

/// What a process can do with one path: used for masked and read-only path checks.
fn path_report(path: &str) -> Value {
    let p = Path::new(path);
    let meta = std::fs::metadata(p);
    let exists = meta.is_ok();
    let is_dir = meta.as_ref().map(|m| m.is_dir()).unwrap_or(false);
    let (readable, empty, read_error) = if is_dir {
        match std::fs::read_dir(p) {
            Ok(mut d) => (true, Some(d.next().is_none()), None),
            Err(e) => (false, None, Some(e.to_string())),
        }
    } else if meta.as_ref().is_ok_and(|m| !readable_kind(m)) {
        // A terminal or some other device: open it but do not read (a read could block).
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(p)
        {
            Ok(_) => (true, None, None),
            Err(e) => (false, None, Some(e.to_string())),
        }
    } else {
        match std::fs::File::open(p) {
            Ok(mut f) => {
                let mut buf = [0u8; 64];
                match f.read(&mut buf) {
                    Ok(n) => (true, Some(n == 0), None),
                    Err(e) => (false, None, Some(e.to_string())),
                }
            }
            Err(e) => (false, None, Some(e.to_string())),
        }
    };
    let writable = CString::new(p.as_os_str().as_bytes())
        .ok()
        .map(|c| access_w(&c));
    let (writable, write_error) = match writable {
        Some(Ok(())) => (true, None),
        Some(Err(e)) => (false, Some(e)),
        None => (false, Some("path has a NUL byte".to_string())),
    };
    obj! {
        "path" => path,
        "exists" => exists,
        "is_dir" => is_dir,
        "readable" => readable,
        "empty" => empty,
        "read_error" => read_error,
        "writable" => writable,
        "write_error" => write_error,
    }
}

/// Regular files, and the memory devices (major 1: /dev/null, /dev/zero, ...) that masked
/// files are bound to, are safe to read a few bytes of.
fn readable_kind(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let ft = m.file_type();
    ft.is_file() || (ft.is_char_device() && (m.rdev() >> 8) & 0xfff == 1)
}

/// `access(W_OK)`: says EROFS for a read-only mount without writing anything.
fn access_w(path: &CStr) -> Result<(), String> {
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    let r = unsafe { libc::access(path.as_ptr(), libc::W_OK) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// The few libc declarations std does not expose, under the names the `libc` crate uses.
#[allow(non_camel_case_types)]
mod libc {
    pub type c_char = std::ffi::c_char;
    pub type c_int = std::ffi::c_int;
    pub type gid_t = u32;

    pub const PR_GET_NO_NEW_PRIVS: c_int = 39;
    pub const W_OK: c_int = 2;
    pub const O_NONBLOCK: c_int = 0o4000;
    pub const O_NOCTTY: c_int = 0o400;

    /// `struct utsname` of glibc on Linux: six fields of 65 bytes.
    #[repr(C)]
    pub struct utsname {
        pub sysname: [c_char; 65],
        pub nodename: [c_char; 65],
        pub release: [c_char; 65],
        pub version: [c_char; 65],
        pub machine: [c_char; 65],
        pub domainname: [c_char; 65],
    }

    /// `struct rlimit` on 64-bit Linux.
    #[repr(C)]
    pub struct rlimit {
        pub rlim_cur: u64,
        pub rlim_max: u64,
    }

    #[repr(C)]
    pub struct timespec {
        pub tv_sec: i64,
        pub tv_nsec: i64,
    }

    extern "C" {
        pub fn clock_gettime(clock: c_int, ts: *mut timespec) -> c_int;
        pub fn getppid() -> c_int;
        pub fn getuid() -> u32;
        pub fn getgid() -> u32;
        pub fn geteuid() -> u32;
        pub fn getegid() -> u32;
        pub fn getgroups(size: c_int, list: *mut gid_t) -> c_int;
        pub fn uname(buf: *mut utsname) -> c_int;
        pub fn prctl(option: c_int, ...) -> c_int;
        pub fn getrlimit(resource: u32, rlim: *mut rlimit) -> c_int;
        pub fn access(path: *const c_char, mode: c_int) -> c_int;
        pub fn fork() -> c_int;
        pub fn pause() -> c_int;
        pub fn _exit(code: c_int) -> !;
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
        pub fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    }
}

/// Builds a JSON object from `"key" => value` pairs; values go through `Value::from`.
#[macro_export]
macro_rules! obj {
    ($($k:literal => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::json::Map::new();
        $( m.insert(String::from($k), $crate::json::Value::from($v)); )*
        $crate::json::Value::Object(m)
    }};
}

/// A JSON value and its writer: just enough for the probe's reports.
mod json {
    use std::fmt::Write as _;

    pub type Map<K, V> = std::collections::BTreeMap<K, V>;

    pub enum Value {
        Null,
        Bool(bool),
        Int(i128),
        Float(f64),
        String(String),
        Array(Vec<Value>),
        Object(Map<String, Value>),
    }

    impl Value {
        pub fn write(&self, out: &mut String) {
            match self {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::Float(f) if f.is_finite() => {
                    let _ = write!(out, "{f}");
                }
                Value::Float(_) => out.push_str("null"),
                Value::String(s) => write_str(out, s),
                Value::Array(items) => {
                    out.push('[');
                    for (i, v) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        v.write(out);
                    }
                    out.push(']');
                }
                Value::Object(map) => {
                    out.push('{');
                    for (i, (k, v)) in map.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_str(out, k);
                        out.push(':');
                        v.write(out);
                    }
                    out.push('}');
                }
            }
        }
    }

    fn write_str(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    macro_rules! from_int {
        ($($t:ty),*) => {$(
            impl From<$t> for Value {
                fn from(n: $t) -> Self {
                    Value::Int(i128::from(n))
                }
            }
        )*};
    }
    from_int!(i32, u32, i64, u64);

    impl From<f64> for Value {
        fn from(f: f64) -> Self {
            Value::Float(f)
        }
    }
    impl From<bool> for Value {
        fn from(b: bool) -> Self {
            Value::Bool(b)
        }
    }
    impl From<String> for Value {
        fn from(s: String) -> Self {
            Value::String(s)
        }
    }
    impl From<&str> for Value {
        fn from(s: &str) -> Self {
            Value::String(s.to_string())
        }
    }
    impl From<&String> for Value {
        fn from(s: &String) -> Self {
            Value::String(s.clone())
        }
    }
    impl<T: Into<Value>> From<Option<T>> for Value {
        fn from(o: Option<T>) -> Self {
            o.map_or(Value::Null, Into::into)
        }
    }
    impl<T: Into<Value>> From<Vec<T>> for Value {
        fn from(v: Vec<T>) -> Self {
            Value::Array(v.into_iter().map(Into::into).collect())
        }
    }
    impl From<Map<String, Value>> for Value {
        fn from(m: Map<String, Value>) -> Self {
            Value::Object(m)
        }
    }
}
