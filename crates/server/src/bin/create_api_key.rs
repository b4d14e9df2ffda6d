//! `create-api-key NAME --scopes users:write,orders:write`: makes an API
//! key for a marketplace's server and prints it once.

use livechat_server::admin_tools::create_api_key;
use livechat_server::startup::open_db;
use livechat_server::Settings;

const USAGE: &str = "usage: create-api-key <name> --scopes <scope>[,<scope>…]\n\
    scopes: users:write, orders:write, sessions:write, messages:read";

/// The name and the scope list, from `NAME --scopes a,b` or `--scopes=a,b` in any order.
fn parse_args(args: &[String]) -> Option<(String, String)> {
    let mut name = None;
    let mut scopes = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--scopes" {
            scopes = Some(it.next()?.clone());
        } else if let Some(list) = arg.strip_prefix("--scopes=") {
            scopes = Some(list.to_string());
        } else if arg.starts_with("--") || name.is_some() {
            return None;
        } else {
            name = Some(arg.clone());
        }
    }
    Some((name?, scopes?))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return std::process::ExitCode::SUCCESS;
    }
    let Some((name, scopes)) = parse_args(&args) else {
        eprintln!("{USAGE}");
        return std::process::ExitCode::from(2);
    };
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("create-api-key: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let db = match open_db(&settings) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("create-api-key: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let done = create_api_key(&db, &name, &scopes);
    // Before exiting: see `Db::close`.
    db.close();
    match done {
        Ok((row, key)) => {
            println!(
                "API 密钥已创建 / API key created: {} ({}), scopes {}",
                row.name,
                row.id,
                row.scopes.to_list()
            );
            println!("{key}");
            println!("请立即保存，它不会再次显示 / store it now: it will not be shown again");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("create-api-key: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
