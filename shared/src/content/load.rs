//! Reading `*.ron` content files from a directory into a validated [`Content`].

use super::defs::{Content, CropDef, GameRules, ItemDef, ZoneDef};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The files a content directory must hold, in load order.
pub const CONTENT_FILES: [&str; 4] = ["items.ron", "crops.ron", "zones.ron", "game.ron"];

/// Why content could not be loaded. `Display` reads `file:line:col: reason` or
/// `file: entry 'id': field: reason`, so a designer can jump straight to the mistake.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {kind}", file.display(), location(*position))]
pub struct ContentError {
    pub file: PathBuf,
    /// 1-based line and column, when the error has a position in the file.
    pub position: Option<(usize, usize)>,
    pub kind: ContentErrorKind,
}

fn location(pos: Option<(usize, usize)>) -> String {
    pos.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum ContentErrorKind {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("syntax: {0}")]
    Syntax(String),
    #[error("entry '{entry}': field '{field}': {reason}")]
    Invalid {
        entry: String,
        field: &'static str,
        reason: String,
    },
}

impl ContentError {
    pub(crate) fn invalid(
        file: &str,
        entry: impl Into<String>,
        field: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        ContentError {
            file: PathBuf::from(file),
            position: None,
            kind: ContentErrorKind::Invalid {
                entry: entry.into(),
                field,
                reason: reason.into(),
            },
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ContentError> {
    ron::from_str(text).map_err(|e| ContentError {
        file: path.to_path_buf(),
        position: Some((e.span.start.line, e.span.start.col)),
        kind: ContentErrorKind::Syntax(e.code.to_string()),
    })
}

impl Content {
    /// Load and validate every content file in `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Content, ContentError> {
        let dir = dir.as_ref();
        let mut hasher = Sha256::new();
        let mut texts = Vec::with_capacity(CONTENT_FILES.len());
        for name in CONTENT_FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| ContentError {
                file: path.clone(),
                position: None,
                kind: ContentErrorKind::Io(e),
            })?;
            hasher.update(name.as_bytes());
            hasher.update(text.as_bytes());
            texts.push((path, text));
        }
        let items: Vec<ItemDef> = parse(&texts[0].0, &texts[0].1)?;
        let crops: Vec<CropDef> = parse(&texts[1].0, &texts[1].1)?;
        let zones: Vec<ZoneDef> = parse(&texts[2].0, &texts[2].1)?;
        let rules: GameRules = parse(&texts[3].0, &texts[3].1)?;
        let version = hex::encode(&hasher.finalize()[..6]);
        super::validate::build(items, crops, zones, rules, version).map_err(|mut e| {
            // Validation names the bare file; give it the directory too.
            e.file = dir.join(&e.file);
            e
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_assets() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/data")
    }

    /// Every file under assets/data loads and validates.
    #[test]
    fn shipped_content_loads() {
        let c = Content::load(repo_assets()).expect("assets/data must load");
        assert!(c.crops.len() >= 3, "at least 3 crops");
        assert!(c.zone(&c.rules.start_zone).is_some());
        assert_eq!(c.version.len(), 12);
    }

    fn copy_assets() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for f in CONTENT_FILES {
            std::fs::copy(repo_assets().join(f), tmp.path().join(f)).unwrap();
        }
        tmp
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let tmp = copy_assets();
        std::fs::write(
            tmp.path().join("crops.ron"),
            "[\n  (id: \"radish\", name: \"Radish\",,\n]",
        )
        .unwrap();
        let err = Content::load(tmp.path()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("crops.ron:2:"), "{msg}");
        assert!(matches!(err.kind, ContentErrorKind::Syntax(_)));
    }

    #[test]
    fn unknown_field_is_rejected() {
        let tmp = copy_assets();
        std::fs::write(
            tmp.path().join("items.ron"),
            "[(id: \"radish\", name: \"Radish\", sell_price: 3, colour: \"red\")]",
        )
        .unwrap();
        let msg = Content::load(tmp.path()).unwrap_err().to_string();
        assert!(
            msg.contains("items.ron:1:") && msg.contains("colour"),
            "{msg}"
        );
    }

    #[test]
    fn missing_file_is_named() {
        let tmp = copy_assets();
        std::fs::remove_file(tmp.path().join("zones.ron")).unwrap();
        let msg = Content::load(tmp.path()).unwrap_err().to_string();
        assert!(
            msg.contains("zones.ron") && msg.contains("cannot read"),
            "{msg}"
        );
    }

    #[test]
    fn version_changes_with_content() {
        let tmp = copy_assets();
        let a = Content::load(tmp.path()).unwrap().version;
        let text = std::fs::read_to_string(tmp.path().join("game.ron")).unwrap();
        std::fs::write(tmp.path().join("game.ron"), format!("{text}\n// edited\n")).unwrap();
        let b = Content::load(tmp.path()).unwrap().version;
        assert_ne!(a, b);
    }
}
