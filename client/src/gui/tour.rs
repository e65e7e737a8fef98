//! `--screenshots DIR`: a scripted visit of every screen, for CI and for the README's images.
//!
//! It plays a short real session against the shard with the shipped content: buy four wheat
//! seeds, plant and water them, wait for them to ripen (about 30 s), harvest, twist two twine
//! and craft a Scarecrow card. At the moment each screen has something to show, it checks
//! from the ECS that the screen shows it, then saves a PNG:
//!
//! | file           | taken when                                | checked from the ECS                                   |
//! |----------------|-------------------------------------------|--------------------------------------------------------|
//! | `pending.png`  | the frame the seed purchases are sent      | the pending list shows one line per purchase           |
//! | `market.png`   | the purchases are acknowledged             | market page displayed; every priced item and button    |
//! | `farm.png`     | the wheat is planted and watered           | one button per plot; four watered wheat crops labelled |
//! | `crafting.png` | the twine is crafted and acknowledged      | crafting page displayed; every recipe                  |
//! | `cards.png`    | the Scarecrow is crafted and acknowledged  | cards page displayed; every card; `Scarecrow x1`       |
//! | `decks.png`    | a deck is auto-filled and saved            | one editor row per card; the deck legal and saved      |
//! | `duel.png`     | a duel against a `duel` bot is under way   | one button per card in hand, one back per opponent card, the turn timer |
//! | `result.png`   | the tour conceded and the match is recorded| the result with the rating change                      |
//!
//! For the duel the tour starts one headless `duel` bot in the background (the same bots as
//! `harvest-bots --scenario duel`), travels to the arena and queues; it plays one card when it
//! can, ends its turn, waits for the bot's turn to pass, then concedes.
//!
//! Any failed check, or a tour that does not finish within [`TOUR_LIMIT_SECS`], exits 1 with
//! the reason in the log.

use super::duel::{self, DuelButton};
use super::economy::{self, EconButton, PendingActions, Tab};
use super::farm::{self, PlotButton};
use super::{ClientContent, GuiOptions};
use crate::net::my_farm;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use harvest_shared::content::Content;
use harvest_shared::duel::view::{ArenaState, ArenaStatus, DuelBoard, DuelSeat};
use harvest_shared::duel::{Decks, DuelAction, Side};
use harvest_shared::farming::{Plot, Stage};
use harvest_shared::ids::{CardId, CropId, ItemId, RecipeId};
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::time::Tick;
use std::path::PathBuf;

/// The whole tour must finish within this (wheat alone takes 30 s to ripen).
pub const TOUR_LIMIT_SECS: f32 = 240.0;
/// Plots the tour plants.
const PLOTS: u16 = 4;
/// The farm screen is drawn for this long, with its grid built, before the tour starts.
const SETTLE_SECS: f32 = 1.5;

/// The content the tour uses; all of it ships in `assets/data`.
struct Plan {
    crop: CropId,
    seed: ItemId,
    produce: ItemId,
    material_recipe: RecipeId,
    material: ItemId,
    card_recipe: RecipeId,
    card: CardId,
    /// Produce the two crafts use up: two materials, then the card.
    produce_needed: u32,
}

impl Plan {
    fn from(c: &Content) -> Result<Plan, String> {
        let crop = c
            .crop(&CropId::new("wheat"))
            .ok_or("the tour needs the crop 'wheat'")?;
        let card_recipe = RecipeId::new("card_scarecrow");
        let card = match c.recipe(&card_recipe).map(|r| &r.output) {
            Some(harvest_shared::content::RecipeOutput::Card(k)) => k.clone(),
            _ => return Err("the tour needs the card recipe 'card_scarecrow'".into()),
        };
        let material_recipe = RecipeId::new("twist_twine");
        let material = match c.recipe(&material_recipe).map(|r| &r.output) {
            Some(harvest_shared::content::RecipeOutput::Item(i, _)) => i.clone(),
            _ => return Err("the tour needs the item recipe 'twist_twine'".into()),
        };
        let uses = |r: &RecipeId| {
            c.recipe(r)
                .and_then(|r| r.inputs.get(&crop.produce))
                .copied()
                .unwrap_or(0)
        };
        let produce_needed = 2 * uses(&material_recipe) + uses(&card_recipe);
        Ok(Plan {
            produce_needed,
            crop: crop.id.clone(),
            seed: crop.seed.clone(),
            produce: crop.produce.clone(),
            material_recipe,
            material,
            card_recipe,
            card,
        })
    }
}

/// Where the tour is. Each step acts once, then waits for what it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    BuySeeds,
    SeedsBought,
    Plant,
    Water,
    Watered,
    Ripe,
    Harvested,
    Twine,
    Card,
    Decks,
    DecksShot,
    Arena,
    Queue,
    Duel,
    DuelShot,
    Concede,
    ResultShot,
    Done,
}

#[derive(Resource)]
pub(super) struct Tour {
    dir: PathBuf,
    plan: Option<Plan>,
    step: Step,
    started: f32,
    /// The step's action was sent; now waiting for its result.
    acted: bool,
    /// When the current step began.
    step_since: f32,
    finished_at: Option<f32>,
}

impl Tour {
    pub fn new(dir: PathBuf, now: f32) -> Self {
        Tour {
            dir,
            plan: None,
            step: Step::BuySeeds,
            started: now,
            acted: false,
            step_since: now,
            finished_at: None,
        }
    }
}

fn fail(world: &mut World, why: String) {
    error!(problem = %why, "screenshot tour failed");
    world.write_message(AppExit::error());
    world.remove_resource::<Tour>();
}

/// Check the screen, then capture it into `DIR/name`.
fn shoot(world: &mut World, name: &str, problems: Vec<String>) -> bool {
    if !problems.is_empty() {
        fail(world, format!("{name}: {}", problems.join("; ")));
        return false;
    }
    let path = world.resource::<Tour>().dir.join(name);
    info!(screen = name, path = %path.display(), "captured");
    world
        .spawn(Screenshot::primary_window())
        .observe(save_to_disk(path));
    true
}

/// Press `button` `times` times (each checked and sent like a click).
fn press(world: &mut World, button: EconButton, times: u32) -> Result<(), String> {
    for _ in 0..times {
        economy::send_economy(world, &button)?;
    }
    Ok(())
}

fn holdings(world: &mut World) -> Option<(Inventory, Collection)> {
    let (_, _, inv) = my_farm(world)?;
    let col = world
        .query::<&Collection>()
        .iter(world)
        .next()
        .cloned()
        .unwrap_or_default();
    Some((inv, col))
}

/// Plots `0..PLOTS` in the tour's crop, with their stages.
fn tour_crops(world: &mut World, crop: &CropId) -> Vec<Stage> {
    let now = Tick::now();
    my_farm(world)
        .map(|(_, farm, _)| {
            farm.plots
                .iter()
                .take(PLOTS as usize)
                .filter_map(|p| match p {
                    Plot::Crop(c) if &c.crop == crop => Some(c.stage(now)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check_tab(world: &mut World, want: Tab) -> Vec<String> {
    let mut problems = economy::check_panels(world);
    match economy::displayed_tab(world) {
        Some(t) if t == want => {}
        other => problems.push(format!(
            "the {want:?} page is not the one displayed ({other:?})"
        )),
    }
    problems
}

/// One frame of the tour.
pub(super) fn run(world: &mut World) {
    let Some(tour) = world.get_resource::<Tour>() else {
        return;
    };
    let now = world.resource::<Time>().elapsed_secs();
    let (step, acted, started, finished) = (tour.step, tour.acted, tour.started, tour.finished_at);
    if let Some(at) = finished {
        // Give the last screenshot time to be written.
        if now - at > 2.0 {
            info!("screenshot tour done");
            world.write_message(AppExit::Success);
        }
        return;
    }
    if now - started > TOUR_LIMIT_SECS {
        return fail(
            world,
            format!("stuck at step {step:?} after {TOUR_LIMIT_SECS} s"),
        );
    }
    if world.resource::<Tour>().plan.is_none() {
        let content = world.resource::<ClientContent>().0.clone();
        match Plan::from(&content) {
            Ok(p) => world.resource_mut::<Tour>().plan = Some(p),
            Err(e) => return fail(world, e),
        }
    }
    let Some((inv, col)) = holdings(world) else {
        return;
    };
    if step == Step::BuySeeds && (now - started < SETTLE_SECS || !grid_built(world)) {
        return;
    }
    let idle = world.resource::<PendingActions>().0.is_empty();
    let Some(plan) = world.resource_mut::<Tour>().plan.take() else {
        return;
    };
    let next = step_once(world, &plan, step, acted, idle, &inv, &col);
    let Some(mut tour) = world.get_resource_mut::<Tour>() else {
        return; // failed
    };
    tour.plan = Some(plan);
    match next {
        Progress::Wait => {}
        Progress::Acted => tour.acted = true,
        Progress::Next(s) => {
            tour.step = s;
            tour.acted = false;
            tour.step_since = now;
            if s == Step::Done {
                tour.finished_at = Some(now);
            }
        }
    }
}

enum Progress {
    Wait,
    Acted,
    Next(Step),
}

fn step_once(
    world: &mut World,
    plan: &Plan,
    step: Step,
    acted: bool,
    idle: bool,
    inv: &Inventory,
    col: &Collection,
) -> Progress {
    let act = |world: &mut World, r: Result<(), String>| match r {
        Ok(()) => Progress::Acted,
        Err(e) => {
            fail(world, format!("step {step:?}: {e}"));
            Progress::Wait
        }
    };
    match (step, acted) {
        (Step::BuySeeds, _) => {
            *world.resource_mut::<Tab>() = Tab::Market;
            if let Err(e) = press(world, EconButton::Buy(plan.seed.clone()), u32::from(PLOTS)) {
                fail(world, format!("step {step:?}: {e}"));
                return Progress::Wait;
            }
            // Captured in this frame, before any answer can come back.
            economy::refresh_pending(world);
            let mut problems = Vec::new();
            let lines = economy::pending_lines(world);
            if lines.len() != usize::from(PLOTS) {
                problems.push(format!(
                    "the pending list shows {lines:?}, {PLOTS} purchases were sent"
                ));
            }
            shoot(world, "pending.png", problems);
            Progress::Next(Step::SeedsBought)
        }
        (Step::SeedsBought, _) if idle && inv.count(&plan.seed) >= u32::from(PLOTS) => {
            let problems = check_tab(world, Tab::Market);
            shoot(world, "market.png", problems);
            Progress::Next(Step::Plant)
        }
        (Step::Plant, false) => {
            farm::select_seed(world, plan.crop.clone());
            let r = (0..PLOTS).try_for_each(|p| farm::click_plot(world, p));
            act(world, r)
        }
        (Step::Plant, true) if tour_crops(world, &plan.crop).len() == usize::from(PLOTS) => {
            Progress::Next(Step::Water)
        }
        (Step::Water, false) => {
            let r = (0..PLOTS).try_for_each(|p| farm::click_plot(world, p));
            act(world, r)
        }
        (Step::Water, true) => Progress::Next(Step::Watered),
        (Step::Watered, _) => {
            let stages = tour_crops(world, &plan.crop);
            if stages.len() == usize::from(PLOTS) && stages.iter().all(|s| *s == Stage::Growing) {
                let problems = check_farm(world, &plan.crop);
                shoot(world, "farm.png", problems);
                Progress::Next(Step::Ripe)
            } else {
                Progress::Wait
            }
        }
        (Step::Ripe, false) => {
            let stages = tour_crops(world, &plan.crop);
            if stages.len() == usize::from(PLOTS) && stages.iter().all(|s| *s == Stage::Ripe) {
                let r = (0..PLOTS).try_for_each(|p| farm::click_plot(world, p));
                act(world, r)
            } else {
                Progress::Wait
            }
        }
        (Step::Ripe, true) if tour_crops(world, &plan.crop).is_empty() => {
            Progress::Next(Step::Harvested)
        }
        (Step::Harvested, false) if inv.count(&plan.produce) >= plan.produce_needed => {
            *world.resource_mut::<Tab>() = Tab::Crafting;
            let r = press(world, EconButton::Craft(plan.material_recipe.clone()), 2);
            act(world, r)
        }
        (Step::Harvested, true) if idle && inv.count(&plan.material) >= 2 => {
            let problems = check_tab(world, Tab::Crafting);
            shoot(world, "crafting.png", problems);
            Progress::Next(Step::Twine)
        }
        (Step::Twine, false) => {
            let r = press(world, EconButton::Craft(plan.card_recipe.clone()), 1);
            act(world, r)
        }
        (Step::Twine, true) if idle && col.count(&plan.card) >= 1 => {
            *world.resource_mut::<Tab>() = Tab::Cards;
            Progress::Next(Step::Card)
        }
        (Step::Card, _) => {
            // A frame after switching, so the page and its rows are drawn.
            let mut problems = check_tab(world, Tab::Cards);
            let name = world
                .resource::<ClientContent>()
                .0
                .card(&plan.card)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            match economy::card_row_text(world, &plan.card) {
                Some(t) if t.starts_with(&format!("{name} x1")) => {}
                other => problems.push(format!("the {name} row reads {other:?}")),
            }
            shoot(world, "cards.png", problems);
            Progress::Next(Step::Decks)
        }
        (Step::Decks, false) => {
            *world.resource_mut::<Tab>() = Tab::Decks;
            let r = [DuelButton::AutoFill, DuelButton::Save]
                .iter()
                .try_for_each(|b| duel::press(world, b));
            act(world, r)
        }
        (Step::Decks, true) if saved_deck(world).is_some() => Progress::Next(Step::DecksShot),
        (Step::DecksShot, _) => {
            let c = world.resource::<ClientContent>().0.clone();
            let mut problems = Vec::new();
            match economy::displayed_tab(world) {
                Some(Tab::Decks) => {}
                other => problems.push(format!("the Decks page is not displayed ({other:?})")),
            }
            let (rows, summary) = duel::deck_editor(world);
            if rows != c.cards.len() {
                problems.push(format!("{rows} editor rows for {} cards", c.cards.len()));
            }
            let full = format!("{0}/{0} cards), saved: legal", c.duel.deck_size);
            if !summary.contains(&full) {
                problems.push(format!("the editor says {summary:?}"));
            }
            if !problems.is_empty() && step_age(world) < 3.0 {
                return Progress::Wait;
            }
            shoot(world, "decks.png", problems);
            Progress::Next(Step::Arena)
        }
        (Step::Arena, false) => {
            start_duel_bot(world);
            *world.resource_mut::<Tab>() = Tab::Arena;
            let Some(arena) = world
                .resource::<ClientContent>()
                .0
                .arena()
                .map(|a| a.id.clone())
            else {
                fail(world, "the tour needs an arena zone".into());
                return Progress::Wait;
            };
            let r = duel::press(world, &DuelButton::Travel(arena));
            act(world, r)
        }
        (Step::Arena, true) if in_arena(world) => Progress::Next(Step::Queue),
        (Step::Queue, false) => {
            let r = duel::press(world, &DuelButton::Queue);
            act(world, r)
        }
        (Step::Queue, true) if duel_view(world).is_some() => Progress::Next(Step::Duel),
        (Step::Duel, acted) => {
            let Some((board, seat)) = duel_view(world) else {
                return Progress::Wait;
            };
            if board.active == seat.side && !acted {
                // Play the first card that needs no target, then end the turn.
                let c = world.resource::<ClientContent>().0.clone();
                let filler = c.cards.keys().next().cloned().unwrap_or(CardId::new("x"));
                let known = board.reconstruct(seat.side, &seat.hand, &c.duel, &filler);
                let play = known
                    .legal_actions(seat.side, &c)
                    .into_iter()
                    .find_map(|m| match m {
                        DuelAction::Play { hand, target: None } => Some(hand),
                        _ => None,
                    });
                if let Some(h) = play {
                    let _ = duel::press(world, &DuelButton::Hand(h));
                }
                let r = duel::press(world, &DuelButton::EndTurn);
                return act(world, r);
            }
            // A duel under way: both sides have had a turn and it is ours again.
            if acted && board.active == seat.side && board.turn >= 3 {
                Progress::Next(Step::DuelShot)
            } else {
                Progress::Wait
            }
        }
        (Step::DuelShot, _) => {
            let Some((board, seat)) = duel_view(world) else {
                fail(world, "the duel vanished before its screenshot".into());
                return Progress::Wait;
            };
            let mut problems = Vec::new();
            let (hand, backs, timer, _) = duel::arena_screen(world);
            if hand != seat.hand.len() {
                problems.push(format!("{hand} hand buttons for {} cards", seat.hand.len()));
            }
            let theirs = usize::from(seat.side == Side::A);
            if backs != usize::from(board.hand_counts[theirs]) {
                problems.push(format!(
                    "{backs} card backs for an opponent holding {}",
                    board.hand_counts[theirs]
                ));
            }
            if !timer.as_deref().is_some_and(|t| t.contains("s left")) {
                problems.push(format!("the turn timer reads {timer:?}"));
            }
            // The page is rebuilt a frame after the board changes: give it a moment.
            if !problems.is_empty() && step_age(world) < 3.0 {
                return Progress::Wait;
            }
            shoot(world, "duel.png", problems);
            Progress::Next(Step::Concede)
        }
        (Step::Concede, false) => {
            let r = duel::press(world, &DuelButton::Concede);
            act(world, r)
        }
        (Step::Concede, true) if recorded(world) => Progress::Next(Step::ResultShot),
        (Step::ResultShot, _) => {
            let mut problems = Vec::new();
            let (_, _, _, result) = duel::arena_screen(world);
            if !result
                .as_deref()
                .is_some_and(|t| t.contains("LOSS") && t.contains("Rating"))
            {
                problems.push(format!("the result reads {result:?}"));
            }
            if !problems.is_empty() && step_age(world) < 3.0 {
                return Progress::Wait;
            }
            shoot(world, "result.png", problems);
            Progress::Next(Step::Done)
        }
        _ => Progress::Wait,
    }
}

/// Seconds since the current step began.
fn step_age(world: &World) -> f32 {
    let now = world.resource::<Time>().elapsed_secs();
    world
        .get_resource::<Tour>()
        .map_or(0.0, |t| now - t.step_since)
}

/// The first saved deck, if any has cards.
fn saved_deck(world: &mut World) -> Option<Vec<CardId>> {
    world
        .query::<&Decks>()
        .iter(world)
        .next()
        .and_then(|d| d.decks.iter().find(|d| !d.cards.is_empty()))
        .map(|d| d.cards.clone())
}

fn in_arena(world: &mut World) -> bool {
    let arena = world
        .resource::<ClientContent>()
        .0
        .arena()
        .map(|a| a.id.clone());
    my_farm(world).is_some_and(|(info, ..)| Some(info.zone) == arena)
}

fn duel_view(world: &mut World) -> Option<(DuelBoard, DuelSeat)> {
    duel::my_duel(world)
}

/// The last duel is recorded and the arena shows its result.
fn recorded(world: &mut World) -> bool {
    world
        .query::<&ArenaStatus>()
        .iter(world)
        .next()
        .is_some_and(|s| s.last.is_some() && s.state == ArenaState::Idle)
}

/// One headless `duel` bot, in the background, to be the tour's opponent.
fn start_duel_bot(world: &mut World) {
    let opts = world.resource::<GuiOptions>().clone();
    let content = world.resource::<ClientContent>().0.clone();
    std::thread::spawn(move || {
        let cfg = crate::bots::SwarmConfig {
            sidecar_url: opts.sidecar_url,
            ca_cert: opts.ca_cert,
            bots: 1,
            duration: std::time::Duration::from_secs(TOUR_LIMIT_SECS as u64),
            scenario: crate::bots::Scenario::Duel,
            user_prefix: "tour_opponent".into(),
            password: "tour-opponent-password".into(),
            threads: 1,
            hz: 20,
            login_concurrency: 1,
            content,
        };
        match crate::bots::run(&cfg, |_| {}) {
            Ok(report) if !report.errors.is_empty() => {
                error!(errors = ?report.errors, "the tour's duel bot had trouble")
            }
            Ok(_) => {}
            Err(e) => error!(error = %e, "the tour's duel bot failed"),
        }
    });
}

/// The plot grid has a button for every plot of the farm.
fn grid_built(world: &mut World) -> bool {
    let plots = my_farm(world).map_or(0, |(_, f, _)| f.plots.len());
    plots > 0 && world.query::<&PlotButton>().iter(world).count() == plots
}

/// The farm grid: one button per plot, and the tour's plots labelled as watered crops.
fn check_farm(world: &mut World, crop: &CropId) -> Vec<String> {
    let mut problems = economy::check_panels(world);
    if !grid_built(world) {
        problems.push("the grid does not have one button per plot".into());
    }
    let name = world
        .resource::<ClientContent>()
        .0
        .crop(crop)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let labels = farm::plot_labels(world);
    for p in 0..PLOTS {
        match labels.get(&p) {
            Some(l) if l.starts_with(&name) && l.contains("watered") => {}
            other => problems.push(format!("plot {p} reads {other:?}")),
        }
    }
    problems
}

/// Start the tour when `--screenshots` is given (on entering the farm screen).
pub(super) fn start(world: &mut World) {
    let Some(dir) = world.resource::<GuiOptions>().screenshots.clone() else {
        return;
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(world, format!("cannot create {}: {e}", dir.display()));
    }
    let now = world.resource::<Time>().elapsed_secs();
    world.insert_resource(Tour::new(dir, now));
}
