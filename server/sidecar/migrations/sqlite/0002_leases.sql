-- Ownership leases and compare-and-swap saves. The state row now carries the lease (the owning
-- shard and an epoch that grows at every load), a hash of the stored state so a retried save is
-- recognised as a duplicate, and a mark asking the owner to end the game session (logout).
-- A leased account that was never saved has version 0 and no state. SQLite cannot relax a NOT
-- NULL column in place, so the table is rebuilt.
CREATE TABLE player_states_v2 (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
    epoch BIGINT NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    owner_shard TEXT,
    version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0),
    state TEXT,
    state_hash TEXT,
    updated_at BIGINT NOT NULL,
    end_session_at BIGINT,
    CHECK ((state IS NULL) = (version = 0))
);
INSERT INTO player_states_v2 (account_id, epoch, owner_shard, version, state, state_hash, updated_at)
    SELECT account_id, 0, NULL, version, state, NULL, updated_at FROM player_states;
DROP TABLE player_states;
ALTER TABLE player_states_v2 RENAME TO player_states;
CREATE INDEX player_states_end_session ON player_states (owner_shard) WHERE end_session_at IS NOT NULL;

CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX refresh_tokens_used ON refresh_tokens (used_at);
