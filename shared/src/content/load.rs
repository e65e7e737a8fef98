//! Reading the content files into a validated [`Content`].
//!
//! There is one loader per kind of content, declared in [`content_kinds!`]: the file name and
//! the type its text parses to. Adding a kind is one line there (plus its checks in
//! [`super::validate`]). Every file is read and parsed even when an earlier one fails, and the
//! validator collects every problem it finds, so a designer sees all their mistakes at once,
//! each as `file:line:column: entry 'id': field 'name': reason`.

use super::defs::{CardDef, Content, CropDef, DuelRules, Economy, ItemDef, RecipeDef, ZoneDef};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in the content, located as precisely as the text allows.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {kind}", file.display(), location(*position))]
pub struct ContentError {
    pub file: PathBuf,
    /// 1-based line and column.
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
    /// A value the types accept but the rules do not: a dangling id, a range, an economic
    /// loophole. `entry` is the id of the definition (or the file's single struct).
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

    /// The error as plain data, for `content check --json`.
    pub fn problem(&self) -> Problem {
        let (entry, field, reason) = match &self.kind {
            ContentErrorKind::Invalid {
                entry,
                field,
                reason,
            } => (Some(entry.clone()), Some(*field), reason.clone()),
            other => (None, None, other.to_string()),
        };
        Problem {
            file: self.file.display().to_string(),
            line: self.position.map(|p| p.0),
            column: self.position.map(|p| p.1),
            entry,
            field: field.map(str::to_owned),
            reason,
        }
    }
}

/// A [`ContentError`] as JSON-ready data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub entry: Option<String>,
    pub field: Option<String>,
    pub reason: String,
}

/// Every problem found in one load (never empty).
#[derive(Debug)]
pub struct ContentErrors(pub Vec<ContentError>);

impl fmt::Display for ContentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ContentErrors {}

impl ContentErrors {
    /// The first problem (there is always one).
    pub fn first(&self) -> &ContentError {
        &self.0[0]
    }
}

/// Where content files come from: a directory, or memory (tests and benches).
pub trait Source {
    fn read(&self, name: &str) -> std::io::Result<String>;
    /// How errors name the file.
    fn path(&self, name: &str) -> PathBuf;
}

impl Source for PathBuf {
    fn read(&self, name: &str) -> std::io::Result<String> {
        std::fs::read_to_string(self.join(name))
    }
    fn path(&self, name: &str) -> PathBuf {
        self.join(name)
    }
}

/// Content files held in memory, by file name.
impl Source for BTreeMap<String, String> {
    fn read(&self, name: &str) -> std::io::Result<String> {
        self.get(name)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
    fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(name)
    }
}

/// Reads files once each, keeps their text (to locate errors) and hashes them in order.
struct Reader<'a> {
    src: &'a dyn Source,
    texts: BTreeMap<&'static str, String>,
    errors: Vec<ContentError>,
    hasher: Sha256,
}

impl Reader<'_> {
    fn read<T: serde::de::DeserializeOwned>(&mut self, name: &'static str) -> Option<T> {
        let text = match self.src.read(name) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(ContentError {
                    file: self.src.path(name),
                    position: None,
                    kind: ContentErrorKind::Io(e),
                });
                return None;
            }
        };
        self.hasher.update(name.as_bytes());
        self.hasher.update((text.len() as u64).to_le_bytes());
        self.hasher.update(text.as_bytes());
        let parsed = ron::from_str(&text).map_err(|e| ContentError {
            file: self.src.path(name),
            position: Some((e.span.start.line, e.span.start.col)),
            kind: ContentErrorKind::Syntax(e.code.to_string()),
        });
        self.texts.insert(name, text);
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }
}

/// Declares every kind of content: its field in [`Raw`], its type and its file. One line each.
macro_rules! content_kinds {
    ($($field:ident: $ty:ty = $file:literal,)*) => {
        /// Content as parsed, before cross-checks.
        pub(crate) struct Raw {
            $(pub $field: $ty,)*
        }

        /// The files a content directory holds, in load (and hash) order.
        pub const CONTENT_FILES: &[&str] = &[$($file),*];

        fn read_all(r: &mut Reader<'_>) -> Option<Raw> {
            $(let $field = r.read::<$ty>($file);)*
            Some(Raw { $($field: $field?,)* })
        }
    };
}

content_kinds! {
    items: Vec<ItemDef> = "items.ron",
    crops: Vec<CropDef> = "crops.ron",
    recipes: Vec<RecipeDef> = "recipes.ron",
    cards: Vec<CardDef> = "cards.ron",
    zones: Vec<ZoneDef> = "zones.ron",
    economy: Economy = "economy.ron",
    duel: DuelRules = "duel.ron",
}

impl Content {
    /// Load and validate every content file in `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Content, ContentErrors> {
        Self::load_from(&dir.as_ref().to_path_buf())
    }

    /// Load and validate content from any [`Source`].
    pub fn load_from(src: &dyn Source) -> Result<Content, ContentErrors> {
        let mut reader = Reader {
            src,
            texts: BTreeMap::new(),
            errors: Vec::new(),
            hasher: Sha256::new(),
        };
        let raw = read_all(&mut reader);
        let (raw, mut errors) = match raw {
            Some(raw) if reader.errors.is_empty() => (raw, Vec::new()),
            _ => return Err(ContentErrors(reader.errors)),
        };
        let version = hex::encode(&reader.hasher.finalize()[..6]);
        let content = super::validate::build(raw, version, &mut errors);
        if errors.is_empty() {
            return Ok(content);
        }
        // Validation names the bare file and the entry; add the path and the position.
        for e in &mut errors {
            let name = e.file.display().to_string();
            if let (Some(text), ContentErrorKind::Invalid { entry, field, .. }) =
                (reader.texts.get(name.as_str()), &e.kind)
            {
                e.position = locate(text, entry, field);
            }
            e.file = src.path(&name);
        }
        Err(ContentErrors(errors))
    }
}

/// The line and column of `field` inside the definition whose `id` is `entry` (or of the
/// entry itself when the field is not written out, e.g. a default). For a file holding one
/// struct (`economy.ron`) the whole text is searched. `field` may be a dotted path; its last
/// segment is searched for.
pub(crate) fn locate(text: &str, entry: &str, field: &str) -> Option<(usize, usize)> {
    let keys = key_positions(text);
    let ids: Vec<usize> = keys
        .iter()
        .filter(|(k, _)| *k == "id")
        .map(|(_, p)| *p)
        .collect();
    let (start, end) = if ids.is_empty() {
        (0, text.len())
    } else {
        let i = ids.iter().position(|&p| id_value(text, p) == Some(entry))?;
        (ids[i], ids.get(i + 1).copied().unwrap_or(text.len()))
    };
    let leaf = field.rsplit('.').next().unwrap_or(field);
    let at = keys
        .iter()
        .find(|(k, p)| *k == leaf && *p >= start && *p < end)
        .map(|(_, p)| *p)
        .unwrap_or(start);
    Some(line_col(text, at))
}

/// Every `name:` key in the text outside comments and strings, with its byte offset.
fn key_positions(text: &str) -> Vec<(&str, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let mut j = i;
                while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                    j += 1;
                }
                if b.get(j) == Some(&b':') {
                    out.push((&text[s..i], s));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The string after the `id:` key at `at`.
fn id_value(text: &str, at: usize) -> Option<&str> {
    let rest = text[at..].split_once(':')?.1.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.split_once('"').map(|(v, _)| v)
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_the_field_inside_its_entry() {
        let text = "[\n  (id: \"a\", x: 1),\n  // id: \"b\", x: 9\n  (id: \"b\",\n   x: 2),\n]";
        assert_eq!(locate(text, "a", "x"), Some((2, 13)));
        assert_eq!(locate(text, "b", "x"), Some((5, 4)));
        // A field not written out: the entry itself.
        assert_eq!(locate(text, "b", "y"), Some((4, 4)));
        assert_eq!(locate(text, "zzz", "x"), None);
        // A single struct, dotted path.
        let text = "(\n  start: 1,\n  expansion: (plots: 2, prices: [1]),\n)";
        assert_eq!(locate(text, "economy", "expansion.prices"), Some((3, 25)));
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    fn repo_assets() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/data")
    }

    /// Every file under assets/data loads and validates.
    #[test]
    fn shipped_content_loads() {
        let c = match Content::load(repo_assets()) {
            Ok(c) => c,
            Err(e) => panic!("assets/data must load:\n{e}"),
        };
        assert!(c.crops.len() >= 3, "at least 3 crops");
        assert!(!c.cards.is_empty() && !c.recipes.is_empty());
        assert!(c.zone(&c.economy.start_zone).is_some());
        assert!(c.zones.values().any(|z| z.market), "some zone has a market");
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
    fn errors_carry_the_directory_and_every_file_is_read() {
        let tmp = copy_assets();
        std::fs::remove_file(tmp.path().join("zones.ron")).unwrap();
        std::fs::write(tmp.path().join("cards.ron"), "[(id: \"x\",, )]").unwrap();
        let errs = Content::load(tmp.path()).unwrap_err();
        let msg = errs.to_string();
        assert_eq!(errs.0.len(), 2, "{msg}");
        assert!(
            msg.contains(&format!("{}:1:", tmp.path().join("cards.ron").display())),
            "{msg}"
        );
        assert!(msg.contains("zones.ron: cannot read"), "{msg}");
    }

    #[test]
    fn version_changes_with_content() {
        let tmp = copy_assets();
        let a = Content::load(tmp.path()).unwrap().version;
        let text = std::fs::read_to_string(tmp.path().join("economy.ron")).unwrap();
        std::fs::write(
            tmp.path().join("economy.ron"),
            format!("{text}\n// edited\n"),
        )
        .unwrap();
        let b = Content::load(tmp.path()).unwrap().version;
        assert_ne!(a, b);
    }
}
