//! The economy's sanity, judged over the whole content:
//!
//! - **No coins from nothing.** Starting from coins alone, no sequence of buying, crafting and
//!   selling may end with more coins. For every item we compute the cheapest way to get it
//!   with coins only (buy it, or craft it from items got that way, fee included); an item the
//!   market buys back for more than that is a loophole. Farming is not a loophole: it turns
//!   time into produce.
//! - **Every card can be obtained.** Some recipe makes it from items a player can get (start
//!   items, the market, harvests of crops whose seed they can get, other recipes).

use super::defs::{Content, RecipeOutput};
use super::validate::Problems;
use crate::ids::ItemId;
use std::collections::{BTreeMap, BTreeSet};

/// How the cheapest coins-only route to an item goes.
#[derive(Clone, Debug)]
enum Route {
    Buy,
    Craft(String),
}

/// The cheapest coins-only cost of one of each item, where there is one, and how.
pub fn acquisition_costs(c: &Content) -> BTreeMap<ItemId, (f64, String)> {
    let market = c.zones.values().any(|z| z.market);
    let mut cost: BTreeMap<&ItemId, (f64, Route)> = BTreeMap::new();
    if market {
        for d in c.items.values() {
            if let Some(price) = d.buy_price {
                cost.insert(&d.id, (f64::from(price), Route::Buy));
            }
        }
    }
    // Relax until nothing gets cheaper. Costs only fall and every recipe uses at least one
    // item, so this settles; a fee-free recipe loop that multiplies an item drives its cost
    // toward zero, which the round limit stops and the sell check then reports.
    for _ in 0..(4 * c.recipes.len() + 8) {
        let mut changed = false;
        for r in c.recipes.values() {
            let RecipeOutput::Item(out, n) = &r.output else {
                continue;
            };
            let mut total = f64::from(r.fee);
            let mut ok = true;
            for (input, &k) in &r.inputs {
                match cost.get(input) {
                    Some((each, _)) => total += each * f64::from(k),
                    None => ok = false,
                }
            }
            if !ok || *n == 0 {
                continue;
            }
            let each = total / f64::from(*n);
            let better = cost
                .get(out)
                .is_none_or(|(old, _)| each < old * (1.0 - 1e-12) - 1e-12);
            if better {
                cost.insert(out, (each, Route::Craft(r.id.to_string())));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    cost.into_iter()
        .map(|(id, (each, route))| {
            let how = match route {
                Route::Buy => "bought".to_owned(),
                Route::Craft(r) => format!("crafted by recipe '{r}'"),
            };
            (id.clone(), (each, how))
        })
        .collect()
}

/// Items a player can come to hold at all, and cards they can come to own.
pub fn obtainable(c: &Content) -> (BTreeSet<ItemId>, BTreeSet<crate::ids::CardId>) {
    let market = c.zones.values().any(|z| z.market);
    let mut items: BTreeSet<ItemId> = c.economy.start_items.keys().cloned().collect();
    if market {
        items.extend(
            c.items
                .values()
                .filter(|d| d.buy_price.is_some())
                .map(|d| d.id.clone()),
        );
    }
    let mut cards = BTreeSet::new();
    loop {
        let before = items.len() + cards.len();
        for crop in c.crops.values() {
            if items.contains(&crop.seed) {
                items.insert(crop.produce.clone());
            }
        }
        for r in c.recipes.values() {
            if r.inputs.keys().all(|i| items.contains(i)) {
                match &r.output {
                    RecipeOutput::Item(out, _) => {
                        items.insert(out.clone());
                    }
                    RecipeOutput::Card(card) => {
                        cards.insert(card.clone());
                    }
                }
            }
        }
        if items.len() + cards.len() == before {
            return (items, cards);
        }
    }
}

pub(crate) fn check(p: &mut Problems<'_>, c: &Content) {
    let market = c.zones.values().any(|z| z.market);
    if market {
        for (id, (each, how)) in acquisition_costs(c) {
            let Some(sell) = c.item(&id).and_then(|d| d.sell_price) else {
                continue;
            };
            if f64::from(sell) > each + 1e-9 {
                p.add(
                    "items.ron",
                    id.as_str(),
                    "sell_price",
                    format!(
                        "the market pays {sell} but it can be {how} for {} coins: buying, crafting and selling would create coins from nothing",
                        fmt_coins(each)
                    ),
                );
            }
        }
    }
    let (_, cards) = obtainable(c);
    for card in c.cards.keys() {
        if !cards.contains(card) {
            p.add(
                "cards.ron",
                card.as_str(),
                "id",
                "no player can obtain this card: no recipe makes it from items a player can get",
            );
        }
    }
}

fn fmt_coins(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.2}")
    }
}
