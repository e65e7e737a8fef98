-- Ownership leases and compare-and-swap saves. The state row now carries the lease (the owning
-- shard and an epoch that grows at every load), a hash of the stored state so a retried save is
-- recognised as a duplicate, and a mark asking the owner to end the game session (logout).
-- A leased account that was never saved has version 0 and no state.
ALTER TABLE player_states
    ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    ADD COLUMN owner_shard TEXT,
    ADD COLUMN state_hash TEXT,
    ADD COLUMN end_session_at BIGINT,
    ALTER COLUMN state DROP NOT NULL,
    ALTER COLUMN version SET DEFAULT 0,
    ADD CONSTRAINT player_states_version_nonnegative CHECK (version >= 0),
    ADD CONSTRAINT player_states_state_iff_saved CHECK ((state IS NULL) = (version = 0));
CREATE INDEX player_states_end_session ON player_states (owner_shard) WHERE end_session_at IS NOT NULL;

CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX refresh_tokens_used ON refresh_tokens (used_at);
