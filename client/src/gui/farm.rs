//! The farm screen: seed picker, plot grid, inventory, and a status line with the shard's
//! answers. Clicking a plot does the next thing it needs: till a wild plot, plant the selected
//! seed on a tilled one, water a dry crop, harvest a ripe one, clear a withered one.

use super::style::*;
use super::{Account, ClientContent, GuiOptions, Screen};
use crate::net::{Inbox, my_farm, send_hello, send_request};
use bevy::prelude::*;
use harvest_shared::farming::{self, FarmAction, FarmState, Plot, Stage};
use harvest_shared::ids::{CropId, PlotId};
use harvest_shared::protocol::{KickNotice, KickReason};
use harvest_shared::time::Tick;
use lightyear::prelude::{Client, Connected, Disconnected, Replicated};

#[derive(Component)]
pub struct PlotButton(pub u16);
#[derive(Component)]
struct SeedButton(CropId);
#[derive(Component)]
struct PlotLabel(u16);
#[derive(Component)]
struct InventoryText;
#[derive(Component)]
struct StatusLine;
#[derive(Component)]
struct HeaderText;
#[derive(Component)]
struct Grid;

/// Request ids of this session, shared by every panel (the shard echoes them back).
#[derive(Resource, Default)]
pub(super) struct RequestIds(u32);

impl RequestIds {
    pub fn next(&self) -> u32 {
        self.0.max(1)
    }
    pub fn advance(&mut self) {
        self.0 = self.0.max(1).wrapping_add(1).max(1);
    }
}

/// Show `s` on the status line.
pub(super) fn set_status(world: &mut World, s: String) {
    world.resource_mut::<FarmUi>().status = s;
}

#[derive(Resource)]
struct FarmUi {
    seed: CropId,
    status: String,
    built_plots: usize,
    shown_at: f32,
    demo_done: bool,
    screenshot_taken: Option<f32>,
}

fn wait_for_farm(world: &mut World) {
    if my_farm(world).is_some() {
        let version = world.resource::<ClientContent>().0.version.clone();
        send_hello(world, &version);
        world.resource_mut::<NextState<Screen>>().set(Screen::Farm);
        return;
    }
    let mut q = world.query_filtered::<&Disconnected, With<Client>>();
    if let Some(d) = q.iter(world).next() {
        let reason = format!("Disconnected: {:?}", d.reason);
        despawn_clients(world);
        super::login::back_to_login(world, reason);
    }
}

fn despawn_clients(world: &mut World) {
    let mut q = world.query_filtered::<Entity, With<Client>>();
    let clients: Vec<Entity> = q.iter(world).collect();
    for c in clients {
        world.despawn(c);
    }
}

fn connecting_screen(mut commands: Commands) {
    commands.spawn((
        DespawnOnExit(Screen::Connecting),
        Node {
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            ..default()
        },
        BackgroundColor(BG),
        children![text("Connecting to your farm...", 28.0, TEXT)],
    ));
}

fn setup(mut commands: Commands, content: Res<ClientContent>, time: Res<Time>) {
    let cheapest = content
        .0
        .crops
        .values()
        .min_by_key(|c| c.growth_ticks)
        .map(|c| c.id.clone())
        .unwrap_or_else(|| CropId::new("radish"));
    commands.insert_resource(FarmUi {
        seed: cheapest,
        status: "Click a plot: till wild soil, plant on tilled soil, water a dry crop, harvest a ripe one.".into(),
        built_plots: 0,
        shown_at: time.elapsed_secs(),
        demo_done: false,
        screenshot_taken: None,
    });
    let seeds: Vec<_> = content
        .0
        .crops
        .values()
        .map(|c| (SeedButton(c.id.clone()), format!("{} seeds", c.name)))
        .collect();
    commands
        .spawn((
            DespawnOnExit(Screen::Farm),
            Node {
                width: Val::Percent(100.0),
                height: Val::Percent(100.0),
                flex_direction: FlexDirection::Column,
                padding: UiRect::all(Val::Px(16.0)),
                ..default()
            },
            BackgroundColor(BG),
        ))
        .with_children(|root| {
            root.spawn((HeaderText, text("", 28.0, RIPE)));
            root.spawn(Node {
                flex_direction: FlexDirection::Row,
                flex_wrap: FlexWrap::Wrap,
                margin: UiRect::vertical(Val::Px(8.0)),
                ..default()
            })
            .with_children(|row| {
                row.spawn(text("Seed: ", 18.0, TEXT));
                for (marker, label) in seeds {
                    row.spawn(button(marker, label, 170.0));
                }
            });
            root.spawn((
                StatusLine,
                text("", 16.0, TEXT),
                Node {
                    margin: UiRect::bottom(Val::Px(8.0)),
                    ..default()
                },
            ));
            root.spawn(Node {
                flex_direction: FlexDirection::Row,
                ..default()
            })
            .with_children(|main| {
                main.spawn(Node {
                    flex_direction: FlexDirection::Column,
                    align_self: AlignSelf::FlexStart,
                    ..default()
                })
                .with_children(|left| {
                    left.spawn((
                        Grid,
                        Node {
                            display: Display::Grid,
                            grid_template_columns: RepeatedGridTrack::px(4, 118.0),
                            align_self: AlignSelf::FlexStart,
                            row_gap: Val::Px(8.0),
                            column_gap: Val::Px(8.0),
                            padding: UiRect::all(Val::Px(8.0)),
                            ..default()
                        },
                        BackgroundColor(PANEL),
                    ));
                    left.spawn(Node {
                        flex_direction: FlexDirection::Row,
                        margin: UiRect::top(Val::Px(10.0)),
                        column_gap: Val::Px(10.0),
                        ..default()
                    })
                    .with_children(|below| {
                        let box_node = Node {
                            flex_direction: FlexDirection::Column,
                            padding: UiRect::all(Val::Px(12.0)),
                            width: Val::Px(246.0),
                            align_self: AlignSelf::FlexStart,
                            ..default()
                        };
                        below
                            .spawn((box_node.clone(), BackgroundColor(PANEL)))
                            .with_children(|side| {
                                side.spawn(text("Inventory", 20.0, RIPE));
                                side.spawn((InventoryText, text("", 15.0, TEXT)));
                            });
                        below
                            .spawn((box_node, BackgroundColor(PANEL)))
                            .with_children(super::economy::spawn_pending);
                    });
                });
                super::economy::spawn_panel(main, &content.0);
            });
        });
}

/// Create the plot buttons once the farm's size is known.
fn build_grid(
    mut commands: Commands,
    mut ui: ResMut<FarmUi>,
    grid: Query<Entity, With<Grid>>,
    farms: Query<&harvest_shared::farming::Farm>,
) {
    let Ok(grid) = grid.single() else { return };
    let Some(farm) = farms.iter().next() else {
        return;
    };
    if ui.built_plots == farm.plots.len() {
        return;
    }
    ui.built_plots = farm.plots.len();
    commands.entity(grid).despawn_children();
    commands.entity(grid).with_children(|g| {
        for i in 0..farm.plots.len() as u16 {
            g.spawn((
                Button,
                PlotButton(i),
                Node {
                    width: Val::Px(118.0),
                    height: Val::Px(78.0),
                    justify_content: JustifyContent::Center,
                    align_items: AlignItems::Center,
                    border_radius: BorderRadius::all(Val::Px(6.0)),
                    ..default()
                },
                BackgroundColor(SOIL),
                children![(PlotLabel(i), text("", 14.0, TEXT))],
            ));
        }
    });
}

fn plot_label(
    plot: &Plot,
    content: &harvest_shared::content::Content,
    now: Tick,
) -> (String, Color) {
    match plot {
        Plot::Wild => ("wild - till".into(), SOIL),
        Plot::Tilled => ("tilled - plant".into(), SOIL),
        Plot::Crop(g) => {
            let name = content
                .crop(&g.crop)
                .map(|c| c.name.as_str())
                .unwrap_or(g.crop.as_str());
            let pct = (g.progress(now) * 100.0) as u32;
            match g.stage(now) {
                Stage::Ripe => (format!("{name}\nRIPE - harvest!"), RIPE),
                Stage::Withered => (format!("{name}\nwithered - clear"), SOIL),
                Stage::Dry => (format!("{name} {pct}%\ndry - water!"), GROWING),
                Stage::Growing => {
                    let secs = match g.ripe_at() {
                        Some(t) => format!(
                            "{:.0}s",
                            now.until(t) as f32 * harvest_shared::time::WORLD_TICK_MS as f32
                                / 1000.0
                        ),
                        None => "stalls soon".into(),
                    };
                    (format!("{name} {pct}%\n{secs} - watered"), WATERED)
                }
            }
        }
    }
}

fn render(
    world_farm: Query<(
        &harvest_shared::protocol::PlayerInfo,
        &harvest_shared::farming::Farm,
        &harvest_shared::inventory::Inventory,
    )>,
    content: Res<ClientContent>,
    ui: Res<FarmUi>,
    account: Res<Account>,
    mut labels: Query<
        (&PlotLabel, &mut Text),
        (
            Without<InventoryText>,
            Without<StatusLine>,
            Without<HeaderText>,
        ),
    >,
    mut plots: Query<(&PlotButton, &mut BackgroundColor), Without<SeedButton>>,
    mut seeds: Query<(&SeedButton, &mut BorderColor, &mut Node)>,
    mut inv_text: Query<
        &mut Text,
        (
            With<InventoryText>,
            Without<StatusLine>,
            Without<HeaderText>,
        ),
    >,
    mut status: Query<
        &mut Text,
        (
            With<StatusLine>,
            Without<InventoryText>,
            Without<HeaderText>,
        ),
    >,
    mut header: Query<
        &mut Text,
        (
            With<HeaderText>,
            Without<InventoryText>,
            Without<StatusLine>,
        ),
    >,
) {
    let Some((info, farm, inv)) = world_farm.iter().next() else {
        return;
    };
    let now = Tick::now();
    for (l, mut t) in &mut labels {
        if let Some(p) = farm.plots.get(l.0 as usize) {
            t.0 = plot_label(p, &content.0, now).0;
        }
    }
    for (b, mut bg) in &mut plots {
        if let Some(p) = farm.plots.get(b.0 as usize) {
            bg.0 = plot_label(p, &content.0, now).1;
        }
    }
    for (s, mut border, mut node) in &mut seeds {
        let selected = s.0 == ui.seed;
        node.border = UiRect::all(Val::Px(if selected { 3.0 } else { 0.0 }));
        *border = BorderColor::all(if selected { RIPE } else { BUTTON });
    }
    let zone = content
        .0
        .zone(&info.zone)
        .map(|z| z.name.clone())
        .unwrap_or(info.zone.to_string());
    for mut h in &mut header {
        h.0 = format!("{}'s farm - {zone}", account.username);
    }
    for mut t in &mut inv_text {
        let mut s = format!("Coins: {}\n", inv.coins);
        for (item, n) in &inv.items {
            let name = content
                .0
                .items
                .get(item)
                .map(|i| i.name.as_str())
                .unwrap_or(item.as_str());
            s.push_str(&format!("{name}: {n}\n"));
        }
        if inv.items.is_empty() {
            s.push_str("(no produce yet)");
        }
        t.0 = s;
    }
    for mut t in &mut status {
        t.0 = ui.status.clone();
    }
}

/// Decide what a click on `plot` means and check it locally with the shard's own rule.
fn choose(
    plot: u16,
    seed: &CropId,
    world_farm: &(
        harvest_shared::farming::Farm,
        harvest_shared::inventory::Inventory,
    ),
    content: &harvest_shared::content::Content,
) -> Result<FarmAction, String> {
    let (mut farm, mut inventory) = world_farm.clone();
    let id = PlotId(plot);
    let now = Tick::now();
    let action = match farm.plots.get(plot as usize) {
        Some(Plot::Wild) => FarmAction::Till { plot: id },
        Some(Plot::Tilled) => FarmAction::Plant {
            plot: id,
            crop: seed.clone(),
        },
        Some(Plot::Crop(g)) => match g.stage(now) {
            Stage::Ripe => FarmAction::Harvest { plot: id },
            Stage::Withered => FarmAction::Clear { plot: id },
            Stage::Dry | Stage::Growing => FarmAction::Water { plot: id },
        },
        None => return Err("no such plot".into()),
    };
    // The same rule the shard runs: refuse locally, with its reason, before sending.
    let state = FarmState {
        farm: &mut farm,
        inventory: &mut inventory,
    };
    farming::apply(&action, state, content, now)
        .map(|_| action)
        .map_err(|e| e.to_string())
}

fn clicks(world: &mut World) {
    let mut q = world.query::<(&Interaction, Option<&PlotButton>, Option<&SeedButton>)>();
    let mut pressed_plot = None;
    let mut pressed_seed = None;
    for (i, p, s) in q.iter(world) {
        if *i == Interaction::Pressed {
            if let Some(p) = p {
                pressed_plot = Some(p.0);
            }
            if let Some(s) = s {
                pressed_seed = Some(s.0.clone());
            }
        }
    }
    if let Some(seed) = pressed_seed {
        world.resource_mut::<FarmUi>().seed = seed;
    }
    // Interaction stays Pressed while the button is held: act once per press.
    let mut last = world.get_resource_or_insert_with::<LastPress>(Default::default);
    if last.0 == pressed_plot {
        return;
    }
    last.0 = pressed_plot;
    if let Some(plot) = pressed_plot {
        // A refusal is on the status line.
        let _ = click_plot(world, plot);
    }
}

#[derive(Resource, Default)]
struct LastPress(Option<u16>);

/// Click on `plot`: check the move it means with the shard's rule and send it. Why not, if
/// it cannot be made (also shown on the status line).
pub(super) fn click_plot(world: &mut World, plot: u16) -> Result<(), String> {
    let (_, farm, inv) = my_farm(world).ok_or("your farm has not arrived yet")?;
    let content = world.resource::<ClientContent>().0.clone();
    let seed = world.resource::<FarmUi>().seed.clone();
    let result = choose(plot, &seed, &(farm, inv), &content).and_then(|action| {
        let id = world.resource::<RequestIds>().next();
        world.resource_mut::<RequestIds>().advance();
        let label = format!("{action:?}");
        if send_request(world, id, action) {
            Ok(label)
        } else {
            Err("not connected".to_owned())
        }
    });
    world.resource_mut::<FarmUi>().status = match &result {
        Ok(label) => format!("Sent: {label}"),
        Err(why) => format!("Can't: {why}"),
    };
    result.map(|_| ())
}

/// Select the seed that clicks on tilled plots plant.
pub(super) fn select_seed(world: &mut World, crop: CropId) {
    world.resource_mut::<FarmUi>().seed = crop;
}

/// Every plot's label as shown, by plot index.
pub(super) fn plot_labels(world: &mut World) -> std::collections::BTreeMap<u16, String> {
    world
        .query::<(&PlotLabel, &Text)>()
        .iter(world)
        .map(|(l, t)| (l.0, t.0.clone()))
        .collect()
}

/// Show the shard's answers; leave on kick or disconnect.
fn notices(world: &mut World) {
    let inbox = std::mem::take(&mut world.resource_mut::<Inbox>().notices);
    for n in inbox {
        world
            .resource_mut::<super::economy::PendingActions>()
            .0
            .remove(&n.request_id);
        world.resource_mut::<FarmUi>().status = match n.result {
            Ok(()) => format!("Done (request {}).", n.request_id),
            Err(e) => format!("Refused: {e}"),
        };
    }
    let announced: Vec<_> = world
        .resource_mut::<Inbox>()
        .announcements
        .drain(..)
        .collect();
    if let Some(a) = announced.last() {
        world.resource_mut::<FarmUi>().status = format!("Announcement: {}", a.text);
    }
    let mut q = world.query_filtered::<Entity, (With<Client>, With<Connected>)>();
    if q.iter(world).next().is_none() {
        let kicked = world.resource::<Inbox>().kicked.clone();
        if let Some(KickNotice {
            reason: KickReason::Handoff(ticket),
        }) = &kicked
        {
            // Handed off to another shard: what this one replicated goes, the new one's comes.
            world.resource_mut::<Inbox>().kicked = None;
            despawn_clients(world);
            let replicated: Vec<Entity> = world
                .query_filtered::<Entity, With<Replicated>>()
                .iter(world)
                .collect();
            for e in replicated {
                world.despawn(e);
            }
            match crate::net::decode_token(&ticket.connect_token)
                .and_then(|t| crate::net::connect(world, t))
            {
                Ok(_) => {
                    info!(shard = %ticket.shard_id, zone = %ticket.zone, "handed off: connecting");
                    world
                        .resource_mut::<NextState<Screen>>()
                        .set(Screen::Connecting);
                }
                Err(e) => super::login::back_to_login(world, format!("Cannot connect: {e}")),
            }
            return;
        }
        let reason = match kicked {
            Some(k) => format!("Disconnected by the server: {:?}", k.reason),
            None => "Lost the connection to the shard.".to_owned(),
        };
        world.resource_mut::<Inbox>().kicked = None;
        despawn_clients(world);
        super::login::back_to_login(world, reason);
    }
}

/// `--demo`: plant the first three plots once; `--screenshot`: capture and exit.
fn automation(world: &mut World) {
    let opts = world.resource::<GuiOptions>().clone();
    let now = world.resource::<Time>().elapsed_secs();
    let (shown_at, demo_done, shot) = {
        let ui = world.resource::<FarmUi>();
        (ui.shown_at, ui.demo_done, ui.screenshot_taken)
    };
    if opts.demo && !demo_done && now - shown_at > 1.0 {
        world.resource_mut::<FarmUi>().demo_done = true;
        for plot in 0..3 {
            if let Err(why) = click_plot(world, plot) {
                warn!(plot, %why, "demo move refused");
            }
        }
    }
    if let Some(path) = &opts.screenshot {
        match shot {
            None if now - shown_at > opts.screenshot_after => {
                use bevy::render::view::screenshot::{Screenshot, save_to_disk};
                // The screen must show what it is for before it is captured.
                let problems = super::economy::check_panels(world);
                if !problems.is_empty() {
                    for p in &problems {
                        error!(problem = %p, "the farm screen is missing something");
                    }
                    world.write_message(AppExit::error());
                    return;
                }
                world
                    .spawn(Screenshot::primary_window())
                    .observe(save_to_disk(path.clone()));
                world.resource_mut::<FarmUi>().screenshot_taken = Some(now);
            }
            Some(t) if now - t > 1.5 => {
                world.write_message(AppExit::Success);
            }
            _ => {}
        }
    }
}

pub(super) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Connecting), connecting_screen);
    app.add_systems(Update, wait_for_farm.run_if(in_state(Screen::Connecting)));
    app.init_resource::<RequestIds>();
    app.add_systems(OnEnter(Screen::Farm), (setup, super::tour::start).chain());
    // The tour sees the answers `notices` took in and acts before the panels are drawn.
    app.add_systems(
        Update,
        (
            build_grid,
            render,
            clicks,
            notices,
            automation,
            super::tour::run,
        )
            .chain()
            .before(super::economy::render)
            .run_if(in_state(Screen::Farm)),
    );
}
