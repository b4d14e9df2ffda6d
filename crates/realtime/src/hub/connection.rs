//! One socket's queue: the socket task's end ([`Connection`]) and the hub's
//! end ([`Socket`]), with the out-of-band close signal that runs beside it.

use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

/// One item of a socket's outbound queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A JSON text frame to write as is.
    Frame(Arc<str>),
    /// Close the WebSocket with this code and reason, then end the socket
    /// task. Nothing follows it.
    Close {
        /// WebSocket close code (1001, 1008, 4403…).
        code: u16,
        /// Human-readable reason, sent in the close frame.
        reason: String,
    },
}

/// What the out-of-band close signal carries: the close code and reason.
type CloseRequest = (u16, String);

/// One registered socket, as handed to its socket task.
///
/// Read it with [`Connection::recv`], which yields queued frames and, first
/// of all, a close request from the hub. While writing a frame to a slow
/// client, race the write against [`Connection::closed`] so that a close
/// request is not stuck behind it. When the socket ends for any reason, call
/// [`HubHandle::disconnect`] with [`Connection::id`] (the hub also notices
/// abandoned queues on its own, within [`PING_INTERVAL`], as a safety net).
///
/// `rx` is public for tasks that prefer to read the queue directly: the hub
/// always puts the final [`Outbound::Close`] in it as well (a slot is
/// reserved for it), only later than the out-of-band signal.
///
/// [`HubHandle::disconnect`]: super::HubHandle::disconnect
/// [`PING_INTERVAL`]: crate::PING_INTERVAL
#[derive(Debug)]
pub struct Connection {
    /// This socket's id, unique for the hub's lifetime.
    pub id: u64,
    /// The socket's outbound queue. Ends (`None`) once the hub has dropped
    /// the socket.
    pub rx: mpsc::Receiver<Outbound>,
    signal: CloseSignal,
}

/// State of a connection's out-of-band close signal.
#[derive(Debug)]
enum CloseSignal {
    /// Not fired yet.
    Armed(oneshot::Receiver<CloseRequest>),
    /// The hub asked to close; the socket is done.
    Fired,
    /// The hub dropped the signal without firing it (the socket was removed
    /// by `disconnect`, or the hub stopped): only the queue is left.
    Gone,
}

/// What a `Connection::recv` race produced.
enum Step {
    Signal(Result<CloseRequest, oneshot::error::RecvError>),
    Queue(Option<Outbound>),
}

impl Connection {
    /// The next item for this socket: a close request first if the hub made
    /// one, otherwise the next queued frame, waiting for one if needed.
    ///
    /// After an [`Outbound::Close`] it returns `None`, as it does once the
    /// hub has dropped the socket. Cancel safe: usable in `select!`.
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            let step = match &mut self.signal {
                CloseSignal::Fired => return None,
                CloseSignal::Gone => Step::Queue(self.rx.recv().await),
                CloseSignal::Armed(signal) => {
                    tokio::select! {
                        biased;
                        fired = signal => Step::Signal(fired),
                        item = self.rx.recv() => Step::Queue(item),
                    }
                }
            };
            match step {
                Step::Signal(Ok((code, reason))) => {
                    self.signal = CloseSignal::Fired;
                    return Some(Outbound::Close { code, reason });
                }
                Step::Signal(Err(_)) => self.signal = CloseSignal::Gone,
                Step::Queue(item) => {
                    if matches!(item, Some(Outbound::Close { .. })) {
                        self.signal = CloseSignal::Fired;
                    }
                    return item;
                }
            }
        }
    }

    /// Resolves with `(code, reason)` when the hub asks to close this socket
    /// (queue overflow, [`HubHandle::close_user`], shutdown). Never resolves
    /// if it never asks, nor after it has already resolved or
    /// [`Connection::recv`] has returned the close. Cancel safe.
    ///
    /// Use it to abandon a write that is blocked on a client that stopped
    /// reading:
    ///
    /// ```text
    /// tokio::select! {
    ///     biased;
    ///     (code, reason) = conn.closed() => { /* close with code, end */ }
    ///     sent = session.text(&*frame) => { /* go on */ }
    /// }
    /// ```
    ///
    /// [`HubHandle::close_user`]: super::HubHandle::close_user
    pub async fn closed(&mut self) -> (u16, String) {
        if let CloseSignal::Armed(signal) = &mut self.signal {
            match signal.await {
                Ok(close) => {
                    self.signal = CloseSignal::Fired;
                    return close;
                }
                Err(_) => self.signal = CloseSignal::Gone,
            }
        }
        std::future::pending().await
    }
}

/// The hub's side of one socket.
pub(super) struct Socket {
    /// The id its [`Connection`] carries.
    pub(super) id: u64,
    tx: mpsc::Sender<Outbound>,
    /// The slot reserved for the final in-band `Close`.
    reserved: Option<mpsc::OwnedPermit<Outbound>>,
    /// The out-of-band close signal.
    signal: oneshot::Sender<CloseRequest>,
}

/// Opens socket `id`: a queue of `capacity` frames (the hub keeps it at
/// least 1, so the first frame always fits), plus one slot reserved at once
/// for the final `Close`, and the close signal beside it. Returns the hub's
/// end and the socket task's.
pub(super) fn open(id: u64, capacity: usize) -> (Socket, Connection) {
    let (tx, rx) = mpsc::channel(capacity + 1);
    // A fresh queue with a live receiver always has a free slot, so this
    // is `Some`.
    let reserved = tx.clone().try_reserve_owned().ok();
    let (signal, signal_rx) = oneshot::channel();
    let socket = Socket {
        id,
        tx,
        reserved,
        signal,
    };
    let conn = Connection {
        id,
        rx,
        signal: CloseSignal::Armed(signal_rx),
    };
    (socket, conn)
}

impl Socket {
    /// Queues `frame` without waiting; fails when the queue is full or its
    /// [`Connection`] was dropped.
    pub(super) fn try_send(&self, frame: &Arc<str>) -> Result<(), TrySendError<Outbound>> {
        self.tx.try_send(Outbound::Frame(Arc::clone(frame)))
    }

    /// Whether the socket task dropped its [`Connection`].
    pub(super) fn is_abandoned(&self) -> bool {
        self.tx.is_closed()
    }

    /// Asks the socket task to close, both out of band and in band.
    pub(super) fn close(self, code: u16, reason: &str) {
        // Fails only if the task already dropped its `Connection`.
        let _ = self.signal.send((code, reason.to_owned()));
        if let Some(slot) = self.reserved {
            let _sender = slot.send(Outbound::Close {
                code,
                reason: reason.to_owned(),
            });
        }
    }
}
