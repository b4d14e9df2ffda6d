//! `change-password [<id> <new password>]`: sets an administrator's
//! password, asking for anything not given (the password without echo).

use std::io::{BufRead, Write};

use livechat_server::admin_tools::change_password;
use livechat_server::startup::open_db;
use livechat_server::Settings;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") || !(args.is_empty() || args.len() == 2) {
        eprintln!("usage: change-password <id> <new password>\n       change-password          (asks for each)");
        return std::process::ExitCode::from(2);
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("change-password: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let (id, password) = if args.len() == 2 {
        (args[0].clone(), args[1].clone())
    } else {
        print!("用户ID / id: ");
        let _ = std::io::stdout().flush();
        let mut id = String::new();
        let _ = std::io::stdin().lock().read_line(&mut id);
        let password = match rpassword::prompt_password("新密码 / new password: ") {
            Ok(p) => p,
            Err(e) => {
                eprintln!("change-password: cannot read the password: {e}");
                return std::process::ExitCode::from(1);
            }
        };
        let again = rpassword::prompt_password("再次输入 / repeat: ").unwrap_or_default();
        if again != password {
            eprintln!("change-password: the passwords differ");
            return std::process::ExitCode::from(1);
        }
        (id.trim().to_string(), password)
    };
    let db = match open_db(&settings) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("change-password: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let done = change_password(&db, &id, &password, settings.auth.bcrypt_cost);
    // Before exiting: see `Db::close`.
    db.close();
    match done {
        Ok(user) => {
            println!(
                "密码已修改 / password changed for {} ({})",
                user.username, user.id
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("change-password: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
