//! `harvest-server replay MATCH_ID`: re-simulate a recorded duel from its seed, decks and
//! action log with the rules it was played with, and check that it reproduces the recorded
//! outcome and final-state hash (and that the recorded rating change follows from the
//! ratings before). [`verify`] is pure; the binary fetches the record from the sidecar (or,
//! for the one-machine stack, reads it from the database under the data directory).

use harvest_shared::api::MatchRecord;
use harvest_shared::content::Content;
use harvest_shared::duel::{self, deck_hash};
use serde::Serialize;

/// What a replay found.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub match_id: String,
    /// Everything matched.
    pub verified: bool,
    pub outcome: String,
    pub moves: usize,
    pub final_hash: String,
    /// The record's content version differs from the content replayed with.
    pub content_differs: bool,
    /// What did not match (empty when verified).
    pub problems: Vec<String>,
}

/// Replay `record` with `content` (see the module docs).
pub fn verify(record: &MatchRecord, content: &Content) -> ReplayReport {
    let r = &record.report;
    let mut problems = Vec::new();
    for i in 0..2 {
        if deck_hash(&r.decks[i]) != r.deck_hashes[i] {
            problems.push(format!("deck {i}: its hash does not match its cards"));
        }
    }
    let content_differs = r.content_version != content.version;
    if let Err(e) = duel::replay(
        r.seed,
        r.rules.clone(),
        r.decks.clone(),
        r.started,
        &r.log,
        content,
        Some(r.outcome),
        &r.final_hash,
    ) {
        problems.push(e.to_string());
        if content_differs {
            problems.push(format!(
                "the duel was played with content {}, replayed with {}: replay with that content (--content-dir)",
                r.content_version, content.version
            ));
        }
    }
    let again = r.settle(record.settled.ratings_before);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    for i in 0..2 {
        let (want, got) = (again.ratings_after[i], record.settled.ratings_after[i]);
        if !close(want.rating, got.rating) || !close(want.deviation, got.deviation) {
            problems.push(format!(
                "side {i}'s rating after ({:.2}) does not follow from its rating before ({:.2})",
                got.rating, record.settled.ratings_before[i].rating
            ));
        }
    }
    ReplayReport {
        match_id: r.match_id.clone(),
        verified: problems.is_empty(),
        outcome: format!("{:?}", r.outcome),
        moves: r.log.len(),
        final_hash: r.final_hash.clone(),
        content_differs,
        problems,
    }
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.verified {
            writeln!(
                f,
                "match {}: replay verified ({} log entries, outcome {}, final state {})",
                self.match_id, self.moves, self.outcome, self.final_hash
            )
        } else {
            writeln!(
                f,
                "match {}: replay does NOT match its record:",
                self.match_id
            )?;
            for p in &self.problems {
                writeln!(f, "  - {p}")?;
            }
            Ok(())
        }
    }
}
