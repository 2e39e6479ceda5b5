//! The command line, as runc's: global options, the standard OCI commands,
//! then runc's extras.
//!
//! Options of a command may come before or after the container id (`skiff
//! delete ID --force` and `skiff delete --force ID`); global options come
//! before the command, as for runc.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// skiff: an OCI container runtime.
#[derive(Debug, Parser)]
#[command(
    name = "skiff",
    about = "Open Container Initiative runtime",
    disable_version_flag = true,
    subcommand_required = false,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Enable debug logging.
    #[arg(long)]
    pub debug: bool,

    /// Set the log file to write skiff logs to (default is stderr).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Set the log format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Root directory for storage of container state (should be on tmpfs)
    /// [default: /run/skiff, or $XDG_RUNTIME_DIR/skiff when not root].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Path to the criu binary (accepted for runc compatibility; unused).
    #[arg(long, value_name = "PATH")]
    pub criu: Option<String>,

    /// Enable systemd cgroup support (not supported yet).
    #[arg(long)]
    pub systemd_cgroup: bool,

    /// Ignore cgroup permission errors (true, false, or auto: true when
    /// not root or in a user namespace).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = Rootless::Auto)]
    pub rootless: Rootless,

    /// Print the version.
    #[arg(short = 'v', long)]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `time="…" level=error msg="…"`, as logrus's text formatter.
    Text,
    /// `{"level":"error","msg":"…","time":"…"}`, one object a line.
    Json,
}

/// The global `--rootless` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rootless {
    /// Rootless mode is requested.
    True,
    /// Rootless mode is off.
    False,
    /// Decide from the environment.
    Auto,
}

impl Rootless {
    /// Whether rootless mode is on: `auto` as runc decides it (not root, or
    /// root in a user namespace that maps only part of the ids).
    pub fn decide(self) -> bool {
        match self {
            Rootless::True => true,
            Rootless::False => false,
            Rootless::Auto => skiff_core::rootless_default(),
        }
    }
}

/// Every command. The first block is the standard OCI command set, then
/// runc's extras, some of which skiff does not implement yet.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container.
    Create(CreateArgs),
    /// Execute the user defined process in a created container.
    Start(IdArg),
    /// Output the state of a container.
    State(IdArg),
    /// Send a signal (default: SIGTERM) to the container's init process.
    Kill(KillArgs),
    /// Delete any resources held by the container.
    Delete(DeleteArgs),

    /// Create and run a container.
    Run(RunArgs),
    /// Execute a new process inside the container.
    Exec(ExecArgs),
    /// List containers started by skiff with the given root.
    List(ListArgs),
    /// Create a new specification file.
    Spec(SpecArgs),
    /// Show the enabled features.
    Features,

    /// Suspend all processes inside the container.
    Pause(IdArg),
    /// Resume all processes that have been previously paused.
    Resume(IdArg),
    /// Display the processes running inside a container.
    Ps(PsArgs),
    /// Display container events such as OOM notifications, and resource usage.
    Events(EventsArgs),
    /// Update container resource constraints.
    Update(UpdateArgs),
    /// Checkpoint a running container (not implemented yet).
    Checkpoint(Unimplemented),
    /// Restore a container from a previous checkpoint (not implemented yet).
    Restore(Unimplemented),
}

impl Command {
    /// The command's name, for logs and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Create(_) => "create",
            Command::Start(_) => "start",
            Command::State(_) => "state",
            Command::Kill(_) => "kill",
            Command::Delete(_) => "delete",
            Command::Run(_) => "run",
            Command::Exec(_) => "exec",
            Command::List(_) => "list",
            Command::Spec(_) => "spec",
            Command::Features => "features",
            Command::Pause(_) => "pause",
            Command::Resume(_) => "resume",
            Command::Ps(_) => "ps",
            Command::Events(_) => "events",
            Command::Update(_) => "update",
            Command::Checkpoint(_) => "checkpoint",
            Command::Restore(_) => "restore",
        }
    }
}

/// A command that takes just a container id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The container id.
    pub id: String,
}

/// The options `create` and `run` share.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The container id.
    pub id: String,

    /// Path to the root of the bundle directory (default: the current directory).
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// Path to an AF_UNIX socket which will receive the pty master of the console.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Write the container process's pid to this file.
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,

    /// Do not use pivot_root to jail the process inside the rootfs.
    #[arg(long)]
    pub no_pivot: bool,

    /// Do not create a new session keyring for the container.
    #[arg(long)]
    pub no_new_keyring: bool,

    /// Pass N additional file descriptors (3 .. 3+N) to the container.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
}

/// `run`: `create`'s options plus the foreground ones.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,

    /// Detach from the container's process.
    #[arg(short, long)]
    pub detach: bool,

    /// Do not delete the container after it exits.
    #[arg(long)]
    pub keep: bool,

    /// Accepted for runc compatibility; skiff does not become a subreaper.
    #[arg(long)]
    pub no_subreaper: bool,
}

/// `kill ID [SIGNAL]`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The container id.
    pub id: String,

    /// The signal: a number, or a name with or without SIG.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,

    /// Send the signal to all processes inside the container.
    #[arg(short, long)]
    pub all: bool,
}

/// `delete [--force] ID`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The container id.
    pub id: String,

    /// Forcibly delete the container if it is still running (uses SIGKILL).
    #[arg(short, long)]
    pub force: bool,
}

/// `list`'s output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// A JSON array of states.
    Json,
}

/// `list [--format table|json] [--quiet]`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The output format.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// Display only container ids.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `spec [--bundle DIR] [--rootless]`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Path to the root of the bundle directory.
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// Generate a configuration for a rootless container.
    #[arg(long)]
    pub rootless: bool,
}

/// `exec [options] ID [COMMAND [ARG...]]`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The container id.
    pub id: String,

    /// The command and its arguments (unless --process is given).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,

    /// Path to an AF_UNIX socket which will receive the pty master of the console.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Current working directory in the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Set an environment variable (repeatable).
    #[arg(short, long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,

    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,

    /// The user, as UID[:GID].
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,

    /// An additional gid (repeatable).
    #[arg(short = 'g', long, value_name = "GID")]
    pub additional_gids: Vec<u32>,

    /// Path to the process.json.
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,

    /// Detach from the process.
    #[arg(short, long)]
    pub detach: bool,

    /// Write the process's pid to this file.
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,

    /// The SELinux label of the process (applied when the kernel runs SELinux, else refused).
    #[arg(long, value_name = "LABEL")]
    pub process_label: Option<String>,

    /// The AppArmor profile of the process (applied when the kernel runs AppArmor, else refused).
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,

    /// Set no_new_privileges for the process.
    #[arg(long)]
    pub no_new_privs: bool,

    /// Add a capability to the process (repeatable).
    #[arg(short, long, value_name = "CAP")]
    pub cap: Vec<String>,

    /// Pass N additional file descriptors (3 .. 3+N) to the process.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// Allow exec in a paused container (the process runs once it is resumed).
    #[arg(long)]
    pub ignore_paused: bool,
}

/// `ps`'s output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PsFormat {
    /// The host's `ps` output, filtered to the container's processes.
    Table,
    /// A JSON array of the pids.
    Json,
}

/// `ps [--format table|json] ID [PS OPTIONS...]`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// The container id.
    pub id: String,

    /// Options for the host's `ps` (default `-ef`), after the id.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PS OPTIONS"
    )]
    pub ps_args: Vec<String>,

    /// The output format.
    #[arg(short, long, value_enum, default_value_t = PsFormat::Table)]
    pub format: PsFormat,
}

/// `events [--interval D] [--stats] ID`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The container id.
    pub id: String,

    /// The stats collection interval, as Go's durations (`5s`, `500ms`, `1m30s`).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub interval: std::time::Duration,

    /// Display the container's stats then exit.
    #[arg(long)]
    pub stats: bool,
}

/// A Go duration: a sequence of decimal numbers with units (`ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`), as `1h2m3.5s`; `0` alone is zero.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("invalid duration {s:?} (use a number with a unit: 500ms, 5s, 1m)");
    if s == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// `update [OPTIONS] ID`: runc's flags; values are checked by the command.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The container id.
    pub id: String,

    /// Path to a JSON file of linux.resources to apply, or `-` for stdin
    /// (the other options are then ignored).
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<PathBuf>,

    /// Per cgroup block I/O weight, 10 to 1000.
    #[arg(long, value_name = "WEIGHT", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,

    /// CPU CFS period (µs) for the hard cap; 0 for the system default.
    #[arg(long, value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,

    /// CPU CFS hard cap (µs): allowed CPU time in a period.
    #[arg(long, value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,

    /// CPU shares (relative weight against other containers).
    #[arg(
        long,
        alias = "cpu-shares",
        value_name = "SHARES",
        allow_hyphen_values = true
    )]
    pub cpu_share: Option<String>,

    /// CPU realtime period (µs); 0 for the system default.
    #[arg(long, value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,

    /// CPU realtime hard cap (µs): allowed realtime CPU time in a period.
    #[arg(long, value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,

    /// CPUs to use (`0-3,7`).
    #[arg(long, value_name = "LIST")]
    pub cpuset_cpus: Option<String>,

    /// Memory nodes to use (`0-1`).
    #[arg(long, value_name = "LIST")]
    pub cpuset_mems: Option<String>,

    /// Memory limit in bytes (suffixes k, m, g, ...; -1 for unlimited).
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,

    /// Memory reservation (soft limit) in bytes.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,

    /// Total memory usage (memory + swap); -1 for unlimited swap.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,

    /// Kernel memory limit: ignored (the kernel dropped it), with a warning.
    #[arg(long, value_name = "BYTES", hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,

    /// Kernel TCP buffer limit: ignored, with a warning.
    #[arg(long, value_name = "BYTES", hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,

    /// Maximum number of pids in the container (0: unchanged, -1: unlimited).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,

    /// Intel RDT L3 cache schema (not supported).
    #[arg(long, value_name = "SCHEMA")]
    pub l3_cache_schema: Option<String>,

    /// Intel RDT memory bandwidth schema (not supported).
    #[arg(long, value_name = "SCHEMA")]
    pub mem_bw_schema: Option<String>,
}

/// The arguments of a command skiff does not implement yet: anything.
#[derive(Debug, Args)]
pub struct Unimplemented {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        match Cli::try_parse_from(std::iter::once("skiff").chain(args.iter().copied())) {
            Ok(cli) => cli,
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    fn command(args: &[&str]) -> Command {
        match parse(args).command {
            Some(c) => c,
            None => panic!("{args:?}: no command"),
        }
    }

    #[test]
    fn globals_and_defaults() {
        let cli = parse(&[
            "--root",
            "/tmp/r",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "--debug",
            "list",
        ]);
        assert_eq!(cli.root, Some(PathBuf::from("/tmp/r")));
        assert_eq!(cli.log, Some(PathBuf::from("/l.json")));
        assert_eq!(cli.log_format, LogFormat::Json);
        assert!(cli.debug);
        let cli = parse(&["list"]);
        assert_eq!(cli.root, None);
        assert_eq!(cli.log_format, LogFormat::Text);
        assert_eq!(cli.rootless, Rootless::Auto);
        assert!(!cli.systemd_cgroup);
        let cli = parse(&[
            "--rootless",
            "false",
            "--systemd-cgroup",
            "--criu",
            "/x",
            "list",
        ]);
        assert_eq!(cli.rootless, Rootless::False);
        assert!(cli.systemd_cgroup);
        assert!(Cli::try_parse_from(["skiff", "--rootless", "maybe", "list"]).is_err());
        assert!(Cli::try_parse_from(["skiff", "--log-format", "xml", "list"]).is_err());
    }

    #[test]
    fn version_flag() {
        assert!(parse(&["-v"]).version);
        assert!(parse(&["--version"]).version);
    }

    #[test]
    fn create_options_before_and_after_id() {
        for args in [
            &[
                "create",
                "-b",
                "/b",
                "--console-socket",
                "/s",
                "--pid-file",
                "/p",
                "--no-pivot",
                "--no-new-keyring",
                "--preserve-fds",
                "2",
                "c1",
            ][..],
            &[
                "create",
                "c1",
                "--bundle",
                "/b",
                "--console-socket",
                "/s",
                "--pid-file",
                "/p",
                "--no-pivot",
                "--no-new-keyring",
                "--preserve-fds",
                "2",
            ][..],
        ] {
            let Command::Create(a) = command(args) else {
                panic!("{args:?}")
            };
            assert_eq!(a.id, "c1");
            assert_eq!(a.bundle, Some(PathBuf::from("/b")));
            assert_eq!(a.console_socket, Some(PathBuf::from("/s")));
            assert_eq!(a.pid_file, Some(PathBuf::from("/p")));
            assert!(a.no_pivot && a.no_new_keyring);
            assert_eq!(a.preserve_fds, 2);
        }
        assert!(Cli::try_parse_from(["skiff", "create"]).is_err());
        assert!(Cli::try_parse_from(["skiff", "create", "a", "b"]).is_err());
    }

    #[test]
    fn run_options() {
        for args in [
            &["run", "-d", "--keep", "-b", "/b", "c1"][..],
            &["run", "c1", "--detach", "--keep", "-b", "/b"][..],
        ] {
            let Command::Run(a) = command(args) else {
                panic!("{args:?}")
            };
            assert_eq!(a.create.id, "c1");
            assert!(a.detach && a.keep);
            assert_eq!(a.create.bundle, Some(PathBuf::from("/b")));
        }
        let Command::Run(a) = command(&["run", "c1"]) else {
            panic!("run")
        };
        assert!(!a.detach && !a.keep && a.create.bundle.is_none());
    }

    #[test]
    fn id_commands() {
        let Command::Start(a) = command(&["start", "c1"]) else {
            panic!("start")
        };
        assert_eq!(a.id, "c1");
        let Command::State(a) = command(&["state", "c1"]) else {
            panic!("state")
        };
        assert_eq!(a.id, "c1");
    }

    #[test]
    fn kill_forms() {
        let Command::Kill(a) = command(&["kill", "c1"]) else {
            panic!("kill")
        };
        assert_eq!(
            (a.id.as_str(), a.signal.as_str(), a.all),
            ("c1", "SIGTERM", false)
        );
        for args in [
            &["kill", "c1", "KILL", "--all"][..],
            &["kill", "-a", "c1", "KILL"][..],
            &["kill", "c1", "-a", "KILL"][..],
        ] {
            let Command::Kill(a) = command(args) else {
                panic!("{args:?}")
            };
            assert_eq!(
                (a.id.as_str(), a.signal.as_str(), a.all),
                ("c1", "KILL", true),
                "{args:?}"
            );
        }
        let Command::Kill(a) = command(&["kill", "c1", "9"]) else {
            panic!("kill 9")
        };
        assert_eq!(a.signal, "9");
    }

    #[test]
    fn delete_force_before_and_after() {
        for args in [
            &["delete", "--force", "c1"][..],
            &["delete", "c1", "--force"][..],
            &["delete", "-f", "c1"][..],
            &["delete", "c1", "-f"][..],
        ] {
            let Command::Delete(a) = command(args) else {
                panic!("{args:?}")
            };
            assert_eq!(a.id, "c1");
            assert!(a.force, "{args:?}");
        }
        let Command::Delete(a) = command(&["delete", "c1"]) else {
            panic!("delete")
        };
        assert!(!a.force);
    }

    #[test]
    fn list_and_spec() {
        let Command::List(a) = command(&["list", "-f", "json", "-q"]) else {
            panic!("list")
        };
        assert_eq!(a.format, ListFormat::Json);
        assert!(a.quiet);
        let Command::List(a) = command(&["list"]) else {
            panic!("list")
        };
        assert_eq!(a.format, ListFormat::Table);
        let Command::Spec(a) = command(&["spec", "-b", "/b", "--rootless"]) else {
            panic!("spec")
        };
        assert_eq!(a.bundle, Some(PathBuf::from("/b")));
        assert!(a.rootless);
        assert!(matches!(command(&["features"]), Command::Features));
    }

    #[test]
    fn exec_forms() {
        let Command::Exec(a) = command(&["exec", "c1", "--", "sh", "-c", "echo hi"]) else {
            panic!("exec")
        };
        assert_eq!(a.id, "c1");
        assert_eq!(a.command, ["sh", "-c", "echo hi"]);
        let Command::Exec(a) = command(&["exec", "c1", "ls", "-l", "/"]) else {
            panic!("exec")
        };
        assert_eq!(a.command, ["ls", "-l", "/"]);
        let Command::Exec(a) = command(&[
            "exec",
            "-t",
            "--console-socket",
            "/s",
            "--cwd",
            "/tmp",
            "-e",
            "A=1",
            "--env",
            "B=2",
            "-u",
            "1:2",
            "-g",
            "10",
            "--additional-gids",
            "11",
            "-c",
            "CAP_KILL",
            "--no-new-privs",
            "-d",
            "--pid-file",
            "/p",
            "--preserve-fds",
            "1",
            "c1",
            "true",
        ]) else {
            panic!("exec")
        };
        assert!(a.tty && a.detach && a.no_new_privs);
        assert_eq!(a.env, ["A=1", "B=2"]);
        assert_eq!(a.user.as_deref(), Some("1:2"));
        assert_eq!(a.additional_gids, [10, 11]);
        assert_eq!(a.cap, ["CAP_KILL"]);
        assert_eq!(a.cwd, Some(PathBuf::from("/tmp")));
        assert_eq!(a.preserve_fds, 1);
        assert_eq!(a.command, ["true"]);
        let Command::Exec(a) = command(&["exec", "--ignore-paused", "c1", "true"]) else {
            panic!("exec --ignore-paused")
        };
        assert!(a.ignore_paused);
        let Command::Exec(a) = command(&["exec", "c1", "-p", "/proc.json"]) else {
            panic!("exec -p")
        };
        assert_eq!(a.process, Some(PathBuf::from("/proc.json")));
        assert!(a.command.is_empty());
        let Command::Exec(a) = command(&["exec", "c1", "-t", "-e", "X=1", "sh"]) else {
            panic!("exec after id")
        };
        assert!(a.tty);
        assert_eq!(a.env, ["X=1"]);
        assert_eq!(a.command, ["sh"]);
    }

    #[test]
    fn extras_parse() {
        for verb in ["checkpoint", "restore"] {
            let c = command(&[verb, "c1", "--whatever"]);
            assert_eq!(c.name(), verb);
        }
        for verb in ["pause", "resume"] {
            assert_eq!(command(&[verb, "c1"]).name(), verb);
            assert!(Cli::try_parse_from(["skiff", verb]).is_err());
        }
    }

    #[test]
    fn ps_forms() {
        let Command::Ps(a) = command(&["ps", "c1"]) else {
            panic!("ps")
        };
        assert_eq!((a.id.as_str(), a.format), ("c1", PsFormat::Table));
        assert!(a.ps_args.is_empty());
        let Command::Ps(a) = command(&["ps", "-f", "json", "c1"]) else {
            panic!("ps json")
        };
        assert_eq!(a.format, PsFormat::Json);
        let Command::Ps(a) = command(&["ps", "c1", "--", "-o", "pid,comm"]) else {
            panic!("ps args")
        };
        assert_eq!(a.ps_args, ["-o", "pid,comm"]);
        let Command::Ps(a) = command(&["ps", "c1", "-ef"]) else {
            panic!("ps -ef")
        };
        assert_eq!(a.ps_args, ["-ef"]);
    }

    #[test]
    fn events_forms_and_durations() {
        let Command::Events(a) = command(&["events", "c1"]) else {
            panic!("events")
        };
        assert_eq!(a.interval, std::time::Duration::from_secs(5));
        assert!(!a.stats);
        let Command::Events(a) = command(&["events", "--stats", "--interval", "250ms", "c1"])
        else {
            panic!("events --stats")
        };
        assert!(a.stats);
        assert_eq!(a.interval, std::time::Duration::from_millis(250));
        let ms = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(ms("1m30s"), Ok(90_000));
        assert_eq!(ms("1.5s"), Ok(1500));
        assert_eq!(ms("0"), Ok(0));
        for bad in ["", "5", "5x", "s", "-1s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn update_flags_are_runcs() {
        let Command::Update(a) = command(&[
            "update",
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--memory-swap",
            "-1",
            "--cpu-share",
            "512",
            "--cpu-quota",
            "20000",
            "--cpu-period",
            "100000",
            "--cpu-rt-period",
            "1000000",
            "--cpu-rt-runtime",
            "0",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--pids-limit",
            "10",
            "--blkio-weight",
            "300",
            "--kernel-memory",
            "1m",
            "c1",
        ]) else {
            panic!("update")
        };
        assert_eq!(a.id, "c1");
        assert_eq!(a.memory.as_deref(), Some("64m"));
        assert_eq!(a.memory_swap.as_deref(), Some("-1"));
        assert_eq!(a.cpu_share.as_deref(), Some("512"));
        assert_eq!(a.pids_limit.as_deref(), Some("10"));
        assert_eq!(a.kernel_memory.as_deref(), Some("1m"));
        let Command::Update(a) = command(&["update", "-r", "-", "c1", "--cpu-shares", "2"]) else {
            panic!("update -r")
        };
        assert_eq!(a.resources, Some(PathBuf::from("-")));
        assert_eq!(a.cpu_share.as_deref(), Some("2"));
    }
}
