//! The `duel` bot: builds a deck from the cards it owns (crafting more with the farming loop
//! when it owns too few), travels to the arena, queues, and plays sensible legal moves
//! (`harvest_shared::duel::policy`, planned on what it can see of the board) until the duel
//! ends; then it queues again.

use crate::net::NetClient;
use harvest_shared::content::Content;
use harvest_shared::duel::arena::ArenaAction;
use harvest_shared::duel::deck::best_deck;
use harvest_shared::duel::policy::sensible_move;
use harvest_shared::duel::view::{ArenaState, ArenaStatus, DuelBoard, DuelSeat};
use harvest_shared::duel::{DeckAction, Decks};
use harvest_shared::protocol::PlayerInfo;
use harvest_shared::time::Tick;
use harvest_shared::travel::TravelAction;

/// What the duel bot does next; `None` when it waits (for an answer, an opponent or its turn).
pub(crate) enum Next {
    /// A request to send, with its kind for the report.
    Send(DuelMove, &'static str),
    /// Not enough cards for a deck: play the farming loop meanwhile.
    Farm,
    Wait,
}

pub(crate) enum DuelMove {
    Deck(DeckAction),
    Travel(TravelAction),
    Arena(ArenaAction),
    Duel(harvest_shared::duel::DuelAction),
}

impl DuelMove {
    pub fn send(self, client: &mut NetClient) -> u32 {
        match self {
            DuelMove::Deck(a) => client.send(a),
            DuelMove::Travel(a) => client.send(a),
            DuelMove::Arena(a) => client.send(a),
            DuelMove::Duel(a) => client.send(a),
        }
    }
}

/// Decide the duel bot's next step from what the shard has replicated to it.
///
/// `seen`: the board and hand when the bot last moved in its duel; it moves again only once
/// they have changed (the shard's answer and the new board travel separately), so it never
/// plans on a stale board.
pub(crate) fn next(
    client: &mut NetClient,
    content: &Content,
    info: &PlayerInfo,
    seen: &mut Option<(DuelBoard, DuelSeat)>,
) -> Next {
    let (Some(decks), Some(status), Some(owned)) = (
        client.replicated::<Decks>(),
        client.replicated::<ArenaStatus>(),
        client.collection(),
    ) else {
        return Next::Wait;
    };
    match status.state {
        ArenaState::Queued { .. } => return Next::Wait,
        ArenaState::InDuel => return play(client, content, seen),
        ArenaState::Idle => {}
    }
    let Some(cards) = best_deck(&owned, content) else {
        return Next::Farm;
    };
    let Some(deck) = decks.decks.first() else {
        return Next::Send(
            DuelMove::Deck(DeckAction::Create {
                name: "Bot deck".into(),
            }),
            "deck",
        );
    };
    if deck.cards.is_empty() {
        return Next::Send(
            DuelMove::Deck(DeckAction::SetCards {
                deck: deck.id,
                cards,
            }),
            "deck",
        );
    }
    let Some(arena) = content.arena() else {
        return Next::Wait;
    };
    if info.zone != arena.id {
        return Next::Send(
            DuelMove::Travel(TravelAction {
                to: arena.id.clone(),
            }),
            "travel",
        );
    }
    Next::Send(
        DuelMove::Arena(ArenaAction::Queue { deck: deck.id }),
        "queue",
    )
}

fn play(
    client: &mut NetClient,
    content: &Content,
    seen: &mut Option<(DuelBoard, DuelSeat)>,
) -> Next {
    let Some((board, seat)) = client.duel() else {
        return Next::Wait;
    };
    if board.outcome.is_some() || board.active != seat.side {
        return Next::Wait;
    }
    if seen
        .as_ref()
        .is_some_and(|(b, s)| *b == board && *s == seat)
    {
        return Next::Wait;
    }
    *seen = Some((board.clone(), seat.clone()));
    let Some(filler) = content.cards.keys().next() else {
        return Next::Wait;
    };
    let known = board.reconstruct(seat.side, &seat.hand, &content.duel, filler);
    match sensible_move(&known, content, Tick::now()) {
        Some(action) => Next::Send(DuelMove::Duel(action), "duel"),
        None => Next::Wait,
    }
}
