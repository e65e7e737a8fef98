//! `shards`: the directory of live shard processes and the zones each hosts. A registration
//! lapses unless renewed within the TTL, so a dead shard stops receiving players; rows long
//! dead are pruned.

use super::Db;
use harvest_shared::api::ShardRegistration;
use harvest_shared::ids::ZoneId;

#[derive(sqlx::FromRow)]
pub struct ShardEntry {
    pub shard_id: String,
    pub address: String,
    /// JSON list of zone ids.
    pub zones: String,
    pub content_version: String,
}

impl ShardEntry {
    pub fn hosts(&self, zone: &ZoneId) -> bool {
        serde_json::from_str::<Vec<ZoneId>>(&self.zones).is_ok_and(|z| z.contains(zone))
    }
}

impl Db {
    pub async fn upsert_shard(&self, reg: &ShardRegistration, now: i64) -> Result<(), sqlx::Error> {
        let zones =
            serde_json::to_string(&reg.zones).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO shards (shard_id, address, zones, content_version, last_seen) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (shard_id) DO UPDATE SET address = excluded.address, zones = excluded.zones, \
             content_version = excluded.content_version, last_seen = excluded.last_seen",
        )
        .bind(&reg.shard_id)
        .bind(&reg.address)
        .bind(zones)
        .bind(&reg.content_version)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Remove a shard from the directory (it is draining). True if it was there.
    pub async fn remove_shard(&self, shard_id: &str) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("DELETE FROM shards WHERE shard_id = $1")
            .bind(shard_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Live shards hosting `zone`, most recently renewed first.
    pub async fn shards_for_zone(
        &self,
        zone: &ZoneId,
        fresh_since: i64,
    ) -> Result<Vec<ShardEntry>, sqlx::Error> {
        let rows: Vec<ShardEntry> = sqlx::query_as(
            "SELECT shard_id, address, zones, content_version FROM shards WHERE last_seen >= $1 ORDER BY last_seen DESC",
        )
        .bind(fresh_since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().filter(|s| s.hosts(zone)).collect())
    }
}
