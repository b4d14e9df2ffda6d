//! Request bodies must keep arriving: a client that announces a body and
//! then stalls would otherwise hold its connection (and a worker's buffer)
//! forever, since actix only times out the headers.
//!
//! Every body must be complete within `server.body_timeout_secs` of the
//! request's headers. An upload (`/api/upload/…`) gets that much time plus
//! one second per `limits.upload_min_bytes_per_sec` bytes received, so a
//! large file on a slow but moving link finishes while a stalled one is cut
//! off. A body past its deadline ends the request with 408
//! (`request_timeout`) and the connection is closed; the log says why.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, ResponseError};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;
use crate::state::AppState;

/// How long a body may take.
#[derive(Debug, Clone, Copy)]
struct Rule {
    /// Time for the whole body (an upload: before its allowance for bytes).
    base: Duration,
    /// An upload: bytes per second that buy one more second each.
    min_rate: Option<u64>,
}

/// A request body that fails once its deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    started: Instant,
    received: u64,
    rule: Rule,
    expired: Arc<AtomicBool>,
    finished: bool,
}

impl Deadline {
    fn new(inner: Payload, rule: Rule, expired: Arc<AtomicBool>) -> Self {
        let started = Instant::now();
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep_until(started + rule.base)),
            started,
            received: 0,
            rule,
            expired,
            finished: false,
        }
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                if let Some(rate) = this.rule.min_rate {
                    let allowance = Duration::from_secs_f64(this.received as f64 / rate as f64);
                    let deadline = this.started + this.rule.base + allowance;
                    this.sleep.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                this.finished = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.finished = true;
                    this.expired.store(true, Ordering::Relaxed);
                    let secs = this.started.elapsed().as_secs_f64();
                    tracing::warn!(
                        received = this.received,
                        secs,
                        "request body too slow: closing the connection (server.body_timeout_secs, limits.upload_min_bytes_per_sec)"
                    );
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Whether the request announces a body.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let length = headers
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0)
        || headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
}

/// Puts the deadline on the request's body, and answers 408 (closing the
/// connection) when it passed, whatever the handler made of the failed read.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|_| has_body(&req)) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let upload = req.path().starts_with("/api/upload/");
    let rule = Rule {
        base: state.settings.body_timeout,
        min_rate: upload.then_some(state.settings.limits.upload_min_bytes_per_sec.max(1)),
    };
    let expired = Arc::new(AtomicBool::new(false));
    let payload = req.parts_mut().1.take();
    req.set_payload(Payload::Stream {
        payload: Box::pin(Deadline::new(payload, rule, expired.clone())),
    });
    let answer = next.call(req).await;
    if !expired.load(Ordering::Relaxed) {
        return Ok(answer?.map_into_boxed_body());
    }
    let detail = if upload {
        format!(
            "the upload arrived slower than {} bytes per second; send it again",
            state.settings.limits.upload_min_bytes_per_sec
        )
    } else {
        format!(
            "the request body did not arrive within {} s",
            state.settings.body_timeout.as_secs()
        )
    };
    let error = ApiError::RequestTimeout(detail);
    let mut res: HttpResponse = error.error_response();
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    // A handler's error is an answer already; only a middleware's is not.
    match answer {
        Ok(answered) => Ok(answered.into_response(res)),
        Err(_) => Err(error.into()),
    }
}
