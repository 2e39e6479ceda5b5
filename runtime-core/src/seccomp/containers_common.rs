//! The containers-common default profile (Debian golang-github-containers-
//! common, /usr/share/containers/seccomp.json), converted to the OCI form
//! as podman does for an x86_64 host with podman's default capabilities.
//! Used by the tests (skiff against libseccomp, and in the kernel) and,
//! with the `bench` feature, by the compile-time comparison in benches/.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Where Debian's golang-github-containers-common puts the profile.
pub const PATH: &str = "/usr/share/containers/seccomp.json";

/// Why the profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("{}: {source} (the containers-common profile: apt-get install golang-github-containers-common)", path.display())]
    Read {
        /// The profile's path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: {source}", path.display())]
    Json {
        /// The profile's path.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

/// podman's default_capabilities (containers.conf).
const CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Whether the running kernel is at least `min` (`major.minor`); true when
/// uname fails, as podman, which then keeps the rule.
fn kernel_at_least(min: &str) -> bool {
    let Ok(uts) = nix::sys::utsname::uname() else {
        return true;
    };
    let parse = |s: &str| -> Vec<u32> {
        s.split(['.', '-'])
            .take(2)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(&uts.release().to_string_lossy()) >= parse(min)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Read the profile at `path` and convert it ([`convert`]).
pub fn load(path: &Path) -> Result<Value, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let src: Value = serde_json::from_str(&text).map_err(|source| ProfileError::Json {
        path: path.to_owned(),
        source,
    })?;
    Ok(convert(&src))
}

/// containers/common's conversion: keep the x86_64 archMap entry, and the
/// syscall groups whose includes/excludes fit amd64, CAPS and this kernel.
/// The result is `linux.seccomp` JSON.
pub fn convert(src: &Value) -> Value {
    let mut archs = Vec::new();
    for m in src["archMap"].as_array().into_iter().flatten() {
        if m["architecture"] == "SCMP_ARCH_X86_64" {
            archs.push(m["architecture"].clone());
            archs.extend(
                m["subArchitectures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
    }
    let mut syscalls = Vec::new();
    for s in src["syscalls"].as_array().into_iter().flatten() {
        let (inc, exc) = (&s["includes"], &s["excludes"]);
        let inc_arches = strings(inc, "arches");
        if !inc_arches.is_empty() && !inc_arches.iter().any(|a| a == "amd64") {
            continue;
        }
        if !strings(inc, "caps")
            .iter()
            .all(|c| CAPS.contains(&c.as_str()))
        {
            continue;
        }
        if inc
            .get("minKernel")
            .and_then(Value::as_str)
            .is_some_and(|k| !kernel_at_least(k))
        {
            continue;
        }
        if strings(exc, "arches").iter().any(|a| a == "amd64")
            || strings(exc, "caps")
                .iter()
                .any(|c| CAPS.contains(&c.as_str()))
        {
            continue;
        }
        let mut rule = json!({"names": s["names"], "action": s["action"]});
        if let Some(args) = s
            .get("args")
            .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
        {
            rule["args"] = args.clone();
        }
        if let Some(e) = s.get("errnoRet") {
            rule["errnoRet"] = e.clone();
        }
        syscalls.push(rule);
    }
    json!({
        "defaultAction": src["defaultAction"],
        "defaultErrnoRet": src["defaultErrnoRet"],
        "architectures": archs,
        "syscalls": syscalls,
    })
}
