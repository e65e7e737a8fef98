//! Rules unit tests and property tests (termination, invariants, exact replays).

use super::*;
use crate::inventory::Collection;
use crate::testing::fixture_files;
use proptest::prelude::*;

/// The fixture with a duel card set: every effect kind, units and spells of several costs.
fn content() -> Content {
    let mut files = fixture_files();
    files.insert(
        "cards.ron".into(),
        r#"[
    (id: "x", name: "X", kind: Unit, cost: 1, attack: 1, health: 1),
    (id: "ogre", name: "Ogre", kind: Unit, cost: 2, attack: 3, health: 2),
    (id: "wall", name: "Wall", kind: Unit, cost: 1, attack: 0, health: 4),
    (id: "bolt", name: "Bolt", kind: Spell, cost: 1, effects: [Damage(3)]),
    (id: "mend", name: "Mend", kind: Spell, cost: 1, effects: [Heal(4), Draw(1)]),
    (id: "might", name: "Might", kind: Spell, cost: 1, effects: [Buff(attack: 2, health: 2)]),
    (id: "caller", name: "Caller", kind: Unit, cost: 3, attack: 1, health: 2, effects: [Summon("x")]),
]"#
        .into(),
    );
    let recipes: Vec<String> = ["x", "ogre", "wall", "bolt", "mend", "might", "caller"]
        .iter()
        .map(|c| {
            format!(
                r#"(id: "card_{c}", name: "{c}", inputs: {{"m": 1}}, fee: 5, output: Card("{c}")),"#
            )
        })
        .collect();
    files.insert(
        "recipes.ron".into(),
        format!(
            r#"[(id: "make_m", name: "Make M", inputs: {{"a": 2}}, output: Item("m", 1)), {}]"#,
            recipes.join("\n")
        ),
    );
    match Content::load_from(&files) {
        Ok(c) => c,
        Err(e) => panic!("duel test content: {e}"),
    }
}

fn ids(cards: &[&str]) -> Vec<CardId> {
    cards.iter().map(|c| CardId::new(*c)).collect()
}

const T0: Tick = Tick(1_000);

fn rules() -> DuelRules {
    DuelRules {
        deck_size: 6,
        starting_hand: 2,
        hero_health: 10,
        ..DuelRules::default()
    }
}

/// A duel whose hands are set by hand (decks emptied of surprises).
fn duel_with(hand_a: &[&str], hand_b: &[&str]) -> Duel {
    let deck = ids(&["x", "x", "x", "x", "x", "x"]);
    let mut d = Duel::new(7, rules(), [deck.clone(), deck], T0);
    d.sides[0].hand = ids(hand_a);
    d.sides[1].hand = ids(hand_b);
    d.sides[0].energy = 10;
    d.sides[0].max_energy = 10;
    d
}

fn play(d: &mut Duel, side: Side, hand: u8, target: Option<Target>) -> Vec<DuelEvent> {
    let c = content();
    d.apply(side, &DuelAction::Play { hand, target }, &c, T0)
        .unwrap_or_else(|e| panic!("play {hand}: {e}"))
}

#[test]
fn a_new_duel_deals_hands_and_starts_side_a() {
    let deck = ids(&["x", "ogre", "wall", "bolt", "mend", "might"]);
    let d = Duel::new(42, rules(), [deck.clone(), deck], T0);
    assert_eq!(d.active, Side::A);
    assert_eq!(d.turn, 1);
    // A drew its starting hand and its first turn's card; B its starting hand.
    assert_eq!(d.side(Side::A).hand.len(), 3);
    assert_eq!(d.side(Side::B).hand.len(), 2);
    assert_eq!(d.side(Side::A).deck.len(), 3);
    assert_eq!((d.side(Side::A).energy, d.side(Side::A).max_energy), (1, 1));
    assert_eq!(d.side(Side::B).energy, 0);
    assert_eq!(d.outcome, None);
}

#[test]
fn the_shuffle_is_fixed_by_the_seed() {
    let deck = ids(&["x", "ogre", "wall", "bolt", "mend", "might"]);
    let a = Duel::new(1, rules(), [deck.clone(), deck.clone()], T0);
    let b = Duel::new(1, rules(), [deck.clone(), deck.clone()], T0);
    assert_eq!(a, b);
    assert_eq!(a.state_hash(), b.state_hash());
    let differ = (2..20).any(|s| {
        Duel::new(s, rules(), [deck.clone(), deck.clone()], T0).sides[0].hand != a.sides[0].hand
    });
    assert!(differ, "other seeds deal other hands");
}

#[test]
fn illegal_actions_are_refused_with_their_reason_and_change_nothing() {
    let c = content();
    let mut d = duel_with(&["ogre", "bolt", "might"], &["x"]);
    d.sides[0].energy = 1;
    let before = d.clone();
    let cases = [
        (Side::B, DuelAction::EndTurn, DuelError::NotYourTurn),
        (
            Side::A,
            DuelAction::Play {
                hand: 9,
                target: None,
            },
            DuelError::NotInHand(9),
        ),
        (
            Side::A,
            DuelAction::Play {
                hand: 0,
                target: None,
            },
            DuelError::NotEnoughEnergy { need: 2, have: 1 },
        ),
    ];
    for (side, action, want) in cases {
        assert_eq!(d.apply(side, &action, &c, T0), Err(want));
        assert_eq!(d, before);
    }
    // Bolt needs a target; Might only takes one of your own units (you have none).
    for (hand, target) in [
        (1, None),
        (1, Some(Target::Unit(999))),
        (2, Some(Target::Hero(Side::A))),
        (2, Some(Target::Hero(Side::B))),
    ] {
        let r = d.apply(Side::A, &DuelAction::Play { hand, target }, &c, T0);
        assert!(matches!(r, Err(DuelError::InvalidTarget(_))), "{r:?}");
        assert_eq!(d, before);
    }
    let r = d.apply(
        Side::A,
        &DuelAction::Attack {
            unit: 1,
            target: Target::Hero(Side::B),
        },
        &c,
        T0,
    );
    assert!(matches!(r, Err(DuelError::InvalidTarget(_))), "{r:?}");
    assert_eq!(d, before);
}

#[test]
fn a_unit_waits_a_turn_then_attacks_and_units_trade_damage() {
    let c = content();
    let mut d = duel_with(&["ogre"], &["wall"]);
    let ev = play(&mut d, Side::A, 0, None);
    assert!(ev.contains(&DuelEvent::Summoned {
        side: Side::A,
        unit: 1,
        card: CardId::new("ogre")
    }));
    assert_eq!(d.side(Side::A).energy, 8);
    let attack = DuelAction::Attack {
        unit: 1,
        target: Target::Hero(Side::B),
    };
    assert_eq!(
        d.apply(Side::A, &attack, &c, T0),
        Err(DuelError::NotReady(1))
    );
    d.apply(Side::A, &DuelAction::EndTurn, &c, T0).expect("end");
    assert_eq!(d.active, Side::B);
    assert_eq!(d.side(Side::B).energy, 1);
    let wall = d
        .side(Side::B)
        .hand
        .iter()
        .position(|k| k.as_str() == "wall");
    let wall = u8::try_from(wall.expect("wall in hand")).expect("small");
    play(&mut d, Side::B, wall, None);
    d.apply(Side::B, &DuelAction::EndTurn, &c, T0).expect("end");
    // The ogre (3/2) hits the hero, then the wall (0/4): the wall survives at 1.
    d.apply(Side::A, &attack, &c, T0).expect("attack hero");
    assert_eq!(d.side(Side::B).health, 7);
    assert_eq!(
        d.apply(Side::A, &attack, &c, T0),
        Err(DuelError::NotReady(1))
    );
    d.side_mut(Side::A).board[0].ready = true;
    d.apply(
        Side::A,
        &DuelAction::Attack {
            unit: 1,
            target: Target::Unit(2),
        },
        &c,
        T0,
    )
    .expect("attack unit");
    assert_eq!(d.side(Side::B).board[0].health, 1);
    assert_eq!(d.side(Side::A).board[0].health, 2, "the wall has no attack");
}

#[test]
fn spells_damage_heal_draw_buff_and_summon() {
    let mut d = duel_with(&["bolt", "mend", "might", "caller", "ogre"], &["x"]);
    d.sides[0].health = 5;
    // Caller (a unit) summons an X beside itself.
    let ev = play(&mut d, Side::A, 3, None);
    let summoned = ev
        .iter()
        .filter(|e| matches!(e, DuelEvent::Summoned { .. }))
        .count();
    assert_eq!(summoned, 2);
    assert_eq!(d.side(Side::A).board.len(), 2);
    // Might on the X: 3/3.
    let x = d.side(Side::A).board[1].id;
    play(&mut d, Side::A, 2, Some(Target::Unit(x)));
    assert_eq!(
        (
            d.side(Side::A).board[1].attack,
            d.side(Side::A).board[1].health
        ),
        (3, 3)
    );
    // Mend heals the own hero by 4 (to 9 of 10) and draws a card.
    let hand = d.side(Side::A).hand.len();
    play(&mut d, Side::A, 1, Some(Target::Hero(Side::A)));
    assert_eq!(d.side(Side::A).health, 9);
    assert_eq!(d.side(Side::A).hand.len(), hand); // one played, one drawn
    // Bolt the enemy hero.
    play(&mut d, Side::A, 0, Some(Target::Hero(Side::B)));
    assert_eq!(d.side(Side::B).health, 7);
}

#[test]
fn heal_never_goes_past_the_maximum() {
    let mut d = duel_with(&["mend"], &["x"]);
    d.sides[0].health = 9;
    play(&mut d, Side::A, 0, Some(Target::Hero(Side::A)));
    assert_eq!(d.side(Side::A).health, 10);
}

#[test]
fn a_hero_at_zero_loses_and_the_duel_then_refuses_everything() {
    let c = content();
    let mut d = duel_with(&["bolt"], &["x"]);
    d.sides[1].health = 3;
    let ev = play(&mut d, Side::A, 0, Some(Target::Hero(Side::B)));
    assert_eq!(d.outcome, Some(Outcome::Won(Side::A)));
    assert!(ev.contains(&DuelEvent::Ended(Outcome::Won(Side::A))));
    assert_eq!(
        d.apply(Side::A, &DuelAction::EndTurn, &c, T0),
        Err(DuelError::Over)
    );
    assert_eq!(
        d.apply(Side::B, &DuelAction::Concede, &c, T0),
        Err(DuelError::Over)
    );
}

#[test]
fn the_turn_timer_ends_a_turn_and_forfeit_ends_the_duel() {
    let mut d = duel_with(&["x"], &["x"]);
    let deadline = d.turn_deadline();
    assert!(d.tick(Tick(deadline.0 - 1)).is_empty());
    let ev = d.tick(deadline);
    assert!(ev.contains(&DuelEvent::TurnEnded {
        side: Side::A,
        timed_out: true
    }));
    assert_eq!(d.active, Side::B);
    assert_eq!(d.turn_started, deadline);
    let ev = d.forfeit(Side::B);
    assert!(ev.contains(&DuelEvent::Ended(Outcome::Won(Side::A))));
    assert!(d.forfeit(Side::A).is_empty(), "over is over");
}

#[test]
fn an_empty_deck_deals_growing_fatigue_and_the_turn_cap_is_a_draw() {
    let c = content();
    let mut d = duel_with(&[], &[]);
    d.sides[0].deck.clear();
    d.sides[1].deck.clear();
    d.apply(Side::A, &DuelAction::EndTurn, &c, T0).expect("end");
    d.apply(Side::B, &DuelAction::EndTurn, &c, T0).expect("end");
    // B took 1, A took 1 at its second turn.
    assert_eq!((d.side(Side::A).health, d.side(Side::B).health), (9, 9));
    d.apply(Side::A, &DuelAction::EndTurn, &c, T0).expect("end");
    assert_eq!(d.side(Side::B).health, 7, "then 2");
    let mut d = duel_with(&[], &[]);
    d.rules.max_turns = 3;
    for _ in 0..3 {
        let side = d.active;
        d.apply(side, &DuelAction::EndTurn, &c, T0).expect("end");
    }
    assert_eq!(d.outcome, Some(Outcome::Draw));
}

#[test]
fn a_view_hides_the_opponents_hand_and_every_deck() {
    let deck = ids(&["x", "ogre", "wall", "bolt", "mend", "might"]);
    let d = Duel::new(3, rules(), [deck.clone(), deck], T0);
    let v = d.view(Side::B);
    assert_eq!(v.my_hand, d.side(Side::B).hand);
    assert_eq!(usize::from(v.opponent_hand), d.side(Side::A).hand.len());
    assert_eq!(usize::from(v.my_deck), d.side(Side::B).deck.len());
    // The serialized view names no card of A's hand or of either deck beyond B's own hand.
    let text = ron::to_string(&v).expect("ron");
    for card in d.side(Side::A).hand.iter().chain(&d.side(Side::A).deck) {
        let shown_elsewhere = v.my_hand.contains(card);
        assert!(
            shown_elsewhere || !text.contains(&format!("\"{card}\"")),
            "{card} leaked"
        );
    }
}

#[test]
fn decks_are_checked_for_size_copies_content_and_ownership() {
    let c = content();
    let r = rules();
    let mut owned = Collection::default();
    for k in ["x", "ogre", "wall", "bolt"] {
        owned.cards.insert(CardId::new(k), 3);
    }
    assert_eq!(
        validate_deck(
            &ids(&["x", "x", "ogre", "wall", "bolt", "bolt"]),
            &owned,
            &c,
            &r
        ),
        Ok(())
    );
    let errs = validate_deck(&ids(&["x", "x", "x", "x", "nope", "mend"]), &owned, &c, &r)
        .expect_err("bad deck");
    assert!(errs.contains(&DeckError::UnknownCard(CardId::new("nope"))));
    assert!(errs.contains(&DeckError::TooManyCopies {
        card: CardId::new("x"),
        max: 3,
        got: 4
    }));
    assert!(errs.contains(&DeckError::NotOwned {
        card: CardId::new("mend"),
        owned: 0,
        need: 1
    }));
    let short = validate_deck(&ids(&["x"]), &owned, &c, &r).expect_err("short");
    assert_eq!(short, vec![DeckError::Size { want: 6, got: 1 }]);
    assert_eq!(
        deck_hash(&ids(&["x", "ogre"])),
        deck_hash(&ids(&["ogre", "x"]))
    );
}

/// Play a whole duel choosing among the legal actions with `picks`, logging every call.
fn random_duel(seed: u64, picks: &[u16], content: &Content) -> (Duel, Vec<LogEntry>) {
    let deck = ids(&["x", "ogre", "wall", "bolt", "mend", "might", "caller", "x"]);
    let rules = DuelRules {
        deck_size: 8,
        max_turns: 40,
        ..DuelRules::default()
    };
    let mut d = Duel::new(seed, rules, [deck.clone(), deck], T0);
    let mut log = Vec::new();
    let mut now = T0;
    // Every action either ends a turn or spends energy, a card or a ready unit, so a turn
    // has finitely many actions; turns are capped; the bound is only a test guard.
    for i in 0..5_000usize {
        if d.outcome.is_some() {
            break;
        }
        now = now.saturating_add(7);
        if i % 5 == 4 {
            // Now and then the timer runs out instead.
            now = d.turn_deadline();
            d.tick(now);
            log.push(LogEntry::Tick { at: now });
        } else {
            let side = d.active;
            let Some(action) = d.nth_move(usize::from(picks[i % picks.len()]), content) else {
                panic!("the active side has no move in a duel that is not over");
            };
            d.apply(side, &action, content, now)
                .unwrap_or_else(|e| panic!("a legal action was refused: {e}"));
            log.push(LogEntry::Act {
                side,
                action,
                at: now,
            });
        }
        check_invariants(&d);
    }
    (d, log)
}

fn check_invariants(d: &Duel) {
    for s in &d.sides {
        assert!(s.health <= d.rules.hero_health);
        assert!(s.energy <= s.max_energy && s.max_energy <= d.rules.max_energy);
        assert!(s.hand.len() <= usize::from(d.rules.max_hand));
        assert!(s.board.len() <= usize::from(d.rules.max_board));
        assert!(
            s.board
                .iter()
                .all(|u| u.health > 0 && u.health <= u.max_health)
        );
    }
    let mut units: Vec<u32> = d
        .sides
        .iter()
        .flat_map(|s| s.board.iter().map(|u| u.id))
        .collect();
    let n = units.len();
    units.sort_unstable();
    units.dedup();
    assert_eq!(units.len(), n, "unit ids are unique");
    assert!(d.turn <= d.rules.max_turns);
}

#[test]
fn a_replay_that_does_not_reproduce_its_record_is_refused() {
    let c = content();
    let (d, log) = random_duel(11, &[3, 1, 4, 1, 5, 9, 2, 6], &c);
    let deck = ids(&["x", "ogre", "wall", "bolt", "mend", "might", "caller", "x"]);
    let decks = || [deck.clone(), deck.clone()];
    let hash = d.state_hash();
    let ok = replay(11, d.rules.clone(), decks(), T0, &log, &c, d.outcome, &hash);
    assert_eq!(ok.map(|r| r.state_hash()), Ok(hash.clone()));
    let wrong_hash = replay(11, d.rules.clone(), decks(), T0, &log, &c, d.outcome, "00");
    assert!(
        matches!(wrong_hash, Err(ReplayError::Hash { .. })),
        "{wrong_hash:?}"
    );
    let other = match d.outcome {
        Some(Outcome::Draw) => Some(Outcome::Won(Side::A)),
        _ => Some(Outcome::Draw),
    };
    let wrong_outcome = replay(11, d.rules.clone(), decks(), T0, &log, &c, other, &hash);
    assert!(
        matches!(wrong_outcome, Err(ReplayError::Outcome { .. })),
        "{wrong_outcome:?}"
    );
    // An action the record says was played, but that the replayed state refuses.
    let mut forged = log.clone();
    forged.insert(
        0,
        LogEntry::Act {
            side: Side::B,
            action: DuelAction::EndTurn,
            at: T0,
        },
    );
    let refused = replay(
        11,
        d.rules.clone(),
        decks(),
        T0,
        &forged,
        &c,
        d.outcome,
        &hash,
    );
    assert!(
        matches!(
            refused,
            Err(ReplayError::Refused {
                index: 0,
                error: DuelError::NotYourTurn
            })
        ),
        "{refused:?}"
    );
}

#[test]
fn the_sensible_bot_beats_a_random_one_and_only_plays_legal_moves() {
    let c = content();
    let deck = ids(&[
        "x", "ogre", "wall", "bolt", "mend", "might", "caller", "ogre",
    ]);
    let rules = DuelRules {
        deck_size: 8,
        max_turns: 40,
        ..DuelRules::default()
    };
    let mut sensible_wins = 0;
    let games = 40u64;
    for seed in 0..games {
        // The sensible bot plays A in even games and B in odd ones.
        let sensible = if seed % 2 == 0 { Side::A } else { Side::B };
        let mut d = Duel::new(seed, rules.clone(), [deck.clone(), deck.clone()], T0);
        for step in 0..5_000usize {
            if d.outcome.is_some() {
                break;
            }
            let side = d.active;
            let action = if side == sensible {
                policy::sensible_move(&d, &c, T0)
            } else {
                d.nth_move(step.wrapping_mul(2_654_435_761) >> 7, &c)
            };
            let action = action.expect("a move while the duel is on");
            d.apply(side, &action, &c, T0)
                .unwrap_or_else(|e| panic!("the bot chose an illegal move: {e}"));
        }
        if d.outcome == Some(Outcome::Won(sensible)) {
            sensible_wins += 1;
        }
    }
    // A bot no better than chance would win about half.
    assert!(
        sensible_wins >= 30,
        "sensible bot won {sensible_wins} of {games}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_legal_play_terminates_and_replays_exactly(
        seed in any::<u64>(),
        picks in proptest::collection::vec(any::<u16>(), 1..64),
    ) {
        let c = content();
        let (d, log) = random_duel(seed, &picks, &c);
        prop_assert!(d.outcome.is_some(), "the duel did not end");
        let deck = ids(&["x", "ogre", "wall", "bolt", "mend", "might", "caller", "x"]);
        let replayed = replay(
            seed,
            d.rules.clone(),
            [deck.clone(), deck.clone()],
            T0,
            &log,
            &c,
            d.outcome,
            &d.state_hash(),
        );
        prop_assert_eq!(replayed.map(|r| r.state_hash()), Ok(d.state_hash()));
    }
}
