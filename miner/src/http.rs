//! The HTTP server under the API and the metrics endpoint: hyper with a header-read timeout (which also bounds a
//! keep-alive connection's wait for its next request), a request-body read timeout, and a graceful drain.
//!
//! Who could abuse it and how: a client that opens connections and sends nothing, or headers one byte at a time
//! (slowloris), or a body slower than it announced, holds a task and a socket per connection without ever
//! reaching the payment gate. Here each connection must deliver its headers within `client_timeout_ms` and its
//! body within the same time again, or it is closed (`slow_clients_are_cut_off`); and at most `max_connections`
//! are open at once (more are closed on accept), so connections cannot exhaust the file descriptors the node
//! needs for its RPC endpoint and receipt store.
//!
//! Why not `axum::serve`: it installs no timer, so hyper's header timeout never fires there. hyper restarts that
//! timer after each response (a keep-alive connection idle after its request is closed), but does not run it
//! while a fresh connection has sent nothing: a connection must show its first byte within the timeout before it
//! gets a connection task.

use std::{io, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting and waits for the
/// connections' requests under way (streams included) to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    client_timeout: Duration,
    max_connections: usize,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let connections = Arc::new(Semaphore::new(max_connections.max(1)));
    let service = ServiceBuilder::new().layer(RequestBodyTimeoutLayer::new(client_timeout)).service(router);
    // HTTP/1.1 only: with protocol detection, the server waits for a client's first bytes with no timer at all,
    // so a connection that sends nothing is held forever (`slow_clients_are_cut_off` catches it). OpenAI clients
    // speak HTTP/1.1 to plain-HTTP endpoints; HTTP/2 belongs to a TLS proxy in front.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(client_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was accepted: not fatal.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(open) = connections.clone().try_acquire_owned() else {
            tracing::debug!("connection limit reached; closing a new connection");
            continue;
        };
        // hyper's header timer starts with the first byte of a request: a connection that sends nothing must
        // show a byte within the timeout before it gets a connection task.
        let (builder, service, watcher) = (builder.clone(), service.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _open = open;
            let mut first = [0u8; 1];
            if !matches!(tokio::time::timeout(client_timeout, stream.peek(&mut first)).await, Ok(Ok(1))) {
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
