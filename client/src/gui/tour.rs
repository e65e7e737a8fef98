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
//!
//! Any failed check, or a tour that does not finish within [`TOUR_LIMIT_SECS`], exits 1 with
//! the reason in the log.

use super::economy::{self, EconButton, PendingActions, Tab};
use super::farm::{self, PlotButton};
use super::{ClientContent, GuiOptions};
use crate::net::my_farm;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use harvest_shared::content::Content;
use harvest_shared::farming::{Plot, Stage};
use harvest_shared::ids::{CardId, CropId, ItemId, RecipeId};
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::time::Tick;
use std::path::PathBuf;

/// The whole tour must finish within this (wheat alone takes 30 s to ripen).
pub const TOUR_LIMIT_SECS: f32 = 150.0;
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
            Progress::Next(Step::Done)
        }
        _ => Progress::Wait,
    }
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
