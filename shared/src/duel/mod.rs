//! Card duels: a pure, deterministic state machine.
//!
//! A [`Duel`] is built from a seed, the [`DuelRules`] and two decks; every change goes through
//! [`Duel::apply`] (a duelist's [`DuelAction`]) or [`Duel::tick`] (the turn timer). The same
//! seed and the same sequence of calls always give the same game, so a match is stored as its
//! seed, decks and action log ([`LogEntry`]) and re-simulated to verify it ([`replay`]).
//!
//! The rules: both decks are shuffled from the seed and each side draws
//! [`DuelRules::starting_hand`]; side A plays first. At the start of its turn a side gains one
//! energy slot (up to [`DuelRules::max_energy`]), refills its energy, readies its units and
//! draws a card (an empty deck deals 1, 2, 3… fatigue damage to its hero instead; a full hand
//! burns the card). Playing a card costs its energy: a **unit** joins the board (it cannot
//! attack until the side's next turn) and then its effects resolve; a **spell**'s effects
//! resolve and it is gone. Effects are the closed set in content ([`Effect`]): damage (any
//! hero or unit), heal (own hero or unit, up to its maximum), draw, buff (own unit) and summon
//! (a unit card onto the board). A ready unit attacks the enemy hero or an enemy unit once a
//! turn; units in a fight deal their attack to each other and the dead leave the board. A hero
//! at 0 health loses; both at once is a draw, and so is reaching [`DuelRules::max_turns`]. A
//! turn that runs past [`DuelRules::turn_ticks`] is ended by [`Duel::tick`]; a side that
//! concedes (or forfeits after a disconnect) loses.
//!
//! [`Duel::check`] decides whether an action is legal without changing anything, and
//! [`Duel::apply`] runs it only after that check: an illegal action leaves the state exactly as
//! it was and says why ([`DuelError`]). What a duelist may see is [`Duel::view`]: their own
//! hand, the opponent's hand as a count, both boards, and the decks as counts only.
//! Ratings after a duel are Glicko-2 ([`rating`], which says why).

pub mod arena;
pub mod deck;
pub mod policy;
pub mod rating;
pub mod view;

pub use deck::{Deck, DeckAction, DeckEditError, DeckError, Decks, deck_hash, validate_deck};

pub use crate::content::DuelRules;

use crate::content::{CardKind, Content, Effect};
use crate::farming::splitmix64;
use crate::ids::CardId;
use crate::time::Tick;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One of the two duelists. `A` moves first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// What an effect or an attack is aimed at. Units are named by their id on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Target {
    Hero(Side),
    Unit(u32),
}

/// What a duelist can do on their turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DuelAction {
    /// Play the card at `hand` (an index into the hand), aimed at `target` if its effects
    /// need one.
    Play {
        hand: u8,
        target: Option<Target>,
    },
    /// Attack with one of your ready units.
    Attack {
        unit: u32,
        target: Target,
    },
    EndTurn,
    /// Give up: the other side wins. Allowed on either side's turn.
    Concede,
}

impl crate::action::Action for DuelAction {
    const FEATURE: &'static str = "duel";
}

/// Why an action was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum DuelError {
    #[error("the duel is over")]
    Over,
    #[error("it is not your turn")]
    NotYourTurn,
    #[error("there is no card at position {0} of your hand")]
    NotInHand(u8),
    #[error("not enough energy: need {need}, have {have}")]
    NotEnoughEnergy { need: u8, have: u8 },
    #[error("invalid target: {0}")]
    InvalidTarget(String),
    #[error("your board is full")]
    BoardFull,
    #[error("unit {0} cannot attack now")]
    NotReady(u32),
    #[error("card '{0}' is not in content")]
    UnknownCard(CardId),
}

/// How a duel ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Outcome {
    Won(Side),
    Draw,
}

/// Something that happened, for the play log and the client's animations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DuelEvent {
    TurnStarted { side: Side, turn: u16, energy: u8 },
    Drew { side: Side },
    Burned { side: Side, card: CardId },
    Fatigue { side: Side, damage: u16 },
    Played { side: Side, card: CardId },
    Summoned { side: Side, unit: u32, card: CardId },
    Damaged { target: Target, amount: u16 },
    Healed { target: Target, amount: u16 },
    Buffed { unit: u32, attack: u16, health: u16 },
    Attacked { unit: u32, target: Target },
    Died { unit: u32 },
    TurnEnded { side: Side, timed_out: bool },
    Conceded { side: Side },
    Ended(Outcome),
}

/// A unit on the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unit {
    /// Unique within the duel.
    pub id: u32,
    pub card: CardId,
    pub attack: u16,
    pub health: u16,
    /// Health it can be healed up to (its card's, plus buffs).
    pub max_health: u16,
    /// May attack this turn.
    pub ready: bool,
}

/// One duelist's side of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duelist {
    pub health: u16,
    pub energy: u8,
    pub max_energy: u8,
    /// Draw pile; the next card is the last. Never shown to anyone.
    pub deck: Vec<CardId>,
    pub hand: Vec<CardId>,
    pub board: Vec<Unit>,
    /// Damage the next draw from an empty deck deals.
    pub fatigue: u16,
}

/// A duel in progress or over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duel {
    pub seed: u64,
    pub rules: DuelRules,
    pub sides: [Duelist; 2],
    /// Turns started so far (both sides together); the first is 1.
    pub turn: u16,
    pub active: Side,
    /// When the active side's turn began.
    pub turn_started: Tick,
    pub outcome: Option<Outcome>,
    next_unit: u32,
}

/// One call in a duel's history: what a match record stores and a replay re-runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum LogEntry {
    Act {
        side: Side,
        action: DuelAction,
        at: Tick,
    },
    Tick {
        at: Tick,
    },
}

/// What one duelist may see of a duel: the replicated shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DuelView {
    pub me: Side,
    pub active: Side,
    pub turn: u16,
    pub turn_started: Tick,
    pub turn_ticks: u32,
    pub my_hand: Vec<CardId>,
    pub my_deck: u8,
    pub opponent_hand: u8,
    pub opponent_deck: u8,
    pub health: [u16; 2],
    pub energy: [u8; 2],
    pub max_energy: [u8; 2],
    pub boards: [Vec<Unit>; 2],
    pub outcome: Option<Outcome>,
}

/// A small deterministic generator over `splitmix64`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix64(self.0)
    }
    /// Uniform enough in `0..n` (n ≤ a few dozen).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn shuffle(cards: &mut [CardId], rng: &mut Rng) {
    for i in (1..cards.len()).rev() {
        let j = rng.below(i + 1);
        cards.swap(i, j);
    }
}

/// How a card's effects may be aimed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// No effect needs a target.
    None,
    /// Any hero or unit.
    Any,
    /// Own hero or own unit.
    Friendly,
    /// Own unit only.
    FriendlyUnit,
}

fn aim_of(effects: &[Effect]) -> Aim {
    let mut aim = Aim::None;
    for e in effects {
        let need = match e {
            Effect::Damage(_) => Aim::Any,
            Effect::Heal(_) => Aim::Friendly,
            Effect::Buff { .. } => Aim::FriendlyUnit,
            Effect::Draw(_) | Effect::Summon(_) => Aim::None,
        };
        // The narrowest need wins: a target must suit every effect.
        aim = match (aim, need) {
            (a, Aim::None) => a,
            (Aim::FriendlyUnit, _) | (_, Aim::FriendlyUnit) => Aim::FriendlyUnit,
            (Aim::Friendly, _) | (_, Aim::Friendly) => Aim::Friendly,
            _ => Aim::Any,
        };
    }
    aim
}

impl Duel {
    /// Shuffle both decks from `seed`, deal the starting hands and start side A's first turn
    /// at `now`. The decks are taken as they are: check them first with [`validate_deck`].
    pub fn new(seed: u64, rules: DuelRules, decks: [Vec<CardId>; 2], now: Tick) -> Duel {
        let mut rng = Rng(seed);
        let [mut a, mut b] = decks;
        shuffle(&mut a, &mut rng);
        shuffle(&mut b, &mut rng);
        let side = |deck: Vec<CardId>| Duelist {
            health: rules.hero_health,
            energy: 0,
            max_energy: 0,
            deck,
            hand: Vec::new(),
            board: Vec::new(),
            fatigue: 1,
        };
        let mut duel = Duel {
            seed,
            sides: [side(a), side(b)],
            turn: 0,
            active: Side::A,
            turn_started: now,
            outcome: None,
            next_unit: 1,
            rules,
        };
        let mut events = Vec::new();
        for s in [Side::A, Side::B] {
            for _ in 0..duel.rules.starting_hand {
                duel.draw(s, &mut events);
            }
        }
        duel.start_turn(Side::A, now, &mut events);
        duel
    }

    pub fn side(&self, s: Side) -> &Duelist {
        &self.sides[s.index()]
    }

    fn side_mut(&mut self, s: Side) -> &mut Duelist {
        &mut self.sides[s.index()]
    }

    /// The side and index of unit `id`, if it is on a board.
    fn find_unit(&self, id: u32) -> Option<(Side, usize)> {
        [Side::A, Side::B].into_iter().find_map(|s| {
            self.side(s)
                .board
                .iter()
                .position(|u| u.id == id)
                .map(|i| (s, i))
        })
    }

    /// Is `action` by `side` legal now? Changes nothing.
    pub fn check(
        &self,
        side: Side,
        action: &DuelAction,
        content: &Content,
    ) -> Result<(), DuelError> {
        if self.outcome.is_some() {
            return Err(DuelError::Over);
        }
        if *action == DuelAction::Concede {
            return Ok(());
        }
        if side != self.active {
            return Err(DuelError::NotYourTurn);
        }
        let me = self.side(side);
        match action {
            DuelAction::Concede | DuelAction::EndTurn => Ok(()),
            DuelAction::Play { hand, target } => {
                let card = me
                    .hand
                    .get(usize::from(*hand))
                    .ok_or(DuelError::NotInHand(*hand))?;
                let def = content
                    .card(card)
                    .ok_or_else(|| DuelError::UnknownCard(card.clone()))?;
                if def.cost > me.energy {
                    return Err(DuelError::NotEnoughEnergy {
                        need: def.cost,
                        have: me.energy,
                    });
                }
                if def.kind == CardKind::Unit && me.board.len() >= usize::from(self.rules.max_board)
                {
                    return Err(DuelError::BoardFull);
                }
                self.check_aim(side, aim_of(&def.effects), *target)
            }
            DuelAction::Attack { unit, target } => {
                let (owner, i) = self
                    .find_unit(*unit)
                    .filter(|(s, _)| *s == side)
                    .ok_or_else(|| DuelError::InvalidTarget(format!("you have no unit {unit}")))?;
                if !self.side(owner).board[i].ready {
                    return Err(DuelError::NotReady(*unit));
                }
                match *target {
                    Target::Hero(s) if s == side.other() => Ok(()),
                    Target::Unit(u) if self.find_unit(u).is_some_and(|(s, _)| s != side) => Ok(()),
                    _ => Err(DuelError::InvalidTarget(
                        "attack the enemy hero or an enemy unit".into(),
                    )),
                }
            }
        }
    }

    fn check_aim(&self, side: Side, aim: Aim, target: Option<Target>) -> Result<(), DuelError> {
        let bad = |why: &str| Err(DuelError::InvalidTarget(why.into()));
        let Some(t) = target else {
            return if aim == Aim::None {
                Ok(())
            } else {
                bad("this card needs a target")
            };
        };
        let owner = match t {
            Target::Hero(s) => s,
            Target::Unit(u) => match self.find_unit(u) {
                Some((s, _)) => s,
                None => return bad("no such unit"),
            },
        };
        match aim {
            Aim::None => bad("this card takes no target"),
            Aim::Any => Ok(()),
            Aim::Friendly if owner == side => Ok(()),
            Aim::FriendlyUnit if owner == side && matches!(t, Target::Unit(_)) => Ok(()),
            Aim::Friendly => bad("aim at your own hero or unit"),
            Aim::FriendlyUnit => bad("aim at one of your units"),
        }
    }

    /// Run `action` for `side` at `now`, if [`Duel::check`] allows it. What happened, in order.
    pub fn apply(
        &mut self,
        side: Side,
        action: &DuelAction,
        content: &Content,
        now: Tick,
    ) -> Result<Vec<DuelEvent>, DuelError> {
        self.check(side, action, content)?;
        let mut ev = Vec::new();
        match action {
            DuelAction::Concede => {
                ev.push(DuelEvent::Conceded { side });
                self.finish(Outcome::Won(side.other()), &mut ev);
            }
            DuelAction::EndTurn => self.end_turn(now, false, &mut ev),
            DuelAction::Play { hand, target } => {
                let card = self.side_mut(side).hand.remove(usize::from(*hand));
                // Checked above: the card is in content.
                let Some(def) = content.card(&card) else {
                    return Ok(ev);
                };
                self.side_mut(side).energy -= def.cost;
                ev.push(DuelEvent::Played {
                    side,
                    card: card.clone(),
                });
                if def.kind == CardKind::Unit {
                    self.summon(side, &card, content, &mut ev);
                }
                for e in &def.effects {
                    self.resolve(side, e, *target, content, &mut ev);
                }
                self.settle(&mut ev);
            }
            DuelAction::Attack { unit, target } => {
                ev.push(DuelEvent::Attacked {
                    unit: *unit,
                    target: *target,
                });
                let Some((_, i)) = self.find_unit(*unit) else {
                    return Ok(ev);
                };
                let attacker = &mut self.side_mut(side).board[i];
                attacker.ready = false;
                let power = attacker.attack;
                let back = match *target {
                    Target::Unit(u) => self
                        .find_unit(u)
                        .map_or(0, |(s, j)| self.side(s).board[j].attack),
                    Target::Hero(_) => 0,
                };
                self.damage(*target, power, &mut ev);
                if back > 0 {
                    self.damage(Target::Unit(*unit), back, &mut ev);
                }
                self.settle(&mut ev);
            }
        }
        Ok(ev)
    }

    /// The turn timer: end the active turn if it has run out by `now`.
    pub fn tick(&mut self, now: Tick) -> Vec<DuelEvent> {
        let mut ev = Vec::new();
        if self.outcome.is_none()
            && self.turn_started.until(now) >= u64::from(self.rules.turn_ticks)
        {
            self.end_turn(now, true, &mut ev);
        }
        ev
    }

    /// When the active turn ends by itself.
    pub fn turn_deadline(&self) -> Tick {
        self.turn_started
            .saturating_add(u64::from(self.rules.turn_ticks))
    }

    /// `side` left and did not come back: it loses.
    pub fn forfeit(&mut self, side: Side) -> Vec<DuelEvent> {
        let mut ev = Vec::new();
        if self.outcome.is_none() {
            ev.push(DuelEvent::Conceded { side });
            self.finish(Outcome::Won(side.other()), &mut ev);
        }
        ev
    }

    fn end_turn(&mut self, now: Tick, timed_out: bool, ev: &mut Vec<DuelEvent>) {
        let side = self.active;
        ev.push(DuelEvent::TurnEnded { side, timed_out });
        if self.turn >= self.rules.max_turns {
            self.finish(Outcome::Draw, ev);
            return;
        }
        self.start_turn(side.other(), now, ev);
    }

    fn start_turn(&mut self, side: Side, now: Tick, ev: &mut Vec<DuelEvent>) {
        self.turn += 1;
        self.active = side;
        self.turn_started = now;
        let max = self.rules.max_energy;
        let me = self.side_mut(side);
        me.max_energy = me.max_energy.saturating_add(1).min(max);
        me.energy = me.max_energy;
        for u in &mut me.board {
            u.ready = true;
        }
        let (turn, energy) = (self.turn, self.side(side).energy);
        ev.push(DuelEvent::TurnStarted { side, turn, energy });
        self.draw(side, ev);
        self.settle(ev);
    }

    fn draw(&mut self, side: Side, ev: &mut Vec<DuelEvent>) {
        let max_hand = usize::from(self.rules.max_hand);
        let me = self.side_mut(side);
        match me.deck.pop() {
            Some(card) if me.hand.len() < max_hand => {
                me.hand.push(card);
                ev.push(DuelEvent::Drew { side });
            }
            Some(card) => ev.push(DuelEvent::Burned { side, card }),
            None => {
                let damage = me.fatigue;
                me.fatigue = me.fatigue.saturating_add(1);
                ev.push(DuelEvent::Fatigue { side, damage });
                self.damage(Target::Hero(side), damage, ev);
            }
        }
    }

    fn summon(&mut self, side: Side, card: &CardId, content: &Content, ev: &mut Vec<DuelEvent>) {
        let Some(def) = content.card(card).filter(|d| d.kind == CardKind::Unit) else {
            return;
        };
        if self.side(side).board.len() >= usize::from(self.rules.max_board) {
            return; // a summon onto a full board fizzles
        }
        let id = self.next_unit;
        self.next_unit += 1;
        self.side_mut(side).board.push(Unit {
            id,
            card: card.clone(),
            attack: def.attack,
            health: def.health.max(1),
            max_health: def.health.max(1),
            ready: false,
        });
        ev.push(DuelEvent::Summoned {
            side,
            unit: id,
            card: card.clone(),
        });
    }

    fn resolve(
        &mut self,
        side: Side,
        effect: &Effect,
        target: Option<Target>,
        content: &Content,
        ev: &mut Vec<DuelEvent>,
    ) {
        match (effect, target) {
            (Effect::Damage(n), Some(t)) => self.damage(t, *n, ev),
            (Effect::Heal(n), Some(t)) => self.heal(t, *n, ev),
            (Effect::Buff { attack, health }, Some(Target::Unit(u))) => {
                if let Some((s, i)) = self.find_unit(u) {
                    let unit = &mut self.side_mut(s).board[i];
                    unit.attack = unit.attack.saturating_add(*attack);
                    unit.health = unit.health.saturating_add(*health);
                    unit.max_health = unit.max_health.saturating_add(*health);
                    ev.push(DuelEvent::Buffed {
                        unit: u,
                        attack: *attack,
                        health: *health,
                    });
                }
            }
            (Effect::Draw(n), _) => {
                for _ in 0..*n {
                    self.draw(side, ev);
                }
            }
            (Effect::Summon(card), _) => self.summon(side, card, content, ev),
            // A target that died earlier in the same card: the effect fizzles.
            _ => {}
        }
    }

    fn damage(&mut self, target: Target, amount: u16, ev: &mut Vec<DuelEvent>) {
        match target {
            Target::Hero(s) => {
                let h = &mut self.side_mut(s).health;
                *h = h.saturating_sub(amount);
            }
            Target::Unit(u) => {
                let Some((s, i)) = self.find_unit(u) else {
                    return;
                };
                let h = &mut self.side_mut(s).board[i].health;
                *h = h.saturating_sub(amount);
            }
        }
        ev.push(DuelEvent::Damaged { target, amount });
    }

    fn heal(&mut self, target: Target, amount: u16, ev: &mut Vec<DuelEvent>) {
        let max_hero = self.rules.hero_health;
        let healed = match target {
            Target::Hero(s) => {
                let h = &mut self.side_mut(s).health;
                let before = *h;
                *h = h.saturating_add(amount).min(max_hero.max(before));
                *h - before
            }
            Target::Unit(u) => {
                let Some((s, i)) = self.find_unit(u) else {
                    return;
                };
                let unit = &mut self.side_mut(s).board[i];
                let before = unit.health;
                unit.health = unit.health.saturating_add(amount).min(unit.max_health);
                unit.health - before
            }
        };
        ev.push(DuelEvent::Healed {
            target,
            amount: healed,
        });
    }

    /// Remove the dead and decide the duel if a hero fell.
    fn settle(&mut self, ev: &mut Vec<DuelEvent>) {
        for s in [Side::A, Side::B] {
            let board = &mut self.side_mut(s).board;
            let dead: Vec<u32> = board
                .iter()
                .filter(|u| u.health == 0)
                .map(|u| u.id)
                .collect();
            board.retain(|u| u.health > 0);
            ev.extend(dead.into_iter().map(|unit| DuelEvent::Died { unit }));
        }
        if self.outcome.is_some() {
            return;
        }
        match (self.sides[0].health == 0, self.sides[1].health == 0) {
            (true, true) => self.finish(Outcome::Draw, ev),
            (true, false) => self.finish(Outcome::Won(Side::B), ev),
            (false, true) => self.finish(Outcome::Won(Side::A), ev),
            (false, false) => {}
        }
    }

    fn finish(&mut self, outcome: Outcome, ev: &mut Vec<DuelEvent>) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
            ev.push(DuelEvent::Ended(outcome));
        }
    }

    /// What `me` may see: no deck order, the opponent's hand as a count.
    pub fn view(&self, me: Side) -> DuelView {
        let (mine, theirs) = (self.side(me), self.side(me.other()));
        let count = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
        DuelView {
            me,
            active: self.active,
            turn: self.turn,
            turn_started: self.turn_started,
            turn_ticks: self.rules.turn_ticks,
            my_hand: mine.hand.clone(),
            my_deck: count(mine.deck.len()),
            opponent_hand: count(theirs.hand.len()),
            opponent_deck: count(theirs.deck.len()),
            health: [self.sides[0].health, self.sides[1].health],
            energy: [self.sides[0].energy, self.sides[1].energy],
            max_energy: [self.sides[0].max_energy, self.sides[1].max_energy],
            boards: [self.sides[0].board.clone(), self.sides[1].board.clone()],
            outcome: self.outcome,
        }
    }

    /// A hash of the whole state (hidden parts included): what a replay must reproduce.
    pub fn state_hash(&self) -> String {
        let text = ron::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..16])
    }

    /// Every action `side` could take now that [`Duel::check`] accepts (bots, tests).
    pub fn legal_actions(&self, side: Side, content: &Content) -> Vec<DuelAction> {
        let mut targets = vec![Target::Hero(Side::A), Target::Hero(Side::B)];
        for s in [Side::A, Side::B] {
            targets.extend(self.side(s).board.iter().map(|u| Target::Unit(u.id)));
        }
        let mut out = Vec::new();
        let me = self.side(side);
        for hand in 0..me.hand.len() {
            let hand = u8::try_from(hand).unwrap_or(u8::MAX);
            let untargeted = DuelAction::Play { hand, target: None };
            if self.check(side, &untargeted, content).is_ok() {
                out.push(untargeted);
                continue;
            }
            out.extend(
                targets
                    .iter()
                    .map(|t| DuelAction::Play {
                        hand,
                        target: Some(*t),
                    })
                    .filter(|a| self.check(side, a, content).is_ok()),
            );
        }
        for u in &me.board {
            out.extend(
                targets
                    .iter()
                    .map(|t| DuelAction::Attack {
                        unit: u.id,
                        target: *t,
                    })
                    .filter(|a| self.check(side, a, content).is_ok()),
            );
        }
        for a in [DuelAction::EndTurn, DuelAction::Concede] {
            if self.check(side, &a, content).is_ok() {
                out.push(a);
            }
        }
        out
    }
}

impl Duel {
    /// The active side's legal move number `n` (modulo how many there are), never conceding:
    /// a scripted player for bots, benches and tests. `None` once the duel is over.
    pub fn nth_move(&self, n: usize, content: &Content) -> Option<DuelAction> {
        let mut moves = self.legal_actions(self.active, content);
        moves.retain(|a| *a != DuelAction::Concede);
        if moves.is_empty() {
            return None;
        }
        let i = n % moves.len();
        Some(moves.swap_remove(i))
    }
}

/// Why a replay did not reproduce its record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("log entry {index}: {error}")]
    Refused { index: usize, error: DuelError },
    #[error("the replay ended {got:?}, the record says {want:?}")]
    Outcome {
        got: Option<Outcome>,
        want: Option<Outcome>,
    },
    #[error("the replay's final state hash is {got}, the record says {want}")]
    Hash { got: String, want: String },
}

/// Re-run a duel from its seed, decks and log; it must end as `outcome` with `final_hash`.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    seed: u64,
    rules: DuelRules,
    decks: [Vec<CardId>; 2],
    started: Tick,
    log: &[LogEntry],
    content: &Content,
    outcome: Option<Outcome>,
    final_hash: &str,
) -> Result<Duel, ReplayError> {
    let mut duel = Duel::new(seed, rules, decks, started);
    for (index, entry) in log.iter().enumerate() {
        match entry {
            LogEntry::Act { side, action, at } => {
                duel.apply(*side, action, content, *at)
                    .map_err(|error| ReplayError::Refused { index, error })?;
            }
            LogEntry::Tick { at } => {
                duel.tick(*at);
            }
        }
    }
    if duel.outcome != outcome {
        return Err(ReplayError::Outcome {
            got: duel.outcome,
            want: outcome,
        });
    }
    let got = duel.state_hash();
    if got != final_hash {
        return Err(ReplayError::Hash {
            got,
            want: final_hash.to_owned(),
        });
    }
    Ok(duel)
}

#[cfg(test)]
mod tests;
