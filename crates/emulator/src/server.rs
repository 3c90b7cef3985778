//! The running emulator: one loopback HTTP server for every emulated API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::bad_answers::{self, BadAnswerInjector};
use crate::faults::{Fault, FaultInjector};
use crate::kubernetes::KubeApis;
use crate::onprem::SshHosts;
use crate::request_log::{self, RequestLog};
use crate::services::{Services, Shared};
use crate::store::Store;
use crate::{admin, aws, azure, digitalocean, google, onprem, EmulatorConfig, EmulatorError};

/// File in the data folder remembering the address of the last server on it.
const ADDRESS_FILE: &str = "server-address";

/// How long [`Emulator::shutdown`] lets requests in flight finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running emulator. Dropping it stops the server too, without waiting.
pub struct Emulator {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    ssh: Option<SshHosts>,
}

impl Emulator {
    /// Starts serving on `addr` (port 0 picks a free port).
    ///
    /// With a data folder and port 0, the port of the previous server on that folder is reused
    /// when it is free: cluster endpoints and kubeconfigs name the server's address, so reusing
    /// it keeps the kubeconfigs that earlier commands stored valid in later ones.
    pub async fn start(
        addr: SocketAddr,
        config: EmulatorConfig,
    ) -> Result<Emulator, EmulatorError> {
        let listener = bind(addr, config.data_dir.as_deref()).await?;
        let local = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let base_url = format!("http://{local}");
        if let Some(dir) = &config.data_dir {
            remember_address(dir, local)?;
        }

        let store = Store::open(config.data_dir.as_deref())?;
        let kube = KubeApis::new(config.data_dir.clone());
        let services: Shared = Arc::new(Services::new(
            store,
            kube.clone(),
            base_url,
            config.provision_time,
        ));
        let faults = Arc::new(FaultInjector::new(config.faults.clone()));
        let ssh = SshHosts::start(services.clone(), faults.clone(), &config).await?;

        let mut app = Router::new()
            .nest(
                "/v2",
                digitalocean::router(services.clone(), faults.clone()),
            )
            .nest("/aws", aws::router(services.clone(), faults.clone()))
            .nest("/azure", azure::router(services.clone(), faults.clone()))
            .nest("/google", google::router(services.clone(), faults.clone()))
            .nest("/onprem", onprem::router(services.clone(), faults.clone()))
            .merge(
                kube.router()
                    .layer(from_fn_with_state(faults, kubernetes_fault)),
            )
            // Only the routes added so far, the cloud APIs, get bad answers; the admin API never.
            .layer(from_fn_with_state(
                Arc::new(BadAnswerInjector::new(config.bad_answers.clone())),
                bad_answers::layer,
            ))
            .nest("/_emulator", admin::http::router(services));
        if let Some(path) = &config.request_log {
            let log = Arc::new(RequestLog::open(path)?);
            app = app.layer(from_fn_with_state(log, request_log::record));
        }

        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "the emulator server stopped");
            }
        });
        tracing::debug!(%local, "emulator listening");
        Ok(Emulator {
            addr: local,
            stop: Some(stop),
            task: Some(task),
            ssh: Some(ssh),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the endpoint to point providers at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits (a few seconds at most) for those in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(ssh) = self.ssh.take() {
            ssh.shutdown().await;
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `addr`, preferring the previous server's port on the same folder when `addr` asks for
/// any port.
async fn bind(addr: SocketAddr, data_dir: Option<&Path>) -> Result<TcpListener, EmulatorError> {
    if addr.port() == 0 {
        if let Some(previous) = data_dir.and_then(previous_address) {
            if previous.ip() == addr.ip() {
                if let Ok(listener) = TcpListener::bind(previous).await {
                    return Ok(listener);
                }
            }
        }
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })
}

fn previous_address(dir: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(dir.join(ADDRESS_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn remember_address(dir: &Path, addr: SocketAddr) -> Result<(), EmulatorError> {
    std::fs::create_dir_all(dir).map_err(|e| EmulatorError::io(dir, e))?;
    let path: PathBuf = dir.join(ADDRESS_FILE);
    std::fs::write(&path, format!("{addr}\n")).map_err(|e| EmulatorError::io(path, e))
}

/// Answers a decided fault on a Kubernetes API request with a Kubernetes `Status` object, the
/// shape every Kubernetes client understands.
async fn kubernetes_fault(
    State(faults): State<Arc<FaultInjector>>,
    request: Request,
    next: Next,
) -> Response {
    let (status, reason, message) = match faults.delay_and_decide().await {
        None => return next.run(request).await,
        Some(Fault::Throttle) => (
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        Some(Fault::ServerError) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "an error on the server has prevented the request from succeeding",
        ),
    };
    let retry_after = digitalocean::RETRY_AFTER_SECONDS;
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": status.as_u16(),
    });
    if status == StatusCode::TOO_MANY_REQUESTS {
        body["details"] = json!({ "retryAfterSeconds": retry_after });
    }
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    response
}
