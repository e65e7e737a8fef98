//! A named thread running one future on a single-threaded tokio runtime of its own: how the
//! shard keeps async work (its admin listener, its bus) off the tick thread.

/// Runs `work` to completion on a new thread called `name`. Failing to start the thread or
/// its runtime is logged (the caller's feature is then missing, the process goes on).
pub fn spawn_async<F>(name: &str, work: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    let label = name.to_owned();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(work()),
                Err(e) => tracing::error!(thread = %label, error = %e, "cannot build a runtime"),
            }
        });
    if let Err(e) = spawned {
        tracing::error!(thread = %name, error = %e, "cannot start a thread");
    }
}
