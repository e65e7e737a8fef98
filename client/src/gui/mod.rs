//! The windowed game (`harvest`, feature `gui`): a login screen, a connecting screen, and the
//! farm: a grid of plots you click to till, plant, water and harvest, a seed picker, your
//! inventory and pending economy actions, and a tabbed panel with the market, crafting and
//! the card collection ([`economy`]), and the deck editor and the arena: queue, duel board
//! and results ([`duel`]). Each click is first checked with the same pure rule the
//! shard uses, so a move that cannot work says why at once; the shard still decides.
//! `--screenshots DIR` plays a scripted tour and captures each screen ([`tour`]).

mod duel;
mod economy;
mod farm;
mod login;
mod style;
mod tour;

use bevy::prelude::*;
use harvest_shared::content::Content;
use std::path::PathBuf;
use std::sync::Arc;

/// Options from the command line.
#[derive(Resource, Clone, Debug)]
pub struct GuiOptions {
    pub sidecar_url: String,
    /// Extra CA certificate (PEM) to trust for an `https://` sidecar.
    pub ca_cert: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Log in (registering if needed) at start with `username`/`password`.
    pub auto_login: bool,
    /// Plant on the first plots once the farm arrives (for demos and screenshots).
    pub demo: bool,
    /// Save a screenshot here `screenshot_after` seconds after the farm shows, then exit.
    pub screenshot: Option<PathBuf>,
    pub screenshot_after: f32,
    /// Play the scripted tour and save a checked PNG of each screen here, then exit.
    pub screenshots: Option<PathBuf>,
}

#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Screen {
    #[default]
    Login,
    Connecting,
    Farm,
}

/// Content loaded at start (crop names and prices, for labels and local rule checks).
#[derive(Resource, Clone)]
pub struct ClientContent(pub Arc<Content>);

/// The logged-in account, once there is one.
#[derive(Resource, Clone, Debug, Default)]
pub struct Account {
    pub username: String,
    pub access_token: String,
}

pub struct GuiPlugin {
    pub options: GuiOptions,
    pub content: Arc<Content>,
}

impl Plugin for GuiPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.options.clone())
            .insert_resource(ClientContent(self.content.clone()))
            .init_resource::<Account>()
            .init_state::<Screen>();
        app.add_systems(Startup, |mut commands: Commands| {
            commands.spawn(Camera2d);
        });
        login::plugin(app);
        farm::plugin(app);
        economy::plugin(app);
        duel::plugin(app);
    }
}

/// Default content directory: `assets/data` next to the working directory.
pub fn default_content_dir() -> PathBuf {
    PathBuf::from("assets/data")
}
