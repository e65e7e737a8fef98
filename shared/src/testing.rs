//! A small, complete content set for tests and benches, independent of what designers ship
//! in `assets/data`: three zones (one with a market, one an arena), one crop, a material, a fertilizer, a card
//! and its recipe, and small duel rules (3-card decks; a new player holds 3 × `x`, one deck). Water lasts 60 ticks; crop `a` needs
//! 100 and withers after 300 dry.

use crate::content::Content;
use std::collections::BTreeMap;

/// The fixture's files, by name (edit one and load with `Content::load_from`).
pub fn fixture_files() -> BTreeMap<String, String> {
    [
        (
            "items.ron",
            r#"[
    (id: "seed_a", name: "A seeds", kind: Seed, stack: 20, buy_price: Some(2), sell_price: Some(1)),
    (id: "a", name: "A", kind: Produce, stack: 10, sell_price: Some(3)),
    (id: "m", name: "M", kind: Material, stack: 10, sell_price: Some(5)),
    (id: "compost", name: "Compost", kind: Fertilizer(growth_percent: 50, extra_yield: 1), stack: 5, buy_price: Some(4)),
]"#,
        ),
        (
            "crops.ron",
            r#"[(id: "a", name: "A", seed: "seed_a", growth_ticks: 100, drought_ticks: 300, produce: "a", yield_min: 1, yield_max: 3)]"#,
        ),
        (
            "recipes.ron",
            r#"[
    (id: "make_m", name: "Make M", inputs: {"a": 2}, output: Item("m", 1)),
    (id: "card_x", name: "X card", inputs: {"m": 1, "a": 1}, fee: 5, output: Card("x")),
]"#,
        ),
        (
            "cards.ron",
            r#"[(id: "x", name: "X", kind: Unit, cost: 1, attack: 1, health: 1)]"#,
        ),
        (
            "zones.ron",
            r#"[(id: "z", name: "Z", farm_plots: 4, market: true), (id: "q", name: "Q", farm_plots: 2), (id: "ar", name: "Arena", farm_plots: 1, arena: true)]"#,
        ),
        (
            "economy.ron",
            r#"(start_zone: "z", start_coins: 20, start_items: {"seed_a": 2}, start_cards: {"x": 3}, water_ticks: 60, expansion: (plots: 2, prices: [30, 60]))"#,
        ),
        (
            "duel.ron",
            r#"(deck_size: 3, max_copies: 3, hero_health: 10, starting_hand: 2, max_hand: 6, max_energy: 5, max_board: 3, turn_ticks: 200, max_turns: 20)"#,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The fixture, loaded.
pub fn fixture() -> Content {
    match Content::load_from(&fixture_files()) {
        Ok(c) => c,
        Err(e) => panic!("the test fixture must load:\n{e}"),
    }
}
