//! Crafting: a recipe (`recipes.ron`) uses up items and a fee and makes an item stack or one
//! copy of a card into the player's [`Collection`]. An economy event: acknowledged only once
//! committed.

use crate::action::{Action, Applied};
use crate::content::{Content, RecipeOutput};
use crate::ids::RecipeId;
use crate::inventory::{self, Collection, HoldError, Inventory};
use crate::ledger::{Change, Delta, EntryKind};
use serde::{Deserialize, Serialize};

/// Sent as `Request<CraftAction>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CraftAction {
    Craft { recipe: RecipeId },
}

impl Action for CraftAction {
    const FEATURE: &'static str = "crafting";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crafted {
    pub recipe: RecipeId,
    pub output: RecipeOutput,
}

/// Why a craft was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum CraftError {
    #[error("unknown recipe")]
    UnknownRecipe,
    #[error(transparent)]
    Holdings(#[from] HoldError),
}

/// The part of a player's state crafting reads and writes.
pub struct CraftState<'a> {
    pub inventory: &'a mut Inventory,
    pub collection: &'a mut Collection,
}

/// What a recipe does to holdings.
pub fn recipe_delta(content: &Content, recipe: &RecipeId) -> Option<Delta> {
    let r = content.recipe(recipe)?;
    let mut d = Delta::coins(-i64::from(r.fee));
    for (item, &n) in &r.inputs {
        d = d.item(item, -i64::from(n));
    }
    Some(match &r.output {
        RecipeOutput::Item(item, n) => d.item(item, i64::from(*n)),
        RecipeOutput::Card(card) => d.card(card, 1),
    })
}

pub fn apply(
    action: &CraftAction,
    state: CraftState<'_>,
    content: &Content,
) -> Result<Applied<Crafted>, CraftError> {
    let CraftAction::Craft { recipe } = action;
    let (Some(def), Some(delta)) = (content.recipe(recipe), recipe_delta(content, recipe)) else {
        return Err(CraftError::UnknownRecipe);
    };
    inventory::apply(&delta, state.inventory, Some(state.collection), content)?;
    Ok(Applied {
        event: Crafted {
            recipe: recipe.clone(),
            output: def.output.clone(),
        },
        change: Some(Change {
            kind: EntryKind::Craft,
            detail: recipe.to_string(),
            delta,
        }),
    })
}
