//! A harness for black-box tests: the built worker (edge/build) running in workerd on a free
//! port with its own state directory, and a small HTTP client speaking the contract.

use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The local dev tokens (edge/workerd.capnp), each with the role of its name.
pub const ADMIN: &str = "dev-admin";
pub const WAREHOUSE: &str = "dev-warehouse";
pub const STOREFRONT: &str = "dev-storefront";

/// Today's date (UTC), from this machine's clock, as the worker under test reads it.
pub fn today() -> chrono::NaiveDate {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("the clock is after 1970");
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date")
        + chrono::Duration::days((since_epoch.as_secs() / 86_400) as i64)
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the workspace").to_path_buf()
}

/// Connections the kernel queues for workerd before it accepts them.
const LISTEN_BACKLOG: i32 = 4096;

/// How long a runtime may take from spawn to answering `/v1/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The runtime's two listening sockets, bound here (port 0: the kernel picks) and handed to workerd
/// as file descriptors, so no other process can take a port between choosing and listening.
struct Sockets {
    http: TcpListener,
    web: TcpListener,
}

/// A loopback listener on a port the kernel picks, with a deep backlog.
fn bind_loopback() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    // std listens with a backlog of 128; hundreds of clients connecting at once (the
    // concurrency tests) would overflow it and be reset. Listening again on a listening
    // socket sets a new backlog (Linux), capped by net.core.somaxconn.
    // SAFETY: a plain system call on a socket this function owns.
    let listened = unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) };
    assert_eq!(listened, 0, "listen: {}", std::io::Error::last_os_error());
    listener
}

fn port_of(listener: &TcpListener) -> u16 {
    listener.local_addr().expect("bound address").port()
}

/// A workerd command that serves `config` on the given listeners (`--socket-fd=name=fd`): the
/// descriptors are kept open across exec for the child alone.
fn workerd(config: &Path, sockets: &[(&str, &TcpListener)]) -> Command {
    let mut command = Command::new(root().join("node_modules/@cloudflare/workerd-linux-64/bin/workerd"));
    command.arg("serve").arg(config).stdin(Stdio::null());
    let fds: Vec<i32> = sockets.iter().map(|(_, listener)| listener.as_raw_fd()).collect();
    for (name, listener) in sockets {
        command.arg(format!("--socket-fd={name}={}", listener.as_raw_fd()));
    }
    // SAFETY: between fork and exec only `fcntl` runs, which is async-signal-safe. The sockets
    // are close-on-exec in this process; the child alone keeps them across exec.
    unsafe {
        command.pre_exec(move || {
            for fd in &fds {
                if libc::fcntl(*fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}

impl Sockets {
    fn bind() -> Sockets {
        Sockets { http: bind_loopback(), web: bind_loopback() }
    }

    fn http_port(&self) -> u16 {
        port_of(&self.http)
    }

    fn web_port(&self) -> u16 {
        port_of(&self.web)
    }
}

/// A running workerd serving the built worker. Killed when dropped; its state directory stays
/// until the `Stockline` is dropped, so a test can restart the runtime on the same state.
pub struct Stockline {
    child: Option<Child>,
    /// Held for the runtime's life; dropped on a hard kill so that new connections are refused.
    sockets: Mutex<Option<Sockets>>,
    pub port: u16,
    pub state: PathBuf,
    log: PathBuf,
    agent: ureq::Agent,
}

impl Stockline {
    pub fn start() -> Stockline {
        Stockline::start_under(&std::env::temp_dir())
    }

    /// Starts with its state in a new directory under `parent` (the benchmark puts it on a RAM disk
    /// too, to tell the disk's part from the code's).
    pub fn start_under(parent: &Path) -> Stockline {
        let sockets = Sockets::bind();
        let port = sockets.http_port();
        let state = parent.join(format!("stockline-test-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).expect("state directory");
        let log = state.with_extension("log");
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
        let mut stockline = Stockline { child: None, sockets: Mutex::new(Some(sockets)), port, state, log, agent };
        stockline.boot();
        stockline
    }

    fn boot(&mut self) {
        let root = root();
        let built = root.join("edge/build/index.js");
        assert!(built.exists(), "{} is missing: run `cargo xtask test`, which builds it first", built.display());
        let mut guard = self.sockets.lock().expect("sockets lock");
        let sockets = guard.get_or_insert_with(Sockets::bind);
        self.port = sockets.http_port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("workerd log file");
        let mut command = workerd(&root.join("edge/workerd.capnp"), &[("http", &sockets.http), ("web", &sockets.web)]);
        command
            .arg(format!("--directory-path=do-storage={}", self.state.display()))
            .arg(format!("--directory-path=web-files={}", root.join("web/static").display()))
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        let child = command.spawn().expect("start workerd (run `cargo xtask setup`)");
        drop(guard);
        self.child = Some(child);
        self.wait_ready();
    }

    /// Ready means a real answer from `/v1/health`; a runtime that exits first fails the test with
    /// its log.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let probe = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("workerd exited with {status} before it was ready:\n{}", self.log_tail());
                }
            }
            match probe.get(&format!("{}/v1/health", self.base())).call() {
                Ok(response) if response.status() == 200 => return,
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "workerd did not answer /v1/health within {READY_TIMEOUT:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines workerd wrote (stdout and stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Kills the runtime with SIGKILL (no shutdown) and starts it again on the same state.
    pub fn kill_and_restart(&mut self) {
        self.kill_hard();
        self.restart();
    }

    /// SIGKILL, from any thread, while other threads may be mid-request. The listening sockets
    /// are closed too, so requests sent from now on are refused (as by a dead server) instead of
    /// waiting for the next runtime.
    pub fn kill_hard(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").arg("-9").arg(child.id().to_string()).status();
        }
        self.sockets.lock().expect("sockets lock").take();
    }

    /// Reaps a killed runtime and starts a new one on the same state (on new ports when the old
    /// sockets were closed by `kill_hard`).
    pub fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            child.wait().expect("reap workerd");
        }
        self.boot();
    }

    /// The workerd process id (for CPU accounting in the load run).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Where the web app is served (its `/v1/` reaches the API, as when deployed).
    pub fn app_base(&self) -> String {
        let port = self.sockets.lock().expect("sockets lock").as_ref().map_or(0, Sockets::web_port);
        format!("http://127.0.0.1:{port}")
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends a request; returns the status and the JSON body (Null when there is none).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self.agent.request(method, &format!("{}{}", self.base(), path));
        if let Some(token) = token {
            request = request.set("authorization", &format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.set("idempotency-key", key);
        }
        let result = match body {
            Some(body) => request.set("content-type", "application/json").send_string(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => return (0, Value::String(format!("transport: {error}"))),
        };
        let status = response.status();
        let text = response.into_string().unwrap_or_default();
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }

    /// Sends a request with exactly these headers; returns the status, the response headers asked
    /// for in `want` (None when absent) and the raw body text.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
        want: &[&str],
    ) -> (u16, Vec<Option<String>>, String) {
        let mut request = self.agent.request(method, &format!("{}{}", self.base(), path));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(body) => request.send_string(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("{method} {path}: transport: {error}\n{}", self.log_tail()),
        };
        let status = response.status();
        let got = want.iter().map(|name| response.header(name).map(str::to_string)).collect();
        (status, got, response.into_string().unwrap_or_default())
    }

    /// A GET that must see the catalog at `catalog_version` or later (read-your-writes after a
    /// master-data change, `Stockline-Min-Catalog-Version`).
    pub fn get_seeing(&self, path: &str, token: &str, catalog_version: &Value) -> (u16, Value) {
        let version = catalog_version.as_u64().expect("a catalog version").to_string();
        let auth = format!("Bearer {token}");
        let headers = [("authorization", auth.as_str()), ("stockline-min-catalog-version", version.as_str())];
        let (status, _, text) = self.raw("GET", path, &headers, None, &[]);
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send("GET", path, Some(token), None, None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.send("POST", path, Some(token), Some(&body.to_string()), None)
    }

    pub fn put(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.send("PUT", path, Some(token), Some(&body.to_string()), None)
    }

    /// Sends one request and checks its status and, for errors, the contract's error code and
    /// that a message says why.
    #[track_caller]
    pub fn expect(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        status: u16,
        code: &str,
    ) -> Value {
        let (got, answer) = self.send(method, path, token, body, None);
        assert_eq!(got, status, "{method} {path} {body:?}: {answer}");
        if !code.is_empty() {
            assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
            assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        }
        answer
    }

    /// Master data and stock for a test, through the API as an admin and a warehouse would.
    pub fn location(&self, id: &str, kind: &str, priority: i64) {
        let body = serde_json::json!({"name": id, "kind": kind, "region": "eu", "priority": priority});
        self.must(self.put(&format!("/v1/locations/{id}"), "dev-admin", &body));
    }

    pub fn sku(&self, id: &str, safety_stock: i64) {
        let body = serde_json::json!({"name": id, "safety_stock": safety_stock});
        self.must(self.put(&format!("/v1/skus/{id}"), "dev-admin", &body));
    }

    pub fn receive(&self, sku: &str, location: &str, qty: i64) {
        let body = serde_json::json!({"kind": "receive", "location": location, "qty": qty});
        self.must(self.post(&format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body));
    }

    /// The SKU's availability `version` (it grows by one with every change to the SKU).
    #[track_caller]
    pub fn version(&self, sku: &str) -> u64 {
        let (status, body) = self.get(&format!("/v1/availability/{sku}"), "dev-admin");
        assert_eq!(status, 200, "{body}");
        body["version"].as_u64().expect("a version")
    }

    /// Like `put`/`post` but fails the test unless the answer is 2xx.
    pub fn must(&self, (status, body): (u16, Value)) -> Value {
        assert!((200..300).contains(&status), "expected 2xx, got {status}: {body}");
        body
    }
}

impl Drop for Stockline {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("workerd log ({}):\n{}", self.log.display(), self.log_tail());
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The benchmark's floor (tests/bench/floor.capnp) in the same workerd: a JavaScript Worker that
/// answers at once, and one that forwards to a JavaScript Durable Object with a fixed answer.
pub struct Floor {
    child: Child,
    storage: PathBuf,
    pub hello_port: u16,
    pub object_port: u16,
}

impl Floor {
    pub fn start() -> Floor {
        Floor::start_under(&std::env::temp_dir())
    }

    /// The floor with its objects' storage in a new directory under `parent`.
    pub fn start_under(parent: &Path) -> Floor {
        let (hello, object) = (bind_loopback(), bind_loopback());
        let storage = parent.join(format!("stockline-floor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&storage);
        std::fs::create_dir_all(&storage).expect("the floor's storage directory");
        let child = workerd(&root().join("tests/bench/floor.capnp"), &[("hello", &hello), ("object", &object)])
            .arg(format!("--directory-path=floor-storage={}", storage.display()))
            .stdout(Stdio::null())
            .spawn()
            .expect("start workerd for the floor");
        let floor = Floor { child, storage, hello_port: port_of(&hello), object_port: port_of(&object) };
        let deadline = Instant::now() + READY_TIMEOUT;
        for port in [floor.hello_port, floor.object_port] {
            while ureq::get(&format!("http://127.0.0.1:{port}/ready")).call().is_err() {
                assert!(Instant::now() < deadline, "the floor's workerd did not answer within {READY_TIMEOUT:?}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        floor
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}
