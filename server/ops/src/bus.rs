//! The cross-shard bus: subjects and payloads, over NATS when several processes run, or in
//! process when everything runs in one (the all-in-one `harvest-server`).
//!
//! - [`Bus::nats`] connects to a NATS server (reconnecting on its own for as long as the
//!   process runs) and makes sure the JetStream stream [`STREAM`] exists, capturing every
//!   subject under [`EVENTS`] for operators and analytics. Publishing stays core NATS: the
//!   stream records what passes, and no publisher waits for an acknowledgement.
//! - [`Bus::local`] is a broadcast channel with the same subjects and wildcards (`a.b.*`,
//!   `a.>`), for one process.
//!
//! What the payloads mean is the game's business (`harvest_shared::events`); this module
//! carries bytes. Publishing never blocks for long: a NATS client buffers while reconnecting,
//! and a slow local subscriber misses messages (counted) rather than holding publishers back.

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::broadcast;

/// Every game event is published under this prefix (`harvest.events.player_login`, ...).
pub const EVENTS: &str = "harvest.events";
/// The JetStream stream that records every subject under [`EVENTS`].
pub const STREAM: &str = "HARVEST_EVENTS";
/// How long the stream keeps events, and how many bytes at most (oldest dropped first).
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
pub const STREAM_MAX_BYTES: i64 = 1 << 30;
/// Messages a local subscriber may fall behind by before it misses some.
const LOCAL_CAPACITY: usize = 4096;

/// One message on the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusMessage {
    pub subject: String,
    pub payload: Bytes,
}

/// A handle on the bus; cheap to clone, shared by every part of a process.
#[derive(Clone)]
pub enum Bus {
    Local(broadcast::Sender<BusMessage>),
    Nats(async_nats::Client),
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bus::Local(_) => "Bus::Local",
            Bus::Nats(_) => "Bus::Nats",
        })
    }
}

impl Bus {
    /// The in-process bus.
    pub fn local() -> Bus {
        Bus::Local(broadcast::channel(LOCAL_CAPACITY).0)
    }

    /// Connects to NATS at `url` (e.g. `nats://127.0.0.1:4222`) and ensures the JetStream
    /// stream. Fails when the server cannot be reached within `timeout` or has no JetStream.
    pub async fn nats(url: &str, name: &str, timeout: Duration) -> anyhow::Result<Bus> {
        let client = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(timeout)
            .max_reconnects(None)
            .connect(url)
            .await
            .with_context(|| format!("cannot connect to NATS at {url}"))?;
        ensure_stream(&client)
            .await
            .with_context(|| format!("NATS at {url}: cannot set up the JetStream stream {STREAM} (is JetStream enabled, `nats-server -js`?)"))?;
        Ok(Bus::Nats(client))
    }

    /// Publishes one message. With NATS, this waits only for room in the client's buffer.
    pub async fn publish(&self, subject: String, payload: Bytes) -> anyhow::Result<()> {
        match self {
            // No subscriber is not an error: nobody listens yet.
            Bus::Local(tx) => {
                let _ = tx.send(BusMessage { subject, payload });
                Ok(())
            }
            Bus::Nats(client) => Ok(client.publish(subject, payload).await?),
        }
    }

    /// Sends what is buffered (NATS); a no-op in process.
    pub async fn flush(&self) -> anyhow::Result<()> {
        match self {
            Bus::Local(_) => Ok(()),
            Bus::Nats(client) => Ok(client.flush().await?),
        }
    }

    /// Subscribes to `filter`: a subject, with `*` for one token and a final `>` for the rest.
    pub async fn subscribe(&self, filter: &str) -> anyhow::Result<Subscription> {
        Ok(match self {
            Bus::Local(tx) => Subscription::Local {
                rx: tx.subscribe(),
                filter: filter.to_owned(),
                missed: 0,
            },
            Bus::Nats(client) => Subscription::Nats(client.subscribe(filter.to_owned()).await?),
        })
    }
}

/// The NATS client behind [`Bus::Nats`].
pub type NatsClient = async_nats::Client;

/// The payload of the last message the event stream holds on `subject` (operators' tools and
/// tests read the stream this way).
pub async fn stream_last(client: &NatsClient, subject: &str) -> anyhow::Result<Bytes> {
    let js = async_nats::jetstream::new(client.clone());
    let stream = js.get_stream(STREAM).await?;
    Ok(stream
        .get_last_raw_message_by_subject(subject)
        .await?
        .payload)
}

/// Creates the event stream if it is missing (an existing one is left as it is).
async fn ensure_stream(client: &async_nats::Client) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(client.clone());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: STREAM.to_owned(),
        subjects: vec![format!("{EVENTS}.>")],
        max_age: STREAM_MAX_AGE,
        max_bytes: STREAM_MAX_BYTES,
        discard: async_nats::jetstream::stream::DiscardPolicy::Old,
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Messages matching one filter, in order.
pub enum Subscription {
    Local {
        rx: broadcast::Receiver<BusMessage>,
        filter: String,
        /// Messages this subscriber fell too far behind to receive.
        missed: u64,
    },
    Nats(async_nats::Subscriber),
}

impl Subscription {
    /// The next message; `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<BusMessage> {
        match self {
            Subscription::Local { rx, filter, missed } => loop {
                match rx.recv().await {
                    Ok(m) if subject_matches(filter, &m.subject) => return Some(m),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => *missed += n,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            },
            Subscription::Nats(sub) => sub.next().await.map(|m| BusMessage {
                subject: m.subject.to_string(),
                payload: m.payload,
            }),
        }
    }
}

/// The NATS server for tests: `HARVEST_TEST_NATS_URL` (default `nats://127.0.0.1:4222`).
/// `None` (the test skips, saying so) when it is unreachable, unless `HARVEST_TEST_NATS=1`,
/// which CI sets: then an unreachable server fails the run.
pub async fn test_nats() -> Option<Bus> {
    let url = std::env::var("HARVEST_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    match Bus::nats(&url, "harvest-test", Duration::from_secs(3)).await {
        Ok(bus) => Some(bus),
        Err(e) if std::env::var("HARVEST_TEST_NATS").as_deref() == Ok("1") => {
            panic!("HARVEST_TEST_NATS=1 but NATS at {url} is unusable: {e:#}")
        }
        Err(e) => {
            eprintln!(
                "skipped: NATS at {url} is unusable ({e:#}); HARVEST_TEST_NATS=1 makes this fail"
            );
            None
        }
    }
}

/// NATS subject matching: tokens split on '.', `*` matches one token, a final `>` one or more.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for f in filter.split('.') {
        if f == ">" {
            return subject_tokens.next().is_some();
        }
        match subject_tokens.next() {
            Some(s) if f == "*" || f == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(subject_matches(
            "harvest.events.>",
            "harvest.events.player_login"
        ));
        assert!(subject_matches("harvest.events.>", "harvest.events.a.b"));
        assert!(!subject_matches("harvest.events.>", "harvest.events"));
        assert!(subject_matches("harvest.*.x", "harvest.events.x"));
        assert!(!subject_matches("harvest.*.x", "harvest.events.y"));
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b"));
    }

    #[tokio::test]
    async fn local_bus_delivers_by_filter_in_order() {
        let bus = Bus::local();
        let mut events = bus.subscribe("harvest.events.>").await.unwrap();
        let mut one = bus.subscribe("harvest.announce").await.unwrap();
        for (s, p) in [
            ("harvest.announce", "hello"),
            ("harvest.events.player_login", "1"),
            ("harvest.events.player_logout", "2"),
        ] {
            bus.publish(s.into(), Bytes::from(p)).await.unwrap();
        }
        assert_eq!(events.next().await.unwrap().payload, Bytes::from("1"));
        assert_eq!(events.next().await.unwrap().payload, Bytes::from("2"));
        assert_eq!(one.next().await.unwrap().payload, Bytes::from("hello"));
    }

    /// Against a real NATS server with JetStream (see [`test_nats`]).
    #[tokio::test]
    async fn nats_bus_publishes_to_subjects_and_the_stream() {
        let Some(bus) = test_nats().await else {
            return;
        };
        let subject = format!("{EVENTS}.ops_test_{}", rand::random::<u32>());
        let mut sub = bus.subscribe(&subject).await.unwrap();
        bus.publish(subject.clone(), Bytes::from("x"))
            .await
            .unwrap();
        bus.flush().await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.subject, subject);
        let Bus::Nats(client) = &bus else {
            unreachable!()
        };
        assert_eq!(
            stream_last(client, &subject).await.unwrap(),
            Bytes::from("x")
        );
    }
}
