//! The HTTP face of livechat: the actix-web application with its routes,
//! auth extractors, error mapping, WebSocket endpoint, `/media`, OpenAPI
//! document and the built web app.

pub mod app;
pub mod auth;
pub mod body_deadline;
pub mod calls;
pub mod client_addr;
pub mod dto;
pub mod error;
pub mod events;
pub mod json;
pub mod limiter;
pub mod media;
pub mod methods;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod settings;
pub mod sockets;
pub mod spa;
pub mod state;
pub mod uploads;
pub mod user_cache;
pub mod webhooks;
pub mod websocket;
pub mod ws;

pub use app::build;
pub use error::ApiError;
/// Re-exported so the server can name JWT algorithms without its own dependency.
pub use jsonwebtoken::Algorithm;
pub use settings::{CallSettings, ChatIdentity, HttpSettings, Limits, WebhookSettings};
pub use state::{AppState, Realtime};
