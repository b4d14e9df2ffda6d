//! The livechat server: settings, start-up wiring and graceful shutdown,
//! shared by the `livechat-server`, `create-admin` and `change-password`
//! binaries and by the integration tests.

pub mod admin_tools;
pub mod settings;
pub mod startup;

pub use settings::Settings;
pub use startup::Application;
