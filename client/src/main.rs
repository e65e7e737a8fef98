//! `harvest`: the Harvest Battles game window.

use bevy::prelude::*;
use clap::Parser;
use harvest_client::gui::{GuiOptions, GuiPlugin, default_content_dir};
use harvest_shared::content::Content;
use std::path::PathBuf;
use std::sync::Arc;

/// Play Harvest Battles: log in, then plant, water and harvest on your farm.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Sidecar base URL (printed by harvest-server at start).
    #[arg(
        long,
        env = "HARVEST_SIDECAR_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    sidecar_url: String,
    /// Extra CA certificate (PEM) to trust when the sidecar URL is https:// with a private CA.
    #[arg(long, env = "HARVEST_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Content directory (crop names and prices for the labels).
    #[arg(long, env = "HARVEST_CONTENT_DIR", default_value_os_t = default_content_dir())]
    content_dir: PathBuf,
    /// Prefill the username.
    #[arg(long)]
    user: Option<String>,
    /// Prefill the password.
    #[arg(long, env = "HARVEST_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Log in (registering if needed) right away with --user/--password.
    #[arg(long)]
    auto_login: bool,
    /// Plant the first three plots once the farm shows (demos).
    #[arg(long)]
    demo: bool,
    /// Save a PNG screenshot of the farm screen here, then exit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Seconds on the farm screen before the screenshot.
    #[arg(long, default_value_t = 3.0)]
    screenshot_after: f32,
    /// Play a scripted tour (buy seeds, plant, water, harvest, craft a card; about a minute)
    /// and save a PNG of each screen into this directory (pending, market, farm, crafting,
    /// cards), each checked first; exit 1 if a screen misses something.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["screenshot", "demo"])]
    screenshots: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let content = match Content::load(&cli.content_dir) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!(
                "harvest: cannot load content: {e}\n(run from the repository root or pass --content-dir)"
            );
            std::process::exit(2);
        }
    };
    let options = GuiOptions {
        sidecar_url: cli.sidecar_url,
        ca_cert: cli.ca_cert,
        username: cli.user,
        password: cli.password,
        auto_login: cli.auto_login,
        demo: cli.demo,
        screenshot: cli.screenshot,
        screenshot_after: cli.screenshot_after,
        screenshots: cli.screenshots,
    };
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: "Harvest Battles".into(),
            resolution: (1100, 720).into(),
            ..default()
        }),
        ..default()
    }));
    harvest_client::net::add_network(&mut app, std::time::Duration::from_millis(50));
    app.add_plugins(GuiPlugin { options, content });
    app.run();
}
