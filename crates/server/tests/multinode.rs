//! Many nodes for real: three `livechat-server` processes on one throw-away
//! PostgreSQL database and one Redis, behind nginx configured from
//! `deploy/nginx/livechat.conf`. Clients reach a given node directly where
//! a scenario needs it, and nginx otherwise: events, presence and typing
//! cross nodes; a send retried on two nodes at once stores one message;
//! disabling a user closes his socket on another node; a killed node's
//! users go offline everywhere and resume through nginx losing nothing; a
//! call spans two nodes; nginx forwards client addresses and uploads past
//! its default body limit (served by every node from the shared media
//! folder) and logs no token.
//!
//! Needs PostgreSQL (`LIVECHAT_TEST_POSTGRES_URL`, as the other PostgreSQL
//! tests), Redis (`LIVECHAT_TEST_REDIS_URL`, default
//! redis://127.0.0.1:6379) and nginx (`LIVECHAT_TEST_NGINX`, default
//! /usr/sbin/nginx), and fails saying which one is missing and how to get
//! it. The debug binaries are the ones Cargo builds for this test. The
//! plain `cargo test` run builds these tests and lists them as ignored;
//! `just test-multinode` runs them (`-- --include-ignored`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{of_type, Answer, WsClient, ADMIN_ID, ADMIN_PASSWORD, ADMIN_USER, EVENT_TIMEOUT};
use futures_util::StreamExt;
use livechat_store::testing::TempPgDatabase;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const SERVER: &str = env!("CARGO_BIN_EXE_livechat-server");
const CREATE_ADMIN: &str = env!("CARGO_BIN_EXE_create-admin");
/// The production nginx site; the test runs it with its own addresses.
const NGINX_SITE: &str = include_str!("../../../deploy/nginx/livechat.conf");
const NODES: usize = 3;
/// `realtime.node_ttl_secs` of the test's nodes: how soon a dead node's
/// users go offline on the others.
const NODE_TTL_SECS: u64 = 2;
/// What a dead node's users may take beyond the TTL to show offline.
const TTL_MARGIN: Duration = Duration::from_secs(6);
/// Failed logins one address may make (per node, or across nodes when the
/// nodes share their limits).
const LOGIN_FAILURES_PER_IP: usize = 3;
/// How long a node or nginx may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A child process whose output goes to a file; killed (SIGKILL) and
/// reaped when dropped, so nothing outlives the test, even one that panics.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &str, mut command: Command, log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name: name.to_string(),
            child,
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test, with the process's output, if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.output());
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One node: its process (None once killed) and port.
struct Node {
    process: Option<Process>,
    port: u16,
}

/// Three nodes and nginx in front of them, on a database and a Redis
/// prefix of their own.
struct Cluster {
    nodes: Vec<Node>,
    nginx: Process,
    nginx_port: u16,
    access_log: PathBuf,
    error_log: PathBuf,
    client: reqwest::Client,
    redis_url: String,
    redis_prefix: String,
    /// Dropped after the processes: the database goes last but one.
    _pg: TempPgDatabase,
    _dir: tempfile::TempDir,
}

fn redis_url() -> String {
    std::env::var("LIVECHAT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis_address(url: &str) -> Result<SocketAddr, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is no URL: {e}"))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port().unwrap_or(6379);
    (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("`{host}` has no address"))
}

/// Sends one command to Redis in its wire protocol; answers the first
/// line of the reply.
fn redis_command(url: &str, args: &[&str]) -> Result<String, String> {
    let address = redis_address(url)?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reply = [0u8; 512];
    let n = stream.read(&mut reply).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply[..n]);
    let line = reply.lines().next().unwrap_or_default().to_string();
    if line.starts_with('-') || line.is_empty() {
        Err(format!("Redis answered `{line}`"))
    } else {
        Ok(line)
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The nginx site the test runs: the production file with the test's node
/// ports in the upstream, a local plain-HTTP listener and the access log
/// in the test's folder. Everything else (headers, timeouts, retries, log
/// format) is the production file's.
fn test_site(template: &str, nodes: &[u16], port: u16, access_log: &Path) -> String {
    let mut site = String::new();
    let (mut in_upstream, mut servers, mut listening) = (false, 0, false);
    for line in template.lines() {
        let text = line.trim_start();
        let indent = &line[..line.len() - text.len()];
        let mut words = text.split_whitespace();
        let word = words.next().unwrap_or("");
        if word == "upstream" {
            in_upstream = true;
        } else if in_upstream && word.starts_with('}') {
            in_upstream = false;
        }
        if in_upstream && word == "server" {
            let node = nodes
                .get(servers)
                .expect("the upstream lists more servers than the test starts nodes");
            servers += 1;
            let params: Vec<&str> = words.skip(1).collect();
            site.push_str(&format!(
                "{indent}server 127.0.0.1:{node} {}\n",
                params.join(" ")
            ));
        } else if word == "listen" {
            if !listening {
                listening = true;
                site.push_str(&format!("{indent}listen 127.0.0.1:{port};\n"));
            }
        } else if word.starts_with("ssl_") {
            continue;
        } else if word == "access_log" {
            site.push_str(&format!(
                "{indent}access_log {} livechat;\n",
                access_log.display()
            ));
        } else {
            site.push_str(line);
            site.push('\n');
        }
    }
    assert_eq!(
        servers,
        nodes.len(),
        "deploy/nginx/livechat.conf must list one upstream server per node"
    );
    assert!(listening, "deploy/nginx/livechat.conf has no listen line");
    site
}

impl Cluster {
    async fn start() -> Cluster {
        let nginx_bin =
            std::env::var("LIVECHAT_TEST_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
        assert!(
            Path::new(&nginx_bin).is_file(),
            "the multi-node test needs nginx, and {nginx_bin} does not exist: install Debian's \
             package (`apt-get install nginx`; the test runs its own nginx, the system service \
             need not run) or point LIVECHAT_TEST_NGINX at the binary"
        );
        let redis_url = redis_url();
        match redis_command(&redis_url, &["PING"]) {
            Ok(pong) if pong == "+PONG" => {}
            other => panic!(
                "the multi-node test needs Redis at {redis_url} ({other:?}): start it with \
                 `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no` \
                 (Debian: apt-get install redis-server), or point LIVECHAT_TEST_REDIS_URL at one"
            ),
        }
        let pg = TempPgDatabase::create()
            .unwrap_or_else(|e| panic!("the multi-node test needs PostgreSQL: {e}"));
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("media");
        std::fs::create_dir(&media).unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let redis_prefix = format!(
            "livechat_test_{}_{:x}",
            std::process::id(),
            nanos & 0xffff_ffff_ffff
        );
        let vars: Vec<(&str, String)> = vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("LIVECHAT_ENV", "test".into()),
            ("HOST", "127.0.0.1".into()),
            ("PORT", "0".into()),
            ("DATABASE_URL", pg.url().to_string()),
            ("REDIS_URL", redis_url.clone()),
            ("LIVECHAT__REALTIME__REDIS_PREFIX", redis_prefix.clone()),
            (
                "LIVECHAT__REALTIME__NODE_TTL_SECS",
                NODE_TTL_SECS.to_string(),
            ),
            // One folder for every node, as a shared volume would be.
            ("MEDIA_DIR", media.display().to_string()),
            // nginx reaches the nodes from loopback.
            ("TRUSTED_PROXIES", "127.0.0.1".into()),
            ("SEED_DEMO", "true".into()),
            ("LIVECHAT__SERVER__WORKERS", "2".into()),
            ("LIVECHAT__DATABASE__POOL_SIZE", "4".into()),
            (
                "LIVECHAT__SERVER__STATIC_DIR",
                dir.path().join("no-dist").display().to_string(),
            ),
            ("LIVECHAT__LOG__LEVEL", "info".into()),
            ("NO_COLOR", "1".into()),
            (
                "LIVECHAT__LIMITS__LOGIN_FAILURES_PER_IP",
                LOGIN_FAILURES_PER_IP.to_string(),
            ),
            (
                "LIVECHAT__LIMITS__LOGIN_FAILURES_PER_USERNAME",
                "1000".into(),
            ),
        ];
        let command = |bin: &str| {
            let mut c = Command::new(bin);
            c.current_dir(workspace_root())
                .env_clear()
                .envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
            c
        };
        // The administrator first (this also migrates the database once).
        let out = command(CREATE_ADMIN)
            .args([ADMIN_ID, ADMIN_USER, ADMIN_PASSWORD])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "create-admin failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Three nodes started together, as a deployment starts them.
        let mut processes: Vec<Process> = (1..=NODES)
            .map(|i| {
                Process::spawn(
                    &format!("node {i}"),
                    command(SERVER),
                    dir.path().join(format!("node{i}.log")),
                )
            })
            .collect();
        let mut nodes = Vec::new();
        for process in processes.drain(..) {
            let port = wait_for_port(process).await;
            nodes.push(port);
        }
        let client = reqwest::Client::new();
        for node in &mut nodes {
            wait_until_ready(&client, &mut node.0, node.1).await;
        }
        let nodes: Vec<Node> = nodes
            .into_iter()
            .map(|(process, port)| Node {
                process: Some(process),
                port,
            })
            .collect();
        let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        let access_log = dir.path().join("nginx-access.log");
        let error_log = dir.path().join("nginx-error.log");
        let (nginx, nginx_port) = start_nginx(
            &nginx_bin,
            dir.path(),
            &ports,
            &access_log,
            &error_log,
            &client,
        )
        .await;
        Cluster {
            nodes,
            nginx,
            nginx_port,
            access_log,
            error_log,
            client,
            redis_url,
            redis_prefix,
            _pg: pg,
            _dir: dir,
        }
    }

    /// Node `i` (1, 2 or 3), reached directly.
    fn node(&self, i: usize) -> Api {
        Api {
            name: format!("node {i}"),
            port: self.nodes[i - 1].port,
            client: self.client.clone(),
        }
    }

    /// nginx, in front of every node.
    fn nginx(&self) -> Api {
        Api {
            name: "nginx".into(),
            port: self.nginx_port,
            client: self.client.clone(),
        }
    }

    /// Kills node `i` with SIGKILL: no goodbye to Redis, no close frames.
    fn kill_node(&mut self, i: usize) {
        let mut process = self.nodes[i - 1]
            .process
            .take()
            .expect("node already killed");
        process.kill();
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(&self.access_log).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What each process said, to see why the scenario failed.
            let mut logs: Vec<(String, String)> = self
                .nodes
                .iter()
                .filter_map(|n| n.process.as_ref())
                .map(|p| (p.name.clone(), p.output()))
                .collect();
            logs.push(("nginx".into(), self.nginx.output()));
            logs.push((
                "nginx error log".into(),
                std::fs::read_to_string(&self.error_log).unwrap_or_default(),
            ));
            logs.push(("nginx access log".into(), self.access_log()));
            for (name, text) in logs {
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(60)..];
                eprintln!(
                    "----- {name} (last {} lines)\n{}",
                    tail.len(),
                    tail.join("\n")
                );
            }
        }
        for node in &mut self.nodes {
            if let Some(mut p) = node.process.take() {
                p.kill();
            }
        }
        self.nginx.kill();
        // The run's keys and channels (the nodes' heartbeats expire anyway).
        let script =
            "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0";
        let pattern = format!("{}*", self.redis_prefix);
        let _ = redis_command(&self.redis_url, &["EVAL", script, "0", &pattern]);
    }
}

/// Waits for a node's "listening on" line; answers it with its port.
async fn wait_for_port(mut process: Process) -> (Process, u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let output = process.output();
        if let Some(rest) = output.split("listening on http://127.0.0.1:").nth(1) {
            let port = rest
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("{}: no port in {output}", process.name));
            return (process, port);
        }
        process.assert_running();
        assert!(
            Instant::now() < deadline,
            "{} did not start within {START_TIMEOUT:?}:\n{output}",
            process.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `/ready` until it answers 200 (database and Redis answer).
async fn wait_until_ready(client: &reqwest::Client, process: &mut Process, port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let answer = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await;
        if answer.as_ref().is_ok_and(|a| a.status() == 200) {
            return;
        }
        process.assert_running();
        assert!(
            Instant::now() < deadline,
            "{} was not ready within {START_TIMEOUT:?}: {answer:?}",
            process.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts nginx (`daemon off`, in one process, as the current user) with
/// everything it writes inside `dir`, on a free local port; answers once it
/// proxies `/health`.
async fn start_nginx(
    bin: &str,
    dir: &Path,
    nodes: &[u16],
    access_log: &Path,
    error_log: &Path,
    client: &reqwest::Client,
) -> (Process, u16) {
    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp).unwrap();
    for attempt in 1..=5 {
        let port = free_port();
        let site = dir.join("livechat.conf");
        std::fs::write(&site, test_site(NGINX_SITE, nodes, port, access_log)).unwrap();
        // The main context that Debian's /etc/nginx/nginx.conf gives in
        // production, reduced to what a test needs: no `user` (it runs as
        // whoever runs the test), a single process (master_process off, so
        // killing it leaves no worker behind), every path in `dir`.
        let t = temp.display();
        let main = format!(
            "master_process off;\n\
             pid {pid};\n\
             error_log {error} info;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
             \x20   client_body_temp_path {t}/body;\n\
             \x20   proxy_temp_path {t}/proxy;\n\
             \x20   fastcgi_temp_path {t}/fastcgi;\n\
             \x20   uwsgi_temp_path {t}/uwsgi;\n\
             \x20   scgi_temp_path {t}/scgi;\n\
             \x20   include {site};\n\
             }}\n",
            pid = dir.join("nginx.pid").display(),
            error = error_log.display(),
            site = site.display(),
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, main).unwrap();
        let mut command = Command::new(bin);
        command
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(error_log)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"]);
        let mut nginx = Process::spawn("nginx", command, dir.join("nginx.out"));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let answer = client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await;
            if answer.as_ref().is_ok_and(|a| a.status() == 200) {
                return (nginx, port);
            }
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let said = format!(
                    "{}{}",
                    nginx.output(),
                    std::fs::read_to_string(error_log).unwrap_or_default()
                );
                if said.contains("Address already in use") && attempt < 5 {
                    break; // the free port was taken meanwhile: another one
                }
                panic!("nginx exited ({status}):\n{said}");
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not proxy /health within {START_TIMEOUT:?}: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    unreachable!("nginx found no free port");
}

/// One way into the system: a node directly, or nginx.
#[derive(Clone)]
struct Api {
    name: String,
    port: u16,
    client: reqwest::Client,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {path}: {e}", self.name));
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    async fn get(&self, token: &str, path: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    async fn patch(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A chat token (trusted mode).
    async fn token(&self, user_id: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/auth/session",
                None,
                Some(json!({"user_id": user_id})),
            )
            .await;
        a.expect(200)["access_token"].as_str().unwrap().to_string()
    }

    async fn admin_token(&self) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD})),
            )
            .await;
        a.expect(200)["access_token"].as_str().unwrap().to_string()
    }

    /// The conversation between the token's user and `target`.
    async fn open(&self, token: &str, target: &str) -> i64 {
        let a = self
            .post(token, "/api/conversations/", json!({"target_id": target}))
            .await;
        assert!(a.status == 200 || a.status == 201, "open failed: {a:?}");
        a.body["id"].as_i64().unwrap()
    }

    /// Sends a text; answers the stored message's id.
    async fn say(&self, token: &str, conversation_id: i64, text: &str) -> i64 {
        self.post(
            token,
            "/api/messages/",
            json!({"conversation_id": conversation_id, "message_type": "text", "content": text}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    /// A conversation's messages after `after_id`, oldest first.
    async fn history_after(&self, token: &str, conversation_id: i64, after_id: i64) -> Vec<Value> {
        let page = self
            .get(
                token,
                &format!(
                    "/api/conversations/{conversation_id}/messages?after_id={after_id}&order=asc&page_size=100"
                ),
            )
            .await
            .expect(200);
        page["results"].as_array().unwrap().clone()
    }

    /// A WebSocket to `/ws/{user}?token=…` plus `query`.
    async fn ws(&self, user_id: &str, token: &str, query: &str) -> WsClient {
        let url = format!(
            "ws://127.0.0.1:{}/ws/{user_id}?token={token}{query}",
            self.port
        );
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("{}: socket for {user_id}: {e}", self.name));
        WsClient { stream }
    }

    /// A socket and its `online_users` greeting.
    async fn ws_ready(&self, user_id: &str, token: &str) -> (WsClient, Value) {
        let mut ws = self.ws(user_id, token, "").await;
        let hello = ws.next_of_type("online_users").await;
        (ws, hello)
    }
}

/// The next frame satisfying `wanted`, skipping others, within `within`.
async fn wait_for(
    ws: &mut WsClient,
    within: Duration,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.stream.next())
            .await
            .unwrap_or_else(|_| panic!("{what}: nothing within {within:?}"));
        match frame {
            Some(Ok(Message::Text(text))) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                if wanted(&event) {
                    return event;
                }
            }
            Some(Ok(Message::Close(c))) => panic!("{what}: the socket closed: {c:?}"),
            Some(Ok(_)) => {}
            other => panic!("{what}: the socket ended: {other:?}"),
        }
    }
}

fn status(user_id: &str, status: &str) -> Value {
    json!({"type": "status", "user_id": user_id, "status": status})
}

/// Waits for `user_id`'s presence to become `state` on `ws`.
async fn presence(ws: &mut WsClient, within: Duration, user_id: &str, state: &str) {
    let expected = status(user_id, state);
    wait_for(ws, within, &format!("{user_id} {state}"), |e| {
        *e == expected
    })
    .await;
}

fn count_messages(events: &[Value], counts: &mut BTreeMap<i64, usize>) {
    for e in of_type(events, "message") {
        *counts
            .entry(e["message"]["id"].as_i64().unwrap())
            .or_default() += 1;
    }
}

/// Reads `ws` until every message in `ids` has come, then drains it;
/// answers how many times each message id came.
async fn message_counts(ws: &mut WsClient, ids: &[i64]) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    while !ids.iter().all(|id| counts.contains_key(id)) {
        let event = ws.next_event().await;
        count_messages(&[event], &mut counts);
    }
    count_messages(&ws.drain().await, &mut counts);
    counts
}

/// Every message in `ids` exactly once, and no other.
fn once_each(ids: &[i64]) -> BTreeMap<i64, usize> {
    ids.iter().map(|id| (*id, 1)).collect()
}

#[tokio::test]
#[ignore = "three nodes, PostgreSQL, Redis and nginx: just test-multinode"]
async fn events_presence_and_typing_cross_nodes_a_retry_is_stored_once_and_disabling_closes_everywhere(
) {
    let cluster = Cluster::start().await;
    let (n1, n2, n3, lb) = (
        cluster.node(1),
        cluster.node(2),
        cluster.node(3),
        cluster.nginx(),
    );
    let b1 = lb.token("b1").await;
    let m1 = lb.token("m1").await;
    let admin = lb.admin_token().await;
    let conv = lb.open(&b1, "m1").await;

    let (mut b1_ws, _) = n1.ws_ready("b1", &b1).await;
    let (mut admin_ws, _) = n3.ws_ready(ADMIN_ID, &admin).await;
    let (mut m1_ws, m1_hello) = n2.ws_ready("m1", &m1).await;
    // Presence is the union over nodes: m1 on node 2 sees b1 (node 1)
    // online, and his arrival reaches node 1 and node 3.
    assert!(
        m1_hello["users"].as_array().unwrap().contains(&json!("b1")),
        "m1's greeting on node 2 lists b1, online on node 1: {m1_hello}"
    );
    presence(&mut b1_ws, EVENT_TIMEOUT, "m1", "online").await;
    presence(&mut admin_ws, EVENT_TIMEOUT, "m1", "online").await;

    // Typing crosses nodes, both ways.
    m1_ws
        .send(json!({"type": "typing", "conversation_id": conv, "is_typing": true}))
        .await;
    assert_eq!(
        b1_ws.next_of_type("typing").await,
        json!({"type": "typing", "conversation_id": conv, "user_id": "m1", "is_typing": true})
    );
    b1_ws
        .send(json!({"type": "typing", "conversation_id": conv, "is_typing": true}))
        .await;
    assert_eq!(
        m1_ws.next_of_type("typing").await,
        json!({"type": "typing", "conversation_id": conv, "user_id": "b1", "is_typing": true})
    );

    // A send through each node and through nginx reaches every socket
    // exactly once, the sender's own included.
    let mut sent = Vec::new();
    for api in [&n1, &n2, &n3, &lb] {
        sent.push(api.say(&b1, conv, &format!("经由 {} 发送", api.name)).await);
    }
    sent.push(lb.say(&m1, conv, "商家经由 nginx 回复").await);
    sent.push(n1.say(&m1, conv, "商家经由节点 1 回复").await);
    for (who, ws) in [
        ("b1 on node 1", &mut b1_ws),
        ("m1 on node 2", &mut m1_ws),
        ("the admin on node 3", &mut admin_ws),
    ] {
        assert_eq!(message_counts(ws, &sent).await, once_each(&sent), "{who}");
    }
    let stored: Vec<i64> = lb
        .history_after(&b1, conv, 0)
        .await
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(stored, sent, "stored once each, in order");

    // The same client_msg_id sent to two nodes at once: one message, both
    // answers carry it (one stored it, 201; the other replays it, 200).
    let body = json!({"conversation_id": conv, "message_type": "text", "content": "重试也只存一条", "client_msg_id": "twice-on-two-nodes"});
    let (first, second) = tokio::join!(
        n1.post(&b1, "/api/messages/", body.clone()),
        n2.post(&b1, "/api/messages/", body.clone())
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{first:?} {second:?}");
    assert_eq!(first.body["id"], second.body["id"]);
    let retried = first.body["id"].as_i64().unwrap();
    let history = lb.history_after(&b1, conv, 0).await;
    let with_client_id: Vec<&Value> = history
        .iter()
        .filter(|m| m["client_msg_id"] == "twice-on-two-nodes")
        .collect();
    assert_eq!(with_client_id.len(), 1, "history: {history:?}");
    assert_eq!(with_client_id[0]["id"], retried);
    for ws in [&mut b1_ws, &mut m1_ws, &mut admin_ws] {
        assert_eq!(message_counts(ws, &[retried]).await, once_each(&[retried]));
    }

    // The admin disables m1 through node 3: m1's socket on node 2 closes
    // with 4403, and he shows offline on node 1.
    n3.patch(&admin, "/api/users/m1", json!({"status": "disabled"}))
        .await
        .expect(200);
    assert_eq!(m1_ws.closed().await.code, 4403);
    presence(&mut b1_ws, EVENT_TIMEOUT, "m1", "offline").await;
    let mut again = n2.ws("m1", &m1, "").await;
    assert_eq!(again.closed().await.code, 4403);
}

#[tokio::test]
#[ignore = "three nodes, PostgreSQL, Redis and nginx: just test-multinode"]
async fn a_killed_nodes_users_go_offline_and_resume_through_nginx_losing_nothing() {
    let mut cluster = Cluster::start().await;
    let (n1, n2, n3, lb) = (
        cluster.node(1),
        cluster.node(2),
        cluster.node(3),
        cluster.nginx(),
    );
    let b1 = lb.token("b1").await;
    let m1 = lb.token("m1").await;
    let admin = lb.admin_token().await;
    let conv = lb.open(&b1, "m1").await;
    let (mut b1_ws, _) = n1.ws_ready("b1", &b1).await;
    let (mut admin_ws, _) = n3.ws_ready(ADMIN_ID, &admin).await;
    let (mut m1_ws, _) = n2.ws_ready("m1", &m1).await;
    presence(&mut b1_ws, EVENT_TIMEOUT, "m1", "online").await;
    presence(&mut admin_ws, EVENT_TIMEOUT, "m1", "online").await;
    // m1 holds two messages; the last frame he got is the second one.
    let earlier = n1.say(&b1, conv, "第一条").await;
    let held = n3.say(&b1, conv, "m1 收到的最后一条").await;
    assert_eq!(
        message_counts(&mut m1_ws, &[earlier, held]).await,
        once_each(&[earlier, held])
    );
    let since = livechat_domain::now_ms();

    cluster.kill_node(2);
    let killed_at = Instant::now();
    drop(m1_ws);
    // Node 2 said no goodbye: its users go offline on the others once its
    // heartbeat expires.
    let within = Duration::from_secs(NODE_TTL_SECS) + TTL_MARGIN;
    presence(&mut b1_ws, within, "m1", "offline").await;
    presence(
        &mut admin_ws,
        within.saturating_sub(killed_at.elapsed()),
        "m1",
        "offline",
    )
    .await;

    // Meanwhile: sends through the live nodes and through nginx (which
    // passes over the dead node), and a recall of a message m1 holds.
    let mut missed = vec![
        n1.say(&b1, conv, "节点 2 停了以后").await,
        n3.say(&b1, conv, "经由节点 3").await,
    ];
    for i in 0..3 {
        missed.push(lb.say(&b1, conv, &format!("经由 nginx {i}")).await);
    }
    let recalled = lb
        .post(&b1, &format!("/api/messages/{held}/recall"), json!({}))
        .await
        .expect(200);
    assert_eq!(recalled["recalled"], true);

    // m1 comes back through nginx with what he held: the greeting, every
    // missed message once in id order, then the recall.
    let mut m1_ws = lb
        .ws("m1", &m1, &format!("&after_id={held}&since={since}"))
        .await;
    let hello = m1_ws.next_event().await;
    assert_eq!(hello["type"], "online_users", "the greeting first: {hello}");
    assert!(
        hello["users"].as_array().unwrap().contains(&json!("b1")),
        "{hello}"
    );
    let mut replay = Vec::new();
    loop {
        let event = m1_ws.next_event().await;
        let done = event["type"] == "recall";
        replay.push(event);
        if done {
            break;
        }
    }
    let replayed: Vec<i64> = of_type(&replay, "message")
        .iter()
        .map(|e| e["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed, missed, "each missed message once, in id order");
    let recall = replay.last().unwrap();
    assert_eq!(recall["conversation_id"], conv);
    assert_eq!(recall["message_id"], held);
    // Then live events, nothing repeated.
    let live = n1.say(&b1, conv, "回来了吗").await;
    let mut counts = message_counts(&mut m1_ws, &[live]).await;
    count_messages(&replay, &mut counts);
    let mut all = missed.clone();
    all.push(live);
    assert_eq!(counts, once_each(&all));
    // He shows online again on the other nodes.
    presence(&mut b1_ws, EVENT_TIMEOUT, "m1", "online").await;
    presence(&mut admin_ws, EVENT_TIMEOUT, "m1", "online").await;
    // The stored state as m1 reads it through nginx.
    let history = lb.history_after(&m1, conv, earlier).await;
    let ids: Vec<i64> = history.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    let mut expected = vec![held];
    expected.extend(&all);
    assert_eq!(ids, expected);
    assert_eq!(history[0]["recalled"], true);
    assert_eq!(history[0]["content"], "");
}

#[tokio::test]
#[ignore = "three nodes, PostgreSQL, Redis and nginx: just test-multinode"]
async fn a_call_between_two_nodes_rings_connects_relays_ends_and_is_recorded() {
    const CALL: &str = "7d3c9a1e-2b4f-4c6d-8e0f-1a2b3c4d5e6f";
    let cluster = Cluster::start().await;
    let (n1, n3, lb) = (cluster.node(1), cluster.node(3), cluster.nginx());
    let b1 = lb.token("b1").await;
    let m1 = lb.token("m1").await;
    let conv = lb.open(&b1, "m1").await;
    let (mut caller, _) = n1.ws_ready("b1", &b1).await;
    let (mut callee, _) = n3.ws_ready("m1", &m1).await;
    presence(&mut caller, EVENT_TIMEOUT, "m1", "online").await;

    caller
        .send(json!({"type": "call.invite", "call_id": CALL, "conversation_id": conv, "media": "audio"}))
        .await;
    for ws in [&mut caller, &mut callee] {
        let ringing = ws.next_of_type("call.ringing").await;
        assert_eq!(ringing["call"]["call_id"], CALL);
        assert_eq!(ringing["call"]["state"], "ringing");
        assert_eq!(ringing["call"]["caller_id"], "b1");
        assert_eq!(ringing["call"]["callee_id"], "m1");
        assert_eq!(ringing["call"]["media"], "audio");
    }
    callee
        .send(json!({"type": "call.accept", "call_id": CALL}))
        .await;
    for ws in [&mut caller, &mut callee] {
        let accepted = ws.next_of_type("call.accepted").await;
        assert_eq!(accepted["call"]["call_id"], CALL);
        assert_eq!(accepted["call"]["state"], "active");
        assert!(accepted["call"]["answered_at"].as_i64().is_some());
    }
    let offer = json!({"type": "offer", "sdp": "v=0 offer from node 1"});
    caller
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": offer}))
        .await;
    assert_eq!(
        callee.next_of_type("call.signal").await,
        json!({"type": "call.signal", "call_id": CALL, "from": "b1", "signal": offer})
    );
    let answer = json!({"type": "answer", "sdp": "v=0 answer from node 3"});
    callee
        .send(json!({"type": "call.signal", "call_id": CALL, "signal": answer}))
        .await;
    assert_eq!(
        caller.next_of_type("call.signal").await,
        json!({"type": "call.signal", "call_id": CALL, "from": "m1", "signal": answer})
    );
    caller
        .send(json!({"type": "call.hangup", "call_id": CALL}))
        .await;
    for ws in [&mut caller, &mut callee] {
        let ended = ws.next_of_type("call.ended").await;
        assert_eq!(ended["call"]["call_id"], CALL);
        assert_eq!(ended["call"]["state"], "ended");
        assert_eq!(ended["call"]["outcome"], "completed");
        assert!(ended["call"]["duration_ms"].as_i64().unwrap() >= 0);
        let record = ws.next_of_type("message").await;
        assert_eq!(record["message"]["message_type"], "call");
    }
    let history = lb.history_after(&m1, conv, 0).await;
    let calls: Vec<&Value> = history
        .iter()
        .filter(|m| m["message_type"] == "call")
        .collect();
    assert_eq!(calls.len(), 1, "one record: {history:?}");
    assert_eq!(calls[0]["sender_id"], "b1");
    assert_eq!(calls[0]["call"]["outcome"], "completed");
    assert_eq!(calls[0]["call"]["media"], "audio");
}

/// An HTTP client whose connections come from `ip` (any 127.x address is
/// loopback on Linux).
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

#[tokio::test]
#[ignore = "three nodes, PostgreSQL, Redis and nginx: just test-multinode"]
async fn nginx_forwards_client_addresses_and_large_uploads_and_logs_no_token() {
    let cluster = Cluster::start().await;
    let lb = cluster.nginx();
    let login = lb.url("/api/auth/login");
    let wrong = json!({"username": ADMIN_USER, "password": "not-the-password"});
    let (from_2, from_3) = (
        client_from(Ipv4Addr::new(127, 0, 0, 2)),
        client_from(Ipv4Addr::new(127, 0, 0, 3)),
    );
    // Failed logins from 127.0.0.2 (claiming to be someone else in its own
    // X-Forwarded-For, which the nodes see through) run into the per-address
    // limit: within LOGIN_FAILURES_PER_IP on every node, plus one.
    let mut limited = None;
    for attempt in 1..=LOGIN_FAILURES_PER_IP * NODES + 1 {
        let res = from_2
            .post(&login)
            .header("X-Forwarded-For", "203.0.113.7")
            .json(&wrong)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        if status == 429 {
            assert_eq!(body["error_type"], "rate_limited", "{body}");
            limited = Some(attempt);
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    assert!(limited.is_some(), "127.0.0.2 was never limited");
    // 127.0.0.3, through the same nginx, is another client to the nodes.
    let res = from_3.post(&login).json(&wrong).send().await.unwrap();
    assert_eq!(
        res.status(),
        401,
        "another address is not limited: the nodes see the client, not nginx"
    );
    let res = from_3
        .post(&login)
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A forwarded request is not loopback's: /metrics refuses it through
    // nginx and serves it on the node directly.
    let res = from_2.get(lb.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = cluster
        .client
        .get(cluster.node(1).url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // An upload larger than nginx's default body limit (1 MiB) goes through,
    // and every node serves it from the shared media folder.
    let b1 = lb.token("b1").await;
    let bytes: Vec<u8> = "共享的媒体目录\n".repeat(200_000).into_bytes();
    assert!(bytes.len() > 3 << 20);
    let part = reqwest::multipart::Part::bytes(bytes.clone())
        .file_name("notes.txt")
        .mime_str("text/plain")
        .unwrap();
    let res = cluster
        .client
        .post(lb.url("/api/upload/file"))
        .bearer_auth(&b1)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let uploaded: Value = res.json().await.unwrap();
    let url = uploaded["url"].as_str().unwrap();
    let path = &url[url.find("/media/").expect("a media URL")..];
    for i in 1..=NODES {
        let res = cluster
            .client
            .get(cluster.node(i).url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "node {i} serves {path}");
        assert!(
            res.bytes().await.unwrap() == bytes,
            "node {i}: the same bytes"
        );
    }

    // Tokens in query strings through nginx: a socket and an API call.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let tcp = socket
        .connect(([127, 0, 0, 1], cluster.nginx_port).into())
        .await
        .unwrap();
    let (stream, _) = tokio_tungstenite::client_async(
        format!(
            "ws://127.0.0.1:{}/ws/b1?token={b1}&after_id=0",
            cluster.nginx_port
        ),
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
    )
    .await
    .unwrap();
    let mut ws = WsClient { stream };
    assert_eq!(ws.next_event().await["type"], "online_users");
    let res = from_2
        .get(lb.url(&format!("/api/users/?token={b1}")))
        .bearer_auth(&b1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    ws.close().await;
    // nginx logs a socket when it ends: poll for its line.
    let deadline = Instant::now() + EVENT_TIMEOUT;
    let log = loop {
        let log = cluster.access_log();
        if log.contains("GET /ws/b1 ") {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "the socket never reached the access log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let socket_line = log.lines().find(|l| l.contains("GET /ws/b1 ")).unwrap();
    assert!(
        socket_line.starts_with("127.0.0.2 ") && socket_line.contains(" 101 "),
        "the client's address and the upgrade: {socket_line}"
    );
    assert!(log.contains("GET /api/users/ "), "{log}");
    assert!(log.contains("POST /api/auth/login "), "{log}");
    assert!(!log.contains(&b1), "a token in the access log:\n{log}");
    assert!(
        !log.contains("token="),
        "a query string in the access log:\n{log}"
    );
}

#[test]
fn the_guide_shows_the_nginx_site_and_the_test_changes_only_addresses_and_tls() {
    let guide = include_str!("../../../docs/deployment.md");
    assert!(
        guide.contains(&format!("```nginx\n{NGINX_SITE}```")),
        "docs/deployment.md shows deploy/nginx/livechat.conf as it is"
    );
    let site = test_site(
        NGINX_SITE,
        &[4101, 4102, 4103],
        4200,
        Path::new("/tmp/t/access.log"),
    );
    let directives: Vec<&str> = site
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for port in [4101, 4102, 4103] {
        let line = format!("server 127.0.0.1:{port} max_fails=2 fail_timeout=10s;");
        assert!(directives.contains(&line.as_str()), "{site}");
    }
    let listen: Vec<&&str> = directives
        .iter()
        .filter(|l| l.starts_with("listen"))
        .collect();
    assert_eq!(listen, [&"listen 127.0.0.1:4200;"]);
    assert!(!directives.iter().any(|l| l.starts_with("ssl_")), "{site}");
    assert!(directives.contains(&"access_log /tmp/t/access.log livechat;"));
    // The rest is the production file's, line for line.
    let kept = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| {
                !["server 1", "server 127", "listen", "ssl_", "access_log"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(String::from)
            .collect()
    };
    assert_eq!(kept(&site), kept(NGINX_SITE));
}
