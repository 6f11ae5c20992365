//! `wrangler deploy --dry-run` in the test command: the deployment bundles (the worker and the
//! app as static assets), names every Durable Object binding, and every bound class has its
//! migration, its export in the bundle and its namespace in the local config (edge/workerd.capnp).

use crate::{root, tool_path, Result};
use std::path::Path;
use std::process::Command;

/// Values of `key = "..."` lines, in order (wrangler.toml as this project writes it).
fn quoted_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix(key)?.trim_start().strip_prefix('=').map(str::trim))
        .filter_map(|value| value.strip_prefix('"')?.strip_suffix('"').map(str::to_string))
        .collect()
}

/// Every quoted name on `key = [...]` lines and in `{ from = "A", to = "B" }` renames (the `to`).
fn migrated_classes(text: &str) -> Vec<String> {
    let mut classes = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(list) = line.strip_prefix("new_sqlite_classes") {
            classes.extend(list.split('"').skip(1).step_by(2).map(str::to_string));
        }
        if line.starts_with("renamed_classes") {
            for rename in line.split("to = \"").skip(1) {
                classes.extend(rename.split('"').next().map(str::to_string));
            }
        }
    }
    classes
}

/// Files and folders under `dir`, as wrangler counts what it reads from an assets directory.
fn entries_under(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries.flatten().map(|entry| if entry.path().is_dir() { 1 + entries_under(&entry.path()) } else { 1 }).sum()
    })
}

pub fn dry_run() -> Result {
    let root = root();
    let out_dir = root.join("target/deploy-dry-run");
    let _ = std::fs::remove_dir_all(&out_dir);
    let output = Command::new(root.join("node_modules/.bin/wrangler"))
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&out_dir)
        .current_dir(&root)
        .env("PATH", tool_path())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("DO_NOT_TRACK", "1")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .output()
        .map_err(|e| format!("wrangler: {e}"))?;
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!("wrangler deploy --dry-run failed:\n{said}"));
    }
    let config = std::fs::read_to_string(root.join("wrangler.toml")).map_err(|e| format!("wrangler.toml: {e}"))?;
    let local = std::fs::read_to_string(root.join("edge/workerd.capnp")).map_err(|e| format!("workerd.capnp: {e}"))?;
    let bundle = std::fs::read_to_string(out_dir.join("index.js")).map_err(|e| format!("the bundle: {e}"))?;
    let names = quoted_values(&config, "name");
    let classes = quoted_values(&config, "class_name");
    let bindings: Vec<&String> = names.iter().skip(1).collect(); // the first `name` is the Worker's
    if classes.is_empty() || bindings.len() != classes.len() {
        return Err(format!("wrangler.toml: bindings {bindings:?} do not pair with classes {classes:?}"));
    }
    let migrated = migrated_classes(&config);
    let mut problems = Vec::new();
    for (binding, class) in bindings.iter().zip(&classes) {
        if !said.contains(&format!("env.{binding} ({class})")) {
            problems.push(format!("wrangler does not list env.{binding} ({class})"));
        }
        if !migrated.contains(class) {
            problems.push(format!("{class} has no migration (new_sqlite_classes or a rename to it)"));
        }
        if !bundle.contains(class.as_str()) {
            problems.push(format!("the bundle does not export {class}"));
        }
        if !local.contains(&format!("className = \"{class}\"")) || !local.contains(&format!("name = \"{binding}\"")) {
            problems.push(format!("edge/workerd.capnp lacks {class} bound as {binding}"));
        }
    }
    let app_files = entries_under(&root.join("web/dist"));
    if app_files == 0 || !said.contains(&format!("Read {app_files} files from the assets directory")) {
        problems
            .push(format!("the app's {app_files} files and folders in web/dist are not all in the upload:\n{said}"));
    }
    if !problems.is_empty() {
        return Err(format!("deploy dry run: {}", problems.join("; ")));
    }
    eprintln!(
        "deploy: dry run bundled the worker and the app ({app_files} files and folders); {} objects bound and migrated",
        classes.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_config_as_written() {
        let text = "name = \"stockline\"\n[[durable_objects.bindings]]\nname = \"A\"\nclass_name = \"X\"\n\
                    [[migrations]]\nnew_sqlite_classes = [\"Old\", \"Y\"]\nrenamed_classes = [{ from = \"Old\", to = \"X\" }]\n";
        assert_eq!(quoted_values(text, "name"), vec!["stockline", "A"]);
        assert_eq!(quoted_values(text, "class_name"), vec!["X"]);
        assert_eq!(migrated_classes(text), vec!["Old", "Y", "X"]);
    }
}
