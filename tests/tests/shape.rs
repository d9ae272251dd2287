//! The shape of the workspace, checked on every run (issue "shape before breadth"):
//!
//! - no `.rs` file over [`MAX_FILE_LINES`] lines;
//! - no function (free, inherent, trait default) over [`MAX_FN_LINES`] lines;
//! - no module cycles between the files of one crate.
//!
//! An edge `a.rs → b.rs` is a `use crate::…`/`super::…`/`self::…` item or a path in code
//! that names something in `b.rs`, followed through `pub use` re-exports to the file that
//! defines it. `mod` declarations and `pub use` items themselves are not edges: a parent
//! declaring or re-exporting its children is a facade, not a dependency.
//! Each failure prints every offender, so one run shows the whole list.
//!
//! `tests/shape-known.txt` lists the offenders that were there when the check was
//! written, one per line; it may only shrink: a new offender fails, and so does a listed
//! one that is gone (delete its line). The goal is an empty list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 100;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// Every tracked-looking `.rs` file of the workspace (no build output, no fuzz corpus).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for ent in rd.flatten() {
        let p = ent.path();
        let name = ent.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if name == "target" || name.starts_with('.') || name == "corpus" || name == "artifacts"
            {
                continue;
            }
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// The offenders still allowed (`tests/shape-known.txt`), by key.
fn known() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("shape-known.txt");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Fail on offenders that are not known, and on known ones of this `kind` that are gone.
fn judge(kind: &str, what: &str, found: Vec<(String, String)>) {
    let known: BTreeSet<String> = known()
        .into_iter()
        .filter(|k| k.starts_with(&format!("{kind} ")))
        .collect();
    let keys: BTreeSet<String> = found.iter().map(|(k, _)| k.clone()).collect();
    let new: Vec<&String> = found
        .iter()
        .filter(|(k, _)| !known.contains(k))
        .map(|(_, line)| line)
        .collect();
    let gone: Vec<&String> = known.iter().filter(|k| !keys.contains(*k)).collect();
    let mut msg = String::new();
    if !new.is_empty() {
        msg += &format!(
            "{what}:\n{}\n",
            new.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    if !gone.is_empty() {
        msg += &format!(
            "fixed, so delete these lines from tests/shape-known.txt:\n{}\n",
            gone.iter()
                .map(|s| format!("  {s}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let still = found.len() - new.len();
    if still > 0 {
        eprintln!("{still} known {kind} offenders remain in tests/shape-known.txt");
    }
    assert!(msg.is_empty(), "{msg}");
}

fn rel(p: &Path) -> String {
    p.strip_prefix(workspace_root())
        .unwrap_or(p)
        .display()
        .to_string()
}

#[test]
fn no_source_file_is_over_the_limit() {
    let mut files = Vec::new();
    rust_files(&workspace_root(), &mut files);
    files.sort();
    let mut big = Vec::new();
    for f in &files {
        let n = std::fs::read_to_string(f)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if n > MAX_FILE_LINES {
            big.push((
                format!("file {}", rel(f)),
                format!("  {}: {n} lines", rel(f)),
            ));
        }
    }
    judge(
        "file",
        &format!("files over {MAX_FILE_LINES} lines (split them by job)"),
        big,
    );
}

struct FnLengths<'a> {
    file: &'a str,
    long: Vec<(String, String)>,
}

impl FnLengths<'_> {
    fn check(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let n = span.end().line + 1 - span.start().line;
        if n > MAX_FN_LINES {
            self.long.push((
                format!("fn {}:{name}", self.file),
                format!(
                    "  {}:{}: fn {name}: {n} lines",
                    self.file,
                    span.start().line
                ),
            ));
        }
    }
}

impl<'ast> Visit<'ast> for FnLengths<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.check(&f.sig.ident, syn::spanned::Spanned::span(f));
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.check(&f.sig.ident, syn::spanned::Spanned::span(f));
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if f.default.is_some() {
            self.check(&f.sig.ident, syn::spanned::Spanned::span(f));
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

#[test]
fn no_function_is_over_the_limit() {
    let mut files = Vec::new();
    rust_files(&workspace_root(), &mut files);
    files.sort();
    let mut long = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let Ok(ast) = syn::parse_file(&text) else {
            panic!("{} does not parse", rel(f));
        };
        let name = rel(f);
        let mut v = FnLengths {
            file: &name,
            long: Vec::new(),
        };
        v.visit_file(&ast);
        long.extend(v.long);
    }
    judge(
        "fn",
        &format!("functions over {MAX_FN_LINES} lines (split them into steps)"),
        long,
    );
}

/// One crate's module tree: module path (`["security", "manager"]`) → its file.
struct Crate {
    modules: BTreeMap<Vec<String>, PathBuf>,
    /// module path → (re-exported name → absolute path it stands for).
    reexports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
}

impl Crate {
    /// Walk `mod x;` declarations from the crate root file.
    fn load(root_file: &Path) -> Crate {
        let mut c = Crate {
            modules: BTreeMap::new(),
            reexports: BTreeMap::new(),
        };
        c.walk(Vec::new(), root_file);
        c
    }

    fn walk(&mut self, path: Vec<String>, file: &Path) {
        self.modules.insert(path.clone(), file.to_path_buf());
        let Ok(ast) = syn::parse_file(&std::fs::read_to_string(file).unwrap_or_default()) else {
            return;
        };
        // Children of `a.rs` live in `a/`, of `a/mod.rs`, `lib.rs`, `main.rs` in `a/` too.
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = if path.is_empty() || stem == "mod" {
            file.parent().unwrap().to_path_buf()
        } else {
            file.parent().unwrap().join(&stem)
        };
        let mut names = BTreeMap::new();
        for item in &ast.items {
            if let syn::Item::Use(u) = item {
                if !matches!(u.vis, syn::Visibility::Inherited) {
                    let mut r = Refs {
                        here: &path,
                        children: declared_children(&ast),
                        out: BTreeSet::new(),
                    };
                    r.use_tree(&mut Vec::new(), &u.tree);
                    for target in r.out {
                        if let Some(last) = target.last() {
                            names.insert(last.clone(), target.clone());
                        }
                    }
                    // `pub use child::X` names a path relative to this module.
                    let mut rel = Refs {
                        here: &path,
                        children: declared_children(&ast),
                        out: BTreeSet::new(),
                    };
                    let mut prefix = vec!["self".to_string()];
                    rel.use_tree(&mut prefix, &u.tree);
                    for target in rel.out {
                        if let Some(last) = target.last() {
                            names.entry(last.clone()).or_insert(target.clone());
                        }
                    }
                }
            }
        }
        self.reexports.insert(path.clone(), names);
        for item in &ast.items {
            if let syn::Item::Mod(m) = item {
                if m.content.is_some() {
                    continue; // inline module: part of this file
                }
                let name = m.ident.to_string();
                let a = dir.join(format!("{name}.rs"));
                let b = dir.join(&name).join("mod.rs");
                let child = if a.exists() { a } else { b };
                if child.exists() {
                    let mut p = path.clone();
                    p.push(name);
                    self.walk(p, &child);
                }
            }
        }
    }

    /// The file that defines what `path` (already absolute from the crate root) names:
    /// the deepest module that exists along it.
    fn file_of(&self, path: &[String]) -> Option<&PathBuf> {
        self.resolve(path, 0)
    }

    fn resolve(&self, path: &[String], depth: usize) -> Option<&PathBuf> {
        let n = (0..=path.len())
            .rev()
            .find(|n| self.modules.contains_key(&path[..*n]))?;
        if n < path.len() && depth < 8 {
            // `crate::x::Name` where x re-exports Name from elsewhere: follow it.
            if let Some(target) = self.reexports.get(&path[..n]).and_then(|m| m.get(&path[n])) {
                if target.as_slice() != path {
                    let mut t = target.clone();
                    t.extend(path[n + 1..].iter().cloned());
                    return self.resolve(&t, depth + 1);
                }
            }
        }
        self.modules.get(&path[..n])
    }
}

/// Collects the absolute module paths a file refers to.
struct Refs<'a> {
    here: &'a [String],
    /// The child modules declared in this file (`mod x;`): `x::y` is relative to here.
    children: BTreeSet<String>,
    out: BTreeSet<Vec<String>>,
}

/// The modules a file declares with `mod x;` (not inline ones).
fn declared_children(ast: &syn::File) -> BTreeSet<String> {
    ast.items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Mod(m) if m.content.is_none() => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

impl Refs<'_> {
    fn absolute(&self, segs: &[String]) -> Option<Vec<String>> {
        let first = segs.first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.here.to_vec(),
            "super" => {
                let mut b = self.here.to_vec();
                let mut rest = segs;
                while rest.first().map(String::as_str) == Some("super") {
                    b.pop();
                    rest = &rest[1..];
                }
                b.extend(rest.iter().cloned());
                return Some(b);
            }
            name if self.children.contains(name) => {
                let mut b = self.here.to_vec();
                b.extend(segs.iter().cloned());
                return Some(b);
            }
            _ => return None,
        };
        base.extend(segs[1..].iter().cloned());
        Some(base)
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                if let Some(a) = self.absolute(prefix) {
                    self.out.insert(a);
                }
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                if let Some(a) = self.absolute(prefix) {
                    self.out.insert(a);
                }
                prefix.pop();
            }
            syn::UseTree::Glob(_) => {
                if let Some(a) = self.absolute(prefix) {
                    self.out.insert(a);
                }
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    /// `pub(super)` / `pub(in crate::x)` name who may see an item, not a dependency.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // A `pub use` is a re-export (a facade), not a dependency of this file.
        if matches!(u.vis, syn::Visibility::Inherited) {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(a) = self.absolute(&segs) {
            self.out.insert(a);
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // Inline modules (`mod tests { ... }`) see the file's own scope via `super`.
        if m.content.is_some() {
            let mut here = self.here.to_vec();
            here.push(m.ident.to_string());
            let mut inner = Refs {
                here: &here,
                children: BTreeSet::new(),
                out: BTreeSet::new(),
            };
            syn::visit::visit_item_mod(&mut inner, m);
            let parent_len = self.here.len();
            for r in inner.out {
                // `super::x` from an inline module means this file again.
                if r.len() >= parent_len && r[..parent_len] == *self.here {
                    continue;
                }
                self.out.insert(r);
            }
        }
    }
}

/// The crate roots of the workspace: each member's `src/lib.rs`, `src/main.rs` and bins.
fn crate_roots() -> Vec<PathBuf> {
    let root = workspace_root();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let members = manifest["workspace"]["members"].as_array().unwrap();
    let mut out = Vec::new();
    for m in members {
        let dir = root.join(m.as_str().unwrap());
        for f in ["src/lib.rs", "src/main.rs"] {
            if dir.join(f).exists() {
                out.push(dir.join(f));
            }
        }
        if let Ok(rd) = std::fs::read_dir(dir.join("src/bin")) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "rs") {
                    out.push(e.path());
                }
            }
        }
    }
    out
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct T<'g> {
        g: &'g BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'g PathBuf, usize>,
        low: BTreeMap<&'g PathBuf, usize>,
        stack: Vec<&'g PathBuf>,
        on: BTreeSet<&'g PathBuf>,
        next: usize,
        out: Vec<Vec<PathBuf>>,
    }
    impl<'g> T<'g> {
        fn visit(&mut self, v: &'g PathBuf) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            for w in self.g.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn no_module_cycles_between_files_of_a_crate() {
    let mut found = Vec::new();
    for root in crate_roots() {
        let krate = Crate::load(&root);
        let mut graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
        for (path, file) in &krate.modules {
            let ast = syn::parse_file(&std::fs::read_to_string(file).unwrap()).unwrap();
            let mut r = Refs {
                here: path,
                children: declared_children(&ast),
                out: BTreeSet::new(),
            };
            r.visit_file(&ast);
            let edges = graph.entry(file.clone()).or_default();
            for target in r.out {
                if let Some(f) = krate.file_of(&target) {
                    if f != file {
                        edges.insert(f.clone());
                    }
                }
            }
        }
        for comp in cycles(&graph) {
            let names: Vec<String> = comp.iter().map(|p| rel(p)).collect();
            let mut detail = Vec::new();
            for a in &comp {
                for b in &graph[a] {
                    if comp.contains(b) {
                        detail.push(format!("    {} → {}", rel(a), rel(b)));
                    }
                }
            }
            found.push((
                format!("cycle {}", names.join(", ")),
                format!("  {}\n{}", names.join(", "), detail.join("\n")),
            ));
        }
    }
    judge(
        "cycle",
        "module cycles between files (make the dependency point one way)",
        found,
    );
}
