use super::*;
use crate::content::{CropDef, GameRules, ItemDef, ZoneDef};
use crate::ids::ZoneId;

fn content() -> Content {
    let mut crops = BTreeMap::new();
    crops.insert(
        CropId::new("radish"),
        CropDef {
            id: CropId::new("radish"),
            name: "Radish".into(),
            seed_price: 2,
            growth_ticks: 100,
            produce: ItemId::new("radish"),
            yield_count: 3,
        },
    );
    let mut items = BTreeMap::new();
    items.insert(
        ItemId::new("radish"),
        ItemDef {
            id: ItemId::new("radish"),
            name: "Radish".into(),
            sell_price: 1,
        },
    );
    let mut zones = BTreeMap::new();
    zones.insert(
        ZoneId::new("z"),
        ZoneDef {
            id: ZoneId::new("z"),
            name: "Z".into(),
            farm_plots: 4,
        },
    );
    Content {
        crops,
        items,
        zones,
        rules: GameRules {
            start_zone: ZoneId::new("z"),
            start_coins: 10,
            water_speedup_percent: 50,
        },
        version: "test".into(),
    }
}

fn radish() -> CropId {
    CropId::new("radish")
}

fn setup() -> (Farm, Inventory, Content) {
    (
        Farm::new(4),
        Inventory {
            coins: 10,
            ..Default::default()
        },
        content(),
    )
}

#[test]
fn plant_pays_and_records_absolute_ticks() {
    let (mut farm, mut inv, c) = setup();
    let ev = plant(&mut farm, &mut inv, PlotId(1), &radish(), &c, Tick(1000)).unwrap();
    assert_eq!(
        ev,
        FarmEvent::Planted {
            plot: PlotId(1),
            crop: radish(),
            ripe_at: Tick(1100),
            paid: 2
        }
    );
    assert_eq!(inv.coins, 8);
    assert_eq!(
        farm.plots[1],
        Plot::Growing(Growing {
            crop: radish(),
            planted_at: Tick(1000),
            ripe_at: Tick(1100),
            watered: false
        })
    );
}

#[test]
fn rejected_plant_changes_nothing() {
    let (mut farm, mut inv, c) = setup();
    let before = (farm.clone(), inv.clone());
    assert_eq!(
        plant(&mut farm, &mut inv, PlotId(9), &radish(), &c, Tick(0)),
        Err(FarmError::NoSuchPlot(PlotId(9)))
    );
    assert_eq!(
        plant(
            &mut farm,
            &mut inv,
            PlotId(0),
            &CropId::new("kale"),
            &c,
            Tick(0)
        ),
        Err(FarmError::UnknownCrop)
    );
    inv.coins = 1;
    let before_poor = (farm.clone(), inv.clone());
    assert_eq!(
        plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(0)),
        Err(FarmError::NotEnoughCoins { need: 2, have: 1 })
    );
    assert_eq!((farm.clone(), inv.clone()), before_poor);
    inv.coins = before.1.coins;
    assert_eq!((farm, inv), before);
}

#[test]
fn cannot_plant_on_occupied_plot() {
    let (mut farm, mut inv, c) = setup();
    plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(0)).unwrap();
    let snapshot = (farm.clone(), inv.clone());
    assert_eq!(
        plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(1)),
        Err(FarmError::PlotOccupied(PlotId(0)))
    );
    assert_eq!((farm, inv), snapshot);
}

#[test]
fn water_shortens_remaining_growth_once() {
    let (mut farm, mut inv, c) = setup();
    plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(0)).unwrap();
    // 60 ticks remain at tick 40; 50% of that is saved.
    assert_eq!(
        water(&mut farm, PlotId(0), &c, Tick(40)),
        Ok(FarmEvent::Watered {
            plot: PlotId(0),
            ripe_at: Tick(70)
        })
    );
    assert_eq!(
        water(&mut farm, PlotId(0), &c, Tick(41)),
        Err(FarmError::AlreadyWatered(PlotId(0)))
    );
}

#[test]
fn water_rejects_empty_and_ripe() {
    let (mut farm, mut inv, c) = setup();
    assert_eq!(
        water(&mut farm, PlotId(0), &c, Tick(0)),
        Err(FarmError::PlotEmpty(PlotId(0)))
    );
    assert_eq!(
        water(&mut farm, PlotId(7), &c, Tick(0)),
        Err(FarmError::NoSuchPlot(PlotId(7)))
    );
    plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(0)).unwrap();
    let snapshot = farm.clone();
    assert_eq!(
        water(&mut farm, PlotId(0), &c, Tick(100)),
        Err(FarmError::AlreadyRipe(PlotId(0)))
    );
    assert_eq!(farm, snapshot);
}

#[test]
fn harvest_only_when_ripe_and_fills_inventory() {
    let (mut farm, mut inv, c) = setup();
    plant(&mut farm, &mut inv, PlotId(2), &radish(), &c, Tick(0)).unwrap();
    let snapshot = (farm.clone(), inv.clone());
    assert_eq!(
        harvest(&mut farm, &mut inv, PlotId(2), &c, Tick(99)),
        Err(FarmError::NotRipe {
            plot: PlotId(2),
            ripe_at: Tick(100)
        })
    );
    assert_eq!((farm.clone(), inv.clone()), snapshot);
    let ev = harvest(&mut farm, &mut inv, PlotId(2), &c, Tick(100)).unwrap();
    assert_eq!(
        ev,
        FarmEvent::Harvested {
            plot: PlotId(2),
            item: ItemId::new("radish"),
            count: 3
        }
    );
    assert_eq!(inv.count(&ItemId::new("radish")), 3);
    assert_eq!(farm.plots[2], Plot::Empty);
    assert_eq!(
        harvest(&mut farm, &mut inv, PlotId(2), &c, Tick(200)),
        Err(FarmError::PlotEmpty(PlotId(2)))
    );
}

#[test]
fn harvest_overflow_is_refused_without_loss() {
    let (mut farm, mut inv, c) = setup();
    plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(0)).unwrap();
    inv.items.insert(ItemId::new("radish"), u32::MAX - 1);
    let snapshot = (farm.clone(), inv.clone());
    assert_eq!(
        harvest(&mut farm, &mut inv, PlotId(0), &c, Tick(500)),
        Err(FarmError::InventoryFull)
    );
    assert_eq!((farm, inv), snapshot);
}

#[test]
fn summary_counts_states() {
    let (mut farm, mut inv, c) = setup();
    plant(&mut farm, &mut inv, PlotId(0), &radish(), &c, Tick(0)).unwrap();
    plant(&mut farm, &mut inv, PlotId(1), &radish(), &c, Tick(50)).unwrap();
    assert_eq!(
        farm.summary(Tick(120)),
        FarmSummary {
            plots: 4,
            empty: 2,
            growing: 1,
            ripe: 1
        }
    );
}

/// `apply` is the one entry point: it dispatches each action to its rule, and a refused action
/// leaves both the farm and the inventory exactly as they were.
#[test]
fn apply_dispatches_and_refusals_change_nothing() {
    let c = content();
    let mut farm = Farm::new(4);
    let mut inv = Inventory {
        coins: 10,
        ..Default::default()
    };
    let now = Tick(1000);
    let run = |action: &FarmAction, farm: &mut Farm, inventory: &mut Inventory| {
        apply(action, FarmState { farm, inventory }, &c, now)
    };
    let plant = FarmAction::Plant {
        plot: PlotId(1),
        crop: CropId::new("radish"),
    };
    let ev = run(&plant, &mut farm, &mut inv).unwrap();
    assert!(matches!(ev, FarmEvent::Planted { paid: 2, .. }));
    assert!(ev.touches_inventory());
    let (farm_before, inv_before) = (farm.clone(), inv.clone());
    for bad in [
        plant.clone(),
        FarmAction::Harvest { plot: PlotId(1) },
        FarmAction::Water { plot: PlotId(3) },
        FarmAction::Plant {
            plot: PlotId(9),
            crop: CropId::new("radish"),
        },
    ] {
        assert!(run(&bad, &mut farm, &mut inv).is_err(), "{bad:?}");
        assert_eq!((&farm, &inv), (&farm_before, &inv_before), "{bad:?}");
    }
    let ev = run(&FarmAction::Water { plot: PlotId(1) }, &mut farm, &mut inv).unwrap();
    assert!(!ev.touches_inventory());
}
