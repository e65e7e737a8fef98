//! Cross-checks that the types cannot make: unique and well-formed ids, references that
//! resolve, ranges, and the economy's sanity ([`super::sanity`]). Every problem is collected,
//! not just the first.

use super::defs::{
    CardDef, CardKind, Content, CropDef, DuelRules, Economy, Effect, ItemDef, ItemKind, RecipeDef,
    RecipeOutput, ZoneDef,
};
use super::load::{ContentError, Raw};
use crate::ids::{ItemId, is_valid_content_id};
use std::collections::BTreeMap;

/// Upper bound on growth and drought so absolute ticks never overflow and a typo (an extra
/// zero or three) is caught: one week of world ticks.
pub const MAX_GROWTH_TICKS: u32 = 7 * 24 * 3600 * 20;
/// Upper bound on plots per farm (start plus every expansion); keeps the replicated farm
/// inside one packet's budget.
pub const MAX_FARM_PLOTS: u16 = 64;
/// Upper bound on a price, a fee or starting coins.
pub const MAX_PRICE: u32 = 1_000_000;
/// Upper bound on a stack.
pub const MAX_STACK: u32 = 100_000;
/// Upper bound on a card's energy cost.
pub const MAX_CARD_COST: u8 = 20;
/// Upper bound on a card's stats and effect amounts.
pub const MAX_CARD_STAT: u16 = 1_000;

/// Collects problems.
pub(crate) struct Problems<'a>(pub &'a mut Vec<ContentError>);

impl Problems<'_> {
    pub fn add(&mut self, file: &str, entry: &str, field: &'static str, reason: impl Into<String>) {
        self.0
            .push(ContentError::invalid(file, entry, field, reason));
    }

    /// `value` within `lo..=hi`, else a problem.
    fn range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        file: &str,
        entry: &str,
        field: &'static str,
        value: T,
        lo: T,
        hi: T,
    ) {
        if value < lo || value > hi {
            self.add(
                file,
                entry,
                field,
                format!("{value} is out of range {lo}..={hi}"),
            );
        }
    }
}

/// Index definitions by id: well-formed, named, unique.
fn index<T, K: Ord + Clone + std::fmt::Display>(
    p: &mut Problems<'_>,
    file: &'static str,
    defs: Vec<T>,
    key: impl Fn(&T) -> &K,
    name: impl Fn(&T) -> &str,
    required: bool,
) -> BTreeMap<K, T> {
    let mut map = BTreeMap::new();
    for def in defs {
        let id = key(&def).clone();
        let shown = id.to_string();
        if !is_valid_content_id(&shown) {
            p.add(
                file,
                &shown,
                "id",
                "must be 1-32 chars of a-z, 0-9, _ and start with a letter",
            );
        }
        if name(&def).trim().is_empty() {
            p.add(file, &shown, "name", "must not be empty");
        }
        if map.contains_key(&id) {
            p.add(file, &shown, "id", "duplicate id");
            continue;
        }
        map.insert(id, def);
    }
    if required && map.is_empty() {
        p.add(file, "-", "entries", "at least one entry is required");
    }
    map
}

pub(crate) fn build(raw: Raw, version: String, errors: &mut Vec<ContentError>) -> Content {
    let mut p = Problems(errors);
    let p = &mut p;
    let content = Content {
        items: index(p, "items.ron", raw.items, |d| &d.id, |d| &d.name, true),
        crops: index(p, "crops.ron", raw.crops, |d| &d.id, |d| &d.name, true),
        recipes: index(p, "recipes.ron", raw.recipes, |d| &d.id, |d| &d.name, false),
        cards: index(p, "cards.ron", raw.cards, |d| &d.id, |d| &d.name, false),
        zones: index(p, "zones.ron", raw.zones, |d| &d.id, |d| &d.name, true),
        economy: raw.economy,
        duel: raw.duel,
        version,
    };
    for d in content.items.values() {
        item(p, d);
    }
    for d in content.crops.values() {
        crop(p, &content, d);
    }
    for d in content.recipes.values() {
        recipe(p, &content, d);
    }
    for d in content.cards.values() {
        card(p, &content, d);
    }
    for d in content.zones.values() {
        zone(p, &content.economy, d);
    }
    economy(p, &content);
    duel(p, &content.duel, content.cards.len());
    // Sanity tolerates dangling ids (they count as unobtainable), so it always runs: a
    // designer sees every problem at once.
    super::sanity::check(p, &content);
    content
}

fn item(p: &mut Problems<'_>, d: &ItemDef) {
    const F: &str = "items.ron";
    let id = d.id.as_str();
    p.range(F, id, "stack", d.stack, 1, MAX_STACK);
    if let Some(price) = d.buy_price {
        p.range(F, id, "buy_price", price, 0, MAX_PRICE);
    }
    if let Some(price) = d.sell_price {
        p.range(F, id, "sell_price", price, 0, MAX_PRICE);
    }
    if let ItemKind::Fertilizer {
        growth_percent,
        extra_yield,
    } = d.kind
    {
        p.range(F, id, "growth_percent", growth_percent, 0, 100);
        p.range(F, id, "extra_yield", extra_yield, 0, 1000);
    }
}

/// `id` names an item; say so if not.
fn item_ref<'c>(
    p: &mut Problems<'_>,
    c: &'c Content,
    file: &str,
    entry: &str,
    field: &'static str,
    id: &ItemId,
) -> Option<&'c ItemDef> {
    let def = c.item(id);
    if def.is_none() {
        p.add(file, entry, field, format!("no item '{id}' in items.ron"));
    }
    def
}

fn crop(p: &mut Problems<'_>, c: &Content, d: &CropDef) {
    const F: &str = "crops.ron";
    let id = d.id.as_str();
    if let Some(seed) = item_ref(p, c, F, id, "seed", &d.seed)
        && seed.kind != ItemKind::Seed
    {
        p.add(
            F,
            id,
            "seed",
            format!("item '{}' is not of kind Seed", d.seed),
        );
    }
    let produce = item_ref(p, c, F, id, "produce", &d.produce);
    p.range(F, id, "growth_ticks", d.growth_ticks, 1, MAX_GROWTH_TICKS);
    p.range(F, id, "drought_ticks", d.drought_ticks, 1, MAX_GROWTH_TICKS);
    p.range(F, id, "yield_max", d.yield_max, 1, 1000);
    if d.yield_min > d.yield_max {
        p.add(
            F,
            id,
            "yield_min",
            format!("{} is more than yield_max {}", d.yield_min, d.yield_max),
        );
    }
    if let Some(produce) = produce
        && d.yield_max > produce.stack
    {
        p.add(
            F,
            id,
            "yield_max",
            format!(
                "{} is more than the stack of '{}' ({})",
                d.yield_max, d.produce, produce.stack
            ),
        );
    }
    let planted_by = c.crops.values().filter(|o| o.seed == d.seed).count();
    if planted_by > 1 {
        p.add(
            F,
            id,
            "seed",
            format!(
                "seed '{}' is planted by {planted_by} crops; give each crop its own",
                d.seed
            ),
        );
    }
}

fn recipe(p: &mut Problems<'_>, c: &Content, d: &RecipeDef) {
    const F: &str = "recipes.ron";
    let id = d.id.as_str();
    if d.inputs.is_empty() {
        p.add(F, id, "inputs", "a recipe uses up at least one item");
    }
    for (input, &n) in &d.inputs {
        if let Some(def) = item_ref(p, c, F, id, "inputs", input)
            && (n == 0 || n > def.stack)
        {
            p.add(
                F,
                id,
                "inputs",
                format!("{n} × '{input}' is out of range 1..={}", def.stack),
            );
        }
    }
    p.range(F, id, "fee", d.fee, 0, MAX_PRICE);
    match &d.output {
        RecipeOutput::Item(out, n) => {
            if let Some(def) = item_ref(p, c, F, id, "output", out)
                && (*n == 0 || *n > def.stack)
            {
                p.add(
                    F,
                    id,
                    "output",
                    format!("{n} × '{out}' is out of range 1..={}", def.stack),
                );
            }
        }
        RecipeOutput::Card(card) => {
            if c.card(card).is_none() {
                p.add(F, id, "output", format!("no card '{card}' in cards.ron"));
            }
        }
    }
}

fn card(p: &mut Problems<'_>, c: &Content, d: &CardDef) {
    const F: &str = "cards.ron";
    let id = d.id.as_str();
    p.range(F, id, "cost", d.cost, 0, MAX_CARD_COST);
    match d.kind {
        CardKind::Unit => {
            p.range(F, id, "health", d.health, 1, MAX_CARD_STAT);
            p.range(F, id, "attack", d.attack, 0, MAX_CARD_STAT);
        }
        CardKind::Spell => {
            if d.attack != 0 || d.health != 0 {
                p.add(F, id, "attack", "a spell has no attack or health");
            }
            if d.effects.is_empty() {
                p.add(F, id, "effects", "a spell needs at least one effect");
            }
        }
    }
    for e in &d.effects {
        match e {
            Effect::Damage(n) | Effect::Heal(n) => p.range(F, id, "effects", *n, 1, MAX_CARD_STAT),
            Effect::Draw(n) => p.range(F, id, "effects", *n, 1, 10),
            Effect::Buff { attack, health } => p.range(
                F,
                id,
                "effects",
                attack.saturating_add(*health),
                1,
                MAX_CARD_STAT,
            ),
            Effect::Summon(other) => match c.card(other) {
                None => p.add(
                    F,
                    id,
                    "effects",
                    format!("Summon: no card '{other}' in cards.ron"),
                ),
                Some(o) if o.kind != CardKind::Unit => p.add(
                    F,
                    id,
                    "effects",
                    format!("Summon: card '{other}' is not a Unit"),
                ),
                Some(_) => {}
            },
        }
    }
}

fn zone(p: &mut Problems<'_>, e: &Economy, d: &ZoneDef) {
    const F: &str = "zones.ron";
    let id = d.id.as_str();
    p.range(F, id, "farm_plots", d.farm_plots, 1, MAX_FARM_PLOTS);
    let most =
        u32::from(d.farm_plots) + u32::from(e.expansion.plots) * e.expansion.prices.len() as u32;
    if d.farm_plots <= MAX_FARM_PLOTS && most > u32::from(MAX_FARM_PLOTS) {
        p.add(
            F,
            id,
            "farm_plots",
            format!("with every expansion in economy.ron a farm here would have {most} plots; the most is {MAX_FARM_PLOTS}"),
        );
    }
}

/// Upper bound on a deck's size, a hand, a board or a duel's energy.
pub const MAX_DUEL_COUNT: u8 = 60;

fn duel(p: &mut Problems<'_>, d: &DuelRules, cards: usize) {
    const F: &str = "duel.ron";
    const E: &str = "duel";
    p.range(F, E, "deck_size", d.deck_size, 1, MAX_DUEL_COUNT);
    p.range(F, E, "max_copies", d.max_copies, 1, MAX_DUEL_COUNT);
    p.range(F, E, "hero_health", d.hero_health, 1, MAX_CARD_STAT);
    p.range(F, E, "max_hand", d.max_hand, 1, MAX_DUEL_COUNT);
    p.range(
        F,
        E,
        "starting_hand",
        d.starting_hand,
        0,
        d.max_hand.min(d.deck_size),
    );
    p.range(F, E, "max_energy", d.max_energy, 1, MAX_CARD_COST);
    p.range(F, E, "max_board", d.max_board, 1, MAX_DUEL_COUNT);
    // At least a second, at most an hour.
    p.range(F, E, "turn_ticks", d.turn_ticks, 20, 72_000);
    p.range(F, E, "max_turns", d.max_turns, 2, 1_000);
    let most = cards.saturating_mul(usize::from(d.max_copies));
    if most < usize::from(d.deck_size) {
        p.add(
            F,
            E,
            "deck_size",
            format!(
                "cards.ron's {cards} different cards × max_copies {} = at most {most} cards: a deck of {} cannot be built",
                d.max_copies, d.deck_size
            ),
        );
    }
    // Disconnect grace: at least a second, at most an hour.
    p.range(
        F,
        E,
        "disconnect_grace_ticks",
        d.disconnect_grace_ticks,
        20,
        72_000,
    );
    p.range(F, E, "rewards.win", d.rewards.win, 0, MAX_PRICE);
    p.range(F, E, "rewards.draw", d.rewards.draw, 0, MAX_PRICE);
    p.range(F, E, "rewards.loss", d.rewards.loss, 0, MAX_PRICE);
    p.range(
        F,
        E,
        "rewards.min_turns",
        d.rewards.min_turns,
        0,
        d.max_turns,
    );
    let m = &d.matchmaking;
    p.range(F, E, "matchmaking.window", m.window, 1, 5_000);
    p.range(
        F,
        E,
        "matchmaking.max_window",
        m.max_window,
        m.window,
        5_000,
    );
}

fn economy(p: &mut Problems<'_>, c: &Content) {
    const F: &str = "economy.ron";
    const E: &str = "economy";
    let e = &c.economy;
    if c.zone(&e.start_zone).is_none() {
        p.add(
            F,
            E,
            "start_zone",
            format!("no zone '{}' in zones.ron", e.start_zone),
        );
    }
    p.range(F, E, "start_coins", e.start_coins, 0, MAX_PRICE);
    for (item, &n) in &e.start_items {
        if let Some(def) = item_ref(p, c, F, E, "start_items", item)
            && (n == 0 || n > def.stack)
        {
            p.add(
                F,
                E,
                "start_items",
                format!("{n} × '{item}' is out of range 1..={}", def.stack),
            );
        }
    }
    if c.zone(&e.start_zone).is_some_and(|z| z.arena) {
        p.add(
            F,
            E,
            "start_zone",
            format!(
                "'{}' is an arena: new players start on a farm",
                e.start_zone
            ),
        );
    }
    for (card, &n) in &e.start_cards {
        if c.card(card).is_none() {
            p.add(
                F,
                E,
                "start_cards",
                format!("no card '{card}' in cards.ron"),
            );
        } else if n == 0 || n > crate::inventory::MAX_CARD_COPIES {
            p.add(
                F,
                E,
                "start_cards",
                format!(
                    "{n} × '{card}' is out of range 1..={}",
                    crate::inventory::MAX_CARD_COPIES
                ),
            );
        }
    }
    p.range(F, E, "water_ticks", e.water_ticks, 1, MAX_GROWTH_TICKS);
    if !e.expansion.prices.is_empty() {
        p.range(
            F,
            E,
            "expansion.plots",
            e.expansion.plots,
            1,
            MAX_FARM_PLOTS,
        );
    }
    for &price in &e.expansion.prices {
        p.range(F, E, "expansion.prices", price, 0, MAX_PRICE);
    }
}
