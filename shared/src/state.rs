//! The persisted shape of a player's world state: what the sidecar stores and the shard loads
//! and saves. What the player *holds* (coins, items, cards) is not here: it is the sum of the
//! economy ledger (`inventory::Holdings`, `api::LedgerEntry`), committed with this state.
//!
//! The sidecar stores it as JSON with a version that grows by one at every save, under the
//! ownership lease of the shard that loaded it (see `api::PlayerSave`): a save is applied only
//! by compare-and-swap on the lease's epoch and the version it was based on, so a stale shard
//! can never overwrite newer state.

use crate::content::Content;
use crate::duel::Decks;
use crate::farming::{Farm, splitmix64};
use crate::ids::{AccountId, ZoneId};
use serde::{Deserialize, Serialize};

/// Bump when `PlayerState` changes shape in a way old saves cannot deserialize into.
pub const STATE_SCHEMA: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlayerState {
    pub zone: ZoneId,
    pub farm: Farm,
    /// Card decks (older saves have none).
    #[serde(default)]
    pub decks: Decks,
}

impl PlayerState {
    /// The state of a brand-new player, from content (their holdings are
    /// `Holdings::start`). The farm's yield seed comes from the account, so it is the same
    /// wherever the player is first created.
    pub fn new_player(content: &Content, account: AccountId) -> Self {
        let e = &content.economy;
        let zone = e.start_zone.clone();
        let plots = content.zone(&zone).map(|z| z.farm_plots).unwrap_or(1);
        PlayerState {
            zone,
            farm: Farm::new(plots, splitmix64(account.0 as u64 ^ 0x4856_4641_524d)),
            decks: Decks::default(),
        }
    }
}
