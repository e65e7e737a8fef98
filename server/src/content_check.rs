//! `harvest-server content check [DIR] [--json]`: the designers' validator. It runs the very
//! loader the shard runs (`Content::load`), so a directory that passes here loads in a shard,
//! and reports every problem: syntax and unknown fields, unknown ids, ranges, and the economy's
//! sanity (no coins from nothing, every card obtainable).

use harvest_shared::content::{CONTENT_FILES, Content, Problem};
use serde::Serialize;
use std::path::Path;

/// The machine-readable report (`--json`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub dir: String,
    pub ok: bool,
    /// The content hash a shard running this directory announces (only when valid).
    pub content_version: Option<String>,
    /// Definitions per kind (only when valid).
    pub counts: Option<Counts>,
    pub errors: Vec<Problem>,
}

#[derive(Debug, Serialize)]
pub struct Counts {
    pub items: usize,
    pub crops: usize,
    pub recipes: usize,
    pub cards: usize,
    pub zones: usize,
}

/// Check `dir`. The report, and its human-readable text.
pub fn check(dir: &Path) -> (Report, String) {
    let shown = dir.display().to_string();
    match Content::load(dir) {
        Ok(c) => {
            let counts = Counts {
                items: c.items.len(),
                crops: c.crops.len(),
                recipes: c.recipes.len(),
                cards: c.cards.len(),
                zones: c.zones.len(),
            };
            let text = format!(
                "{shown}: content OK, version {}: {} items, {} crops, {} recipes, {} cards, {} zones",
                c.version, counts.items, counts.crops, counts.recipes, counts.cards, counts.zones
            );
            let report = Report {
                dir: shown,
                ok: true,
                content_version: Some(c.version),
                counts: Some(counts),
                errors: Vec::new(),
            };
            (report, text)
        }
        Err(errors) => {
            let n = errors.0.len();
            let text = format!(
                "{errors}\n{shown}: {n} problem{} (files: {})",
                if n == 1 { "" } else { "s" },
                CONTENT_FILES.join(", ")
            );
            let report = Report {
                dir: shown,
                ok: false,
                content_version: None,
                counts: None,
                errors: errors.0.iter().map(|e| e.problem()).collect(),
            };
            (report, text)
        }
    }
}

/// Run the command: print the report, return the exit code (0 valid, 1 not).
pub fn run(dir: &Path, json: bool) -> i32 {
    let (report, text) = check(dir);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("harvest-server: cannot encode the report: {e}");
                return 1;
            }
        }
    } else if report.ok {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    i32::from(!report.ok)
}
