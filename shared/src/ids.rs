//! Typed ids. Content ids are short designer-chosen strings (`"radish"`); account ids are
//! database integers. Wrapping them keeps a crop id from being passed where an item id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A player account, as issued by the sidecar's database.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i64)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Index of a plot inside one farm (0-based).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = u16)]
pub struct PlotId(pub u16);

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A crop definition in `assets/data/crops.ron`.
    CropId
);
string_id!(
    /// An item definition in `assets/data/items.ron`: seeds, produce, materials, fertilizer.
    ItemId
);
string_id!(
    /// A recipe definition in `assets/data/recipes.ron`.
    RecipeId
);
string_id!(
    /// A card definition in `assets/data/cards.ron`.
    CardId
);
string_id!(
    /// A zone definition in `assets/data/zones.ron`. A zone is a room on some shard.
    ZoneId
);

/// Is `s` a well-formed content id: 1–32 chars of `[a-z0-9_]`, starting with a letter?
pub fn is_valid_content_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_id_shape() {
        assert!(is_valid_content_id("radish"));
        assert!(is_valid_content_id("giant_pumpkin2"));
        assert!(!is_valid_content_id(""));
        assert!(!is_valid_content_id("Radish"));
        assert!(!is_valid_content_id("2radish"));
        assert!(!is_valid_content_id("rad ish"));
        assert!(!is_valid_content_id(&"a".repeat(33)));
    }
}
