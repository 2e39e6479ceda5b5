//! Publishing task events to containerd, in order, from one thread, so that
//! no request handler waits on containerd.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use containerd_shim::protos::protobuf::MessageDyn;
use containerd_shim::protos::ttrpc::context;
use containerd_shim::publisher::RemotePublisher;

/// Tries per event before it is dropped (containerd may be restarting).
const TRIES: u32 = 60;
const RETRY_PAUSE: Duration = Duration::from_millis(500);

enum Item {
    Event(&'static str, Box<dyn MessageDyn>),
    Flush(Sender<()>),
}

/// The queue of events for containerd.
#[derive(Clone)]
pub struct Events {
    tx: Sender<Item>,
}

impl Events {
    /// Start the publishing thread for `namespace`.
    pub fn start(publisher: RemotePublisher, namespace: String) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("events".into())
            .spawn(move || publish_all(publisher, &namespace, rx))?;
        Ok(Self { tx })
    }

    /// Queue `event` under `topic`.
    pub fn send(&self, topic: &'static str, event: impl MessageDyn) {
        if self.tx.send(Item::Event(topic, Box::new(event))).is_err() {
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

fn publish_all(mut publisher: RemotePublisher, namespace: &str, rx: Receiver<Item>) {
    for item in rx {
        let (topic, event) = match item {
            Item::Event(topic, event) => (topic, event),
            Item::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let mut tries = 0;
        loop {
            let ctx = context::with_timeout(Duration::from_secs(5).as_nanos() as i64);
            match publisher.publish(ctx, topic, namespace, event.clone_box()) {
                Ok(()) => break,
                Err(e) => {
                    tries += 1;
                    if tries >= TRIES {
                        log::error!("event {topic} dropped after {tries} tries: {e}");
                        break;
                    }
                    std::thread::sleep(RETRY_PAUSE);
                    // containerd may have restarted: connect again.
                    if let Ok(address) = std::env::var("TTRPC_ADDRESS") {
                        if let Ok(p) = RemotePublisher::new(&address) {
                            publisher = p;
                        }
                    }
                }
            }
        }
    }
}
