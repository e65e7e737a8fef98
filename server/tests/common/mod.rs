//! Test harness: an in-process sidecar (real HTTP, SQLite in a temp dir) and shard apps
//! stepped by hand next to headless clients, all over real UDP on loopback.
#![allow(dead_code)]

use bevy::prelude::*;
use harvest_client::http::SidecarApi;
use harvest_client::net::NetClient;
use harvest_server::config::SidecarLink;
use harvest_server::plugins::network::BoundAddr;
use harvest_server::{ShardSettings, build_app};
use harvest_shared::content::Content;
use harvest_sidecar::{Sidecar, SidecarConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn content() -> Arc<Content> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/data");
    Arc::new(Content::load(dir).expect("assets/data loads"))
}

pub struct Stack {
    pub rt: tokio::runtime::Runtime,
    pub sidecar: Option<Sidecar>,
    pub url: String,
    pub api: SidecarApi,
    pub netcode_key: [u8; 32],
    pub service_secret: [u8; 32],
    pub content: Arc<Content>,
    _tmp: tempfile::TempDir,
}

impl Stack {
    pub fn start() -> Stack {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let netcode_key: [u8; 32] = rand::random();
        let service_secret: [u8; 32] = rand::random();
        let mut cfg = SidecarConfig::for_data_dir(tmp.path());
        cfg.netcode_key = Some(hex::encode(netcode_key));
        cfg.service_secret = Some(hex::encode(service_secret));
        let sidecar = rt.block_on(Sidecar::start(&cfg)).expect("sidecar starts");
        let url = sidecar.url();
        Stack {
            rt,
            api: SidecarApi::new(&url),
            url,
            sidecar: Some(sidecar),
            netcode_key,
            service_secret,
            content: content(),
            _tmp: tmp,
        }
    }

    pub fn settings(&self) -> ShardSettings {
        ShardSettings::for_tests(
            self.content.clone(),
            self.netcode_key,
            Some(SidecarLink {
                url: self.url.clone(),
                service_secret: self.service_secret,
            }),
        )
    }

    pub fn shard(&self) -> App {
        ready(build_app(self.settings()))
    }
}

pub fn ready(mut app: App) -> App {
    app.finish();
    app.cleanup();
    app
}

/// Step the server and clients (at ~100 Hz) until `done` or the timeout; panics on timeout.
pub fn step_until(
    server: &mut App,
    clients: &mut [&mut NetClient],
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&mut App, &mut [&mut NetClient]) -> bool,
) {
    let start = Instant::now();
    loop {
        server.update();
        for c in clients.iter_mut() {
            c.update();
        }
        if done(server, clients) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn bound_addr(server: &mut App) -> std::net::SocketAddr {
    step_until(
        server,
        &mut [],
        Duration::from_secs(10),
        "UDP bind",
        |s, _| s.world().resource::<BoundAddr>().0.is_some(),
    );
    server.world().resource::<BoundAddr>().0.unwrap()
}
