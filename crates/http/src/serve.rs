//! The HTTP server: the application ([`crate::build`]) behind actix-http's
//! HTTP/1 service, as actix-web's `HttpServer` would run it, plus an
//! upgrade path for WebSockets.
//!
//! actix-http's HTTP/1 dispatcher keeps a read and a write buffer of 8 KiB
//! each for as long as its connection lives, and a WebSocket answered
//! through it (a 101 whose body streams the frames) keeps the dispatcher,
//! its task and both buffers for the socket's whole life. So every request
//! that asks for a WebSocket (`Upgrade: websocket`) is handed to
//! [`upgraded`] instead: it still runs through the whole application
//! (routing, middleware, extractors, the handler), then writes the answer
//! itself. When the handler accepted the upgrade (a 101 carrying a
//! [`SocketTask`]), the dispatcher and its buffers are dropped and the task
//! gets the bare TCP stream ([`WebSocket`]); any other answer is written
//! whole and the connection closes.

use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use actix_codec::{Encoder, Framed};
use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::h1::{Codec, Message};
use actix_http::{
    ConnectionType, HttpMessage, HttpService, KeepAlive, Request, Response, StatusCode,
};
use actix_server::Server;
use actix_service::{
    fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory,
    ServiceFactoryExt,
};
use actix_web::dev::{AppConfig, ServiceResponse};
use actix_web::rt::net::TcpStream;
use actix_web::web::BytesMut;
use livechat_realtime::MAX_FRAME_BYTES;
use tokio::io::AsyncWriteExt;

use crate::state::AppState;
use crate::websocket::{SocketTask, Upgradable, WebSocket};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Worker threads (each runs its own copy of the application).
    pub workers: usize,
}

/// Serves the application for `state` on `listener` (HTTP/1.1, keep-alive,
/// `TCP_NODELAY` on every connection). The server stops through its
/// handle; it installs no signal handlers.
pub fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    options: ServeOptions,
) -> io::Result<Server> {
    let addr = listener.local_addr()?;
    let builder = Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    Ok(builder
        .workers(options.workers)
        .backlog(4096)
        .max_concurrent_connections(50_000)
        .shutdown_timeout(10)
        .disable_signals()
        .listen("livechat", listener, move || {
            let shutdown = shutdown.clone();
            let upgrade_state = state.clone();
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                // actix-web's defaults.
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                // Small frames (events, JSON answers) must not wait for
                // Nagle's algorithm: without it an admin's push waited 10-40 ms.
                .tcp_nodelay(true)
                .local_addr(addr)
                .upgrade(fn_factory(move || {
                    let app = application(upgrade_state.clone());
                    async move {
                        let app = Rc::new(app.new_service(()).await?);
                        Ok::<_, ()>(fn_service(move |(req, framed)| {
                            upgraded(app.clone(), req, framed)
                        }))
                    }
                }))
                .finish(application(state.clone()))
                .tcp()
        })?
        .run())
}

/// The application as a service factory over actix-http's requests.
fn application(
    state: AppState,
) -> impl ServiceFactory<
    Request,
    Config = (),
    Response = ServiceResponse<impl MessageBody>,
    Error = Response<BoxBody>,
    InitError = (),
> {
    map_config(crate::build(state).into_factory(), |_| AppConfig::default())
        .map_err(|e: actix_web::Error| e.error_response().into())
}

/// Serves one upgrade request (see the module's documentation).
async fn upgraded<S, B>(
    app: Rc<S>,
    req: Request,
    framed: Framed<TcpStream, Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Response<BoxBody>>,
    B: MessageBody + 'static,
{
    req.extensions_mut().insert(Upgradable);
    let response: Response<BoxBody> = match app.call(req).await {
        Ok(res) => Response::from(res).map_into_boxed_body(),
        Err(res) => res,
    };
    let mut parts = framed.into_parts();
    let (mut head, body) = response.into_parts();
    let task = head.extensions_mut().remove::<SocketTask>();
    let mut out = BytesMut::new();
    if let (Some(task), StatusCode::SWITCHING_PROTOCOLS) = (task, head.status()) {
        parts
            .codec
            .encode(Message::Item((head, BodySize::None)), &mut out)?;
        parts.io.write_all(&out).await?;
        // What the client sent after its handshake is the socket's.
        let received = std::mem::take(&mut parts.read_buf);
        let received = if received.is_empty() {
            BytesMut::new()
        } else {
            received
        };
        drop(parts.write_buf);
        task.spawn(WebSocket::new(parts.io, received, MAX_FRAME_BYTES));
        return Ok(());
    }
    // Not upgraded: the answer, then the end of the connection (what the
    // client sends next would be WebSocket frames, not a request).
    head.head_mut().set_connection_type(ConnectionType::Close);
    let mut body = pin!(body);
    parts
        .codec
        .encode(Message::Item((head, body.size())), &mut out)?;
    while let Some(chunk) = poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|e| io::Error::other(e.to_string()))?;
        parts.codec.encode(Message::Chunk(Some(chunk)), &mut out)?;
        parts.io.write_all(&out).await?;
        out.clear();
    }
    parts.codec.encode(Message::Chunk(None), &mut out)?;
    parts.io.write_all(&out).await?;
    parts.io.shutdown().await?;
    Ok(())
}
