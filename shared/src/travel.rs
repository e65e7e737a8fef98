//! Travel between zones. On one shard a zone is a room, so travelling is a room change; when
//! zones live on several shards the same action becomes a hand-over to the zone's shard.

use crate::content::Content;
use crate::ids::ZoneId;
use serde::{Deserialize, Serialize};

/// Go to another zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TravelAction {
    pub to: ZoneId,
}

impl crate::action::Action for TravelAction {
    const FEATURE: &'static str = "travel";
}

/// Why a journey was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum TravelError {
    #[error("there is no zone '{0}'")]
    UnknownZone(ZoneId),
    #[error("you are already in '{0}'")]
    AlreadyThere(ZoneId),
    #[error("zone '{0}' is not hosted on this shard")]
    NotHostedHere(ZoneId),
    #[error("you cannot leave during a duel or while queued for one")]
    Busy,
    /// No shard hosts the zone right now, or this shard cannot reach the directory to hand
    /// you over: nothing changed; try again shortly.
    #[error("zone '{0}' cannot be reached right now; try again shortly")]
    Unreachable(ZoneId),
}

/// Check a journey from `from`: the zone to go to.
pub fn check(
    action: &TravelAction,
    from: &ZoneId,
    content: &Content,
) -> Result<ZoneId, TravelError> {
    if content.zone(&action.to).is_none() {
        return Err(TravelError::UnknownZone(action.to.clone()));
    }
    if &action.to == from {
        return Err(TravelError::AlreadyThere(action.to.clone()));
    }
    Ok(action.to.clone())
}
