//! Device access rules: the spec's `linux.resources.devices`, runc's default
//! allow list, and the devices the container is given (`linux.devices`).
//! The v1 driver writes them to devices.allow/deny; the v2 driver compiles
//! them into an eBPF program (`bpf`).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, Spec};

use super::CgroupError;

/// What kind of device a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    All,
    Char,
    Block,
}

/// Access bits, as the kernel's BPF_DEVCG_ACC_* values.
pub(crate) const MKNOD: u8 = 1;
pub(crate) const READ: u8 = 2;
pub(crate) const WRITE: u8 = 4;

/// One rule; `None` numbers are wildcards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub(crate) allow: bool,
    pub(crate) kind: Kind,
    pub(crate) major: Option<u32>,
    pub(crate) minor: Option<u32>,
    pub(crate) access: u8,
}

impl DeviceRule {
    const fn allow_char(major: Option<u32>, minor: Option<u32>, access: u8) -> Self {
        Self {
            allow: true,
            kind: Kind::Char,
            major,
            minor,
            access,
        }
    }

    /// A spec rule, checked; `field` names it in errors.
    pub(crate) fn from_spec(d: &LinuxDeviceCgroup, field: &str) -> Result<Self, CgroupError> {
        let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => Kind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::P => {
                return Err(CgroupError::invalid(
                    format!("{field}.type"),
                    "p (fifo) cannot be controlled by the device cgroup",
                ))
            }
        };
        let number = |n: Option<i64>, name: &str| match n {
            None | Some(-1) => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                CgroupError::invalid(
                    format!("{field}.{name}"),
                    format!("{n} is not a device number"),
                )
            }),
        };
        let access = parse_access(d.access().as_deref().unwrap_or("rwm")).ok_or_else(|| {
            CgroupError::invalid(
                format!("{field}.access"),
                format!(
                    "{:?} is not made of r, w and m",
                    d.access().as_deref().unwrap_or("")
                ),
            )
        })?;
        Ok(Self {
            allow: d.allow(),
            kind,
            major: number(d.major(), "major")?,
            minor: number(d.minor(), "minor")?,
            access,
        })
    }

    /// The rule as devices.allow/devices.deny take it: `c 1:3 rwm`.
    pub(crate) fn v1_line(&self) -> String {
        let kind = match self.kind {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{kind} {}:{} {access}", num(self.major), num(self.minor))
    }

    #[cfg(test)]
    /// Whether this is `a *:* rwm`: the whole device list at once.
    pub(crate) fn is_all(&self) -> bool {
        self.kind == Kind::All && self.major.is_none() && self.minor.is_none() && self.access == 7
    }
}

fn parse_access(s: &str) -> Option<u8> {
    if s.is_empty() {
        return None;
    }
    s.chars().try_fold(0u8, |acc, c| match c {
        'r' => Some(acc | READ),
        'w' => Some(acc | WRITE),
        'm' => Some(acc | MKNOD),
        _ => None,
    })
}

/// runc's default allow list, appended after the spec's rules.
pub(crate) const DEFAULT_ALLOW: &[DeviceRule] = &[
    // mknod of any char or block device (using one still needs a rule)
    DeviceRule::allow_char(None, None, MKNOD),
    DeviceRule {
        allow: true,
        kind: Kind::Block,
        major: None,
        minor: None,
        access: MKNOD,
    },
    DeviceRule::allow_char(Some(1), Some(3), 7), // /dev/null
    DeviceRule::allow_char(Some(1), Some(8), 7), // /dev/random
    DeviceRule::allow_char(Some(1), Some(7), 7), // /dev/full
    DeviceRule::allow_char(Some(5), Some(0), 7), // /dev/tty
    DeviceRule::allow_char(Some(1), Some(5), 7), // /dev/zero
    DeviceRule::allow_char(Some(1), Some(9), 7), // /dev/urandom
    DeviceRule::allow_char(Some(136), None, 7),  // /dev/pts/*
    DeviceRule::allow_char(Some(5), Some(2), 7), // /dev/ptmx
    DeviceRule::allow_char(Some(10), Some(200), 7), // /dev/net/tun
];

/// Every rule for the container, in order: the spec's, runc's defaults, then
/// `rwm` for each device of `linux.devices`. An empty spec list still starts
/// with deny-all (the drivers begin from it).
pub(crate) fn rules(spec: &Spec) -> Result<Vec<DeviceRule>, CgroupError> {
    let linux = spec.linux().as_ref();
    let mut out = Vec::new();
    let spec_rules = linux
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_ref());
    for (i, d) in spec_rules.into_iter().flatten().enumerate() {
        out.push(DeviceRule::from_spec(
            d,
            &format!("linux.resources.devices[{i}]"),
        )?);
    }
    out.extend_from_slice(DEFAULT_ALLOW);
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        let kind = match d.typ() {
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::A | LinuxDeviceType::P => continue,
        };
        let (Ok(major), Ok(minor)) = (u32::try_from(d.major()), u32::try_from(d.minor())) else {
            continue;
        };
        out.push(DeviceRule {
            allow: true,
            kind,
            major: Some(major),
            minor: Some(minor),
            access: 7,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines() {
        assert_eq!(DEFAULT_ALLOW[0].v1_line(), "c *:* m");
        assert_eq!(DEFAULT_ALLOW[2].v1_line(), "c 1:3 rwm");
        assert_eq!(DEFAULT_ALLOW[8].v1_line(), "c 136:* rwm");
        let d: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow": false, "access": "rwm"}"#).unwrap_or_default();
        let rule = DeviceRule::from_spec(&d, "f").ok();
        assert!(rule.is_some_and(|r| r.is_all() && !r.allow && r.v1_line() == "a *:* rwm"));
    }

    #[test]
    fn spec_devices_are_allowed_after_defaults() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion": "1.0.2", "linux": {
                "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
                "resources": {"devices": [{"allow": false, "access": "rwm"}]}}}"#,
        )
        .unwrap_or_default();
        let r = rules(&spec).unwrap_or_default();
        assert_eq!(r.len(), 1 + DEFAULT_ALLOW.len() + 1);
        assert_eq!(
            r.last().map(DeviceRule::v1_line).as_deref(),
            Some("c 10:229 rwm")
        );
    }
}
