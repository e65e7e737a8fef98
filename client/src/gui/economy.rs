//! The economy beside the farm: a tabbed panel (whose **Decks** and **Arena** pages are
//! [`super::duel`]'s) with the **market** (prices, buy and sell
//! one), **crafting** (each recipe with its inputs, fee and output, and a craft button) and the
//! **card collection** (every card in content with its stats, how many you own, and the recipe
//! for the ones you lack), and, under the inventory, the **pending** economy actions: sent,
//! applied by the shard, and shown until the shard acknowledges them (it does so only once
//! they are saved for good).
//!
//! Every button is checked first with the same pure rule the shard runs, so a move that
//! cannot work says why at once.

use super::style::*;
use super::{ClientContent, Screen};
use crate::net::send_request;
use bevy::prelude::*;
use harvest_shared::content::{CardKind, Content, Effect, RecipeOutput};
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::ids::{CardId, ItemId, RecipeId};
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::market::{self, MarketAction, MarketState};
use harvest_shared::protocol::PlayerInfo;
use std::collections::{BTreeMap, BTreeSet};

/// The panel's pages.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Market,
    Crafting,
    Cards,
    Decks,
    Arena,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Market,
        Tab::Crafting,
        Tab::Cards,
        Tab::Decks,
        Tab::Arena,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Market => "Market",
            Tab::Crafting => "Crafting",
            Tab::Cards => "Cards",
            Tab::Decks => "Decks",
            Tab::Arena => "Arena",
        }
    }
}

/// A button that shows a page.
#[derive(Component, Clone, Copy)]
pub struct TabButton(pub Tab);
/// A page of the panel; only the current tab's is displayed.
#[derive(Component, Clone, Copy)]
pub struct TabPage(pub Tab);
/// One row of the market: an item with a price.
#[derive(Component)]
pub struct MarketRow(pub ItemId);
/// One row of the crafting panel.
#[derive(Component)]
pub struct RecipeRow(pub RecipeId);
/// One card of the collection page (every card in content, owned or not).
#[derive(Component)]
pub struct CardRow(pub CardId);
/// The pending actions' text.
#[derive(Component)]
pub struct PendingText;
/// The market's heading (says when the zone has no stall).
#[derive(Component)]
pub struct MarketHeading;
/// The collection's heading (how many cards are collected).
#[derive(Component)]
pub struct CollectionHeading;

/// What an economy button does.
#[derive(Component, Clone, Debug)]
pub enum EconButton {
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

/// The tabbed panel beside the farm: market, crafting and the card collection, one page each.
pub(super) fn spawn_panel(parent: &mut ChildSpawnerCommands, c: &Content) {
    parent
        .spawn((
            Node {
                flex_direction: FlexDirection::Column,
                margin: UiRect::left(Val::Px(16.0)),
                padding: UiRect::all(Val::Px(8.0)),
                width: Val::Px(520.0),
                align_self: AlignSelf::FlexStart,
                ..default()
            },
            BackgroundColor(PANEL),
        ))
        .with_children(|panel| {
            panel
                .spawn(Node {
                    flex_direction: FlexDirection::Row,
                    margin: UiRect::bottom(Val::Px(6.0)),
                    ..default()
                })
                .with_children(|tabs| {
                    for tab in Tab::ALL {
                        tabs.spawn(button(TabButton(tab), tab.title(), 96.0));
                    }
                });
            page(panel, Tab::Market).with_children(|col| market_page(col, c));
            page(panel, Tab::Crafting).with_children(|col| crafting_page(col, c));
            page(panel, Tab::Cards).with_children(|col| cards_page(col, c));
            page(panel, Tab::Decks).with_children(|col| super::duel::decks_page(col, c));
            page(panel, Tab::Arena).with_children(super::duel::arena_page);
        });
}

fn page<'a>(parent: &'a mut ChildSpawnerCommands, tab: Tab) -> EntityCommands<'a> {
    parent.spawn((
        TabPage(tab),
        Node {
            flex_direction: FlexDirection::Column,
            display: if tab == Tab::default() {
                Display::Flex
            } else {
                Display::None
            },
            ..default()
        },
    ))
}

fn market_page(col: &mut ChildSpawnerCommands, c: &Content) {
    col.spawn((MarketHeading, text("Market", 18.0, RIPE)));
    col.spawn(small("item  buy price / sell price (coins each)", TEXT));
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
}

fn crafting_page(col: &mut ChildSpawnerCommands, c: &Content) {
    col.spawn(text("Crafting", 18.0, RIPE));
    col.spawn(small("inputs + fee = output", TEXT));
    for r in c.recipes.values() {
        col.spawn((RecipeRow(r.id.clone()), row()))
            .with_children(|row| {
                row.spawn(small(recipe_label(c, &r.id), TEXT));
                row.spawn(small_button(EconButton::Craft(r.id.clone()), "Craft"));
            });
    }
}

fn cards_page(col: &mut ChildSpawnerCommands, c: &Content) {
    col.spawn((CollectionHeading, text("Cards", 18.0, RIPE)));
    for d in c.cards.values() {
        col.spawn((
            CardRow(d.id.clone()),
            small("", TEXT),
            Node {
                margin: UiRect::bottom(Val::Px(6.0)),
                ..default()
            },
        ));
    }
}

/// What a card is, for its row: kind, cost, stats, effects and rules text.
fn card_label(c: &Content, id: &CardId, owned: u32) -> String {
    let Some(d) = c.card(id) else {
        return format!("{id} x{owned}");
    };
    let body = match d.kind {
        CardKind::Unit => format!("unit, cost {}, {}/{}", d.cost, d.attack, d.health),
        CardKind::Spell => format!("spell, cost {}", d.cost),
    };
    let effects: Vec<String> = d
        .effects
        .iter()
        .map(|e| match e {
            Effect::Damage(n) => format!("damage {n}"),
            Effect::Heal(n) => format!("heal {n}"),
            Effect::Draw(n) => format!("draw {n}"),
            Effect::Buff { attack, health } => format!("buff +{attack}/+{health}"),
            Effect::Summon(u) => format!(
                "summon {}",
                c.card(u).map_or(u.as_str(), |s| s.name.as_str())
            ),
        })
        .collect();
    let mut s = format!("{} x{owned}  ({body})", d.name);
    if !effects.is_empty() {
        s.push_str(&format!("  [{}]", effects.join(", ")));
    }
    if owned == 0 {
        let recipe = c
            .recipes
            .values()
            .find(|r| matches!(&r.output, RecipeOutput::Card(k) if k == id));
        if let Some(r) = recipe {
            s.push_str(&format!("\n   craft: {}", recipe_label(c, &r.id)));
        }
    } else if !d.text.is_empty() {
        s.push_str(&format!("\n   \"{}\"", d.text));
    }
    s
}

/// The pending list, beside the inventory: always in sight.
pub(super) fn spawn_pending(parent: &mut ChildSpawnerCommands) {
    parent.spawn(text("Pending", 20.0, RIPE));
    parent.spawn(small("economy actions not yet saved", MUTED));
    parent.spawn((PendingText, small("", TEXT)));
}

/// The pending list's text: one `- ` line per action waiting for its acknowledgement.
fn pending_list(pending: &PendingActions) -> String {
    if pending.0.is_empty() {
        "(nothing waiting)".to_owned()
    } else {
        pending
            .0
            .values()
            .map(|s| format!("- {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Redraw the pending list now (the tour captures it in the frame its actions are sent).
pub(super) fn refresh_pending(world: &mut World) {
    let list = pending_list(world.resource::<PendingActions>());
    let mut q = world.query_filtered::<&mut Text, With<PendingText>>();
    for mut t in q.iter_mut(world) {
        t.0.clone_from(&list);
    }
}

/// Refresh the collection, the pending list, the market heading and which page shows.
#[allow(clippy::type_complexity)]
pub(super) fn render(
    content: Res<ClientContent>,
    pending: Res<PendingActions>,
    tab: Res<Tab>,
    player: Query<(&PlayerInfo, Option<&Collection>)>,
    mut pages: Query<(&TabPage, &mut Node)>,
    mut tab_buttons: Query<(&TabButton, &mut BorderColor, &mut Node), Without<TabPage>>,
    mut texts: ParamSet<(
        Query<(&CardRow, &mut Text, &mut TextColor)>,
        Query<&mut Text, With<PendingText>>,
        Query<&mut Text, With<MarketHeading>>,
        Query<&mut Text, With<CollectionHeading>>,
    )>,
) {
    for (page, mut node) in &mut pages {
        node.display = if page.0 == *tab {
            Display::Flex
        } else {
            Display::None
        };
    }
    for (b, mut border, mut node) in &mut tab_buttons {
        let selected = b.0 == *tab;
        node.border = UiRect::all(Val::Px(if selected { 3.0 } else { 0.0 }));
        *border = BorderColor::all(if selected { RIPE } else { BUTTON });
    }
    let Some((info, col)) = player.iter().next() else {
        return;
    };
    let c = &content.0;
    let empty = Collection::default();
    let col = col.unwrap_or(&empty);
    for (row, mut t, mut color) in &mut texts.p0() {
        let owned = col.count(&row.0);
        t.0 = card_label(c, &row.0, owned);
        color.0 = if owned > 0 { TEXT } else { MUTED };
    }
    let list = pending_list(&pending);
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
    let owned = c.cards.keys().filter(|k| col.count(k) > 0).count();
    for mut t in &mut texts.p3() {
        t.0 = format!("Cards: {owned} of {} collected", c.cards.len());
    }
}

/// Handle a press of a tab or an economy button (once per press).
fn clicks(world: &mut World) {
    let mut tabs = world.query::<(&Interaction, &TabButton)>();
    if let Some(tab) = tabs
        .iter(world)
        .find(|(i, _)| **i == Interaction::Pressed)
        .map(|(_, t)| t.0)
    {
        *world.resource_mut::<Tab>() = tab;
    }
    let mut q = world.query::<(&Interaction, &EconButton)>();
    let pressed = q
        .iter(world)
        .find(|(i, _)| **i == Interaction::Pressed)
        .map(|(_, b)| b.clone());
    let mut last = world.get_resource_or_insert_with::<LastEconPress>(Default::default);
    let key = pressed.as_ref().map(|b| format!("{b:?}"));
    if last.0 == key {
        return;
    }
    last.0 = key;
    if let Some(button) = pressed
        && let Err(why) = send_economy(world, &button)
    {
        super::farm::set_status(world, format!("Can't: {why}"));
    }
}

/// Check `button`'s move with the shard's own rule, send it and list it as pending. Its
/// request id, or why it cannot be made (or `not connected`).
pub(super) fn send_economy(world: &mut World, button: &EconButton) -> Result<u32, String> {
    let mut pq = world.query::<(&PlayerInfo, &Inventory, Option<&Collection>)>();
    let (info, inv, col) = pq
        .iter(world)
        .next()
        .map(|(i, v, c)| (i.clone(), v.clone(), c.cloned().unwrap_or_default()))
        .ok_or("your farm has not arrived yet")?;
    let content = world.resource::<ClientContent>().0.clone();
    check(button, &info, inv, col, &content)?;
    let what = label(button, &content);
    let id = world.resource::<super::farm::RequestIds>().next();
    world.resource_mut::<super::farm::RequestIds>().advance();
    let sent = match button.clone() {
        EconButton::Buy(item) => send_request(world, id, MarketAction::Buy { item, count: 1 }),
        EconButton::Sell(item) => send_request(world, id, MarketAction::Sell { item, count: 1 }),
        EconButton::Craft(recipe) => send_request(world, id, CraftAction::Craft { recipe }),
    };
    if !sent {
        return Err("not connected".into());
    }
    world
        .resource_mut::<PendingActions>()
        .0
        .insert(id, what.clone());
    super::farm::set_status(world, format!("Sent: {what} (pending until saved)"));
    Ok(id)
}

#[derive(Resource, Default)]
struct LastEconPress(Option<String>);

/// What a button does, in words, for the status line and the pending list.
fn label(b: &EconButton, c: &Content) -> String {
    let item = |i: &ItemId| c.item(i).map_or(i.to_string(), |d| d.name.clone());
    match b {
        EconButton::Buy(i) => format!("buy 1 {}", item(i)),
        EconButton::Sell(i) => format!("sell 1 {}", item(i)),
        EconButton::Craft(r) => format!(
            "craft {}",
            c.recipe(r).map_or(r.to_string(), |d| d.name.clone())
        ),
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

/// For `--screenshot`: does the panel hold what it must, on its pages? The problems, if any.
pub(super) fn check_panels(world: &mut World) -> Vec<String> {
    let c = world.resource::<ClientContent>().0.clone();
    let mut problems = Vec::new();
    let tradable: BTreeSet<ItemId> = c
        .items
        .values()
        .filter(|d| d.buy_price.is_some() || d.sell_price.is_some())
        .map(|d| d.id.clone())
        .collect();
    let shown: BTreeSet<ItemId> = world
        .query::<&MarketRow>()
        .iter(world)
        .map(|r| r.0.clone())
        .collect();
    if shown != tradable {
        problems.push(format!(
            "the market shows {shown:?}, content prices {tradable:?}"
        ));
    }
    let recipes: BTreeSet<RecipeId> = world
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
    let cards: BTreeSet<CardId> = world
        .query::<&CardRow>()
        .iter(world)
        .map(|r| r.0.clone())
        .collect();
    if cards.iter().ne(c.cards.keys()) {
        problems.push(format!(
            "the collection shows {cards:?}, content has {:?}",
            c.cards.keys()
        ));
    }
    let pending = world.query::<&PendingText>().iter(world).count();
    if pending != 1 {
        problems.push(format!("pending list shown {pending} times"));
    }
    let buttons = world.query::<&EconButton>().iter(world).count();
    if buttons < tradable.len() + c.recipes.len() {
        problems.push(format!("only {buttons} market and crafting buttons"));
    }
    problems
}

/// The tab whose page is displayed, if exactly one is.
pub(super) fn displayed_tab(world: &mut World) -> Option<Tab> {
    let shown: Vec<Tab> = world
        .query::<(&TabPage, &Node)>()
        .iter(world)
        .filter(|(_, n)| n.display != Display::None)
        .map(|(p, _)| p.0)
        .collect();
    match shown[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// The pending list as shown, one line per action.
pub(super) fn pending_lines(world: &mut World) -> Vec<String> {
    world
        .query_filtered::<&Text, With<PendingText>>()
        .iter(world)
        .flat_map(|t| t.0.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| l.starts_with("- "))
        .collect()
}

/// The collection page's row for `card`, as shown.
pub(super) fn card_row_text(world: &mut World, card: &CardId) -> Option<String> {
    world
        .query::<(&CardRow, &Text)>()
        .iter(world)
        .find(|(r, _)| r.0 == *card)
        .map(|(_, t)| t.0.clone())
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<PendingActions>().init_resource::<Tab>();
    app.add_systems(
        Update,
        (render, clicks).chain().run_if(in_state(Screen::Farm)),
    );
}
