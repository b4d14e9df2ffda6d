//! Real clients: reqwest for HTTP, tokio-tungstenite for WebSockets over a
//! TCP socket bound to a chosen 127.0.0.x source address.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;

use crate::Res;

/// A client WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// An HTTP client keeping up to `idle` connections to the server.
pub fn http_client(idle: usize) -> Res<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(idle)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()?)
}

/// Chat tokens from `POST /api/auth/session` (trusted mode), `conc` at a time.
pub async fn session_tokens(
    http: &reqwest::Client,
    base: &str,
    ids: &[String],
    conc: usize,
) -> Res<Vec<(String, String)>> {
    let url = format!("{base}/api/auth/session");
    let results: Vec<Res<(String, String)>> = stream::iter(ids.iter().cloned())
        .map(|id| {
            let url = url.clone();
            async move {
                let res = http
                    .post(&url)
                    .json(&json!({ "user_id": id }))
                    .send()
                    .await?;
                let status = res.status();
                let body: Value = res.json().await?;
                let token = body["access_token"]
                    .as_str()
                    .ok_or_else(|| format!("session for {id}: {status} {body}"))?;
                Ok((id, token.to_string()))
            }
        })
        .buffer_unordered(conc.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// An admin token from `POST /api/auth/login`.
pub async fn admin_token(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> Res<String> {
    let res = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    Ok(body["access_token"]
        .as_str()
        .ok_or_else(|| format!("admin login: {status} {body}"))?
        .to_string())
}

/// Opens `/ws/{user}?token=…` from `src` (any local address when `None`).
pub async fn ws_connect(src: Option<Ipv4Addr>, port: u16, user: &str, token: &str) -> Res<Ws> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = src {
        socket.bind(SocketAddr::from((ip, 0)))?;
    }
    let stream = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://127.0.0.1:{port}/ws/{user}?token={token}");
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    Ok(ws)
}

/// The n-th extra loopback source address: 127.0.0.2, 127.0.0.3, …
pub fn source_ip(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, (2 + n % 250) as u8)
}
