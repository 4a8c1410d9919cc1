//! Starting and stopping the HTTP service.

use std::net::SocketAddr;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::ServeArgs;
use crate::datadir::{self, DataDirLock};
use crate::domain::now_millis;
use crate::store::{accounts, blocking};
use crate::sync::{Job, Running, parse_schedule};
use crate::{Error, Result, api};

/// How long in-flight requests get to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running possync service.
pub struct Server {
    addr: SocketAddr,
    app: App,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    workers: Option<Running>,
    /// Held until the service has stopped: one `serve` per database.
    _lock: DataDirLock,
}

/// Open the store and start serving on `--listen`. Returns once the socket is bound.
pub async fn start(settings: ServeArgs) -> Result<Server> {
    let listen = settings.listen;
    let (app, lock) = blocking(move || {
        if let Some(dir) = settings.store.database_path().parent() {
            datadir::create_private_dir(dir)?;
        }
        let mut lock = DataDirLock::acquire(&settings.store)?;
        let app = App::open(settings)?;
        lock.record_owner()?;
        Ok((app, lock))
    })
    .await?;
    let jobs = jobs(&app)?;
    let acceptor = TcpListener::bind(listen)
        .into_acceptor()
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| Error::Internal("the listener has no socket address".into()))?;
    let workers = {
        let (engine, n) = (app.sync.clone(), app.settings.sync.sync_workers);
        blocking(move || Running::start(engine, n, jobs)).await?
    };
    let endpoint = api::endpoint(app.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            endpoint,
            async {
                let _ = stopped.await;
            },
            Some(SHUTDOWN_GRACE),
        ),
    );
    tracing::info!(%addr, "possync is listening");
    Ok(Server {
        addr,
        app,
        stop: Some(stop),
        task,
        workers: Some(workers),
        _lock: lock,
    })
}

impl Server {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service's shared state.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stop accepting, let in-flight requests finish, and wait.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = self.task.await;
        if let Some(workers) = self.workers.take() {
            blocking(move || {
                workers.stop();
                Ok(())
            })
            .await?;
        }
        served.map_err(|e| Error::Internal(format!("the server task failed: {e}")))??;
        Ok(())
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The cron jobs of a running service.
fn jobs(app: &App) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let sync = &app.settings.sync;
    if let Some(schedule) = parse_schedule("--retry-sweep-schedule", &sync.retry_sweep_schedule)? {
        let engine = app.sync.clone();
        jobs.push(Job {
            name: "retry-sweep",
            schedule,
            run: Box::new(move || {
                let due = engine
                    .store()
                    .read(|c| crate::store::sync_logs::due_count(c, now_millis()))?;
                engine.wake();
                Ok(format!("{due} sync logs due; workers woken"))
            }),
        });
    }
    if let Some(schedule) = parse_schedule(
        "--token-refresh-schedule",
        &sync.oauth.token_refresh_schedule,
    )? {
        let engine = app.sync.clone();
        jobs.push(Job {
            name: "token-refresh",
            schedule,
            run: Box::new(move || engine.refresh_due_tokens()),
        });
    }
    if let Some(schedule) = parse_schedule("--cleanup-schedule", &sync.cleanup_schedule)? {
        let store = app.store.clone();
        jobs.push(Job {
            name: "cleanup",
            schedule,
            run: Box::new(move || {
                let (tokens, states) = store.write(|tx| {
                    let now = now_millis();
                    Ok((
                        accounts::delete_dead_sessions(tx, now)?,
                        crate::store::oauth_states::delete_expired(tx, now)?,
                    ))
                })?;
                Ok(format!("deleted {tokens} expired or revoked login tokens, {states} expired OAuth states"))
            }),
        });
    }
    Ok(jobs)
}
