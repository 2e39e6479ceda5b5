//! A blocking, length-prefixed JSON channel over a unix stream socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use super::message::Message;

/// Why a message could not be sent or received.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The socket failed.
    #[error("launch channel: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the channel where a message was expected.
    #[error("launch channel closed while waiting for {expected}")]
    Closed {
        /// What was expected.
        expected: &'static str,
    },
    /// A message did not decode.
    #[error("launch channel: bad message: {0}")]
    Decode(#[from] serde_json::Error),
    /// A message longer than the limit.
    #[error("launch channel: message of {0} bytes is too long")]
    TooLong(usize),
    /// Another message came than the one expected.
    #[error("launch channel: expected {expected}, got {got}")]
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// What came.
        got: &'static str,
    },
}

const MAX_MESSAGE: usize = 64 << 20;

/// One end of the launch socket.
#[derive(Debug)]
pub(crate) struct Channel {
    sock: UnixStream,
}

impl Channel {
    pub(crate) fn new(sock: UnixStream) -> Self {
        Self { sock }
    }

    pub(crate) fn socket(&self) -> &UnixStream {
        &self.sock
    }

    pub(crate) fn send(&mut self, msg: &Message) -> Result<(), ChannelError> {
        let body = serde_json::to_vec(msg)?;
        let len = u32::try_from(body.len()).map_err(|_| ChannelError::TooLong(body.len()))?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&body);
        self.sock.write_all(&frame)?;
        Ok(())
    }

    /// Receive the next message; `None` when the peer closed the channel.
    pub(crate) fn recv_any(&mut self) -> Result<Option<Message>, ChannelError> {
        let mut len = [0u8; 4];
        match self.sock.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_MESSAGE {
            return Err(ChannelError::TooLong(len));
        }
        let mut body = vec![0u8; len];
        self.sock.read_exact(&mut body)?;
        Ok(Some(serde_json::from_slice(&body)?))
    }

    /// Receive a message, turning a closed channel into an error that names
    /// what was expected.
    pub(crate) fn recv(&mut self, expected: &'static str) -> Result<Message, ChannelError> {
        self.recv_any()?.ok_or(ChannelError::Closed { expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_close() {
        let (a, b) = UnixStream::pair().expect("socketpair");
        let (mut a, mut b) = (Channel::new(a), Channel::new(b));
        a.send(&Message::Pid(42)).expect("send");
        a.send(&Message::Failed {
            step: "mount /proc".into(),
            message: "EPERM".into(),
        })
        .expect("send");
        drop(a);
        assert!(matches!(b.recv("Pid"), Ok(Message::Pid(42))));
        assert!(matches!(b.recv("Failed"), Ok(Message::Failed { .. })));
        assert!(matches!(
            b.recv("Ready"),
            Err(ChannelError::Closed { expected: "Ready" })
        ));
    }
}
