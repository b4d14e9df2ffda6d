//! Wiring: database, demo data, hub, HTTP server; and a shutdown that closes
//! every socket with a close frame and lets requests in flight finish.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use livechat_http::{AppState, Realtime};
use livechat_realtime::{spawn_hub, Cluster, ClusterConfig, HubConfig, HubHandle};
use livechat_store::Db;

use crate::settings::{Settings, SettingsError};

/// Anything that stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] livechat_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cluster(#[from] livechat_realtime::ClusterError),
    #[error("{0}")]
    Webhooks(String),
    #[error("cannot create the media folder {path}: {source}")]
    Media {
        path: String,
        source: std::io::Error,
    },
}

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    hub: HubHandle,
    cluster: Option<Cluster>,
    db: Db,
    draining: Arc<AtomicBool>,
    drain: Duration,
    webhooks: Arc<livechat_http::webhooks::WebhookWorker>,
}

/// Opens the database named by the settings (running migrations).
pub fn open_db(settings: &Settings) -> Result<Db, StartupError> {
    Ok(Db::open(
        &settings.database.url,
        settings.database.pool_size,
    )?)
}

impl Application {
    /// Builds everything (and joins the cluster when `REDIS_URL` is set);
    /// must run inside the actix/tokio runtime.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let http = settings.http()?;
        std::fs::create_dir_all(&http.media_dir).map_err(|source| StartupError::Media {
            path: http.media_dir.display().to_string(),
            source,
        })?;
        let db = open_db(settings)?;
        if settings.demo.seed && db.write_blocking(livechat_store::demo::seed)? {
            tracing::info!("loaded demo data (b1, b2, m1–m9, p1)");
        }
        let media_dir = http.media_dir.clone();
        tokio::task::spawn_blocking(move || {
            livechat_http::uploads::sweep_stale_temp_files(&media_dir)
        });
        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let mut http = http;
        // Webhooks must not target this node itself.
        http.webhooks.own_port = Some(port);
        let realtime = join_realtime(settings).await?;
        let (hub, cluster) = (realtime.hub.clone(), realtime.cluster.clone());
        let state = AppState::new(db.clone(), realtime, http);
        let webhooks = Arc::new(
            livechat_http::webhooks::WebhookWorker::start(state.clone())
                .map_err(StartupError::Webhooks)?,
        );
        let draining = state.draining.clone();
        let drain = Duration::from_secs(settings.server.drain_secs);
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let server = livechat_http::serve::serve(
            listener,
            state,
            livechat_http::serve::ServeOptions { workers },
        )
        .map_err(|source| StartupError::Bind {
            addr: format!("{}:{port}", settings.server.host),
            source,
        })?;
        Ok(Self {
            port,
            server,
            hub,
            cluster,
            db,
            draining,
            drain,
            webhooks,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database, for tests that check stored state.
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// The hub, for tests and tools that look at presence.
    pub fn hub(&self) -> HubHandle {
        self.hub.clone()
    }

    /// A handle that stops the server gracefully.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            server: self.server.handle(),
            hub: self.hub.clone(),
            cluster: self.cluster.clone(),
            draining: self.draining.clone(),
            drain: self.drain,
            webhooks: self.webhooks.clone(),
        }
    }

    /// Serves until stopped, then closes the store (see `Db::close`), so
    /// the process can exit safely.
    pub async fn run(self) -> std::io::Result<()> {
        let served = self.server.await;
        let db = self.db.clone();
        let _ = tokio::task::spawn_blocking(move || db.close()).await;
        served
    }
}

/// Stops a running application.
#[derive(Clone)]
pub struct Stopper {
    server: ServerHandle,
    hub: HubHandle,
    cluster: Option<Cluster>,
    draining: Arc<AtomicBool>,
    drain: Duration,
    webhooks: Arc<livechat_http::webhooks::WebhookWorker>,
}

impl Stopper {
    /// Turns the node not-ready (`/ready` answers 503) and keeps serving
    /// for `server.drain_secs`, so a load balancer moves new clients away;
    /// then sends every socket a close frame (1001), stops accepting and
    /// lets requests in flight finish. The webhook worker stops claiming
    /// as soon as the node drains, and lets go of its claims once its
    /// tries in flight have ended.
    pub async fn stop(&self) {
        self.draining.store(true, Ordering::Relaxed);
        let webhooks = self.webhooks.clone();
        let worker_stopped = tokio::spawn(async move { webhooks.stop().await });
        if !self.drain.is_zero() {
            tracing::info!(secs = self.drain.as_secs(), "draining before closing");
            tokio::time::sleep(self.drain).await;
        }
        if let Some(cluster) = &self.cluster {
            cluster.leave().await;
        }
        if let Err(e) = self.hub.shutdown().await {
            tracing::warn!(error = %e, "hub already stopped");
        }
        self.server.stop(true).await;
        let _ = worker_stopped.await;
    }
}

/// The hub alone, or the hub joined to the cluster on `REDIS_URL`.
async fn join_realtime(settings: &Settings) -> Result<Realtime, StartupError> {
    let redis_url = settings.realtime.redis_url.trim();
    if redis_url.is_empty() {
        return Ok(Realtime {
            hub: spawn_hub(HubConfig::default()),
            cluster: None,
        });
    }
    let (cluster, hub) = Cluster::start(ClusterConfig {
        redis_url: redis_url.to_owned(),
        prefix: settings.realtime.redis_prefix.clone(),
        node_ttl: Duration::from_secs(settings.realtime.node_ttl_secs),
        hub: HubConfig::default(),
    })
    .await?;
    Ok(Realtime {
        hub,
        cluster: Some(cluster),
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
