//! Conventions of the code that a tool can hold: inside `web/`, no file imports a module that
//! imports it back (a parent and its own children aside), so the catalog of words, `App`, the
//! charts and the pages stay layered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `web::customer::status` for `src/web/customer/status.rs`, `web::customer` for its `mod.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The `web` modules a file's text names through `crate::web::…` or `super::…`.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut named = Vec::new();
    for (prefix, base) in [
        ("crate::web::", "web".to_string()),
        ("super::", parent.to_string()),
    ] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            named.push(format!("{base}::{path}"));
        }
    }
    let mut out = BTreeSet::new();
    for name in named {
        let parts: Vec<&str> = name.split("::").filter(|p| !p.is_empty()).collect();
        if let Some(m) = (1..=parts.len())
            .rev()
            .map(|i| parts[..i].join("::"))
            .find(|m| known.contains(m))
            && m != module
        {
            out.insert(m);
        }
    }
    out
}

#[test]
fn no_file_of_web_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src.join("web"), &mut all);
    let texts: BTreeMap<String, String> = all
        .iter()
        .map(|f| (module_of(&src, f), std::fs::read_to_string(f).unwrap()))
        .collect();
    let known: BTreeSet<String> = texts.keys().cloned().collect();
    let graph: BTreeMap<&String, BTreeSet<String>> = texts
        .iter()
        .map(|(m, t)| (m, imports(m, t, &known)))
        .collect();
    let mut cycles = Vec::new();
    for (a, deps) in &graph {
        for b in deps {
            let family = a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"));
            if a.as_str() < b.as_str() && !family && graph[b].contains(a.as_str()) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(graph.len() > 30, "{} modules found", graph.len());
    assert!(cycles.is_empty(), "{cycles:#?}");
}
