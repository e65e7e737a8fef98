//! Cross-checks that the type system cannot: unique ids, references that resolve, sane ranges.

use super::defs::{Content, CropDef, GameRules, ItemDef, ZoneDef};
use super::load::ContentError;
use crate::ids::is_valid_content_id;
use std::collections::BTreeMap;

/// Upper bound on growth so absolute ticks can never overflow and a typo (an extra zero or
/// three) is caught: one week of world ticks.
pub const MAX_GROWTH_TICKS: u32 = 7 * 24 * 3600 * 20;
/// Upper bound on plots per farm; keeps the replicated farm inside one packet's budget.
pub const MAX_FARM_PLOTS: u16 = 64;

fn index<T, K: Ord + Clone + std::fmt::Display>(
    file: &'static str,
    defs: Vec<T>,
    key: impl Fn(&T) -> &K,
    name: impl Fn(&T) -> &str,
) -> Result<BTreeMap<K, T>, ContentError> {
    let mut map = BTreeMap::new();
    for def in defs {
        let id = key(&def).clone();
        if !is_valid_content_id(&id.to_string()) {
            return Err(ContentError::invalid(
                file,
                id.to_string(),
                "id",
                "must be 1-32 chars of a-z, 0-9, _ and start with a letter",
            ));
        }
        if name(&def).trim().is_empty() {
            return Err(ContentError::invalid(
                file,
                id.to_string(),
                "name",
                "must not be empty",
            ));
        }
        if map.insert(id.clone(), def).is_some() {
            return Err(ContentError::invalid(
                file,
                id.to_string(),
                "id",
                "duplicate id",
            ));
        }
    }
    if map.is_empty() {
        return Err(ContentError::invalid(
            file,
            "-",
            "entries",
            "at least one entry is required",
        ));
    }
    Ok(map)
}

pub(crate) fn build(
    items: Vec<ItemDef>,
    crops: Vec<CropDef>,
    zones: Vec<ZoneDef>,
    rules: GameRules,
    version: String,
) -> Result<Content, ContentError> {
    let items = index("items.ron", items, |d| &d.id, |d| &d.name)?;
    let crops = index("crops.ron", crops, |d| &d.id, |d| &d.name)?;
    let zones = index("zones.ron", zones, |d| &d.id, |d| &d.name)?;

    for c in crops.values() {
        let id = c.id.as_str();
        if !items.contains_key(&c.produce) {
            return Err(ContentError::invalid(
                "crops.ron",
                id,
                "produce",
                format!("no item '{}' in items.ron", c.produce),
            ));
        }
        if c.growth_ticks == 0 || c.growth_ticks > MAX_GROWTH_TICKS {
            return Err(ContentError::invalid(
                "crops.ron",
                id,
                "growth_ticks",
                format!("must be 1..={MAX_GROWTH_TICKS}"),
            ));
        }
        if c.yield_count == 0 || c.yield_count > 1000 {
            return Err(ContentError::invalid(
                "crops.ron",
                id,
                "yield",
                "must be 1..=1000",
            ));
        }
    }
    for z in zones.values() {
        if z.farm_plots == 0 || z.farm_plots > MAX_FARM_PLOTS {
            return Err(ContentError::invalid(
                "zones.ron",
                z.id.as_str(),
                "farm_plots",
                format!("must be 1..={MAX_FARM_PLOTS}"),
            ));
        }
    }
    if !zones.contains_key(&rules.start_zone) {
        return Err(ContentError::invalid(
            "game.ron",
            "game",
            "start_zone",
            format!("no zone '{}' in zones.ron", rules.start_zone),
        ));
    }
    if rules.water_speedup_percent > 100 {
        return Err(ContentError::invalid(
            "game.ron",
            "game",
            "water_speedup_percent",
            "must be 0..=100",
        ));
    }
    Ok(Content {
        crops,
        items,
        zones,
        rules,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CropId, ItemId, ZoneId};

    fn item(id: &str) -> ItemDef {
        ItemDef {
            id: ItemId::new(id),
            name: id.into(),
            sell_price: 1,
        }
    }
    fn crop(id: &str, produce: &str) -> CropDef {
        CropDef {
            id: CropId::new(id),
            name: id.into(),
            seed_price: 1,
            growth_ticks: 10,
            produce: ItemId::new(produce),
            yield_count: 1,
        }
    }
    fn zone(id: &str) -> ZoneDef {
        ZoneDef {
            id: ZoneId::new(id),
            name: id.into(),
            farm_plots: 4,
        }
    }
    fn rules(start: &str) -> GameRules {
        GameRules {
            start_zone: ZoneId::new(start),
            start_coins: 10,
            water_speedup_percent: 25,
        }
    }

    #[test]
    fn dangling_produce_names_entry_and_field() {
        let err = build(
            vec![item("a")],
            vec![crop("c", "missing")],
            vec![zone("z")],
            rules("z"),
            "v".into(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("crops.ron")
                && msg.contains("'c'")
                && msg.contains("produce")
                && msg.contains("missing"),
            "{msg}"
        );
    }

    #[test]
    fn duplicates_and_bad_ids_rejected() {
        let err = build(
            vec![item("a"), item("a")],
            vec![crop("c", "a")],
            vec![zone("z")],
            rules("z"),
            "v".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
        let err = build(
            vec![item("Bad Id")],
            vec![crop("c", "a")],
            vec![zone("z")],
            rules("z"),
            "v".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("'id'"), "{err}");
    }

    #[test]
    fn ranges_checked() {
        let mut c = crop("c", "a");
        c.growth_ticks = 0;
        let err = build(
            vec![item("a")],
            vec![c],
            vec![zone("z")],
            rules("z"),
            "v".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("growth_ticks"), "{err}");
        let mut z = zone("z");
        z.farm_plots = 0;
        let err = build(
            vec![item("a")],
            vec![crop("c", "a")],
            vec![z],
            rules("z"),
            "v".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("farm_plots"), "{err}");
        let err = build(
            vec![item("a")],
            vec![crop("c", "a")],
            vec![zone("z")],
            rules("nowhere"),
            "v".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("start_zone"), "{err}");
    }

    #[test]
    fn valid_set_builds() {
        let c = build(
            vec![item("a")],
            vec![crop("c", "a")],
            vec![zone("z")],
            rules("z"),
            "v".into(),
        )
        .unwrap();
        assert_eq!(c.crops.len(), 1);
    }
}
