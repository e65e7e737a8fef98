//! Card duels in a plain app (no network, the in-memory store with the sidecar's rules, world
//! time moved by hand): decks, travel, the queue, a duel's typed refusals, the turn timer,
//! a conceded duel rated, recorded and paid, a disconnect that forfeits after the grace period,
//! and replays of the records.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_server::plugins::arena::ArenaQueue;
use harvest_server::plugins::clock::GameClock;
use harvest_server::plugins::duels::{DuelStats, Duels, LiveDuel};
use harvest_server::plugins::intents::Answer;
use harvest_server::plugins::persistence::Backend;
use harvest_server::plugins::persistence::memory::MemoryStore;
use harvest_server::plugins::player::Left;
use harvest_shared::duel::arena::{ArenaAction, ArenaError};
use harvest_shared::duel::view::{ArenaState, ArenaStatus, DuelBoard, DuelSeat, Result3};
use harvest_shared::duel::{
    DeckAction, DeckEditError, DeckError, Decks, DuelAction, DuelError, Side, Target,
};
use harvest_shared::ids::{AccountId, CardId, ZoneId};
use harvest_shared::inventory::Inventory;
use harvest_shared::protocol::{PlayerInfo, RejectReason};
use harvest_shared::travel::{TravelAction, TravelError};
use std::time::Duration;

const STEP: Duration = Duration::from_millis(50);

/// Every answer written, in order.
#[derive(Resource, Default)]
struct Answers(Vec<Answer>);

fn collect(mut answers: MessageReader<Answer>, mut out: ResMut<Answers>) {
    out.0.extend(answers.read().cloned());
}

fn app() -> App {
    let mut app = offline_app(STEP);
    app.init_resource::<Answers>();
    app.add_systems(Last, collect);
    app
}

/// Send one request and return its answer.
fn ask<A: harvest_shared::action::Action>(
    app: &mut App,
    (link, player): (Entity, Entity),
    action: A,
) -> Result<(), RejectReason> {
    app.world_mut().resource_mut::<Answers>().0.clear();
    offline_send(app, link, player, 7, action);
    let answers = &app.world().resource::<Answers>().0;
    let a = answers
        .iter()
        .find(|a| a.link == link && a.notice.request_id == 7)
        .expect("every request is answered");
    a.notice.result.clone()
}

fn store(app: &mut App) -> &mut MemoryStore {
    app.world_mut()
        .resource_mut::<Backend>()
        .into_inner()
        .memory_store()
        .expect("offline apps use the memory store")
}

fn starter(app: &App) -> Vec<CardId> {
    let c = &app
        .world()
        .resource::<harvest_server::plugins::GameContent>()
        .0;
    c.economy
        .start_cards
        .iter()
        .flat_map(|(c, n)| std::iter::repeat_n(c.clone(), *n as usize))
        .collect()
}

/// A player with a legal deck (id 0) in the arena.
fn ready_duelist(app: &mut App, account: i64) -> (Entity, Entity) {
    let who = offline_join(app, AccountId(account));
    ask(
        app,
        who,
        DeckAction::Create {
            name: "Main".into(),
        },
    )
    .unwrap();
    let cards = starter(app);
    ask(app, who, DeckAction::SetCards { deck: 0, cards }).unwrap();
    ask(
        app,
        who,
        TravelAction {
            to: ZoneId::new("arena"),
        },
    )
    .unwrap();
    who
}

/// Two ready duelists (accounts 1 and 2) queued and paired: (A, B, the duel's entity). A
/// queued first, so A plays first.
fn paired(app: &mut App) -> ((Entity, Entity), (Entity, Entity), Entity) {
    let a = ready_duelist(app, 1);
    let b = ready_duelist(app, 2);
    ask(app, a, ArenaAction::Queue { deck: 0 }).unwrap();
    ask(app, b, ArenaAction::Queue { deck: 0 }).unwrap();
    app.update();
    let duel = *app
        .world()
        .resource::<Duels>()
        .by_account
        .get(&AccountId(1))
        .expect("a duel started");
    (a, b, duel)
}

fn status(app: &App, player: Entity) -> ArenaStatus {
    app.world().get::<ArenaStatus>(player).unwrap().clone()
}

fn skip_ticks(app: &mut App, ticks: u64) {
    app.world_mut().resource_mut::<GameClock>().skew += ticks;
    app.update();
    app.update();
}

#[test]
fn decks_travel_and_the_queue_refuse_with_typed_reasons() {
    let mut app = app();
    let who = offline_join(&mut app, AccountId(1));
    // Decks: names checked, cards checked against content and what the player owns.
    assert_eq!(
        ask(&mut app, who, DeckAction::Create { name: " ".into() }),
        Err(DeckEditError::BadName.into())
    );
    ask(
        &mut app,
        who,
        DeckAction::Create {
            name: "Main".into(),
        },
    )
    .unwrap();
    let too_few = vec![CardId::new("sprout_guard")];
    match ask(
        &mut app,
        who,
        DeckAction::SetCards {
            deck: 0,
            cards: too_few,
        },
    ) {
        Err(RejectReason::Deck(DeckEditError::Illegal(e))) => {
            assert!(
                matches!(e[0], DeckError::Size { want: 12, got: 1 }),
                "{e:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut unowned = starter(&app);
    unowned[0] = CardId::new("pumpkin_golem");
    match ask(
        &mut app,
        who,
        DeckAction::SetCards {
            deck: 0,
            cards: unowned,
        },
    ) {
        Err(RejectReason::Deck(DeckEditError::Illegal(e))) => assert!(
            e.iter().any(|e| matches!(e, DeckError::NotOwned { .. })),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }
    let huge = vec![CardId::new("sprout_guard"); 100_000];
    assert!(
        ask(
            &mut app,
            who,
            DeckAction::SetCards {
                deck: 0,
                cards: huge
            }
        )
        .is_err()
    );
    assert_eq!(
        ask(&mut app, who, DeckAction::Delete { deck: 9 }),
        Err(DeckEditError::NoSuchDeck(9).into())
    );
    let cards = starter(&app);
    ask(
        &mut app,
        who,
        DeckAction::SetCards {
            deck: 0,
            cards: cards.clone(),
        },
    )
    .unwrap();
    ask(
        &mut app,
        who,
        DeckAction::Rename {
            deck: 0,
            name: "Roots".into(),
        },
    )
    .unwrap();
    let decks = app.world().get::<Decks>(who.1).unwrap().clone();
    assert_eq!(decks.decks[0].name, "Roots");
    assert_eq!(decks.decks[0].cards, cards);

    // Queueing happens in the arena only; travel there.
    assert_eq!(
        ask(&mut app, who, ArenaAction::Queue { deck: 0 }),
        Err(ArenaError::NotInArena.into())
    );
    assert_eq!(
        ask(
            &mut app,
            who,
            TravelAction {
                to: ZoneId::new("nowhere")
            }
        ),
        Err(TravelError::UnknownZone(ZoneId::new("nowhere")).into())
    );
    ask(
        &mut app,
        who,
        TravelAction {
            to: ZoneId::new("arena"),
        },
    )
    .unwrap();
    assert_eq!(
        app.world().get::<PlayerInfo>(who.1).unwrap().zone,
        ZoneId::new("arena")
    );
    assert_eq!(
        ask(&mut app, who, ArenaAction::Queue { deck: 3 }),
        Err(ArenaError::NoSuchDeck(3).into())
    );
    ask(&mut app, who, ArenaAction::Queue { deck: 0 }).unwrap();
    assert!(matches!(
        status(&app, who.1).state,
        ArenaState::Queued { deck: 0, .. }
    ));
    assert_eq!(
        ask(&mut app, who, ArenaAction::Queue { deck: 0 }),
        Err(ArenaError::AlreadyQueued.into())
    );
    // Nobody leaves for another zone while queued; leaving the queue is always possible.
    assert_eq!(
        ask(
            &mut app,
            who,
            TravelAction {
                to: ZoneId::new("meadow")
            }
        ),
        Err(TravelError::Busy.into())
    );
    ask(&mut app, who, ArenaAction::Leave).unwrap();
    assert_eq!(status(&app, who.1).state, ArenaState::Idle);
    assert_eq!(
        ask(&mut app, who, ArenaAction::Leave),
        Err(ArenaError::NotQueued.into())
    );
    assert!(app.world().resource::<ArenaQueue>().0.is_empty());
    // A duel move outside a duel.
    assert_eq!(
        ask(&mut app, who, DuelAction::EndTurn),
        Err(RejectReason::NotInDuel)
    );

    // The decks are saved with the player: after leaving and coming back they are there.
    ask(&mut app, who, ArenaAction::Queue { deck: 0 }).unwrap();
    app.world_mut().write_message(Left {
        account: AccountId(1),
        link: who.0,
    });
    for _ in 0..5 {
        app.update();
    }
    assert!(
        app.world().resource::<ArenaQueue>().0.is_empty(),
        "leaving the shard leaves the queue"
    );
    let again = offline_join(&mut app, AccountId(1));
    assert_eq!(app.world().get::<Decks>(again.1).unwrap(), &decks);
    assert_eq!(
        app.world().get::<PlayerInfo>(again.1).unwrap().zone,
        ZoneId::new("arena")
    );
}

#[test]
fn a_duel_refuses_illegal_moves_unchanged_and_a_concession_is_rated_recorded_and_paid() {
    let mut app = app();
    let coins = |app: &App, p: Entity| app.world().get::<Inventory>(p).unwrap().coins;
    let (a, b, duel) = paired(&mut app);
    let (coins_a, coins_b) = (coins(&app, a.1), coins(&app, b.1));
    assert_eq!(status(&app, a.1).state, ArenaState::InDuel);
    let seat_a = app.world().get::<DuelSeat>(a.1).unwrap().clone();
    let seat_b = app.world().get::<DuelSeat>(b.1).unwrap().clone();
    assert_eq!((seat_a.side, seat_b.side), (Side::A, Side::B));
    let board = app.world().get::<DuelBoard>(duel).unwrap().clone();
    assert_eq!(board.active, Side::A);
    // The board shows hands and decks as counts only.
    assert_eq!(usize::from(board.hand_counts[1]), seat_b.hand.len());
    assert_eq!(board.deck_counts[0] as usize + seat_a.hand.len(), 12);

    let hash = |app: &App| app.world().get::<LiveDuel>(duel).unwrap().duel.state_hash();
    let before = hash(&app);
    // Not your turn.
    assert_eq!(
        ask(&mut app, b, DuelAction::EndTurn),
        Err(DuelError::NotYourTurn.into())
    );
    // A card that is not in your hand.
    assert_eq!(
        ask(
            &mut app,
            a,
            DuelAction::Play {
                hand: 40,
                target: None
            }
        ),
        Err(DuelError::NotInHand(40).into())
    );
    // Not enough energy: the dearest card in hand on turn 1.
    let content = app
        .world()
        .resource::<harvest_server::plugins::GameContent>()
        .0
        .clone();
    let (dear, cost) = seat_a
        .hand
        .iter()
        .enumerate()
        .map(|(i, c)| (i, content.card(c).unwrap().cost))
        .max_by_key(|(_, c)| *c)
        .unwrap();
    if cost > 1 {
        assert!(matches!(
            ask(
                &mut app,
                a,
                DuelAction::Play {
                    hand: dear as u8,
                    target: None
                }
            ),
            Err(RejectReason::Duel(DuelError::NotEnoughEnergy { .. }))
        ));
    }
    // An invalid target: a unit that does not exist.
    assert!(matches!(
        ask(
            &mut app,
            a,
            DuelAction::Attack {
                unit: 99,
                target: Target::Hero(Side::B)
            }
        ),
        Err(RejectReason::Duel(DuelError::InvalidTarget(_)))
    ));
    assert_eq!(hash(&app), before, "refusals change nothing");
    assert_eq!(
        app.world().resource::<DuelStats>().moves_refused,
        4 - u64::from(cost <= 1)
    );

    // The turn timer ends A's turn by itself.
    let turn_ticks = u64::from(content.duel.turn_ticks);
    skip_ticks(&mut app, turn_ticks + 1);
    assert_eq!(app.world().get::<DuelBoard>(duel).unwrap().active, Side::B);
    assert_eq!(app.world().resource::<DuelStats>().timeouts, 1);
    let timeouts_logged = |app: &App| {
        app.world()
            .get::<LiveDuel>(duel)
            .unwrap()
            .log
            .iter()
            .filter(|e| matches!(e, harvest_shared::duel::LogEntry::Tick { .. }))
            .count()
    };
    assert_eq!(
        timeouts_logged(&app),
        1,
        "a timeout is in the log, for the replay"
    );

    // Two more turns time out (turn 4: past `rewards.min_turns`), then B concedes: A wins;
    // the record goes to the store, which rates and pays both.
    skip_ticks(&mut app, turn_ticks + 1);
    skip_ticks(&mut app, turn_ticks + 1);
    assert!(app.world().get::<DuelBoard>(duel).unwrap().turn >= content.duel.rewards.min_turns);
    ask(&mut app, b, DuelAction::Concede).unwrap();
    for _ in 0..3 {
        app.update();
    }
    assert!(
        app.world().get_entity(duel).is_err(),
        "the duel is over and gone"
    );
    let sa = status(&app, a.1);
    let last = sa.last.clone().expect("A has a result");
    assert_eq!(last.result, Result3::Win);
    assert!(last.rating_after.rating > last.rating_before.rating);
    assert_eq!(sa.state, ArenaState::Idle);
    assert_eq!(status(&app, b.1).last.unwrap().result, Result3::Loss);
    assert!(app.world().get::<DuelSeat>(a.1).is_none());
    let rewards = &content.duel.rewards;
    assert_eq!(coins(&app, a.1), coins_a + rewards.win);
    assert_eq!(coins(&app, b.1), coins_b + rewards.loss);

    // The record replays exactly; a tampered one does not.
    let record = store(&mut app)
        .matches
        .get(&last.match_id)
        .cloned()
        .expect("recorded");
    let report = harvest_server::replay::verify(&record, &content);
    assert!(report.verified, "{report}");
    assert_eq!(report.moves, record.report.log.len());
    let mut tampered = record.clone();
    tampered.report.seed ^= 1;
    assert!(!harvest_server::replay::verify(&tampered, &content).verified);
    let mut tampered = record.clone();
    tampered.report.log.pop();
    assert!(!harvest_server::replay::verify(&tampered, &content).verified);
    // The store's ratings and ledger agree with what the players were told.
    assert_eq!(store(&mut app).ratings[&AccountId(1)], last.rating_after);
}

#[test]
fn a_duelist_who_disconnects_forfeits_after_the_grace_period_unless_back() {
    let mut app = app();
    let (a, b, duel) = paired(&mut app);
    let grace = {
        let c = &app
            .world()
            .resource::<harvest_server::plugins::GameContent>()
            .0;
        u64::from(c.duel.disconnect_grace_ticks)
    };

    // B drops and comes back within the grace period: the duel goes on, the seat follows.
    app.world_mut().write_message(Left {
        account: AccountId(2),
        link: b.0,
    });
    app.update();
    assert!(app.world().get::<DuelBoard>(duel).unwrap().away_until[1].is_some());
    skip_ticks(&mut app, grace / 2);
    let b2 = offline_join(&mut app, AccountId(2));
    app.update();
    assert_eq!(
        app.world().get::<DuelBoard>(duel).unwrap().away_until[1],
        None
    );
    assert_eq!(app.world().get::<DuelSeat>(b2.1).unwrap().side, Side::B);
    assert_eq!(status(&app, b2.1).state, ArenaState::InDuel);
    skip_ticks(&mut app, grace);
    assert!(
        app.world().get_entity(duel).is_ok(),
        "back in time: no forfeit"
    );

    // A drops for good: after the grace period A forfeits and B wins.
    app.world_mut().write_message(Left {
        account: AccountId(1),
        link: a.0,
    });
    app.update();
    skip_ticks(&mut app, grace - 5);
    assert!(
        app.world().get_entity(duel).is_ok(),
        "still within the grace period"
    );
    skip_ticks(&mut app, 10);
    for _ in 0..3 {
        app.update();
    }
    assert_eq!(app.world().resource::<DuelStats>().forfeits, 1);
    let last = status(&app, b2.1).last.expect("B has a result");
    assert_eq!(last.result, Result3::Win);
    // A was not here to be told, but the store rated them and paid them.
    let record = store(&mut app)
        .matches
        .get(&last.match_id)
        .cloned()
        .unwrap();
    assert!(record.settled.ratings_after[0].rating < 1500.0);
    let content = app
        .world()
        .resource::<harvest_server::plugins::GameContent>()
        .0
        .clone();
    assert!(harvest_server::replay::verify(&record, &content).verified);
    // A comes back to an idle arena status with the new rating.
    let a2 = offline_join(&mut app, AccountId(1));
    let sa = status(&app, a2.1);
    assert_eq!(sa.state, ArenaState::Idle);
    assert_eq!(sa.rating, record.settled.ratings_after[0]);
}

#[test]
fn a_conceded_opening_is_rated_but_pays_nothing() {
    let mut app = app();
    let coins = |app: &App, p: Entity| app.world().get::<Inventory>(p).unwrap().coins;
    let (a, b, _) = paired(&mut app);
    let before = (coins(&app, a.1), coins(&app, b.1));
    ask(&mut app, b, DuelAction::Concede).unwrap();
    for _ in 0..3 {
        app.update();
    }
    let last = status(&app, a.1).last.expect("recorded");
    assert_eq!(last.result, Result3::Win);
    assert_eq!(last.reward, 0);
    assert!(last.rating_after.rating > last.rating_before.rating);
    assert_eq!((coins(&app, a.1), coins(&app, b.1)), before);
    // Free to queue again at once.
    ask(&mut app, a, ArenaAction::Queue { deck: 0 }).unwrap();
}
