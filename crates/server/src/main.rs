//! `livechat-server`: serves the API, the WebSocket, media and the web app.

use livechat_server::startup::{shutdown_signal, Application};
use livechat_server::Settings;

fn init_tracing(level: &str, sql: bool, json: bool) {
    let mut filter = level.to_string();
    if sql {
        filter.push_str(",livechat_store=trace");
    }
    let filter = std::env::var("RUST_LOG").unwrap_or(filter);
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        // One JSON object per line, with the request's or socket's span
        // fields (request_id, user) on every event, for log collectors.
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("livechat-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_tracing(
        &settings.log.level,
        settings.log.sql,
        settings.log.format == "json",
    );
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
        eprintln!("livechat-server: warning: {warning}");
    }
    let app = match Application::build(&settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("livechat-server: cannot start: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    // Printed on standard output as well, so scripts can wait for it
    // whatever the log level. Not with `println!`: that panics once the
    // reader of the pipe has gone (`livechat-server | head -4`), and a
    // closed log pipe must neither stop the server nor its shutdown.
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stdout(),
            "livechat listening on http://{}:{} ({})",
            settings.server.host,
            app.port(),
            settings.env
        );
    }
    let stopper = app.stopper();
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: closing sockets, finishing requests");
        stopper.stop().await;
    });
    match app.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livechat-server: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
