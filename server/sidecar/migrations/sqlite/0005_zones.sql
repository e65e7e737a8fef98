-- Zone shards at scale. A zone is hosted by one shard at a time, under a lease: zone_leases holds
-- the holder, an epoch that grows each time the zone changes hands, and an expiry the holder's
-- heartbeats push forward (a dead shard's zones lapse and pass to another shard that offers
-- them). shard_zones lists the zones each shard offers to host (its configuration), one row per
-- zone instead of the JSON list the directory row carried. A directory row also carries the
-- shard's load, its state and an operator's drain request. accounts.role marks operators, who
-- may read the directory (GET /v1/shards) and drain a shard.
ALTER TABLE shards DROP COLUMN zones;
ALTER TABLE shards ADD COLUMN players BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shards ADD COLUMN capacity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shards ADD COLUMN state TEXT NOT NULL DEFAULT 'running';
ALTER TABLE shards ADD COLUMN registered_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shards ADD COLUMN drain_requested_at BIGINT;
ALTER TABLE shards ADD COLUMN incarnation BIGINT NOT NULL DEFAULT 0;
CREATE TABLE shard_zones (
    shard_id TEXT NOT NULL REFERENCES shards (shard_id) ON DELETE CASCADE,
    zone_id TEXT NOT NULL,
    PRIMARY KEY (shard_id, zone_id)
);
CREATE INDEX shard_zones_by_zone ON shard_zones (zone_id);
CREATE TABLE zone_leases (
    zone_id TEXT PRIMARY KEY,
    shard_id TEXT,
    epoch BIGINT NOT NULL CHECK (epoch >= 1),
    expires_at BIGINT NOT NULL
);
CREATE INDEX zone_leases_by_shard ON zone_leases (shard_id);
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'player';
