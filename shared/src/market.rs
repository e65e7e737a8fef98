//! The NPC market: players buy seeds and fertilizer and sell produce, at prices from content
//! (`buy_price` / `sell_price` in `items.ron`), in a zone with a market stall (`market: true`
//! in `zones.ron`). Every trade is an economy event: acknowledged only once committed.

use crate::action::{Action, Applied};
use crate::content::Content;
use crate::ids::{ItemId, ZoneId};
use crate::inventory::{self, HoldError, Inventory};
use crate::ledger::{Change, Delta, EntryKind};
use serde::{Deserialize, Serialize};

/// The most of one item a single trade moves.
pub const MAX_TRADE: u32 = 1000;

/// What a player can do at a market stall. Sent as `Request<MarketAction>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketAction {
    /// Buy `count` of `item` at its `buy_price` each.
    Buy { item: ItemId, count: u32 },
    /// Sell `count` of `item` at its `sell_price` each.
    Sell { item: ItemId, count: u32 },
}

impl Action for MarketAction {
    const FEATURE: &'static str = "market";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketEvent {
    Bought {
        item: ItemId,
        count: u32,
        paid: u64,
    },
    Sold {
        item: ItemId,
        count: u32,
        earned: u64,
    },
}

/// Why a trade was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum MarketError {
    #[error("there is no market in this zone")]
    NoMarketHere,
    #[error("the market does not sell '{0}'")]
    NotSold(ItemId),
    #[error("the market does not buy '{0}'")]
    NotBought(ItemId),
    #[error("a trade moves 1..={MAX_TRADE} items")]
    BadCount,
    #[error(transparent)]
    Holdings(#[from] HoldError),
}

/// The part of a player's state the market reads and writes.
pub struct MarketState<'a> {
    pub zone: &'a ZoneId,
    pub inventory: &'a mut Inventory,
}

pub fn apply(
    action: &MarketAction,
    state: MarketState<'_>,
    content: &Content,
) -> Result<Applied<MarketEvent>, MarketError> {
    if !content.zone(state.zone).is_some_and(|z| z.market) {
        return Err(MarketError::NoMarketHere);
    }
    let (item, count) = match action {
        MarketAction::Buy { item, count } | MarketAction::Sell { item, count } => (item, *count),
    };
    if count == 0 || count > MAX_TRADE {
        return Err(MarketError::BadCount);
    }
    let def = content.item(item);
    let n = i64::from(count);
    let (event, kind, delta) = match action {
        MarketAction::Buy { .. } => {
            let price = def
                .and_then(|d| d.buy_price)
                .ok_or_else(|| MarketError::NotSold(item.clone()))?;
            let paid = u64::from(price) * u64::from(count);
            let delta = Delta::coins(-(paid as i64)).item(item, n);
            let event = MarketEvent::Bought {
                item: item.clone(),
                count,
                paid,
            };
            (event, EntryKind::Buy, delta)
        }
        MarketAction::Sell { .. } => {
            let price = def
                .and_then(|d| d.sell_price)
                .ok_or_else(|| MarketError::NotBought(item.clone()))?;
            let earned = u64::from(price) * u64::from(count);
            let delta = Delta::coins(earned as i64).item(item, -n);
            let event = MarketEvent::Sold {
                item: item.clone(),
                count,
                earned,
            };
            (event, EntryKind::Sell, delta)
        }
    };
    inventory::apply(&delta, state.inventory, None, content)?;
    Ok(Applied {
        event,
        change: Some(Change {
            kind,
            detail: item.to_string(),
            delta,
        }),
    })
}
