//! A WebSocket on the connection's own TCP stream, once the upgrade is
//! answered (see [`crate::serve`]): frames are decoded from a read buffer
//! and encoded into a write buffer that exist only while bytes pass, so an
//! idle socket holds no buffer at all (actix-http's HTTP/1 dispatcher keeps
//! two of 8 KiB for a connection's whole life).
//!
//! Frames over the size limit close the socket with a protocol error
//! before their payload is read; continuation frames are joined under the
//! same limit. Every method is cancel safe: a read or write raced in a
//! `select!` loses nothing, and a frame half written when its write was
//! abandoned is finished before the next one.

use std::io;

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, Item, OpCode, Parser, ProtocolError};
use actix_web::rt::net::TcpStream;
use actix_web::web::{Buf, Bytes, BytesMut};
use futures_util::future::LocalBoxFuture;
use tokio::io::AsyncWriteExt;

/// Bytes asked of the kernel per read: most client frames (pings,
/// typing, call signals) fit in one.
const READ_CHUNK: usize = 4096;

/// One message from the client, continuations joined.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text frame (valid UTF-8).
    Text(String),
    /// A binary frame (its bytes are not kept: the protocol has none).
    Binary,
    /// A ping, with its payload to send back.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client's close frame.
    Close(Option<CloseReason>),
}

/// A continuation in progress: its kind, its parts and their size.
struct Continuation {
    text: bool,
    parts: Vec<Bytes>,
    size: usize,
}

/// A server-side WebSocket on a TCP stream.
pub struct WebSocket {
    io: TcpStream,
    codec: Codec,
    max_size: usize,
    /// Received bytes not yet decoded; unallocated while empty.
    read_buf: BytesMut,
    /// Encoded bytes not yet written; unallocated while empty.
    out: BytesMut,
    continuation: Option<Continuation>,
    eof: bool,
}

/// What the upgrade path runs once the 101 is written: the socket's task,
/// handed the WebSocket. A handler that accepts an upgrade puts it in its
/// response's extensions (see [`crate::serve`]).
pub struct SocketTask(Box<dyn FnOnce(WebSocket) -> LocalBoxFuture<'static, ()>>);

impl SocketTask {
    /// The task `run` makes of the socket.
    pub fn new(run: impl FnOnce(WebSocket) -> LocalBoxFuture<'static, ()> + 'static) -> Self {
        Self(Box::new(run))
    }

    /// Starts the task on this worker's runtime.
    pub fn spawn(self, socket: WebSocket) {
        actix_web::rt::spawn((self.0)(socket));
    }
}

/// Set on a request that reached the application through the upgrade
/// path, which can run a [`SocketTask`]; a WebSocket handler refuses the
/// handshake without it.
#[derive(Debug, Clone, Copy)]
pub struct Upgradable;

impl WebSocket {
    /// A socket on `io`, whose client frames are at most `max_size` bytes
    /// (also when joined from continuations); `received` holds what the
    /// client sent after its handshake, already read from the stream.
    pub fn new(io: TcpStream, received: BytesMut, max_size: usize) -> Self {
        Self {
            io,
            codec: Codec::new().max_size(max_size),
            max_size,
            read_buf: received,
            out: BytesMut::new(),
            continuation: None,
            eof: false,
        }
    }

    /// The next message; `None` once the client has closed the stream.
    /// Cancel safe.
    pub async fn recv(&mut self) -> Option<Result<Incoming, ProtocolError>> {
        loop {
            match self.decode() {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
            if self.eof {
                return None;
            }
            if let Err(e) = self.read_ready().await {
                return Some(Err(ProtocolError::Io(e)));
            }
            self.read_buf.reserve(READ_CHUNK);
            match self.io.try_read_buf(&mut self.read_buf) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Some(Err(ProtocolError::Io(e))),
            }
        }
    }

    /// Waits until the stream can be read. Through the stream's own waker
    /// slot, not `readable()`: that slot still holds the waker of the HTTP
    /// connection's task that read the handshake, which would otherwise
    /// keep that finished task's memory allocated for the socket's life.
    async fn read_ready(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.io.poll_read_ready(cx)).await
    }

    /// Decodes one message from what was read, if a whole one is there;
    /// gives the read buffer back once it is empty.
    fn decode(&mut self) -> Result<Option<Incoming>, ProtocolError> {
        loop {
            if self.read_buf.is_empty() {
                if self.read_buf.capacity() > 0 {
                    self.read_buf = BytesMut::new();
                }
                return Ok(None);
            }
            let Some(frame) = self.codec.decode(&mut self.read_buf)? else {
                return Ok(None);
            };
            if self.read_buf.is_empty() {
                self.read_buf = BytesMut::new();
            }
            let message = match frame {
                Frame::Text(bytes) => Incoming::Text(utf8(bytes)?),
                Frame::Binary(_) => Incoming::Binary,
                Frame::Ping(bytes) => Incoming::Ping(bytes),
                Frame::Pong(_) => Incoming::Pong,
                Frame::Close(reason) => Incoming::Close(reason),
                Frame::Continuation(item) => match self.join(item)? {
                    Some(message) => message,
                    None => continue,
                },
            };
            return Ok(Some(message));
        }
    }

    /// Adds a continuation frame; answers the joined message after the last.
    fn join(&mut self, item: Item) -> Result<Option<Incoming>, ProtocolError> {
        let (first, bytes, last) = match item {
            Item::FirstText(b) => (Some(true), b, false),
            Item::FirstBinary(b) => (Some(false), b, false),
            Item::Continue(b) => (None, b, false),
            Item::Last(b) => (None, b, true),
        };
        let continuation = match (first, self.continuation.as_mut()) {
            (Some(text), _) => self.continuation.insert(Continuation {
                text,
                parts: Vec::new(),
                size: 0,
            }),
            (None, Some(c)) => c,
            // The codec refuses a continuation that was not started.
            (None, None) => return Err(ProtocolError::ContinuationNotStarted),
        };
        continuation.size += bytes.len();
        if continuation.size > self.max_size {
            self.continuation = None;
            return Err(ProtocolError::Overflow);
        }
        continuation.parts.push(bytes);
        if !last {
            return Ok(None);
        }
        let Some(done) = self.continuation.take() else {
            return Ok(None);
        };
        if !done.text {
            return Ok(Some(Incoming::Binary));
        }
        let mut joined = BytesMut::with_capacity(done.size);
        for part in done.parts {
            joined.extend_from_slice(&part);
        }
        Ok(Some(Incoming::Text(utf8(joined.freeze())?)))
    }

    /// Writes a text frame.
    pub async fn text(&mut self, text: &str) -> io::Result<()> {
        Parser::write_message(&mut self.out, text, OpCode::Text, true, false);
        self.flush().await
    }

    /// Writes a ping frame.
    pub async fn ping(&mut self, payload: &[u8]) -> io::Result<()> {
        Parser::write_message(&mut self.out, payload, OpCode::Ping, true, false);
        self.flush().await
    }

    /// Writes a pong frame.
    pub async fn pong(&mut self, payload: &[u8]) -> io::Result<()> {
        Parser::write_message(&mut self.out, payload, OpCode::Pong, true, false);
        self.flush().await
    }

    /// Writes what is encoded; cancel safe (what is left stays queued and
    /// goes first next time), and gives the buffer back once all is written.
    async fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            let n = self.io.write(&self.out).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.out.advance(n);
        }
        self.out = BytesMut::new();
        Ok(())
    }

    /// Sends a close frame (after what is still queued), ends the sending
    /// side, then reads and drops what the client still sends until it
    /// closes too (its answer to the close), so the connection ends with
    /// both closes delivered rather than a reset. A client that stopped
    /// reading or never closes holds it: bound it with a timeout.
    pub async fn close(mut self, reason: Option<CloseReason>) {
        Parser::write_close(&mut self.out, reason, false);
        if self.flush().await.is_err() || self.io.shutdown().await.is_err() {
            return;
        }
        let mut sink = std::mem::take(&mut self.read_buf);
        loop {
            if self.read_ready().await.is_err() {
                return;
            }
            sink.clear();
            sink.reserve(READ_CHUNK);
            match self.io.try_read_buf(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

/// A text payload as a string; invalid UTF-8 is a protocol error.
fn utf8(bytes: Bytes) -> Result<String, ProtocolError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|e| ProtocolError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use actix_web::rt::net::TcpListener;
    use tokio::io::AsyncReadExt;

    use super::*;

    /// A server-side socket and the client's end of its stream.
    async fn pair() -> (WebSocket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (WebSocket::new(server, BytesMut::new(), 1024), client)
    }

    /// A masked client frame.
    fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        Parser::write_message(&mut out, payload, opcode, fin, true);
        out.to_vec()
    }

    #[actix_web::test]
    async fn an_idle_socket_holds_no_buffer() {
        let (mut ws, mut client) = pair().await;
        assert_eq!((ws.read_buf.capacity(), ws.out.capacity()), (0, 0));
        client
            .write_all(&client_frame(OpCode::Text, true, b"hello"))
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Incoming::Text("hello".into())
        );
        ws.text("world").await.unwrap();
        let mut answer = [0u8; 7];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"\x81\x05world");
        assert_eq!((ws.read_buf.capacity(), ws.out.capacity()), (0, 0));
    }

    #[actix_web::test]
    async fn frames_over_the_limit_are_refused_whole_or_joined() {
        let (mut ws, mut client) = pair().await;
        client
            .write_all(&client_frame(OpCode::Text, true, &[b'a'; 1025]))
            .await
            .unwrap();
        assert!(matches!(
            ws.recv().await,
            Some(Err(ProtocolError::Overflow))
        ));

        let (mut ws, mut client) = pair().await;
        let mut parts = client_frame(OpCode::Text, false, &[b'a'; 600]);
        parts.extend(client_frame(OpCode::Continue, true, &[b'a'; 600]));
        client.write_all(&parts).await.unwrap();
        assert!(matches!(
            ws.recv().await,
            Some(Err(ProtocolError::Overflow))
        ));
    }

    #[actix_web::test]
    async fn the_end_of_the_stream_ends_the_messages() {
        let (mut ws, mut client) = pair().await;
        let mut bytes = client_frame(OpCode::Text, false, b"a");
        bytes.extend(client_frame(OpCode::Continue, true, b"b"));
        bytes.extend(client_frame(OpCode::Binary, true, b"c"));
        client.write_all(&bytes).await.unwrap();
        client.shutdown().await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Incoming::Text("ab".into())
        );
        assert_eq!(ws.recv().await.unwrap().unwrap(), Incoming::Binary);
        assert!(ws.recv().await.is_none());
    }
}
