//! The shipped binaries as a person runs them: `create-admin`,
//! `change-password`, `backup`, `migrate-data` and `livechat-server`
//! (start-up checks, logs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, bin: &str) -> Command {
        let mut c = Command::new(bin);
        c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LIVECHAT_ENV", "test")
            .env("DATABASE_URL", self.dir.path().join("cli.db"))
            .env("MEDIA_DIR", self.dir.path().join("media"))
            .stdin(Stdio::null());
        c
    }

    fn run(&self, bin: &str, args: &[&str]) -> (i32, String) {
        let (status, text) = output(self.command(bin).args(args));
        (status.code().unwrap_or(-1), text)
    }
}

/// Runs `command` to its end: its status, and its standard output then
/// its standard error.
fn output(command: &mut Command) -> (std::process::ExitStatus, String) {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

const CREATE_ADMIN: &str = env!("CARGO_BIN_EXE_create-admin");
const CHANGE_PASSWORD: &str = env!("CARGO_BIN_EXE_change-password");
const SERVER: &str = env!("CARGO_BIN_EXE_livechat-server");
const BACKUP: &str = env!("CARGO_BIN_EXE_backup");
const MIGRATE_DATA: &str = env!("CARGO_BIN_EXE_migrate-data");
const CREATE_API_KEY: &str = env!("CARGO_BIN_EXE_create-api-key");
const REVOKE_API_KEY: &str = env!("CARGO_BIN_EXE_revoke-api-key");

#[test]
fn create_admin_and_change_password_say_what_went_wrong() {
    let env = Env::new();
    let (code, out) = env.run(CREATE_ADMIN, &["a1", "admin", "admin123"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("admin (a1)"), "{out}");
    let (code, out) = env.run(CREATE_ADMIN, &["a1", "other", "admin123"]);
    assert_ne!(code, 0);
    assert!(out.contains("user id `a1` is taken"), "{out}");
    let (code, out) = env.run(CREATE_ADMIN, &["a2", "admin", "admin123"]);
    assert_ne!(code, 0);
    assert!(out.contains("username `admin` is taken"), "{out}");
    let (code, out) = env.run(CREATE_ADMIN, &["a3", "short", "123"]);
    assert_ne!(code, 0);
    assert!(out.contains("at least 6"), "{out}");
    let (code, out) = env.run(CREATE_ADMIN, &["only-one-arg"]);
    assert_eq!(code, 2);
    assert!(out.contains("usage"), "{out}");
    let (code, out) = env.run(CHANGE_PASSWORD, &["a1", "newpass123"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = env.run(CHANGE_PASSWORD, &["ghost", "newpass123"]);
    assert_ne!(code, 0);
    assert!(out.contains("no user `ghost`"), "{out}");
    // The new password is the one stored.
    let db = livechat_store::Db::open(env.dir.path().join("cli.db").to_str().unwrap(), 1).unwrap();
    let user = db
        .read_blocking(|c| livechat_store::users::get(c, "a1"))
        .unwrap()
        .unwrap();
    assert!(livechat_http::auth::verify_password(
        "newpass123",
        user.password_hash.as_deref().unwrap()
    ));
    assert!(!livechat_http::auth::verify_password(
        "admin123",
        user.password_hash.as_deref().unwrap()
    ));
}

#[test]
fn api_keys_are_printed_once_and_revoked_from_the_command_line() {
    let env = Env::new();
    let (code, out) = env.run(
        CREATE_API_KEY,
        &["shop backend", "--scopes", "users:write,orders:write"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("will not be shown again"), "{out}");
    let key = out
        .split_whitespace()
        .find(|w| w.starts_with("lck_"))
        .expect("the key is printed")
        .to_string();
    let presented = livechat_domain::api_keys::PresentedKey::parse(&key).unwrap();
    let db = livechat_store::Db::open(env.dir.path().join("cli.db").to_str().unwrap(), 1).unwrap();
    let id = presented.id.clone();
    let stored = db
        .read_blocking(move |c| livechat_store::api_keys::get(c, &id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "shop backend");
    assert_eq!(stored.scopes.to_list(), "users:write,orders:write");
    assert!(
        presented.matches(&stored.secret_hash),
        "only the hash is stored"
    );
    assert!(!stored.secret_hash.contains(&presented.secret));

    let (code, out) = env.run(CREATE_API_KEY, &["x", "--scopes", "users:write,users:read"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unknown scope `users:read`"), "{out}");
    let (code, out) = env.run(CREATE_API_KEY, &["  ", "--scopes", "users:write"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("name must be 1 to 64"), "{out}");
    let (code, out) = env.run(CREATE_API_KEY, &["no-scopes"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("usage"), "{out}");

    let (code, out) = env.run(REVOKE_API_KEY, &["not-a-key"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("16 lowercase hex digits"), "{out}");
    let (code, out) = env.run(REVOKE_API_KEY, &["ffffffffffffffff"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no API key `ffffffffffffffff`"), "{out}");
    let (code, out) = env.run(REVOKE_API_KEY, &[]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = env.run(REVOKE_API_KEY, &[&presented.id]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("revoked"), "{out}");
    let (code, out) = env.run(REVOKE_API_KEY, &[&presented.id]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("already revoked"), "{out}");
    let id = presented.id.clone();
    let stored = db
        .read_blocking(move |c| livechat_store::api_keys::get(c, &id))
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some());
    let (n, entries) = db
        .read_blocking(|c| {
            livechat_store::audit::list(
                c,
                &livechat_store::audit::AuditFilter::default(),
                livechat_domain::paging::Page::new(None, None, 20).unwrap(),
            )
        })
        .unwrap();
    assert_eq!(n, 2, "one creation and one revocation: {entries:?}");
    assert_eq!(entries[0].action.as_str(), "api_key.revoke");
    assert_eq!(entries[0].actor_id, None, "the command line");
}

#[test]
fn production_refuses_the_default_secret_and_bad_values_name_their_key() {
    let env = Env::new();
    let out = env
        .command(SERVER)
        .env("LIVECHAT_ENV", "production")
        .env("CHAT_SIGNING_SECRET", "x")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.jwt_secret"), "{err}");
    let out = env.command(SERVER).env("PORT", "eighty").output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port"));
    let out = env
        .command(SERVER)
        .env("LIVECHAT_ENV", "production")
        .env("JWT_SECRET_KEY", "a-real-production-secret-of-32-bytes")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auth.chat_signing_secret"),
        "signed mode needs its secret: {err}"
    );
}

const LONG_JWT: &str = "0123456789abcdef0123456789abcdef";
const LONG_SIGNING: &str = "fedcba9876543210fedcba9876543210";

#[test]
fn production_refuses_short_secrets_naming_their_key() {
    let env = Env::new();
    for (jwt, signing, key) in [
        ("a-real-production-secret", LONG_SIGNING, "auth.jwt_secret"),
        (LONG_JWT, "marketplace-secret", "auth.chat_signing_secret"),
    ] {
        let out = env
            .command(SERVER)
            .env("LIVECHAT_ENV", "production")
            .env("JWT_SECRET_KEY", jwt)
            .env("CHAT_SIGNING_SECRET", signing)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{key}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key) && err.contains("32 bytes"), "{err}");
    }
}

#[test]
fn trusted_identity_on_a_network_is_refused_unless_allowed_then_warned() {
    let env = Env::new();
    let out = env
        .command(SERVER)
        .env("LIVECHAT_ENV", "production")
        .env("CHAT_IDENTITY", "trusted")
        .env("JWT_SECRET_KEY", LONG_JWT)
        .env("PORT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.allow_trusted_on_network"), "{err}");
    assert!(err.contains("0.0.0.0"), "names the host: {err}");

    let mut child = env
        .command(SERVER)
        .env("LIVECHAT_ENV", "production")
        .env("CHAT_IDENTITY", "trusted")
        .env("JWT_SECRET_KEY", LONG_JWT)
        .env("LIVECHAT__AUTH__ALLOW_TRUSTED_ON_NETWORK", "true")
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on http://0.0.0.0:"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(listening.is_some(), "allowed explicitly, it starts");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("warning: auth.allow_trusted_on_network"),
        "and says so on start: {err}"
    );
}

fn start(env: &Env) -> (Child, u16, std::thread::JoinHandle<String>) {
    start_with(env, &[])
}

fn start_with(env: &Env, vars: &[(&str, &str)]) -> (Child, u16, std::thread::JoinHandle<String>) {
    spawn_server(env.command(SERVER), vars)
}

/// Starts `command` (the server, perhaps behind a wrapper such as
/// `prlimit`) and reads its port; the rest of its stdout is collected.
fn spawn_server(
    mut command: Command,
    vars: &[(&str, &str)],
) -> (Child, u16, std::thread::JoinHandle<String>) {
    let (child, port, lines, before) = spawn_server_lines(&mut command, vars);
    // Keep draining stdout (where the logs go) so the server never blocks on a full pipe.
    let rest = std::thread::spawn(move || {
        before
            .into_iter()
            .chain(lines.map_while(Result::ok))
            .collect::<Vec<_>>()
            .join("\n")
    });
    (child, port, rest)
}

type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts `command` and reads its stdout up to the line naming the port
/// (those lines are answered too).
fn spawn_server_lines(
    command: &mut Command,
    vars: &[(&str, &str)],
) -> (Child, u16, Lines, Vec<String>) {
    let mut child = command
        .envs(vars.iter().copied())
        .env("PORT", "0")
        .env("SEED_DEMO", "true")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut before = Vec::new();
    let port = loop {
        let line = lines.next().expect("server exited").unwrap();
        before.push(line.clone());
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap();
        }
    };
    (child, port, lines, before)
}

#[test]
fn tokens_never_reach_the_logs() {
    let env = Env::new();
    let (mut child, port, stdout) = start(&env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = rt.block_on(async {
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let session: serde_json::Value = client
            .post(format!("{base}/api/auth/session"))
            .json(&serde_json::json!({"user_id": "b1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = session["access_token"].as_str().unwrap().to_string();
        client
            .get(format!("{base}/api/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        client
            .get(format!("{base}/api/users/?token={token}"))
            .send()
            .await
            .unwrap();
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws/b1?token={token}"))
                .await
                .unwrap();
        use futures_util::StreamExt;
        let first = ws.next().await.unwrap().unwrap();
        assert!(first.to_text().unwrap().contains("online_users"));
        drop(ws);
        token
    });
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    let logs = format!("{}{stderr}", stdout.join().unwrap());
    assert!(
        logs.contains("/ws/b1"),
        "trace logging shows the requests: {logs}"
    );
    let stderr = logs;
    assert!(!stderr.contains(&token), "a token leaked into the logs");
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !stderr.contains(signature),
        "a token's signature leaked into the logs"
    );
}

/// SIGTERM turns the node not-ready at once while it keeps serving for the
/// drain period, so a load balancer can move new clients away first.
#[test]
fn sigterm_turns_the_node_not_ready_while_it_drains() {
    let env = Env::new();
    let (mut child, port, _stdout) = start_with(&env, &[("LIVECHAT__SERVER__DRAIN_SECS", "60")]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let ready = format!("http://127.0.0.1:{port}/ready");
        let first = client.get(&ready).send().await.unwrap();
        assert_eq!(first.status(), 200);
        let body: serde_json::Value = first.json().await.unwrap();
        assert_eq!(body["draining"], false);
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let answer = loop {
            let res = client.get(&ready).send().await.unwrap();
            if res.status() == 503 || std::time::Instant::now() > deadline {
                break res;
            }
            tokio::task::yield_now().await;
        };
        assert_eq!(answer.status(), 503, "not ready once told to stop");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["draining"], true);
        let health = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "still serving while it drains");
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `LOG_FORMAT=json` writes one JSON object per line, and a request's
/// events carry its id.
#[test]
fn json_logs_are_one_object_per_line_with_the_request_id() {
    let env = Env::new();
    let (mut child, port, stdout) =
        start_with(&env, &[("LOG_FORMAT", "json"), ("RUST_LOG", "debug")]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let id = rt.block_on(async {
        let res = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/users/"))
            .header("x-request-id", "trace-me-42")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        res.headers()["x-request-id"].to_str().unwrap().to_string()
    });
    assert_eq!(id, "trace-me-42");
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = stdout.join().unwrap();
    let events: Vec<serde_json::Value> = logs
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!events.is_empty(), "{logs}");
    assert!(
        events
            .iter()
            .any(|e| e["span"]["request_id"] == "trace-me-42" && e["span"]["path"] == "/api/users/"),
        "{logs}"
    );
}

/// `backup` copies the database while the server runs and writes to it;
/// the copy is whole and checked, and no file is ever overwritten.
#[test]
fn backup_copies_a_live_database() {
    let env = Env::new();
    let (mut child, port, _stdout) = start(&env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let (token, conv) = rt.block_on(async {
        let session: serde_json::Value = client
            .post(format!("{base}/api/auth/session"))
            .json(&serde_json::json!({"user_id": "b1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = session["access_token"].as_str().unwrap().to_string();
        let conv: serde_json::Value = client
            .post(format!("{base}/api/conversations/"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"target_id": "m1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (token, conv["id"].as_i64().unwrap())
    });
    // A client is bound to the runtime that made it: each runtime gets its own.
    let say = move |client: reqwest::Client, text: String| {
        let (base, token) = (base.clone(), token.clone());
        async move {
            let res = client
                .post(format!("{base}/api/messages/"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"conversation_id": conv, "message_type": "text", "content": text}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    };
    rt.block_on(async {
        for i in 0..20 {
            say(client.clone(), format!("备份前 {i}")).await;
        }
    });
    let target = env.dir.path().join("copy.db");
    // Writes go on while the copy is made.
    let writer = std::thread::spawn({
        let say = say.clone();
        move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                for i in 0..20 {
                    say(reqwest::Client::new(), format!("备份中 {i}")).await;
                }
            });
        }
    });
    let (code, out) = env.run(BACKUP, &[target.to_str().unwrap()]);
    writer.join().unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("integrity ok"), "{out}");
    let messages: i64 = out
        .split(" users, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(-1);
    assert!(
        (20..=40).contains(&messages),
        "a consistent snapshot: {out}"
    );
    let (code, out) = env.run(BACKUP, &[target.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(out.contains("never overwrites"), "{out}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `migrate-data` names what is wrong with its arguments and exits with
/// the code for it, before touching any database.
#[test]
fn migrate_data_says_what_is_wrong_with_its_arguments() {
    let env = Env::new();
    let db = env.dir.path().join("cli.db");
    let db = db.to_str().unwrap();
    // Never reached: everything before it is refused first.
    let pg = "postgres://nobody@127.0.0.1:1/none";
    let cases: &[(&[&str], i32, &str)] = &[
        (&[], 2, "--from is missing"),
        (&["--from", db], 2, "--to is missing"),
        (&["--from"], 2, "--from needs a value"),
        (
            &["--from", db, "--to", pg, "--force"],
            2,
            "unknown argument `--force`",
        ),
        (
            &["--from", db, "--to", pg, "--batch-size", "0"],
            2,
            "--batch-size must be a number of at least 1",
        ),
        (
            &["--from", "postgres://u@h/db", "--to", pg],
            2,
            "--from must be a SQLite database",
        ),
        (&["--from=mysql://h/db", "--to", pg], 2, "not `mysql://…`"),
        (
            &["--from", db, "--to", "sqlite://other.db"],
            2,
            "--to must be a PostgreSQL database",
        ),
        (
            &["--from", db, "--to", pg],
            3,
            "there is no SQLite database at",
        ),
        (
            &["--from", "sqlite:///no/such.db", "--to", pg],
            3,
            "sqlite:////var/lib/x.db",
        ),
    ];
    for (args, code, says) in cases {
        let (got, out) = env.run(MIGRATE_DATA, args);
        assert_eq!(got, *code, "{args:?}: {out}");
        assert!(out.contains(says), "{args:?}: {out}");
    }
    assert!(
        !env.dir.path().join("cli.db").exists(),
        "no source was created"
    );
    let (code, out) = env.run(MIGRATE_DATA, &["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("usage: migrate-data --from sqlite://PATH --to postgres://"),
        "{out}"
    );
}

/// The row in `migrate-data`'s summary for `table`: rows and max id.
fn summary_row(out: &str, table: &str) -> (i64, Option<i64>) {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no {table} row: {out}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    (cells[1].parse().unwrap(), cells[2].parse().ok())
}

/// The way from SQLite to PostgreSQL as the deployment guide tells it: a
/// running server's database is copied (a consistent snapshot while it
/// goes on writing), the server is started on PostgreSQL and answers the
/// same history, new messages get fresh ids, and a second copy into the
/// filled database is refused.
#[test]
fn migrate_data_moves_a_live_installation_to_postgres() {
    let Some(target) = livechat_store::testing::TempPgDatabase::for_test() else {
        return;
    };
    let env = Env::new();
    let (mut child, port, _stdout) = start(&env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let session = move |client: reqwest::Client, base: String| async move {
        let session: serde_json::Value = client
            .post(format!("{base}/api/auth/session"))
            .json(&serde_json::json!({"user_id": "b1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        session["access_token"].as_str().unwrap().to_string()
    };
    let token = rt.block_on(session(client.clone(), base.clone()));
    let conv = rt.block_on(async {
        let conv: serde_json::Value = client
            .post(format!("{base}/api/conversations/"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"target_id": "m1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        conv["id"].as_i64().unwrap()
    });
    let say = move |client: reqwest::Client, base: String, token: String, text: String| async move {
        let res = client
            .post(format!("{base}/api/messages/"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"conversation_id": conv, "message_type": "text", "content": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.unwrap();
        body["id"].as_i64().unwrap()
    };
    rt.block_on(async {
        for i in 0..20 {
            say(
                client.clone(),
                base.clone(),
                token.clone(),
                format!("迁移前 {i}"),
            )
            .await;
        }
    });
    // Writes go on while the copy is made.
    let writer = std::thread::spawn({
        let (base, token) = (base.clone(), token.clone());
        move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                for i in 0..20 {
                    say(
                        reqwest::Client::new(),
                        base.clone(),
                        token.clone(),
                        format!("迁移中 {i}"),
                    )
                    .await;
                }
            });
        }
    });
    let source = format!("sqlite:///{}", env.dir.path().join("cli.db").display());
    let (code, out) = env.run(
        MIGRATE_DATA,
        &["--from", &source, "--to", target.url(), "--batch-size", "7"],
    );
    writer.join().unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("rows, ids and checksums match the source"),
        "{out}"
    );
    assert!(out.contains("messages: "), "progress per table: {out}");
    let (copied, max_id) = summary_row(&out, "messages");
    assert!(
        (20..=40).contains(&copied),
        "a snapshot of a live database: {out}"
    );
    assert_eq!(summary_row(&out, "users").0, 12, "{out}");
    assert_eq!(summary_row(&out, "conversations"), (1, Some(conv)), "{out}");
    child.kill().unwrap();
    child.wait().unwrap();

    // What SQLite holds now: the copy is exactly its first messages.
    let lite =
        livechat_store::Db::open(env.dir.path().join("cli.db").to_str().unwrap(), 1).unwrap();
    let history = |db: &livechat_store::Db| {
        db.read_blocking(move |c| {
            let page = livechat_domain::paging::Page::new(None, Some(100), 100).unwrap();
            livechat_store::messages::history(
                c,
                conv,
                livechat_store::messages::HistoryQuery {
                    order: livechat_domain::paging::Order::Asc,
                    before_id: None,
                    after_id: None,
                    visible_after: 0,
                    page,
                },
            )
        })
        .unwrap()
        .1
    };
    let all = history(&lite);
    assert_eq!(all.len(), 40);
    let copied_rows = history(&livechat_store::Db::open(target.url(), 1).unwrap());
    assert_eq!(
        copied_rows,
        all[..copied as usize].to_vec(),
        "a consistent snapshot"
    );
    assert_eq!(copied_rows.last().map(|m| m.id), max_id);

    // The server on PostgreSQL answers the same and goes on from there.
    let (mut child, port, _stdout) = start_with(&env, &[("DATABASE_URL", target.url())]);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    rt.block_on(async {
        let token = session(client.clone(), base.clone()).await;
        let page: serde_json::Value = client
            .get(format!(
                "{base}/api/conversations/{conv}/messages?order=asc&page_size=100"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["count"], copied, "{page}");
        let served: Vec<(i64, String)> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["id"].as_i64().unwrap(),
                    m["content"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let stored: Vec<(i64, String)> = copied_rows
            .iter()
            .map(|m| (m.id, m.content.clone()))
            .collect();
        assert_eq!(served, stored);
        let fresh = say(client.clone(), base.clone(), token, "迁移后".into()).await;
        assert_eq!(
            Some(fresh),
            max_id.map(|m| m + 1),
            "a fresh id after the copied ones"
        );
    });
    child.kill().unwrap();
    child.wait().unwrap();

    let (code, out) = env.run(MIGRATE_DATA, &["--from", &source, "--to", target.url()]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("the target database is not empty") && out.contains("createdb"),
        "{out}"
    );
}

/// Waits up to `limit` for `child` to exit; its status, or `None`.
fn exits_within(child: &mut Child, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `livechat-server | head -4` then SIGTERM: a closed log pipe must
/// neither stop the server nor keep it from stopping.
#[test]
fn sigterm_stops_the_server_after_its_log_pipe_closed() {
    let env = Env::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = env
        .command(SERVER)
        .env("PORT", port.to_string())
        .env("SEED_DEMO", "true")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..4 {
        lines.next().expect("four lines").unwrap();
    }
    drop(lines);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // It serves, its requests logging into the closed pipe.
    let served = rt.block_on(async {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let mut served = 0;
        while served < 5 && std::time::Instant::now() < deadline {
            match client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await
            {
                Ok(res) if res.status() == 200 => served += 1,
                _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        served
    });
    let early = child.try_wait().unwrap();
    assert!(
        early.is_none(),
        "the server died with its log pipe: {early:?}"
    );
    assert_eq!(served, 5, "serving with its log pipe closed");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = exits_within(&mut child, std::time::Duration::from_secs(15));
    if exited.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let status = exited.expect("the server ignored SIGTERM once its log pipe closed");
    assert!(status.success(), "{status:?}");
}

/// `DATABASE_URL` follows SQLAlchemy: three slashes relative, four
/// absolute; the file actually opened is logged at start-up.
#[test]
fn the_resolved_database_file_is_logged() {
    let env = Env::new();
    let absolute = env.dir.path().join("abs.db");
    let url = format!("sqlite:///{}", absolute.display());
    let (mut child, _port, stdout) = start_with(&env, &[("DATABASE_URL", &url)]);
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = stdout.join().unwrap();
    assert!(url.starts_with("sqlite:////"), "{url}");
    assert!(
        logged_file(&logs).ends_with(&absolute.display().to_string()),
        "the absolute file is named: {logs}"
    );
    assert!(absolute.exists(), "the database is where the log says");

    let relative = "sqlite:///./rel.db";
    let (mut child, _port, stdout) = start_with(&env, &[("DATABASE_URL", relative)]);
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = stdout.join().unwrap();
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .unwrap();
    let expected = std::path::absolute(root.join("./rel.db")).unwrap();
    let _ = std::fs::remove_file(&expected);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", expected.display()));
    }
    assert!(
        logged_file(&logs).ends_with(&expected.display().to_string()),
        "three slashes: relative to the working directory ({}): {logs}",
        expected.display()
    );
}

/// The line that names the SQLite file opened.
fn logged_file(logs: &str) -> String {
    logs.lines()
        .find(|l| l.contains("SQLite database file"))
        .unwrap_or_default()
        .to_string()
}

/// Under a low open-file limit a flood of sockets is refused before the
/// descriptors run out, and the server still answers `/health` and logins.
#[test]
fn a_socket_flood_under_a_low_file_limit_leaves_health_and_logins_working() {
    let env = Env::new();
    let (code, out) = env.run(CREATE_ADMIN, &["a1", "admin", "admin123"]);
    assert_eq!(code, 0, "{out}");
    let mut command = env.command("prlimit");
    command.args(["--nofile=256:256", SERVER]);
    let (mut child, port, _stdout) = spawn_server(command, &[("RUST_LOG", "info")]);
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (opened, refusal) = rt.block_on(async {
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let users = [
            "b1", "b2", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "p1",
        ];
        let mut tokens = Vec::new();
        for user in users {
            let session: serde_json::Value = client
                .post(format!("{base}/api/auth/session"))
                .json(&serde_json::json!({"user_id": user}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens.push((user, session["access_token"].as_str().unwrap().to_string()));
        }
        let mut sockets = Vec::new();
        let mut refusal = None;
        for i in 0..240 {
            let (user, token) = &tokens[i % tokens.len()];
            let url = format!("ws://127.0.0.1:{port}/ws/{user}?token={token}");
            match tokio_tungstenite::connect_async(url).await {
                Ok((ws, _)) => sockets.push(ws),
                Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                    let body =
                        String::from_utf8_lossy(res.body().as_deref().unwrap_or(&[])).into_owned();
                    refusal = Some((res.status().as_u16(), body));
                    break;
                }
                Err(e) => panic!("socket {i}: {e}"),
            }
        }
        let opened = sockets.len();
        let (status, refusal_body) = refusal.clone().expect("the flood was refused");
        assert_eq!(status, 503, "{refusal_body}");
        assert!(refusal_body.contains("open-file limit"), "{refusal_body}");
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0);
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS"))
            .unwrap_or_default()
            .to_string();
        eprintln!("under --nofile=256: {opened} sockets open, {fds} descriptors, {rss}");
        let health = client.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200, "health answers at the limit");
        let login = client
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": "admin123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "a login works at the limit");
        let body: serde_json::Value = login.json().await.unwrap();
        assert_eq!(body["user"]["username"], "admin");
        drop(sockets);
        (opened, refusal)
    });
    assert!(
        opened > 100,
        "only {opened} sockets before the refusal: {refusal:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The tools exit cleanly on PostgreSQL, many at once. The pool opens a
/// spare connection in the background whenever one is checked out; a tool
/// that returned from `main` while that thread was in libpq's TLS
/// handshake ran OpenSSL's exit handlers under it and died of SIGSEGV
/// after printing its result, so a script that checks exit codes saw a
/// failure for work that was done.
#[test]
fn command_line_tools_exit_cleanly_on_postgres_many_at_once() {
    let Some(target) = livechat_store::testing::TempPgDatabase::for_test() else {
        return;
    };
    let env = Env::new();
    // Over TLS when the server offers it (libpq's default, and Debian's
    // PostgreSQL does): the crash was in OpenSSL's exit handlers.
    let url = target.url().replace("sslmode=disable", "sslmode=prefer");
    let run = |bin: &str, args: &[String]| {
        output(
            env.command(bin)
                .env("DATABASE_URL", &url)
                .env("LIVECHAT__DATABASE__POOL_SIZE", "4")
                .args(args),
        )
    };
    // Migrations once, so that the runs below race only on their exit.
    let (status, out) = run(
        CREATE_ADMIN,
        &["a0".into(), "admin0".into(), "admin123".into()],
    );
    assert!(status.success(), "create-admin: {status}: {out}");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = (1..=12)
            .map(|i| {
                let run = &run;
                scope.spawn(move || {
                    let (bin, args): (&str, Vec<String>) = match i % 3 {
                        0 => (CHANGE_PASSWORD, vec!["a0".into(), format!("password{i}")]),
                        1 => (
                            CREATE_API_KEY,
                            vec![format!("key {i}"), "--scopes".into(), "users:write".into()],
                        ),
                        _ => (
                            CREATE_ADMIN,
                            vec![format!("a{i}"), format!("admin{i}"), "admin123".into()],
                        ),
                    };
                    let (status, out) = run(bin, &args);
                    (!status.success()).then(|| format!("{bin} {args:?}: {status}: {out}"))
                })
            })
            .collect();
        runs.into_iter().filter_map(|r| r.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    // And the work they reported is stored.
    let db = livechat_store::Db::open(&url, 2).unwrap();
    for i in [2, 5, 8, 11] {
        let id = format!("a{i}");
        let user = db
            .read_blocking(move |c| livechat_store::users::get(c, &id))
            .unwrap();
        assert!(user.is_some(), "a{i} was created");
    }
    let page = livechat_domain::paging::Page {
        page: 1,
        page_size: 50,
    };
    let (count, _) = db
        .read_blocking(move |c| livechat_store::api_keys::list(c, page))
        .unwrap();
    assert_eq!(count, 4, "every key was stored");
    db.close();
}
