//! Designer data: the definitions ([`defs`]), the one loader every program uses ([`load`]) and
//! the validator it runs ([`validate`]).
//!
//! `Content::load(dir)` is the only way content enters a program: the shard, the client, tests
//! and benches all call it, so a file that loads in one loads in all. Errors name the file, the
//! entry and the field (and line:column for syntax errors).

pub mod defs;
pub mod load;
pub mod validate;

pub use defs::{Content, CropDef, GameRules, ItemDef, ZoneDef};
pub use load::{ContentError, ContentErrorKind};
