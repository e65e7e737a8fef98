//! What a bot does once its farm has arrived.

use crate::net::NetClient;
use harvest_shared::farming::FarmAction;
use harvest_shared::farming::Plot;
use harvest_shared::ids::{CropId, PlotId};
use harvest_shared::time::Tick;
use std::collections::HashSet;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Plant, water and harvest radishes in a loop, one action every ~1.5 s.
    Farming,
    /// Connect and stay idle (measures the idle bandwidth floor).
    Idle,
}

pub(crate) struct Brain {
    scenario: Scenario,
    next_action: Instant,
    pending: HashSet<u32>,
}

impl Brain {
    pub fn new(scenario: Scenario) -> Self {
        // Spread bots out so they do not all act on the same frame.
        let jitter = Duration::from_millis(rand::random::<u64>() % 1500);
        Brain {
            scenario,
            next_action: Instant::now() + jitter,
            pending: HashSet::new(),
        }
    }

    pub fn answered(&mut self, request_id: u32) {
        self.pending.remove(&request_id);
    }

    pub fn step(&mut self, client: &mut NetClient) {
        if self.scenario == Scenario::Idle
            || Instant::now() < self.next_action
            || !self.pending.is_empty()
        {
            return;
        }
        self.next_action = Instant::now() + Duration::from_millis(1500);
        let Some((_, farm, inv)) = client.farm() else {
            return;
        };
        let now = Tick::now();
        let radish = CropId::new("radish");
        let mut action = None;
        for (i, plot) in farm.plots.iter().enumerate() {
            let id = PlotId(i as u16);
            match plot {
                Plot::Growing(g) if g.is_ripe(now) => {
                    action = Some(FarmAction::Harvest { plot: id });
                    break;
                }
                Plot::Growing(g) if !g.watered && action.is_none() => {
                    action = Some(FarmAction::Water { plot: id })
                }
                Plot::Empty if action.is_none() && inv.coins >= 2 => {
                    action = Some(FarmAction::Plant {
                        plot: id,
                        crop: radish.clone(),
                    })
                }
                _ => {}
            }
        }
        if let Some(a) = action {
            let id = client.send(a);
            if id != 0 {
                self.pending.insert(id);
            }
        }
    }
}
