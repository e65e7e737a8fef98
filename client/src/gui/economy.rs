//! The economy panels beside the farm: the **market** (prices, buy and sell one), **crafting**
//! (each recipe with its inputs, fee and output, and a craft button), the **card collection**,
//! and the **pending** economy actions: sent, applied by the shard, and shown here until the
//! shard acknowledges them (it does so only once they are saved for good).
//!
//! Every button is checked first with the same pure rule the shard runs, so a move that
//! cannot work says why at once.

use super::style::*;
use super::{ClientContent, Screen};
use crate::net::send_request;
use bevy::prelude::*;
use harvest_shared::content::{Content, RecipeOutput};
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::ids::{ItemId, RecipeId};
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::market::{self, MarketAction, MarketState};
use harvest_shared::protocol::PlayerInfo;
use std::collections::BTreeMap;

/// One row of the market: an item with a price.
#[derive(Component)]
pub struct MarketRow(pub ItemId);
/// One row of the crafting panel.
#[derive(Component)]
pub struct RecipeRow(pub RecipeId);
/// The collection's text.
#[derive(Component)]
pub struct CollectionText;
/// The pending actions' text.
#[derive(Component)]
pub struct PendingText;
/// The market's heading (says when the zone has no stall).
#[derive(Component)]
struct MarketHeading;

#[derive(Component, Clone)]
enum EconButton {
    Buy(ItemId),
    Sell(ItemId),
    Craft(RecipeId),
}

/// Economy requests sent and not acknowledged yet: request id → what it was.
#[derive(Resource, Default)]
pub struct PendingActions(pub BTreeMap<u32, String>);

/// Small text.
fn small(s: impl Into<String>, color: Color) -> impl Bundle {
    text(s, 13.0, color)
}

fn small_button(marker: EconButton, label: &str) -> impl Bundle {
    (
        Button,
        marker,
        Node {
            width: Val::Px(52.0),
            height: Val::Px(20.0),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            margin: UiRect::left(Val::Px(4.0)),
            border_radius: BorderRadius::all(Val::Px(4.0)),
            ..default()
        },
        BackgroundColor(BUTTON),
        children![text(label.to_owned(), 13.0, TEXT)],
    )
}

fn row() -> Node {
    Node {
        flex_direction: FlexDirection::Row,
        align_items: AlignItems::Center,
        justify_content: JustifyContent::SpaceBetween,
        min_height: Val::Px(22.0),
        margin: UiRect::bottom(Val::Px(2.0)),
        ..default()
    }
}

fn recipe_label(c: &Content, id: &RecipeId) -> String {
    let Some(r) = c.recipe(id) else {
        return id.to_string();
    };
    let name = |i: &ItemId| c.item(i).map_or(i.as_str(), |d| d.name.as_str()).to_owned();
    let inputs: Vec<String> = r
        .inputs
        .iter()
        .map(|(i, n)| format!("{n} {}", name(i)))
        .collect();
    let fee = if r.fee > 0 {
        format!(" + {}c", r.fee)
    } else {
        String::new()
    };
    let out = match &r.output {
        RecipeOutput::Item(i, n) => format!("{n} {}", name(i)),
        RecipeOutput::Card(card) => {
            format!(
                "card {}",
                c.card(card).map_or(card.as_str(), |d| d.name.as_str())
            )
        }
    };
    format!("{}{fee} = {out}", inputs.join(", "))
}

/// The market column, built once on the farm screen.
pub(super) fn spawn_market(parent: &mut ChildSpawnerCommands, c: &Content) {
    parent
        .spawn((
            Node {
                flex_direction: FlexDirection::Column,
                margin: UiRect::left(Val::Px(12.0)),
                padding: UiRect::all(Val::Px(8.0)),
                width: Val::Px(340.0),
                align_self: AlignSelf::FlexStart,
                ..default()
            },
            BackgroundColor(PANEL),
        ))
        .with_children(|col| {
            col.spawn((MarketHeading, text("Market", 18.0, RIPE)));
            for d in c
                .items
                .values()
                .filter(|d| d.buy_price.is_some() || d.sell_price.is_some())
            {
                let price = |p: Option<u32>| p.map_or("-".to_owned(), |p| format!("{p}c"));
                col.spawn((MarketRow(d.id.clone()), row()))
                    .with_children(|r| {
                        r.spawn(small(
                            format!(
                                "{}  {} / {}",
                                d.name,
                                price(d.buy_price),
                                price(d.sell_price)
                            ),
                            TEXT,
                        ));
                        r.spawn(Node::default()).with_children(|b| {
                            if d.buy_price.is_some() {
                                b.spawn(small_button(EconButton::Buy(d.id.clone()), "Buy"));
                            }
                            if d.sell_price.is_some() {
                                b.spawn(small_button(EconButton::Sell(d.id.clone()), "Sell"));
                            }
                        });
                    });
            }
        });
}

/// The crafting panel (under the plots), built once on the farm screen.
pub(super) fn spawn_crafting(parent: &mut ChildSpawnerCommands, c: &Content) {
    parent
        .spawn((
            Node {
                flex_direction: FlexDirection::Column,
                margin: UiRect::top(Val::Px(10.0)),
                padding: UiRect::all(Val::Px(8.0)),
                ..default()
            },
            BackgroundColor(PANEL),
        ))
        .with_children(|col| {
            col.spawn(text("Crafting", 18.0, RIPE));
            for r in c.recipes.values() {
                col.spawn((RecipeRow(r.id.clone()), row()))
                    .with_children(|row| {
                        row.spawn(small(recipe_label(c, &r.id), TEXT));
                        row.spawn(small_button(EconButton::Craft(r.id.clone()), "Craft"));
                    });
            }
        });
}

/// The collection and pending sections, under the inventory.
pub(super) fn spawn_status(parent: &mut ChildSpawnerCommands) {
    parent.spawn((
        text("Cards", 20.0, RIPE),
        Node {
            margin: UiRect::top(Val::Px(10.0)),
            ..default()
        },
    ));
    parent.spawn((CollectionText, small("", TEXT)));
    parent.spawn((
        text("Pending", 20.0, RIPE),
        Node {
            margin: UiRect::top(Val::Px(10.0)),
            ..default()
        },
    ));
    parent.spawn((PendingText, small("", TEXT)));
}

/// Refresh the collection, the pending list and the market heading.
#[allow(clippy::type_complexity)]
fn render(
    content: Res<ClientContent>,
    pending: Res<PendingActions>,
    player: Query<(&PlayerInfo, Option<&Collection>)>,
    mut texts: ParamSet<(
        Query<&mut Text, With<CollectionText>>,
        Query<&mut Text, With<PendingText>>,
        Query<&mut Text, With<MarketHeading>>,
    )>,
) {
    let Some((info, col)) = player.iter().next() else {
        return;
    };
    let c = &content.0;
    let cards = match col {
        Some(col) if !col.cards.is_empty() => col
            .cards
            .iter()
            .map(|(id, n)| match c.card(id) {
                Some(d) => format!("{} x{n} ({}: {}/{})", d.name, d.cost, d.attack, d.health),
                None => format!("{id} x{n}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => "(none yet: craft one)".to_owned(),
    };
    for mut t in &mut texts.p0() {
        t.0.clone_from(&cards);
    }
    let list = if pending.0.is_empty() {
        "(nothing waiting)".to_owned()
    } else {
        pending
            .0
            .values()
            .map(|s| format!("… {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for mut t in &mut texts.p1() {
        t.0.clone_from(&list);
    }
    let open = c.zone(&info.zone).is_some_and(|z| z.market);
    for mut t in &mut texts.p2() {
        t.0 = if open {
            "Market (buy / sell)".into()
        } else {
            "Market (no stall in this zone)".into()
        };
    }
}

/// Handle a press of an economy button: check it locally, send it, list it as pending.
fn clicks(world: &mut World) {
    let mut q = world.query::<(&Interaction, &EconButton)>();
    let pressed = q
        .iter(world)
        .find(|(i, _)| **i == Interaction::Pressed)
        .map(|(_, b)| b.clone());
    let mut last = world.get_resource_or_insert_with::<LastEconPress>(Default::default);
    let key = pressed.as_ref().map(label);
    if last.0 == key {
        return;
    }
    last.0 = key;
    let Some(button) = pressed else {
        return;
    };
    let mut pq = world.query::<(&PlayerInfo, &Inventory, Option<&Collection>)>();
    let Some((info, inv, col)) = pq
        .iter(world)
        .next()
        .map(|(i, v, c)| (i.clone(), v.clone(), c.cloned().unwrap_or_default()))
    else {
        return;
    };
    let content = world.resource::<ClientContent>().0.clone();
    let what = label(&button);
    let id = world.resource::<super::farm::RequestIds>().next();
    world.resource_mut::<super::farm::RequestIds>().advance();
    let sent = match check(&button, &info, inv, col, &content) {
        Err(why) => {
            super::farm::set_status(world, format!("Can't: {why}"));
            return;
        }
        Ok(()) => match button {
            EconButton::Buy(item) => send_request(world, id, MarketAction::Buy { item, count: 1 }),
            EconButton::Sell(item) => {
                send_request(world, id, MarketAction::Sell { item, count: 1 })
            }
            EconButton::Craft(recipe) => send_request(world, id, CraftAction::Craft { recipe }),
        },
    };
    if sent {
        world
            .resource_mut::<PendingActions>()
            .0
            .insert(id, what.clone());
        super::farm::set_status(world, format!("Sent: {what} (pending until saved)"));
    }
}

#[derive(Resource, Default)]
struct LastEconPress(Option<String>);

fn label(b: &EconButton) -> String {
    match b {
        EconButton::Buy(i) => format!("buy 1 {i}"),
        EconButton::Sell(i) => format!("sell 1 {i}"),
        EconButton::Craft(r) => format!("craft {r}"),
    }
}

/// The shard's own rule, run on copies.
fn check(
    b: &EconButton,
    info: &PlayerInfo,
    mut inv: Inventory,
    mut col: Collection,
    c: &Content,
) -> Result<(), String> {
    match b {
        EconButton::Buy(item) | EconButton::Sell(item) => {
            let action = match b {
                EconButton::Buy(_) => MarketAction::Buy {
                    item: item.clone(),
                    count: 1,
                },
                _ => MarketAction::Sell {
                    item: item.clone(),
                    count: 1,
                },
            };
            let state = MarketState {
                zone: &info.zone,
                inventory: &mut inv,
            };
            market::apply(&action, state, c)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        EconButton::Craft(recipe) => crafting::apply(
            &CraftAction::Craft {
                recipe: recipe.clone(),
            },
            CraftState {
                inventory: &mut inv,
                collection: &mut col,
            },
            c,
        )
        .map(|_| ())
        .map_err(|e| e.to_string()),
    }
}

/// For `--screenshot`: do the panels show what they must? The problems, if any.
pub(super) fn check_panels(world: &mut World) -> Vec<String> {
    let c = world.resource::<ClientContent>().0.clone();
    let mut problems = Vec::new();
    let tradable: std::collections::BTreeSet<ItemId> = c
        .items
        .values()
        .filter(|d| d.buy_price.is_some() || d.sell_price.is_some())
        .map(|d| d.id.clone())
        .collect();
    let shown: std::collections::BTreeSet<ItemId> = world
        .query::<&MarketRow>()
        .iter(world)
        .map(|r| r.0.clone())
        .collect();
    if shown != tradable {
        problems.push(format!(
            "the market shows {shown:?}, content prices {tradable:?}"
        ));
    }
    let recipes: std::collections::BTreeSet<RecipeId> = world
        .query::<&RecipeRow>()
        .iter(world)
        .map(|r| r.0.clone())
        .collect();
    if recipes.iter().ne(c.recipes.keys()) {
        problems.push(format!(
            "crafting shows {recipes:?}, content has {:?}",
            c.recipes.keys()
        ));
    }
    let tradable = tradable.len();
    for (what, n) in [
        (
            "collection",
            world.query::<&CollectionText>().iter(world).count(),
        ),
        (
            "pending list",
            world.query::<&PendingText>().iter(world).count(),
        ),
    ] {
        if n != 1 {
            problems.push(format!("{what} shown {n} times"));
        }
    }
    let buttons = world.query::<&EconButton>().iter(world).count();
    if buttons < tradable + c.recipes.len() {
        problems.push(format!("only {buttons} market and crafting buttons"));
    }
    problems
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<PendingActions>();
    app.add_systems(
        Update,
        (render, clicks).chain().run_if(in_state(Screen::Farm)),
    );
}
