//! Publishing task events to containerd, in order, from one thread, so that
//! no request handler waits on containerd.
//!
//! Each event is encoded when it is queued, under its type name written
//! here (see [`Event`]): the containerd-shim crate's publisher names an
//! event through protobuf reflection, and the first use of that builds the
//! descriptors of every proto file involved (descriptor.proto's with its
//! comments among them), some 500 KB of heap the shim then holds for life.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskOOM, TaskPaused,
    TaskResumed, TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::Message;
use containerd_shim::protos::shim::event::Envelope;
use containerd_shim::protos::shim::events::ForwardRequest;
use containerd_shim::protos::ttrpc::context;
use containerd_shim::protos::{Client, EventsClient};

/// Tries per event before it is dropped (containerd may be restarting).
const TRIES: u32 = 60;
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// A task event and its protobuf type name, which containerd reads from
/// the envelope's `Any` to decode it.
pub trait Event: Message {
    /// The full protobuf name, e.g. `containerd.events.TaskExit`.
    const TYPE_URL: &'static str;
}

macro_rules! events {
    ($($t:ident),*) => {
        $(impl Event for $t {
            const TYPE_URL: &'static str = concat!("containerd.events.", stringify!($t));
        })*
    };
}
events!(
    TaskCreate,
    TaskStart,
    TaskExit,
    TaskDelete,
    TaskExecAdded,
    TaskExecStarted,
    TaskPaused,
    TaskResumed,
    TaskOOM
);

enum Item {
    Event(&'static str, Any),
    Flush(Sender<()>),
}

/// The queue of events for containerd.
#[derive(Clone)]
pub struct Events {
    tx: Sender<Item>,
}

/// A ttrpc client of containerd's event service at `address`.
fn connect(address: &str) -> std::io::Result<EventsClient> {
    let fd = containerd_shim::util::connect(address).map_err(std::io::Error::other)?;
    let client = Client::new(fd).map_err(std::io::Error::other)?;
    Ok(EventsClient::new(client))
}

impl Events {
    /// Connect to containerd at `address` and start the publishing thread
    /// for `namespace`.
    pub fn start(address: String, namespace: String) -> std::io::Result<Self> {
        let client = connect(&address)?;
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("events".into())
            .spawn(move || publish_all(client, &address, &namespace, rx))?;
        Ok(Self { tx })
    }

    /// Queue `event` under `topic`.
    pub fn send<E: Event>(&self, topic: &'static str, event: E) {
        let value = match event.write_to_bytes() {
            Ok(v) => v,
            Err(e) => {
                log::error!("event {topic} dropped: {e}");
                return;
            }
        };
        let any = Any {
            type_url: E::TYPE_URL.to_owned(),
            value,
            ..Default::default()
        };
        if self.tx.send(Item::Event(topic, any)).is_err() {
            log::error!("event {topic} dropped: the publisher has stopped");
        }
    }

    /// Wait (at most `limit`) until every queued event was sent or dropped.
    pub fn flush(&self, limit: Duration) {
        let (tx, rx) = channel();
        if self.tx.send(Item::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(limit);
        }
    }
}

fn publish_all(mut client: EventsClient, address: &str, namespace: &str, rx: Receiver<Item>) {
    for item in rx {
        let (topic, event) = match item {
            Item::Event(topic, event) => (topic, event),
            Item::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let req = ForwardRequest {
            envelope: Some(Envelope {
                timestamp: Some(Timestamp::now()).into(),
                namespace: namespace.to_owned(),
                topic: topic.to_owned(),
                event: Some(event).into(),
                ..Default::default()
            })
            .into(),
            ..Default::default()
        };
        let mut tries = 0;
        loop {
            let ctx = context::with_timeout(Duration::from_secs(5).as_nanos() as i64);
            match client.forward(ctx, &req) {
                Ok(_) => break,
                Err(e) => {
                    tries += 1;
                    if tries >= TRIES {
                        log::error!("event {topic} dropped after {tries} tries: {e}");
                        break;
                    }
                    std::thread::sleep(RETRY_PAUSE);
                    // containerd may have restarted: connect again.
                    if let Ok(c) = connect(address) {
                        client = c;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim::protos::protobuf::MessageFull;

    fn check<E: Event + MessageFull>() {
        assert_eq!(E::TYPE_URL, E::descriptor().full_name());
    }

    #[test]
    fn type_urls_are_the_protobuf_names() {
        check::<TaskCreate>();
        check::<TaskStart>();
        check::<TaskExit>();
        check::<TaskDelete>();
        check::<TaskExecAdded>();
        check::<TaskExecStarted>();
        check::<TaskPaused>();
        check::<TaskResumed>();
        check::<TaskOOM>();
    }
}
