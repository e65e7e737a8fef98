//! # harvest_client
//!
//! What players and bots run. Layout:
//!
//! | module     | owns                                                                         |
//! |------------|------------------------------------------------------------------------------|
//! | [`http`]   | the sidecar's public HTTP API (register, login, play, me)                    |
//! | [`net`]    | the lightyear client: connect with a token, send intents, read farm & notices |
//! | [`bots`]   | the headless bot swarm behind `harvest-bots` and its JSON report             |
//! | `gui`      | the windowed game behind `harvest` (feature `gui`): login, farm, inventory   |
//!
//! The client never decides anything: it calls the same pure rules the shard uses only to
//! show instant feedback, and it waits for the shard's notice and replicated state.

pub mod bots;
pub mod http;
pub mod net;

#[cfg(feature = "gui")]
pub mod gui;
