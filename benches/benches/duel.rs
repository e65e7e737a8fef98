//! The duel rules (`harvest_shared::duel`) on the shipped cards: dealing a duel (two seeded
//! shuffles and the opening draws), checking and applying one play, listing the legal moves,
//! and a whole duel from the first card to the end, choosing moves from a fixed sequence.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use harvest_shared::content::Content;
use harvest_shared::duel::{Duel, DuelAction, DuelRules, Side};
use harvest_shared::ids::CardId;
use harvest_shared::time::Tick;
use std::hint::black_box;

fn content() -> Content {
    Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data"))
        .expect("assets/data loads")
}

/// A 12-card deck of the shipped cards (units, a summoner, damage, heal and draw).
fn deck() -> Vec<CardId> {
    [
        ("sprout_guard", 3),
        ("carrot_knight", 3),
        ("scarecrow", 2),
        ("harvest_moon", 2),
        ("ember_seed", 2),
    ]
    .into_iter()
    .flat_map(|(c, n)| std::iter::repeat_n(CardId::new(c), n))
    .collect()
}

/// Play to the end: the active side takes its legal move number `picks[i] mod n` (never
/// conceding). The number of actions taken.
fn whole_duel(mut d: Duel, content: &Content) -> usize {
    const PICKS: [usize; 8] = [3, 1, 4, 1, 5, 9, 2, 6];
    let mut n = 0;
    while d.outcome.is_none() && n < 10_000 {
        let side = d.active;
        let Some(action) = d.nth_move(PICKS[n % PICKS.len()], content) else {
            break;
        };
        if d.apply(side, &action, content, Tick(1_000 + n as u64))
            .is_err()
        {
            break;
        }
        n += 1;
    }
    n
}

fn rules(c: &mut Criterion) {
    let content = content();
    let rules = DuelRules::default();
    let decks = || [deck(), deck()];
    c.bench_function("duel/new", |b| {
        b.iter(|| Duel::new(black_box(42), rules.clone(), decks(), Tick(1_000)))
    });
    let start = Duel::new(42, rules.clone(), decks(), Tick(1_000));
    // The cheapest card in A's opening hand, played at a legal target if it needs one.
    let play = start
        .legal_actions(Side::A, &content)
        .into_iter()
        .find(|a| matches!(a, DuelAction::Play { .. }))
        .unwrap_or(DuelAction::EndTurn);
    c.bench_function("duel/apply_play", |b| {
        b.iter_batched_ref(
            || start.clone(),
            |d| d.apply(Side::A, black_box(&play), &content, Tick(1_001)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("duel/legal_actions", |b| {
        b.iter(|| black_box(&start).legal_actions(Side::A, &content))
    });
    c.bench_function("duel/whole_duel", |b| {
        b.iter_batched(
            || start.clone(),
            |d| whole_duel(d, &content),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("duel/state_hash", |b| {
        b.iter(|| black_box(&start).state_hash())
    });
    // What a duelist is sent after each change: the public board, rebuilt from the duel.
    c.bench_function("duel/board_view", |b| {
        b.iter(|| {
            harvest_shared::duel::view::DuelBoard::of(
                black_box(&start),
                "m0000000000000000",
                [
                    harvest_shared::ids::AccountId(1),
                    harvest_shared::ids::AccountId(2),
                ],
            )
        })
    });
    // The arena's matchmaking pass over a queue of 1,000 players with spread-out ratings,
    // run every frame.
    let queue: Vec<harvest_shared::duel::arena::Waiting> = (0..1000u64)
        .map(|i| harvest_shared::duel::arena::Waiting {
            rating: 1000.0 + ((i * 7919) % 1000) as f64,
            since: Tick(1_000 + i % 200),
        })
        .collect();
    c.bench_function("duel/matchmaking_pair_1000", |b| {
        b.iter(|| {
            harvest_shared::duel::arena::pair(
                black_box(&queue),
                Tick(1_300),
                &content.duel.matchmaking,
            )
        })
    });
}

criterion_group!(benches, rules);
criterion_main!(benches);
