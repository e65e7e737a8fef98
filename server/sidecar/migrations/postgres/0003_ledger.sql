-- The economy ledger. Every change of an account's coins, items or cards is one row of
-- ledger_entries (keyed per account by the shard's idempotency key) with one ledger_lines row per
-- asset it moved. holdings is what each account holds: always the sum of its ledger lines
-- (`harvest-sidecar audit` checks it). Counts can never go negative and an asset has one row per
-- account; the ledger is append-only (a trigger refuses UPDATE and DELETE).
CREATE TABLE ledger_entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    entry_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, entry_key)
);
CREATE TABLE ledger_lines (
    entry_id BIGINT NOT NULL REFERENCES ledger_entries (id),
    asset_kind TEXT NOT NULL CHECK (asset_kind IN ('coins', 'item', 'card')),
    asset_id TEXT NOT NULL,
    delta BIGINT NOT NULL CHECK (delta <> 0),
    PRIMARY KEY (entry_id, asset_kind, asset_id)
);
CREATE TABLE holdings (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    asset_kind TEXT NOT NULL CHECK (asset_kind IN ('coins', 'item', 'card')),
    asset_id TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (account_id, asset_kind, asset_id)
);
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
