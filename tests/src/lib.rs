//! A harness for black-box tests: the built worker (edge/build) running in workerd on a free
//! port with its own state directory, and a small HTTP client speaking the contract.

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the workspace").to_path_buf()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A running workerd serving the built worker. Killed when dropped; its state directory stays
/// until the `Stockline` is dropped, so a test can restart the runtime on the same state.
pub struct Stockline {
    child: Option<Child>,
    pub port: u16,
    pub state: PathBuf,
    agent: ureq::Agent,
}

impl Stockline {
    pub fn start() -> Stockline {
        let state = std::env::temp_dir().join(format!("stockline-test-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&state).expect("state directory");
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
        let mut stockline = Stockline { child: None, port: free_port(), state, agent };
        stockline.boot();
        stockline
    }

    fn boot(&mut self) {
        let root = root();
        let built = root.join("edge/build/index.js");
        assert!(built.exists(), "{} is missing: run `cargo xtask test`, which builds it first", built.display());
        let child = Command::new(root.join("node_modules/@cloudflare/workerd-linux-64/bin/workerd"))
            .arg("serve")
            .arg(root.join("edge/workerd.capnp"))
            .arg(format!("--socket-addr=http=127.0.0.1:{}", self.port))
            .arg(format!("--socket-addr=web=127.0.0.1:{}", free_port()))
            .arg(format!("--directory-path=do-storage={}", self.state.display()))
            .arg(format!("--directory-path=web-files={}", root.join("web/static").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start workerd (run `cargo xtask setup`)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "workerd did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Kills the runtime with SIGKILL (no shutdown) and starts it again on the same state.
    pub fn kill_and_restart(&mut self) {
        self.kill_hard();
        self.restart();
    }

    /// SIGKILL, from any thread, while other threads may be mid-request.
    pub fn kill_hard(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").arg("-9").arg(child.id().to_string()).status();
        }
    }

    /// Reaps a killed runtime and starts a new one on the same state and port.
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

    /// Like `put`/`post` but fails the test unless the answer is 2xx.
    pub fn must(&self, (status, body): (u16, Value)) -> Value {
        assert!((200..300).contains(&status), "expected 2xx, got {status}: {body}");
        body
    }
}

impl Drop for Stockline {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
