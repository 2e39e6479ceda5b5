//! Value conversions between the spec's (cgroup v1) units and cgroup v2's,
//! as runc does them, and the checks on list-valued settings.

/// `pids.limit` → the `pids.max` value (the same file on v1 and v2): none
/// for 0 (leave it as it is, as runc does), `max` for a negative limit.
pub(crate) fn pids_max(limit: i64) -> Option<String> {
    match limit {
        0 => None,
        l if l < 0 => Some("max".to_owned()),
        l => Some(l.to_string()),
    }
}

/// cpu.shares (v1, 2..262144) → cpu.weight (v2, 1..10000); 0 means unset.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

/// blkio.weight (v1, 10..1000) → io.weight (v2, 1..10000); 0 means unset.
pub(crate) fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10) * 9999) / 990
}

/// The v2 memory.swap.max from the spec's `swap` (memory+swap on v1) and
/// `limit`: swap only. `None` leaves the file alone; `-1` means max.
pub(crate) fn swap_v2(swap: Option<i64>, limit: Option<i64>) -> Option<i64> {
    match (swap, limit) {
        (None | Some(0), _) => None,
        (Some(-1), _) => Some(-1),
        // Unlimited memory with limited memory+swap cannot be expressed.
        (Some(s), None | Some(0) | Some(-1)) => Some(s),
        (Some(s), Some(l)) => Some(s - l),
    }
}

/// A v2 limit value: `max` for -1.
pub(crate) fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// Whether `s` is a cpuset list (`0-3,7`).
pub(crate) fn is_cpu_list(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.split(',').all(|part| {
            let mut ends = part.splitn(2, '-').map(|n| n.parse::<u32>());
            match (ends.next(), ends.next()) {
                (Some(Ok(_)), None) => true,
                (Some(Ok(a)), Some(Ok(b))) => a <= b,
                _ => false,
            }
        })
}

/// A hugepage size as the kernel names its files (`2MB`, `1GB`, `64KB`).
pub(crate) fn is_hugepage_size(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn blkio_weight_follows_runc() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(500), 4950);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
    }

    #[test]
    fn swap_becomes_swap_only() {
        assert_eq!(swap_v2(Some(300), Some(100)), Some(200));
        assert_eq!(swap_v2(Some(-1), Some(100)), Some(-1));
        assert_eq!(swap_v2(None, Some(100)), None);
        assert_eq!(swap_v2(Some(100), Some(100)), Some(0));
    }

    #[test]
    fn lists_and_sizes() {
        for ok in ["0", "0-3", "0-3,7", "1,2,4-5"] {
            assert!(is_cpu_list(ok), "{ok}");
        }
        for bad in ["", "a", "3-1", "0-", "1,,2", "-1"] {
            assert!(!is_cpu_list(bad), "{bad}");
        }
        assert!(is_hugepage_size("2MB") && is_hugepage_size("1GB"));
        assert!(!is_hugepage_size("2M") && !is_hugepage_size("MB") && !is_hugepage_size("2mb"));
    }
}
