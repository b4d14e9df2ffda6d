//! The WebSocket wire, byte by byte, over raw TCP: the upgrade path hands
//! the socket its own stream (what the client sent along with its
//! handshake included), joins fragmented messages under the frame limit,
//! answers a client's close, and answers any other request that asks for
//! an upgrade as usual before closing the connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;

/// A client frame (masked, as clients must).
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![if fin { 0x80 | opcode } else { opcode }];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// The handshake request for `path`.
fn handshake(port: u16, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// A raw connection and what was read from it but not consumed yet.
struct Raw {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn open(port: u16, first: &[u8]) -> Self {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        tcp.write_all(first).await.unwrap();
        Self {
            tcp,
            buf: Vec::new(),
        }
    }

    /// b1's socket, upgraded and past its first `online_users` event.
    async fn socket_of_b1(app: &TestApp) -> Self {
        let b1 = app.token("b1").await;
        let mut raw = Self::open(
            app.port,
            &handshake(app.port, &format!("/ws/b1?token={b1}")),
        )
        .await;
        assert!(raw.head().await.starts_with("HTTP/1.1 101"));
        assert_eq!(raw.event().await["type"], "online_users");
        raw
    }

    /// Reads more; `false` at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(EVENT_TIMEOUT, self.tcp.read(&mut chunk))
            .await
            .expect("nothing arrived in time")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The answer's head (status line and headers).
    async fn head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                self.buf.drain(..end + 4);
                return head;
            }
            assert!(self.fill().await, "the stream ended inside the head");
        }
    }

    /// Everything until the server closes the connection.
    async fn rest(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }

    /// The next server frame: opcode and payload (servers do not mask).
    async fn frame(&mut self) -> (u8, Vec<u8>) {
        loop {
            if self.buf.len() >= 2 {
                let (opcode, len) = (self.buf[0] & 0x0f, self.buf[1] & 0x7f);
                let (len, start) = match len {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && self.buf.len() >= start + len {
                    let payload = self.buf[start..start + len].to_vec();
                    self.buf.drain(..start + len);
                    return (opcode, payload);
                }
            }
            assert!(self.fill().await, "the stream ended inside a frame");
        }
    }

    /// The next text frame's JSON, skipping pings.
    async fn event(&mut self) -> Value {
        loop {
            let (opcode, payload) = self.frame().await;
            match opcode {
                TEXT => return serde_json::from_slice(&payload).unwrap(),
                0x9 => continue,
                other => panic!("opcode {other}: {payload:?}"),
            }
        }
    }

    /// The server's close frame: code and reason.
    async fn close_frame(&mut self) -> (u16, String) {
        loop {
            let (opcode, payload) = self.frame().await;
            if opcode == CLOSE {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return (code, String::from_utf8(payload[2..].to_vec()).unwrap());
            }
        }
    }
}

#[actix_web::test]
async fn a_frame_sent_along_with_the_handshake_is_served() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let mut first = handshake(app.port, &format!("/ws/b1?token={b1}"));
    first.extend(frame(TEXT, true, br#"{"type":"ping"}"#));
    let mut raw = Raw::open(app.port, &first).await;
    let head = raw.head().await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_lowercase().contains("upgrade: websocket"), "{head}");
    assert_eq!(raw.event().await["type"], "online_users");
    assert_eq!(raw.event().await["type"], "pong");
}

#[actix_web::test]
async fn fragments_are_joined_and_their_total_counts_against_the_frame_limit() {
    let app = spawn_app().await;
    let mut raw = Raw::socket_of_b1(&app).await;

    let mut ping = frame(TEXT, false, br#"{"type":"#);
    ping.extend(frame(CONTINUATION, false, br#""pi"#));
    ping.extend(frame(CONTINUATION, true, br#"ng"}"#));
    raw.tcp.write_all(&ping).await.unwrap();
    assert_eq!(raw.event().await["type"], "pong");

    // Two fragments of 40 KiB each: each is under 64 KiB, the message is not.
    let part = vec![b' '; 40 * 1024];
    let mut big = frame(TEXT, false, &part);
    big.extend(frame(CONTINUATION, true, &part));
    raw.tcp.write_all(&big).await.unwrap();
    let (code, reason) = raw.close_frame().await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("65536"), "{reason}");
}

#[actix_web::test]
async fn a_clients_close_is_answered_and_the_connection_ends() {
    let app = spawn_app().await;
    let mut raw = Raw::socket_of_b1(&app).await;
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    raw.tcp
        .write_all(&frame(CLOSE, true, &payload))
        .await
        .unwrap();
    let (code, reason) = raw.close_frame().await;
    assert_eq!((code, reason.as_str()), (1000, "bye"));
    assert!(raw.rest().await.is_empty(), "nothing after the close");
    // The socket left the hub before its close was answered.
    assert!(!app.hub.is_online("b1").await.unwrap());
}

#[actix_web::test]
async fn another_path_asking_for_an_upgrade_is_answered_then_closed() {
    let app = spawn_app().await;
    let mut raw = Raw::open(app.port, &handshake(app.port, "/health")).await;
    let head = raw.head().await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("connection: close"), "{head}");
    let body: Value = serde_json::from_slice(&raw.rest().await).unwrap();
    assert_eq!(body["status"], "ok", "{body}");

    // A handshake on /ws that fails is answered the same way.
    let mut raw = Raw::open(
        app.port,
        b"GET /ws/b1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    )
    .await;
    let head = raw.head().await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    raw.rest().await;
}
