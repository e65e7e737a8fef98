//! Designer data: the definitions ([`defs`]), the one loader every program uses ([`load`]), the
//! validator it runs ([`validate`]) and the economy's sanity checks ([`sanity`]).
//!
//! `Content::load(dir)` is the only way content enters a program: the shard (at start and on
//! hot reload), `harvest-server content check`, the sidecar, the client, tests and benches all
//! call it, so a file that loads in one loads in all. Every problem is reported, each naming the
//! file, line and column, the entry and the field.

pub mod defs;
pub mod load;
pub mod sanity;
pub mod validate;

pub use defs::{
    CardDef, CardKind, Content, CropDef, DuelRewards, DuelRules, Economy, Effect, Expansion,
    ItemDef, ItemKind, Matchmaking, RecipeDef, RecipeOutput, ZoneDef,
};
pub use load::{CONTENT_FILES, ContentError, ContentErrorKind, ContentErrors, Problem, Source};
