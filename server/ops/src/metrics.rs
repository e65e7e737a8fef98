//! Prometheus metrics: one process-wide recorder for the `metrics` crate's macros, rendered
//! as Prometheus text by whoever serves `/metrics` (the shard on `--admin-bind`, the sidecar
//! on its HTTP port).
//!
//! Durations are histograms with fixed buckets (metric names ending in `_seconds`), so a
//! Prometheus server can aggregate them across shards (`histogram_quantile`). Everything else
//! is a counter or a gauge. When the shard and the sidecar share a process (all-in-one), they
//! share the recorder and each `/metrics` shows both; their names differ by prefix
//! (`harvest_shard_*`, `harvest_sidecar_*`).

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Bucket bounds for durations, in seconds: from a fraction of a tick to several seconds.
pub const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. If another recorder was installed first
/// (it never is in these programs), metrics go there and this handle renders nothing.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows nothing");
        }
        handle
    })
}

/// Installs the recorder now (so counters recorded from the start are kept) and starts its
/// upkeep (histogram maintenance) on a thread of its own, once per process.
pub fn install() -> &'static PrometheusHandle {
    static UPKEEP: OnceLock<()> = OnceLock::new();
    let handle = handle();
    UPKEEP.get_or_init(|| {
        let h = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    h.run_upkeep();
                }
            });
    });
    handle
}

/// The Prometheus text exposition of every metric recorded so far.
pub fn render() -> String {
    install().render()
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    #[test]
    fn counters_histograms_and_gauges_render_as_prometheus_text() {
        super::install();
        metrics::counter!("harvest_test_things_total", "kind" => "a").increment(3);
        metrics::gauge!("harvest_test_level").set(7.0);
        metrics::histogram!("harvest_test_wait_seconds").record(0.003);
        let text = super::render();
        assert!(
            text.contains("harvest_test_things_total{kind=\"a\"} 3"),
            "{text}"
        );
        assert!(text.contains("harvest_test_level 7"), "{text}");
        assert!(
            text.contains("harvest_test_wait_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("harvest_test_wait_seconds_bucket{le=\"0.001\"} 0"),
            "{text}"
        );
    }
}
