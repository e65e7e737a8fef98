//! Card duels in the windowed client: two more pages of the panel beside the farm.
//!
//! - **Decks**: the deck editor. Every card in content with how many you own and how many are
//!   in the deck, `+`/`-` to change the draft, *Auto-fill* (the strongest legal deck you own),
//!   *Clear* and *Save*; the draft is checked with the shard's own deck rule as you edit, and
//!   every problem is listed.
//! - **Arena**: go to the arena, queue with your deck (waiting time and a *Cancel* button),
//!   then the duel board: the opponent's hero, energy, deck count and hand as card backs; both
//!   boards (click your unit, then a target, to attack); your hand (click a card to play it,
//!   then a target when it needs one); the turn timer; *End turn*, *Concede*; and the play log.
//!   When the duel is recorded: the result, the rating change and the reward.
//!
//! A move is checked against the legal moves of the board as this player sees it before it is
//! sent; the shard decides.

use super::economy::Tab;
use super::style::*;
use super::{ClientContent, Screen};
use crate::net::send_request;
use bevy::prelude::*;
use harvest_shared::action::Action;
use harvest_shared::content::{CardKind, Content};
use harvest_shared::duel::arena::ArenaAction;
use harvest_shared::duel::deck::best_deck;
use harvest_shared::duel::view::{ArenaState, ArenaStatus, DuelBoard, DuelSeat};
use harvest_shared::duel::{DeckAction, Decks, DuelAction, DuelEvent, Side, Target, validate_deck};
use harvest_shared::ids::{CardId, ZoneId};
use harvest_shared::inventory::Collection;
use harvest_shared::protocol::PlayerInfo;
use harvest_shared::time::{Tick, WORLD_TICK_MS};
use harvest_shared::travel::TravelAction;

/// The deck being edited: which saved deck it came from, and its cards.
#[derive(Resource, Default, Debug, Clone)]
pub struct DeckDraft {
    pub deck: Option<u32>,
    pub cards: Vec<CardId>,
    /// Loaded from the saved deck once it arrived.
    loaded: bool,
    /// Save asked before any deck existed: set the cards once the new deck arrives.
    save_when_created: bool,
}

/// What a duel-page button does.
#[derive(Component, Clone, Debug, PartialEq)]
pub enum DuelButton {
    Add(CardId),
    Remove(CardId),
    AutoFill,
    Clear,
    Save,
    Travel(ZoneId),
    Queue,
    Cancel,
    Hand(u8),
    MyUnit(u32),
    Target(Target),
    EndTurn,
    Concede,
}

/// A unit, spell or hero picked as the first half of a two-click move.
#[derive(Resource, Default, Debug, Clone, PartialEq)]
pub enum Picked {
    #[default]
    Nothing,
    Hand(u8),
    Unit(u32),
}

/// The deck editor's line for one card.
#[derive(Component)]
pub struct DeckCardRow(pub CardId);
/// The deck editor's summary (name, size, legality, problems).
#[derive(Component)]
pub struct DeckSummary;
/// The arena page's body, rebuilt when what it shows changes.
#[derive(Component)]
pub struct ArenaBody;
/// One card back of the opponent's hand.
#[derive(Component)]
pub struct CardBack;
/// The turn timer's text.
#[derive(Component)]
pub struct TurnTimer;
/// The result text (after a duel).
#[derive(Component)]
pub struct ResultText;
/// What the arena page last showed (rebuilt when it differs).
#[derive(Resource, Default)]
struct Shown(String);

fn small(s: impl Into<String>, color: Color) -> impl Bundle {
    text(s, 13.0, color)
}

fn small_button(marker: DuelButton, label: impl Into<String>, width: f32) -> impl Bundle {
    (
        Button,
        marker,
        Node {
            min_width: Val::Px(width),
            height: Val::Px(22.0),
            padding: UiRect::horizontal(Val::Px(4.0)),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            margin: UiRect::all(Val::Px(2.0)),
            border_radius: BorderRadius::all(Val::Px(4.0)),
            ..default()
        },
        BackgroundColor(BUTTON),
        children![text(label.into(), 13.0, TEXT)],
    )
}

fn row() -> Node {
    Node {
        flex_direction: FlexDirection::Row,
        flex_wrap: FlexWrap::Wrap,
        align_items: AlignItems::Center,
        min_height: Val::Px(24.0),
        ..default()
    }
}

/// The Decks page: built once; its texts are refreshed by [`render_decks`].
pub(super) fn decks_page(col: &mut ChildSpawnerCommands, c: &Content) {
    col.spawn(text("Deck editor", 18.0, RIPE));
    col.spawn((DeckSummary, small("", TEXT)));
    col.spawn(row()).with_children(|r| {
        r.spawn(small_button(DuelButton::AutoFill, "Auto-fill", 80.0));
        r.spawn(small_button(DuelButton::Clear, "Clear", 60.0));
        r.spawn(small_button(DuelButton::Save, "Save deck", 80.0));
    });
    for d in c.cards.values() {
        col.spawn(row()).with_children(|r| {
            r.spawn(small_button(DuelButton::Remove(d.id.clone()), "-", 22.0));
            r.spawn(small_button(DuelButton::Add(d.id.clone()), "+", 22.0));
            r.spawn((DeckCardRow(d.id.clone()), small("", TEXT)));
        });
    }
}

/// The Arena page: a body rebuilt by [`render_arena`].
pub(super) fn arena_page(col: &mut ChildSpawnerCommands) {
    col.spawn(text("Arena", 18.0, RIPE));
    col.spawn((
        ArenaBody,
        Node {
            flex_direction: FlexDirection::Column,
            ..default()
        },
    ));
}

fn card_name(c: &Content, id: &CardId) -> String {
    c.card(id).map_or(id.to_string(), |d| d.name.clone())
}

fn card_short(c: &Content, id: &CardId) -> String {
    match c.card(id) {
        Some(d) if d.kind == CardKind::Unit => {
            format!("{} ({}) {}/{}", d.name, d.cost, d.attack, d.health)
        }
        Some(d) => format!("{} ({})", d.name, d.cost),
        None => id.to_string(),
    }
}

/// The deck summary: the draft's size and whether it is legal, with every problem.
fn deck_summary(c: &Content, draft: &DeckDraft, decks: &Decks, owned: &Collection) -> String {
    let name = draft
        .deck
        .and_then(|d| decks.get(d))
        .map_or("new deck".to_owned(), |d| d.name.clone());
    let saved = draft
        .deck
        .and_then(|d| decks.get(d))
        .is_some_and(|d| d.cards == draft.cards && !d.cards.is_empty());
    let head = format!(
        "Editing: {name} ({}/{} cards){}",
        draft.cards.len(),
        c.duel.deck_size,
        if saved { ", saved" } else { "" }
    );
    match validate_deck(&draft.cards, owned, c, &c.duel) {
        Ok(()) => format!("{head}: legal"),
        Err(problems) => {
            let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
            format!("{head}\n{}", list.join("\n"))
        }
    }
}

#[allow(clippy::type_complexity)]
fn render_decks(
    content: Res<ClientContent>,
    mut draft: ResMut<DeckDraft>,
    player: Query<(Option<&Decks>, Option<&Collection>), With<PlayerInfo>>,
    mut texts: ParamSet<(
        Query<&mut Text, With<DeckSummary>>,
        Query<(&DeckCardRow, &mut Text, &mut TextColor)>,
    )>,
) {
    let Some((decks, owned)) = player.iter().next() else {
        return;
    };
    let (empty_decks, empty_col) = (Decks::default(), Collection::default());
    let decks = decks.unwrap_or(&empty_decks);
    let owned = owned.unwrap_or(&empty_col);
    if !draft.loaded
        && let Some(d) = decks.decks.first()
    {
        draft.deck = Some(d.id);
        draft.cards = d.cards.clone();
        draft.loaded = true;
    }
    let c = &content.0;
    let summary = deck_summary(c, &draft, decks, owned);
    for mut t in &mut texts.p0() {
        if t.0 != summary {
            t.0.clone_from(&summary);
        }
    }
    for (r, mut t, mut color) in &mut texts.p1() {
        let n = draft.cards.iter().filter(|k| **k == r.0).count();
        let have = owned.count(&r.0);
        let s = format!("{}  in deck {n} / owned {have}", card_short(c, &r.0));
        if t.0 != s {
            t.0 = s;
        }
        color.0 = if have > 0 { TEXT } else { MUTED };
    }
}

/// Everything the arena page shows, as one value (the page is rebuilt when it changes).
struct ArenaView {
    zone: ZoneId,
    status: ArenaStatus,
    board: Option<DuelBoard>,
    seat: Option<DuelSeat>,
    picked: Picked,
    seconds: u64,
}

impl ArenaView {
    fn key(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            self.zone, self.status, self.board, self.seat, self.picked, self.seconds
        )
    }
}

fn seconds_between(from: Tick, to: Tick) -> u64 {
    from.until(to) * WORLD_TICK_MS / 1000
}

fn event_line(c: &Content, e: &DuelEvent, me: Side) -> Option<String> {
    let who = |s: Side| if s == me { "You" } else { "Opponent" };
    Some(match e {
        DuelEvent::TurnStarted { side, turn, .. } => format!("Turn {turn}: {}", who(*side)),
        DuelEvent::Played { side, card } => format!("{} played {}", who(*side), card_name(c, card)),
        DuelEvent::Attacked { unit, target } => format!("unit {unit} attacked {target:?}"),
        DuelEvent::Damaged { target, amount } => format!("{target:?} took {amount}"),
        DuelEvent::Healed { target, amount } => format!("{target:?} healed {amount}"),
        DuelEvent::Died { unit } => format!("unit {unit} died"),
        DuelEvent::TurnEnded {
            side,
            timed_out: true,
        } => format!("{}: time ran out", who(*side)),
        DuelEvent::Conceded { side } => format!("{} conceded", who(*side)),
        DuelEvent::Ended(o) => format!("Over: {o:?}"),
        _ => return None,
    })
}

fn spawn_arena(body: &mut ChildSpawnerCommands, c: &Content, v: &ArenaView) {
    let arena = c.arena();
    let in_arena = arena.is_some_and(|a| a.id == v.zone);
    let r = v.status.rating;
    body.spawn(small(
        format!(
            "Your rating: {:.0} (+/- {:.0})",
            r.rating,
            2.0 * r.deviation
        ),
        TEXT,
    ));
    if let Some(last) = &v.status.last
        && v.status.state == ArenaState::Idle
    {
        let delta = last.rating_after.rating - last.rating_before.rating;
        body.spawn((
            ResultText,
            text(
                format!(
                    "Last duel: {} vs player #{}\nRating {:.0} -> {:.0} ({delta:+.0}), reward {} coins",
                    format!("{:?}", last.result).to_uppercase(),
                    last.opponent.0,
                    last.rating_before.rating,
                    last.rating_after.rating,
                    last.reward
                ),
                16.0,
                RIPE,
            ),
        ));
    }
    match (&v.status.state, &v.board, &v.seat) {
        (ArenaState::InDuel, Some(board), Some(seat)) => spawn_board(body, c, v, board, seat),
        (ArenaState::InDuel, ..) => {
            body.spawn(small("A duel is starting...", TEXT));
        }
        (ArenaState::Queued { since, .. }, ..) => {
            body.spawn(small(
                format!(
                    "Waiting for an opponent: {} s (the rating window widens as you wait)",
                    seconds_between(*since, Tick::now())
                ),
                TEXT,
            ));
            body.spawn(row()).with_children(|r| {
                r.spawn(small_button(DuelButton::Cancel, "Cancel", 80.0));
            });
        }
        (ArenaState::Idle, ..) if !in_arena => {
            let name = arena.map_or("the arena".to_owned(), |a| a.name.clone());
            body.spawn(small(format!("Duels are fought in {name}."), TEXT));
            if let Some(a) = arena {
                body.spawn(row()).with_children(|r| {
                    r.spawn(small_button(
                        DuelButton::Travel(a.id.clone()),
                        "Go to the arena",
                        140.0,
                    ));
                });
            }
        }
        (ArenaState::Idle, ..) => {
            body.spawn(small("Queue with your saved deck (Decks tab).", TEXT));
            body.spawn(row()).with_children(|r| {
                r.spawn(small_button(DuelButton::Queue, "Queue", 80.0));
                r.spawn(small_button(
                    DuelButton::Travel(c.economy.start_zone.clone()),
                    "Back to the farm",
                    140.0,
                ));
            });
        }
    }
}

fn spawn_board(
    body: &mut ChildSpawnerCommands,
    c: &Content,
    v: &ArenaView,
    board: &DuelBoard,
    seat: &DuelSeat,
) {
    let me = seat.side;
    let (mi, oi) = if me == Side::A { (0, 1) } else { (1, 0) };
    let opponent = board.accounts[oi];
    let mine = board.active == me;
    let left = seconds_between(Tick::now(), board.deadline());
    body.spawn((
        TurnTimer,
        text(
            format!(
                "{} - {left} s left (turn {})",
                if mine { "Your turn" } else { "Opponent's turn" },
                board.turn
            ),
            16.0,
            if mine { RIPE } else { TEXT },
        ),
    ));
    let away = board.away_until[oi].map_or(String::new(), |_| "  (disconnected)".into());
    body.spawn(small(
        format!(
            "Player #{}: hero {} hp, energy {}/{}, deck {}{away}",
            opponent.0,
            board.health[oi],
            board.energy[oi],
            board.max_energy[oi],
            board.deck_counts[oi]
        ),
        TEXT,
    ));
    body.spawn(row()).with_children(|r| {
        for _ in 0..board.hand_counts[oi] {
            r.spawn((
                CardBack,
                Node {
                    width: Val::Px(18.0),
                    height: Val::Px(26.0),
                    margin: UiRect::all(Val::Px(2.0)),
                    border_radius: BorderRadius::all(Val::Px(3.0)),
                    ..default()
                },
                BackgroundColor(SOIL),
            ));
        }
        r.spawn(small_button(
            DuelButton::Target(Target::Hero(me.other())),
            "Opponent hero",
            110.0,
        ));
    });
    body.spawn(row()).with_children(|r| {
        r.spawn(small("Their board:", MUTED));
        for u in &board.boards[oi] {
            r.spawn(small_button(
                DuelButton::Target(Target::Unit(u.id)),
                format!("{} {}/{}", card_name(c, &u.card), u.attack, u.health),
                60.0,
            ));
        }
    });
    body.spawn(row()).with_children(|r| {
        r.spawn(small("Your board:", MUTED));
        for u in &board.boards[mi] {
            let picked = v.picked == Picked::Unit(u.id);
            r.spawn(small_button(
                DuelButton::MyUnit(u.id),
                format!(
                    "{}{} {}/{}{}",
                    if picked { "> " } else { "" },
                    card_name(c, &u.card),
                    u.attack,
                    u.health,
                    if u.ready { "" } else { " (zz)" }
                ),
                60.0,
            ));
        }
    });
    body.spawn(small(
        format!(
            "You: hero {} hp, energy {}/{}, deck {}",
            board.health[mi], board.energy[mi], board.max_energy[mi], board.deck_counts[mi]
        ),
        TEXT,
    ));
    body.spawn(row()).with_children(|r| {
        for (i, card) in seat.hand.iter().enumerate() {
            let picked = v.picked == Picked::Hand(i as u8);
            r.spawn(small_button(
                DuelButton::Hand(i as u8),
                format!("{}{}", if picked { "> " } else { "" }, card_short(c, card)),
                60.0,
            ));
        }
    });
    body.spawn(row()).with_children(|r| {
        r.spawn(small_button(
            DuelButton::Target(Target::Hero(me)),
            "Your hero",
            80.0,
        ));
        r.spawn(small_button(DuelButton::EndTurn, "End turn", 80.0));
        r.spawn(small_button(DuelButton::Concede, "Concede", 80.0));
    });
    let log: Vec<String> = board
        .log
        .iter()
        .filter_map(|e| event_line(c, e, me))
        .collect();
    body.spawn(small(format!("Log:\n{}", log.join("\n")), MUTED));
}

#[allow(clippy::too_many_arguments)]
fn render_arena(
    mut commands: Commands,
    content: Res<ClientContent>,
    picked: Res<Picked>,
    tab: Res<Tab>,
    mut shown: ResMut<Shown>,
    player: Query<(&PlayerInfo, Option<&ArenaStatus>, Option<&DuelSeat>)>,
    boards: Query<&DuelBoard>,
    body: Query<Entity, With<ArenaBody>>,
) {
    if *tab != Tab::Arena {
        return;
    }
    let Some((info, status, seat)) = player.iter().next() else {
        return;
    };
    // The board of the seat's duel (a finished one may linger a frame).
    let board = seat.and_then(|s| boards.iter().find(|b| b.match_id == s.match_id).cloned());
    let v = ArenaView {
        zone: info.zone.clone(),
        status: status.cloned().unwrap_or_default(),
        seconds: Tick::now().0 * WORLD_TICK_MS / 1000,
        board,
        seat: seat.cloned(),
        picked: picked.clone(),
    };
    let key = v.key();
    if shown.0 == key {
        return;
    }
    shown.0 = key;
    for e in &body {
        commands.entity(e).despawn_children();
        commands
            .entity(e)
            .with_children(|b| spawn_arena(b, &content.0, &v));
    }
}

/// This player's duel, if in one: the board of their seat's match, and the seat.
pub(super) fn my_duel(world: &mut World) -> Option<(DuelBoard, DuelSeat)> {
    let seat = world.query::<&DuelSeat>().iter(world).next().cloned()?;
    let board = world
        .query::<&DuelBoard>()
        .iter(world)
        .find(|b| b.match_id == seat.match_id)
        .cloned()?;
    Some((board, seat))
}

/// The legal moves of this player right now, on the board as they see it.
fn legal(world: &mut World) -> Option<(Side, Vec<DuelAction>)> {
    let content = world.resource::<ClientContent>().0.clone();
    let (board, seat) = my_duel(world)?;
    if board.active != seat.side || board.outcome.is_some() {
        return Some((seat.side, Vec::new()));
    }
    let filler = content.cards.keys().next()?.clone();
    let known = board.reconstruct(seat.side, &seat.hand, &content.duel, &filler);
    Some((seat.side, known.legal_actions(seat.side, &content)))
}

fn send<A: Action>(world: &mut World, action: A, what: &str) -> Result<(), String> {
    let id = world.resource::<super::farm::RequestIds>().next();
    world.resource_mut::<super::farm::RequestIds>().advance();
    if send_request(world, id, action) {
        super::farm::set_status(world, format!("Sent: {what}"));
        Ok(())
    } else {
        Err("not connected".into())
    }
}

/// Do what `button` does: edit the draft, or check and send a request. Why not, if it cannot.
pub(super) fn press(world: &mut World, button: &DuelButton) -> Result<(), String> {
    let content = world.resource::<ClientContent>().0.clone();
    let c = &content;
    let mut pq = world.query::<(&PlayerInfo, Option<&Decks>, Option<&Collection>)>();
    let (decks, owned) = pq
        .iter(world)
        .next()
        .map(|(_, d, o)| {
            (
                d.cloned().unwrap_or_default(),
                o.cloned().unwrap_or_default(),
            )
        })
        .ok_or("your farm has not arrived yet")?;
    let pick = |world: &mut World, p: Picked| *world.resource_mut::<Picked>() = p;
    if matches!(
        button,
        DuelButton::Add(_) | DuelButton::Remove(_) | DuelButton::AutoFill | DuelButton::Clear
    ) {
        // The player's own edits: the saved deck no longer replaces the draft when it arrives.
        world.resource_mut::<DeckDraft>().loaded = true;
    }
    match button {
        DuelButton::Add(card) => {
            let mut d = world.resource_mut::<DeckDraft>();
            if d.cards.len() >= usize::from(c.duel.deck_size) {
                return Err(format!("a deck holds {} cards", c.duel.deck_size));
            }
            d.cards.push(card.clone());
            d.cards.sort();
        }
        DuelButton::Remove(card) => {
            let mut d = world.resource_mut::<DeckDraft>();
            let i = d
                .cards
                .iter()
                .position(|k| k == card)
                .ok_or("not in the deck")?;
            d.cards.remove(i);
        }
        DuelButton::AutoFill => {
            let cards =
                best_deck(&owned, c).ok_or("you own too few cards for a deck: craft more")?;
            world.resource_mut::<DeckDraft>().cards = cards;
        }
        DuelButton::Clear => world.resource_mut::<DeckDraft>().cards.clear(),
        DuelButton::Save => {
            let draft = world.resource::<DeckDraft>().clone();
            validate_deck(&draft.cards, &owned, c, &c.duel).map_err(|p| {
                p.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            match draft.deck.filter(|d| decks.get(*d).is_some()) {
                Some(deck) => send(
                    world,
                    DeckAction::SetCards {
                        deck,
                        cards: draft.cards,
                    },
                    "save deck",
                )?,
                None => {
                    send(
                        world,
                        DeckAction::Create {
                            name: format!("Deck {}", decks.decks.len() + 1),
                        },
                        "new deck",
                    )?;
                    world.resource_mut::<DeckDraft>().save_when_created = true;
                }
            }
        }
        DuelButton::Travel(zone) => send(world, TravelAction { to: zone.clone() }, "travel")?,
        DuelButton::Queue => {
            let deck = decks
                .decks
                .iter()
                .find(|d| !d.cards.is_empty())
                .ok_or("save a deck first (Decks tab)")?;
            validate_deck(&deck.cards, &owned, c, &c.duel).map_err(|p| {
                p.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            send(world, ArenaAction::Queue { deck: deck.id }, "queue")?;
        }
        DuelButton::Cancel => send(world, ArenaAction::Leave, "leave the queue")?,
        DuelButton::EndTurn => {
            pick(world, Picked::Nothing);
            send(world, DuelAction::EndTurn, "end turn")?;
        }
        DuelButton::Concede => {
            pick(world, Picked::Nothing);
            send(world, DuelAction::Concede, "concede")?;
        }
        DuelButton::Hand(i) => {
            let (_, moves) = legal(world).ok_or("you are not in a duel")?;
            let plays: Vec<&DuelAction> = moves
                .iter()
                .filter(|m| matches!(m, DuelAction::Play { hand, .. } if hand == i))
                .collect();
            match plays[..] {
                [] => {
                    return Err("that card cannot be played now (your turn? enough energy?)".into());
                }
                [DuelAction::Play { target: None, .. }] => {
                    let a = plays[0].clone();
                    pick(world, Picked::Nothing);
                    send(world, a, "play")?;
                }
                _ => {
                    pick(world, Picked::Hand(*i));
                    super::farm::set_status(world, "Choose a target".into());
                }
            }
        }
        DuelButton::MyUnit(u) => {
            let picked = world.resource::<Picked>().clone();
            if let Picked::Hand(h) = picked {
                return aim(world, h, Target::Unit(*u));
            }
            let (_, moves) = legal(world).ok_or("you are not in a duel")?;
            if !moves
                .iter()
                .any(|m| matches!(m, DuelAction::Attack { unit, .. } if unit == u))
            {
                return Err("that unit cannot attack now".into());
            }
            pick(world, Picked::Unit(*u));
            super::farm::set_status(world, "Choose what to attack".into());
        }
        DuelButton::Target(t) => match world.resource::<Picked>().clone() {
            Picked::Hand(h) => aim(world, h, *t)?,
            Picked::Unit(u) => {
                let a = DuelAction::Attack {
                    unit: u,
                    target: *t,
                };
                let (_, moves) = legal(world).ok_or("you are not in a duel")?;
                if !moves.contains(&a) {
                    return Err("that is not a legal attack".into());
                }
                pick(world, Picked::Nothing);
                send(world, a, "attack")?;
            }
            Picked::Nothing => return Err("pick a card or one of your units first".into()),
        },
    }
    Ok(())
}

fn aim(world: &mut World, hand: u8, target: Target) -> Result<(), String> {
    let a = DuelAction::Play {
        hand,
        target: Some(target),
    };
    let (_, moves) = legal(world).ok_or("you are not in a duel")?;
    if !moves.contains(&a) {
        return Err("not a valid target for that card".into());
    }
    *world.resource_mut::<Picked>() = Picked::Nothing;
    send(world, a, "play")
}

#[derive(Resource, Default)]
struct LastPress(Option<DuelButton>);

fn clicks(world: &mut World) {
    let mut q = world.query::<(&Interaction, &DuelButton)>();
    let pressed = q
        .iter(world)
        .find(|(i, _)| **i == Interaction::Pressed)
        .map(|(_, b)| b.clone());
    if world.resource::<LastPress>().0 == pressed {
        return;
    }
    world.resource_mut::<LastPress>().0 = pressed.clone();
    if let Some(b) = pressed
        && let Err(why) = press(world, &b)
    {
        super::farm::set_status(world, format!("Can't: {why}"));
    }
}

/// A deck created by *Save*: set its cards once it arrives; keep the draft pointed at it.
fn finish_save(world: &mut World) {
    let draft = world.resource::<DeckDraft>().clone();
    if !draft.save_when_created {
        return;
    }
    let mut q = world.query::<&Decks>();
    let Some(deck) = q.iter(world).next().and_then(|d| d.decks.last().cloned()) else {
        return;
    };
    {
        let mut d = world.resource_mut::<DeckDraft>();
        d.save_when_created = false;
        d.deck = Some(deck.id);
        d.loaded = true;
    }
    let _ = send(
        world,
        DeckAction::SetCards {
            deck: deck.id,
            cards: draft.cards,
        },
        "save deck",
    );
}

/// For the tour: the deck editor's rows, and its summary text.
pub(super) fn deck_editor(world: &mut World) -> (usize, String) {
    let rows = world.query::<&DeckCardRow>().iter(world).count();
    let summary = world
        .query_filtered::<&Text, With<DeckSummary>>()
        .iter(world)
        .next()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    (rows, summary)
}

/// For the tour: (hand buttons, card backs, timer text, result text) on the arena page.
pub(super) fn arena_screen(world: &mut World) -> (usize, usize, Option<String>, Option<String>) {
    let hand = world
        .query::<&DuelButton>()
        .iter(world)
        .filter(|b| matches!(b, DuelButton::Hand(_)))
        .count();
    let backs = world.query::<&CardBack>().iter(world).count();
    let timer = world
        .query_filtered::<&Text, With<TurnTimer>>()
        .iter(world)
        .next()
        .map(|t| t.0.clone());
    let result = world
        .query_filtered::<&Text, With<ResultText>>()
        .iter(world)
        .next()
        .map(|t| t.0.clone());
    (hand, backs, timer, result)
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<DeckDraft>()
        .init_resource::<Picked>()
        .init_resource::<Shown>()
        .init_resource::<LastPress>();
    app.add_systems(
        Update,
        (render_decks, render_arena, clicks, finish_save)
            .chain()
            .run_if(in_state(Screen::Farm)),
    );
}
