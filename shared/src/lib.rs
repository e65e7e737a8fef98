//! # harvest_shared
//!
//! Everything the Harvest Battles programs must agree on, and nothing that runs:
//!
//! | module       | owns                                                                 |
//! |--------------|----------------------------------------------------------------------|
//! | [`action`]   | the action pipeline: `Request<A>` on the wire, one `apply` per feature |
//! | [`ids`]      | typed ids (`AccountId`, `CropId`, `ItemId`, `RecipeId`, `CardId`...)  |
//! | [`time`]     | absolute world time in ticks ([`time::Tick`])                        |
//! | [`content`]  | designer data: definitions, the one loader, the validator            |
//! | [`inventory`]| holdings (`Inventory`, `Collection`) and the one checked way to change them |
//! | [`ledger`]   | the economy ledger's vocabulary: `Delta`, `EntryKind`, `Change`       |
//! | [`farming`]  | pure farming rules: `FarmAction` and its `apply` over plain data     |
//! | [`market`]   | the NPC market: `MarketAction` and its `apply`                       |
//! | [`crafting`] | recipes into items and cards: `CraftAction` and its `apply`          |
//! | [`duel`]     | card duels: seeded state machine, decks, arena queue, ratings, replays |
//! | [`travel`]   | moving between zones (`TravelAction`)                               |
//! | [`state`]    | the persisted shape of a player (`PlayerState`)                      |
//! | [`api`]      | HTTP DTOs shared by sidecar, shard and client                        |
//! | [`events`]   | what travels on the cross-shard bus: events, announcements, presence |
//! | [`testing`]  | a small content fixture for tests and benches                        |
//! | [`procstat`] | CPU and memory of this process, for reports                          |
//! | `protocol`   | the lightyear protocol (feature `net`; the sidecar builds without it) |
//!
//! Rules here take time and content as arguments and never touch sockets, clocks, Bevy
//! `Commands` or global state, so the client can call them for instant feedback and the shard
//! can call the very same functions to decide.

pub mod action;
pub mod api;
pub mod content;
pub mod crafting;
pub mod duel;
pub mod events;
pub mod farming;
pub mod ids;
pub mod inventory;
pub mod ledger;
pub mod market;
pub mod procstat;
pub mod state;
pub mod testing;
pub mod time;
pub mod travel;

#[cfg(feature = "net")]
pub mod protocol;
