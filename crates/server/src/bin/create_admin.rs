//! `create-admin [<id> <username> <password>]`: creates an administrator,
//! asking for anything not given (the password without echo).

use std::io::{BufRead, Write};

use livechat_server::admin_tools::create_admin;
use livechat_server::startup::open_db;
use livechat_server::Settings;

fn ask(prompt: &str) -> String {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().to_string()
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") || !(args.is_empty() || args.len() == 3) {
        eprintln!("usage: create-admin <id> <username> <password>\n       create-admin            (asks for each)");
        return std::process::ExitCode::from(2);
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("create-admin: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let (id, username, password) = if args.len() == 3 {
        (args[0].clone(), args[1].clone(), args[2].clone())
    } else {
        println!("创建管理员账号 / Create an administrator");
        let id = ask("用户ID / id: ");
        let username = ask("用户名 / username: ");
        let password = match rpassword::prompt_password("密码 / password: ") {
            Ok(p) => p,
            Err(e) => {
                eprintln!("create-admin: cannot read the password: {e}");
                return std::process::ExitCode::from(1);
            }
        };
        let again = rpassword::prompt_password("再次输入 / repeat: ").unwrap_or_default();
        if again != password {
            eprintln!("create-admin: the passwords differ");
            return std::process::ExitCode::from(1);
        }
        (id, username, password)
    };
    let db = match open_db(&settings) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("create-admin: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let done = create_admin(&db, &id, &username, &password, settings.auth.bcrypt_cost);
    // Before exiting: see `Db::close`.
    db.close();
    match done {
        Ok(user) => {
            println!(
                "管理员账号创建成功 / administrator created: {} ({})",
                user.username, user.id
            );
            println!(
                "登录 / log in at {}/login",
                settings.server.base_url.trim_end_matches('/')
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("create-admin: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
