//! Colours and small widget builders shared by the screens.

use bevy::prelude::*;

pub const BG: Color = Color::srgb(0.13, 0.17, 0.12);
pub const PANEL: Color = Color::srgb(0.20, 0.25, 0.18);
pub const BUTTON: Color = Color::srgb(0.32, 0.42, 0.26);
pub const BUTTON_HOVER: Color = Color::srgb(0.40, 0.52, 0.32);
pub const FIELD: Color = Color::srgb(0.93, 0.91, 0.84);
pub const FIELD_FOCUS: Color = Color::srgb(1.0, 0.98, 0.80);
pub const SOIL: Color = Color::srgb(0.45, 0.32, 0.20);
pub const GROWING: Color = Color::srgb(0.36, 0.50, 0.22);
pub const WATERED: Color = Color::srgb(0.22, 0.42, 0.50);
pub const RIPE: Color = Color::srgb(0.85, 0.62, 0.16);
pub const TEXT: Color = Color::srgb(0.96, 0.95, 0.90);
/// Text for what the player does not have yet.
pub const MUTED: Color = Color::srgb(0.62, 0.64, 0.58);
pub const DARK_TEXT: Color = Color::srgb(0.10, 0.10, 0.08);
pub const ERROR: Color = Color::srgb(1.0, 0.55, 0.45);

pub fn text(s: impl Into<String>, size: f32, color: Color) -> impl Bundle {
    (
        Text::new(s),
        TextFont::from_font_size(size),
        TextColor(color),
    )
}

/// A button node with a label child. `marker` identifies what it does.
pub fn button(marker: impl Component, label: impl Into<String>, width: f32) -> impl Bundle {
    (
        Button,
        marker,
        Node {
            width: Val::Px(width),
            height: Val::Px(44.0),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            margin: UiRect::all(Val::Px(4.0)),
            border_radius: BorderRadius::all(Val::Px(6.0)),
            ..default()
        },
        BackgroundColor(BUTTON),
        BorderColor::all(BUTTON),
        children![text(label, 18.0, TEXT)],
    )
}

/// Hover feedback for every plain button.
pub fn hover(
    mut q: Query<
        (&Interaction, &mut BackgroundColor),
        (
            Changed<Interaction>,
            With<Button>,
            Without<super::farm::PlotButton>,
        ),
    >,
) {
    for (i, mut bg) in &mut q {
        bg.0 = match i {
            Interaction::Hovered | Interaction::Pressed => BUTTON_HOVER,
            Interaction::None => BUTTON,
        };
    }
}
