//! Listeners. Each serves one router with hyper (HTTP/1.1) through axum-server:
//!
//! - a connection must deliver its request headers within `--header-read-timeout-secs`, so
//!   slow or silent clients cannot pile up (HTTP/1 only: HTTP/2's version sniffing has no
//!   timeout of its own, and the API has no use for HTTP/2);
//! - with TLS (`--tls-cert`/`--tls-key`, rustls), the handshake must finish within the same
//!   bound;
//! - the request guard in [`crate::routes`] caps concurrent requests and their duration;
//! - [`Listener::stop`] stops accepting and gives requests in flight a few seconds.

use crate::config::Resolved;
use anyhow::Context;
use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use hyper_util::rt::TokioTimer;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How long requests in flight may run on after a stop.
const DRAIN: Duration = Duration::from_secs(5);

/// Load a PEM certificate chain and private key for the public listener.
pub async fn load_tls(cert: &Path, key: &Path) -> anyhow::Result<RustlsConfig> {
    harvest_ops::tls::install_crypto_provider();
    RustlsConfig::from_pem_chain_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {} (--tls-cert/--tls-key)",
                cert.display(),
                key.display()
            )
        })
}

/// One bound, serving listener.
pub struct Listener {
    pub addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Bind `bind` and serve `router` on it; an error that ends the server later is sent to
    /// `failures`.
    pub async fn start(
        bind: SocketAddr,
        router: Router,
        tls: Option<RustlsConfig>,
        cfg: &Resolved,
        failures: tokio::sync::mpsc::UnboundedSender<anyhow::Error>,
    ) -> anyhow::Result<Listener> {
        let listener = std::net::TcpListener::bind(bind)
            .with_context(|| format!("cannot bind HTTP address {bind}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let handle = Handle::new();
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let header_timeout = cfg.header_read_timeout;
        let server = axum_server::from_tcp(listener)?;
        let task = match tls {
            Some(tls) => {
                let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                    .handshake_timeout(header_timeout);
                let server = http1_with_timeout(server.acceptor(acceptor), &handle, header_timeout);
                tokio::spawn(report(server.serve(app), failures, addr))
            }
            None => {
                let server = http1_with_timeout(server, &handle, header_timeout);
                tokio::spawn(report(server.serve(app), failures, addr))
            }
        };
        Ok(Listener { addr, handle, task })
    }

    /// Stop accepting; requests in flight get [`DRAIN`] to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(DRAIN));
        self.task.await.context("listener task")?;
        Ok(())
    }
}

/// HTTP/1 only, with the header-read timeout, stopped through `handle`.
fn http1_with_timeout<A>(
    server: axum_server::Server<SocketAddr, A>,
    handle: &Handle<SocketAddr>,
    header_timeout: Duration,
) -> axum_server::Server<SocketAddr, A> {
    let mut server = server.http1_only().handle(handle.clone());
    server
        .http_builder()
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    server
}

async fn report(
    serving: impl std::future::Future<Output = std::io::Result<()>>,
    failures: tokio::sync::mpsc::UnboundedSender<anyhow::Error>,
    addr: SocketAddr,
) {
    if let Err(e) = serving.await {
        tracing::error!(%addr, error = %e, "HTTP listener failed");
        let _ = failures.send(anyhow::Error::new(e).context(format!("listener {addr}")));
    }
}
