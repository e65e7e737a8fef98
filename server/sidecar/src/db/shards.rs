//! `shards`, `shard_zones`, `zone_leases`: the directory of live shard processes and who hosts
//! each zone.
//!
//! - A shard registers and renews its row with a heartbeat, carrying its address, load and the
//!   zones it is configured to host (`shard_zones`, one row per zone).
//! - **A zone is hosted by one shard at a time, under a lease** (`zone_leases`): the holder, an
//!   epoch that grows each time the zone changes hands, and an expiry that the holder's
//!   heartbeats push forward. A heartbeat renews the leases the shard holds and takes those that
//!   are free or lapsed; a zone another live shard holds stays with it.
//! - A shard that leaves (drains) hands each zone it holds straight to the freshest other live
//!   shard that offers it, so the players it hands off have somewhere to go at once. A shard
//!   that dies stops renewing: its leases lapse after the TTL and the next heartbeat of a shard
//!   offering the zone takes it.
//! - Rows long dead are pruned (`sessions::prune`).

use super::Db;
use harvest_shared::api::{ShardRegistration, ShardView, ShardsView, ZoneGrant, ZoneView};
use harvest_shared::ids::ZoneId;
use sqlx::{Any, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// The shard a player is sent to.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ShardEntry {
    pub shard_id: String,
    pub address: String,
    pub content_version: String,
}

/// What a heartbeat decided for the shard.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    /// The zones it hosts now.
    pub hosted: Vec<ZoneGrant>,
    /// Every zone some live shard hosts now.
    pub live_zones: Vec<ZoneId>,
    /// An operator asked it to drain.
    pub drain: bool,
}

#[derive(sqlx::FromRow)]
struct ShardRow {
    shard_id: String,
    address: String,
    state: String,
    players: i64,
    capacity: i64,
    content_version: String,
    last_seen: i64,
    registered_at: i64,
    drain_requested_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LeaseRow {
    zone_id: String,
    shard_id: Option<String>,
    epoch: i64,
    expires_at: i64,
}

/// Give `zone`, held by `from`, to the freshest other live shard offering it (or to nobody),
/// with a new epoch.
async fn hand_over(
    tx: &mut Transaction<'_, Any>,
    zone: &str,
    from: &str,
    now: i64,
    ttl: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE zone_leases SET shard_id = (\
           SELECT sz.shard_id FROM shard_zones sz JOIN shards s ON s.shard_id = sz.shard_id \
           WHERE sz.zone_id = $1 AND sz.shard_id <> $2 AND s.last_seen >= $3 \
             AND s.state = 'running' AND s.drain_requested_at IS NULL \
           ORDER BY s.last_seen DESC, s.shard_id LIMIT 1), \
         epoch = epoch + 1, expires_at = $4 \
         WHERE zone_id = $1 AND shard_id = $2",
    )
    .bind(zone)
    .bind(from)
    .bind(now - ttl)
    .bind(now + ttl)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn held_by(
    tx: &mut Transaction<'_, Any>,
    shard_id: &str,
) -> Result<Vec<ZoneGrant>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT zone_id, epoch FROM zone_leases WHERE shard_id = $1 ORDER BY zone_id",
    )
    .bind(shard_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(zone, epoch)| ZoneGrant {
            zone: ZoneId::new(zone),
            epoch,
        })
        .collect())
}

impl Db {
    /// Register or renew `reg.shard_id`: its row, the zones it offers, and the leases of those
    /// zones it may hold (renewed, or taken when free or lapsed). `ttl`: seconds a renewal lasts.
    /// `None`: this incarnation of the shard has left the directory (it is draining).
    pub async fn shard_heartbeat(
        &self,
        reg: &ShardRegistration,
        now: i64,
        ttl: i64,
    ) -> Result<Option<Heartbeat>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        // A new incarnation (the process restarted) starts afresh; the same one stays out once
        // it has left (a heartbeat that crossed its own deregistration must not bring it back).
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "INSERT INTO shards (shard_id, address, content_version, last_seen, players, capacity, state, registered_at, incarnation) \
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $4, $7) \
             ON CONFLICT (shard_id) DO UPDATE SET address = excluded.address, \
             content_version = excluded.content_version, last_seen = excluded.last_seen, \
             players = excluded.players, capacity = excluded.capacity, \
             registered_at = CASE WHEN shards.incarnation = excluded.incarnation THEN shards.registered_at ELSE excluded.registered_at END, \
             drain_requested_at = CASE WHEN shards.incarnation = excluded.incarnation THEN shards.drain_requested_at ELSE NULL END, \
             state = 'running', incarnation = excluded.incarnation \
             WHERE shards.state = 'running' OR shards.incarnation <> excluded.incarnation \
             RETURNING drain_requested_at",
        )
        .bind(&reg.shard_id)
        .bind(&reg.address)
        .bind(&reg.content_version)
        .bind(now)
        .bind(i64::from(reg.players))
        .bind(i64::from(reg.capacity))
        .bind(reg.incarnation)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((drain_requested_at,)) = row else {
            return Ok(None);
        };
        // The zones it offers, as rows: rewritten only when they changed.
        let offered: BTreeSet<&str> = reg.zones.iter().map(|z| z.as_str()).collect();
        let stored: Vec<(String,)> =
            sqlx::query_as("SELECT zone_id FROM shard_zones WHERE shard_id = $1")
                .bind(&reg.shard_id)
                .fetch_all(&mut *tx)
                .await?;
        let stored: BTreeSet<&str> = stored.iter().map(|(z,)| z.as_str()).collect();
        if stored != offered {
            sqlx::query("DELETE FROM shard_zones WHERE shard_id = $1")
                .bind(&reg.shard_id)
                .execute(&mut *tx)
                .await?;
            for zone in &offered {
                sqlx::query("INSERT INTO shard_zones (shard_id, zone_id) VALUES ($1, $2)")
                    .bind(&reg.shard_id)
                    .bind(*zone)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // One pass over every zone it holds or offers, in a fixed order, so two shards'
        // transactions never wait on each other in a cycle. A zone it holds but no longer
        // offers goes to another shard; with a drain requested it takes nothing new.
        let held: BTreeSet<ZoneId> = held_by(&mut tx, &reg.shard_id)
            .await?
            .into_iter()
            .map(|g| g.zone)
            .collect();
        let mut zones: BTreeSet<&str> = offered.clone();
        zones.extend(held.iter().map(|z| z.as_str()));
        for zone in zones {
            let holds = held.contains(&ZoneId::new(zone));
            if !offered.contains(zone) {
                hand_over(&mut tx, zone, &reg.shard_id, now, ttl).await?;
            } else if holds || drain_requested_at.is_none() {
                sqlx::query(
                    "INSERT INTO zone_leases (zone_id, shard_id, epoch, expires_at) VALUES ($1, $2, 1, $3) \
                     ON CONFLICT (zone_id) DO UPDATE SET shard_id = excluded.shard_id, \
                     epoch = zone_leases.epoch + CASE WHEN zone_leases.shard_id = excluded.shard_id THEN 0 ELSE 1 END, \
                     expires_at = excluded.expires_at \
                     WHERE zone_leases.shard_id = excluded.shard_id OR zone_leases.shard_id IS NULL \
                        OR zone_leases.expires_at < $4",
                )
                .bind(zone)
                .bind(&reg.shard_id)
                .bind(now + ttl)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        let hosted = held_by(&mut tx, &reg.shard_id).await?;
        let live: Vec<(String,)> = sqlx::query_as(
            "SELECT z.zone_id FROM zone_leases z JOIN shards s ON s.shard_id = z.shard_id \
             WHERE z.expires_at >= $1 AND s.last_seen >= $2 AND s.state = 'running' \
             ORDER BY z.zone_id",
        )
        .bind(now)
        .bind(now - ttl)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Heartbeat {
            hosted,
            live_zones: live.into_iter().map(|(z,)| ZoneId::new(z)).collect(),
            drain: drain_requested_at.is_some(),
        }))
    }

    /// `shard_id` leaves the directory (it is draining): it is marked `draining`, sent no new
    /// players, and each zone it held passes at once to another live shard offering it.
    /// True if it was registered and running (as `incarnation`, when given).
    pub async fn remove_shard(
        &self,
        shard_id: &str,
        incarnation: Option<i64>,
        now: i64,
        ttl: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        // With an incarnation, only that process's row: a late call from a process that has
        // since been restarted must not evict its successor.
        let n = match incarnation {
            Some(inc) => sqlx::query(
                "UPDATE shards SET state = 'draining' WHERE shard_id = $1 AND state = 'running' \
                 AND incarnation = $2",
            )
            .bind(shard_id)
            .bind(inc),
            None => sqlx::query(
                "UPDATE shards SET state = 'draining' WHERE shard_id = $1 AND state = 'running'",
            )
            .bind(shard_id),
        }
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM shard_zones WHERE shard_id = $1")
            .bind(shard_id)
            .execute(&mut *tx)
            .await?;
        for grant in held_by(&mut tx, shard_id).await? {
            hand_over(&mut tx, grant.zone.as_str(), shard_id, now, ttl).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The live shard hosting `zone` now, if any.
    pub async fn zone_holder(
        &self,
        zone: &ZoneId,
        now: i64,
        ttl: i64,
    ) -> Result<Option<ShardEntry>, sqlx::Error> {
        sqlx::query_as(
            "SELECT s.shard_id, s.address, s.content_version FROM zone_leases z \
             JOIN shards s ON s.shard_id = z.shard_id \
             WHERE z.zone_id = $1 AND z.expires_at >= $2 AND s.last_seen >= $3 AND s.state = 'running' \
               AND s.drain_requested_at IS NULL",
        )
        .bind(zone.as_str())
        .bind(now)
        .bind(now - ttl)
        .fetch_optional(self.pool())
        .await
    }

    /// Ask `shard_id` to drain (it learns at its next heartbeat). False: no such live shard.
    pub async fn request_drain(&self, shard_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE shards SET drain_requested_at = COALESCE(drain_requested_at, $2) \
             WHERE shard_id = $1 AND state = 'running'",
        )
        .bind(shard_id)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// The whole directory for operators: every shard row (live, draining or lapsed, until
    /// pruned) and every zone in `zones` with its holder.
    pub async fn directory(
        &self,
        zones: impl Iterator<Item = ZoneId>,
        now: i64,
    ) -> Result<ShardsView, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let rows: Vec<ShardRow> = sqlx::query_as(
            "SELECT shard_id, address, state, players, capacity, content_version, last_seen, \
             registered_at, drain_requested_at FROM shards ORDER BY shard_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let offers: Vec<(String, String)> =
            sqlx::query_as("SELECT shard_id, zone_id FROM shard_zones ORDER BY shard_id, zone_id")
                .fetch_all(&mut *tx)
                .await?;
        let leases: Vec<LeaseRow> =
            sqlx::query_as("SELECT zone_id, shard_id, epoch, expires_at FROM zone_leases")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let mut offered: BTreeMap<String, Vec<ZoneId>> = BTreeMap::new();
        for (shard, zone) in offers {
            offered.entry(shard).or_default().push(ZoneId::new(zone));
        }
        let live = |l: &LeaseRow| l.expires_at >= now;
        let mut hosts: BTreeMap<String, Vec<ZoneGrant>> = BTreeMap::new();
        let mut holder: BTreeMap<String, (Option<String>, i64)> = BTreeMap::new();
        for l in &leases {
            let shard = l.shard_id.clone().filter(|_| live(l));
            if let Some(s) = &shard {
                hosts.entry(s.clone()).or_default().push(ZoneGrant {
                    zone: ZoneId::new(l.zone_id.clone()),
                    epoch: l.epoch,
                });
            }
            holder.insert(l.zone_id.clone(), (shard, l.epoch));
        }
        let shards = rows
            .into_iter()
            .map(|r| ShardView {
                offers: offered.remove(&r.shard_id).unwrap_or_default(),
                hosts: hosts.remove(&r.shard_id).unwrap_or_default(),
                shard_id: r.shard_id,
                address: r.address,
                state: r.state,
                players: r.players,
                capacity: r.capacity,
                content_version: r.content_version,
                last_seen_secs_ago: (now - r.last_seen).max(0),
                up_secs: (now - r.registered_at).max(0),
                drain_requested: r.drain_requested_at.is_some(),
            })
            .collect();
        let zones = zones
            .map(|zone| {
                let (shard_id, epoch) = holder.get(zone.as_str()).cloned().unwrap_or((None, 0));
                ZoneView {
                    zone,
                    shard_id,
                    epoch,
                }
            })
            .collect();
        Ok(ShardsView { shards, zones })
    }
}
