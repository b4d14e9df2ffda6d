//! `revoke-api-key ID`: revokes an API key; it stops working at once.

use livechat_server::admin_tools::revoke_api_key;
use livechat_server::startup::open_db;
use livechat_server::Settings;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 1 || args[0].starts_with('-') {
        eprintln!("usage: revoke-api-key <key id>   (the 16 hex digits after `lck_`)");
        return std::process::ExitCode::from(2);
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("revoke-api-key: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let db = match open_db(&settings) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("revoke-api-key: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let done = revoke_api_key(&db, &args[0]);
    // Before exiting: see `Db::close`.
    db.close();
    match done {
        Ok(row) => {
            println!(
                "API 密钥已吊销 / API key revoked: {} ({})",
                row.name, row.id
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("revoke-api-key: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
