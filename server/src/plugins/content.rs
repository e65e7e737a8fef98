//! Content hot reload and the clients' content check.
//!
//! A background thread polls the content directory (`--content-dir`) every
//! `--content-poll-ms`. When a file changes it loads and validates the whole directory with
//! `Content::load` off the tick thread, and hands the result over a channel:
//! - valid (and still defining every zone this shard hosts): [`apply_reload`] swaps the shared
//!   [`GameContent`] at the start of a frame, so every rule in a tick sees one version; the
//!   directory heartbeat announces the new hash and every connected client gets a
//!   [`ContentNotice`];
//! - invalid: the shard keeps what it runs and logs every problem (file, line, column, entry,
//!   field, reason). It never stops for a bad edit.
//!
//! A client says which content it runs in a [`ClientHello`]; one that runs other content than
//! the shard is told so (`KickReason::StaleContent`) and let go.

use super::player::Kick;
use super::{GameContent, Settings, TickSet};
use bevy::prelude::*;
use harvest_shared::content::{CONTENT_FILES, Content, ContentErrors};
use harvest_shared::protocol::{ActionChannel, ClientHello, ContentNotice, KickReason};
use lightyear::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime};
use tracing::{error, info, warn};

/// Reloads applied and refused since start; the problems of the last refusal.
#[derive(Resource, Debug, Default, Clone)]
pub struct ContentReloads {
    pub applied: u64,
    pub refused: u64,
    pub last_problems: Vec<String>,
    /// How long the last applied reload waited, validated, for its frame boundary (P9:
    /// within one tick).
    pub last_wait: Option<Duration>,
}

/// A load of the content directory, and when it finished.
type Loaded = (Instant, Result<Content, ContentErrors>);

/// The content now in force changed (to this version).
#[derive(Message, Debug, Clone)]
pub struct ContentChanged(pub String);

/// The watcher's end of the channel.
#[derive(Resource)]
struct Watcher(std::sync::Mutex<Receiver<Loaded>>);

/// Size and modification time of every content file: what the watcher compares.
fn fingerprint(dir: &Path) -> Vec<Option<(u64, SystemTime)>> {
    CONTENT_FILES
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join(f))
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        })
        .collect()
}

fn watch(dir: PathBuf, every: Duration, tx: SyncSender<Loaded>) {
    let mut seen = fingerprint(&dir);
    loop {
        std::thread::sleep(every);
        let now = fingerprint(&dir);
        if now == seen {
            continue;
        }
        // Let an editor finish writing (several files, or one in pieces) before reading.
        std::thread::sleep(every.min(Duration::from_millis(200)));
        let settled = fingerprint(&dir);
        if settled != now {
            continue;
        }
        seen = settled;
        let loaded = Content::load(&dir);
        match tx.try_send((Instant::now(), loaded)) {
            // A result not yet taken: this newer one will come at the next change.
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

/// Swap in a reloaded content at the start of a frame, or keep the old one and say why.
fn apply_reload(
    watcher: Res<Watcher>,
    mut content: ResMut<GameContent>,
    mut reloads: ResMut<ContentReloads>,
    mut changed: MessageWriter<ContentChanged>,
    settings: Res<Settings>,
) {
    let Ok(rx) = watcher.0.lock() else {
        return;
    };
    let Ok((loaded_at, result)) = rx.try_recv() else {
        return;
    };
    let problems: Vec<String> = match result {
        Ok(new) if new.version == content.0.version => {
            // Back to what runs (a broken edit undone): nothing to swap.
            if !reloads.last_problems.is_empty() {
                info!(version = %new.version, "content directory valid again");
                reloads.last_problems.clear();
            }
            return;
        }
        Ok(new) => {
            let missing: Vec<_> = settings
                .0
                .zones
                .iter()
                .filter(|z| new.zone(z).is_none())
                .map(|z| format!("zones.ron: zone '{z}' is hosted by this shard and must stay"))
                .collect();
            if missing.is_empty() {
                let waited = loaded_at.elapsed();
                info!(from = %content.0.version, to = %new.version, waited_ms = waited.as_secs_f64() * 1e3, "content reloaded");
                reloads.last_wait = Some(waited);
                changed.write(ContentChanged(new.version.clone()));
                content.0 = Arc::new(new);
                reloads.applied += 1;
                reloads.last_problems.clear();
                return;
            }
            missing
        }
        Err(errors) => errors.0.iter().map(|e| e.to_string()).collect(),
    };
    for p in &problems {
        error!(problem = %p, "content reload refused; the shard keeps running version {}", content.0.version);
    }
    reloads.refused += 1;
    reloads.last_problems = problems;
}

/// Tell every connected client the content in force changed.
fn announce(
    mut changed: MessageReader<ContentChanged>,
    mut links: Query<&mut MessageSender<ContentNotice>, With<Connected>>,
) {
    let Some(ContentChanged(version)) = changed.read().last() else {
        return;
    };
    for mut sender in &mut links {
        sender.send::<ActionChannel>(ContentNotice {
            version: version.clone(),
        });
    }
}

/// Let go of clients that run other content than the shard.
fn check_hellos(
    mut links: Query<(Entity, &mut MessageReceiver<ClientHello>), With<Connected>>,
    content: Res<GameContent>,
    mut kicks: MessageWriter<Kick>,
) {
    for (link, mut receiver) in &mut links {
        for hello in receiver.receive() {
            if hello.content_version != content.0.version {
                warn!(client = %hello.content_version.chars().take(16).collect::<String>(), shard = %content.0.version, "client runs other content; letting it go");
                kicks.write(Kick {
                    link,
                    reason: KickReason::StaleContent,
                });
            }
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    let settings = app.world().resource::<Settings>().0.clone();
    app.init_resource::<ContentReloads>()
        .add_message::<ContentChanged>();
    if let Some(dir) = settings.content_dir.clone()
        && !settings.content_poll.is_zero()
    {
        let (tx, rx) = sync_channel(1);
        let every = settings.content_poll;
        match std::thread::Builder::new()
            .name("content-watch".into())
            .spawn(move || watch(dir, every, tx))
        {
            Ok(_) => {
                app.insert_resource(Watcher(std::sync::Mutex::new(rx)));
                app.add_systems(
                    Update,
                    apply_reload
                        .in_set(TickSet::Receive)
                        .before(super::intents::IntakeSet)
                        .run_if(resource_exists::<Watcher>),
                );
            }
            Err(e) => warn!(error = %e, "cannot start the content watcher; hot reload is off"),
        }
    }
    if settings.network {
        app.add_systems(Update, (check_hellos, announce).in_set(TickSet::Send));
    }
}
