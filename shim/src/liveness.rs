//! Is a shim listening on this socket? The one question both `start` (join
//! a pod's running shim) and `delete` (clean up after a dead one) ask before
//! they spawn a server or remove a socket file: a live pod shim's socket
//! must never be removed, or every later member of the pod is locked out.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// What is at a shim's socket path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// Nothing: a server may be started there.
    Absent,
    /// A socket file nobody listens on (its server died).
    Stale,
    /// A server accepts connections, or the path is there and could not be
    /// proven dead: left alone.
    Live,
}

/// How often a connect that fails for another reason than "refused" or
/// "absent" (a busy server, an interrupted call) is tried again.
const TRIES: u32 = 20;
const PAUSE: Duration = Duration::from_millis(50);

/// Probe the socket at `path` with a plain blocking connect, which waits
/// while the server's accept queue is full.
pub(crate) fn probe(path: &Path) -> Liveness {
    for _ in 0..TRIES {
        match UnixStream::connect(path) {
            Ok(_) => return Liveness::Live,
            Err(e) if e.kind() == ErrorKind::NotFound => return Liveness::Absent,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Liveness::Stale,
            Err(_) => std::thread::sleep(PAUSE),
        }
    }
    Liveness::Live
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn tells_absent_live_and_stale_sockets_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s");
        assert_eq!(probe(&path), Liveness::Absent);
        let listener = UnixListener::bind(&path).expect("bind");
        assert_eq!(probe(&path), Liveness::Live);
        drop(listener);
        assert_eq!(probe(&path), Liveness::Stale);
    }
}
