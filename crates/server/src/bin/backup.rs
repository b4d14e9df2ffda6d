//! `backup <file>`: a consistent copy of the SQLite database, safe while
//! the server runs. (On PostgreSQL, use `pg_dump`: docs/deployment.md.)

use livechat_server::startup::open_db;
use livechat_server::Settings;
use livechat_store::backup::backup;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 1 || args[0] == "-h" || args[0] == "--help" {
        eprintln!(
            "usage: backup <file>   (copies the database named by DATABASE_URL / database.url)"
        );
        return std::process::ExitCode::from(2);
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("backup: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if settings.database.url.starts_with("postgres") {
        eprintln!(
            "backup: this copies SQLite databases; for PostgreSQL use pg_dump (docs/deployment.md)"
        );
        return std::process::ExitCode::from(2);
    }
    let db = match open_db(&settings) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("backup: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let done = backup(&db, std::path::Path::new(&args[0]));
    // Before exiting: see `Db::close`.
    db.close();
    match done {
        Ok(report) => {
            println!(
                "backup: wrote {} ({} bytes: {} users, {} messages), integrity ok",
                report.path.display(),
                report.bytes,
                report.users,
                report.messages
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backup: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
