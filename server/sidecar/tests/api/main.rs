//! Sidecar API tests through the real router and a real database. Every test runs twice:
//! on SQLite (a fresh file) and on PostgreSQL (a fresh database). With
//! `HARVEST_TEST_POSTGRES=1` an unreachable PostgreSQL fails the run instead of skipping.

mod common;

mod auth;
mod bus;
mod directory;
mod duels;
mod internal;
mod ledger;
mod misc;
mod play;
