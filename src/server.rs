//! The HTTP listener, and the handle of a running service that stops it all in order.

mod guard;
mod limits;

use std::net::SocketAddr;
use std::time::Duration;

use poem::Endpoint;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::guard::Guarded;
use crate::app::App;
use crate::config::ServeArgs;
use crate::datadir::DataDirLock;
use crate::store::blocking;
use crate::sync::Running;
use crate::{Error, Result};

/// How long in-flight requests get to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A bound socket, not yet serving.
pub struct Bound {
    addr: SocketAddr,
    acceptor: Guarded<crate::api::Enveloped<TcpAcceptor>>,
}

/// Bind the address of `settings` (port 0 picks a free port), raise the open-file limit and
/// cap connections below it.
pub async fn bind(settings: &ServeArgs) -> Result<Bound> {
    let listen = settings.listen;
    let connections = settings.connections;
    let open_file_limit = limits::raise_open_file_limit();
    let cap = connections.max_connections.unwrap_or_else(|| {
        limits::connection_cap(
            open_file_limit,
            settings.db_connections,
            settings.sync.sync_workers,
        )
    });
    let acceptor = TcpListener::bind(listen)
        .into_acceptor()
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| Error::Internal("the listener has no socket address".into()))?;
    tracing::info!(
        max_connections = cap,
        open_file_limit,
        header_timeout = ?connections.header_timeout,
        idle_timeout = ?connections.idle_timeout,
        "client connections capped"
    );
    Ok(Bound {
        addr,
        acceptor: Guarded::new(crate::api::Enveloped(acceptor), cap, connections),
    })
}

/// HTTP being served on a task of its own.
pub struct Http {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Bound {
    /// Serve `endpoint` until [`Server::stop`].
    pub fn serve(self, endpoint: impl Endpoint + 'static) -> Http {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            poem::Server::new_with_acceptor(self.acceptor).run_with_graceful_shutdown(
                endpoint,
                async {
                    let _ = stopped.await;
                },
                Some(SHUTDOWN_GRACE),
            ),
        );
        tracing::info!(addr = %self.addr, "possync is listening");
        Http {
            addr: self.addr,
            stop,
            task,
        }
    }
}

/// A running possync service (see [`crate::start`]).
pub struct Server {
    app: App,
    http: Http,
    workers: Running,
    /// Held until the service has stopped: one `serve` per database.
    lock: DataDirLock,
}

impl Server {
    /// The service made of its state, its HTTP task, its threads and its data directory's lock.
    pub fn new(app: App, http: Http, workers: Running, lock: DataDirLock) -> Server {
        Server {
            app,
            http,
            workers,
            lock,
        }
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.http.addr
    }

    /// The service's shared state.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stop accepting, let in-flight requests finish, then stop the threads after their
    /// current attempts, and wait.
    pub async fn stop(self) -> Result<()> {
        let Server {
            http,
            workers,
            lock,
            ..
        } = self;
        let _ = http.stop.send(());
        let served = http.task.await;
        blocking(move || {
            workers.stop();
            Ok(())
        })
        .await?;
        drop(lock);
        served.map_err(|e| Error::Internal(format!("the server task failed: {e}")))??;
        Ok(())
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    // The handlers are installed here, not on first poll: a SIGTERM that arrives right after
    // the "listening" line (a supervisor or test that stops us at once) must stop the service
    // in order, not kill it with the default action.
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{SignalKind, signal};
        let open = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(stream) => Some(stream),
            Err(e) => {
                tracing::warn!("cannot listen for {name}: {e}");
                None
            }
        };
        (
            open(SignalKind::interrupt(), "SIGINT"),
            open(SignalKind::terminate(), "SIGTERM"),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn received(stream: Option<tokio::signal::unix::Signal>) {
                match stream {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            let (interrupt, terminate) = streams;
            tokio::select! {
                () = received(interrupt) => {},
                () = received(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
