-- Card duels. ratings holds each duelist's Glicko-2 rating (score = rating - 2 * deviation ranks
-- the leaderboard) and their record; a player who never duelled has no row. matches holds one
-- row per recorded duel: the shard's report and what recording it decided, as JSON (everything
-- `harvest-server replay` needs), with the columns the history and its ordering read. A match,
-- both ratings and both rewards (ledger entries) commit in one transaction.
CREATE TABLE ratings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
    rating DOUBLE PRECISION NOT NULL,
    deviation DOUBLE PRECISION NOT NULL,
    volatility DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    wins BIGINT NOT NULL DEFAULT 0,
    losses BIGINT NOT NULL DEFAULT 0,
    draws BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ratings_by_score ON ratings (score DESC, account_id);
CREATE TABLE matches (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    match_id TEXT NOT NULL UNIQUE,
    shard_id TEXT NOT NULL,
    player_a BIGINT NOT NULL REFERENCES accounts (id),
    player_b BIGINT NOT NULL REFERENCES accounts (id),
    record TEXT NOT NULL,
    ended_at BIGINT NOT NULL
);
CREATE INDEX matches_by_a ON matches (player_a, id);
CREATE INDEX matches_by_b ON matches (player_b, id);
