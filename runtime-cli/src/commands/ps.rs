//! `skiff ps [--format table|json] ID [PS OPTIONS...]`: the container's
//! processes, as runc's: `json` prints the array of their pids; `table` runs
//! the host's `ps` (with `-ef` unless options are given) and prints its
//! header and the lines of the container's pids.

use std::path::Path;
use std::process::Command;

use skiff_core::Container;

use super::CommandError;
use crate::args::{PsArgs, PsFormat};

pub(super) fn ps(root: &Path, a: PsArgs) -> Result<(), CommandError> {
    let pids = Container::load(root, &a.id)?.processes()?;
    match a.format {
        PsFormat::Json => {
            println!(
                "{}",
                serde_json::to_string(&pids).map_err(CommandError::Encode)?
            );
        }
        PsFormat::Table => print!("{}", table(&pids, &a.ps_args)?),
    }
    Ok(())
}

fn table(pids: &[i32], ps_args: &[String]) -> Result<String, CommandError> {
    let args: Vec<&str> = if ps_args.is_empty() {
        vec!["-ef"]
    } else {
        ps_args.iter().map(String::as_str).collect()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|source| CommandError::Io {
            path: "ps".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(CommandError::Ps {
            args: args.join(" "),
            why: format!(
                "{}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    filter(&String::from_utf8_lossy(&out.stdout), pids).ok_or_else(|| CommandError::Ps {
        args: args.join(" "),
        why: "its output has no PID column".to_owned(),
    })
}

/// The header and the lines whose PID column is one of `pids`.
fn filter(text: &str, pids: &[i32]) -> Option<String> {
    let mut lines = text.lines();
    let header = lines.next()?;
    let column = header.split_whitespace().position(|f| f == "PID")?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_keeps_the_header_and_the_containers_pids() {
        let text = "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep\nroot 420 1 other\n";
        assert_eq!(
            filter(text, &[42]).as_deref(),
            Some("UID PID PPID CMD\nroot 42 1 sleep\n")
        );
        assert_eq!(filter("USER CMD\nroot x\n", &[1]), None);
    }
}
