//! Evaluator behaviour: unknown and sensitive propagation, expressions and every function.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_config::{eval, eval_body, Expr, Scope};
use strata_core::{Mode, Value};

#[derive(Default)]
struct TestScope {
    vars: BTreeMap<String, Value>,
    locals: BTreeMap<String, Value>,
    resources: BTreeMap<(Mode, String, String), Value>,
    deps: BTreeMap<String, Value>,
    each: Option<(Value, Value)>,
    count: Option<i64>,
    dir: PathBuf,
}

impl Scope for TestScope {
    fn variable(&self, name: &str) -> Option<Value> {
        self.vars.get(name).cloned()
    }
    fn local(&self, name: &str) -> Option<Value> {
        self.locals.get(name).cloned()
    }
    fn resource(&self, mode: Mode, t: &str, n: &str) -> Option<Value> {
        self.resources
            .get(&(mode, t.to_string(), n.to_string()))
            .cloned()
    }
    fn dependency_outputs(&self, name: &str) -> Option<Value> {
        self.deps.get(name).cloned()
    }
    fn each(&self) -> Option<(Value, Value)> {
        self.each.clone()
    }
    fn count_index(&self) -> Option<i64> {
        self.count
    }
    fn env(&self) -> &str {
        "stage"
    }
    fn stack_dir(&self) -> &Path {
        &self.dir
    }
    fn project_root(&self) -> &Path {
        Path::new("/project")
    }
}

fn scope() -> TestScope {
    let mut s = TestScope::default();
    s.vars.insert("region".into(), Value::from("nyc1"));
    s.vars.insert("n".into(), Value::from(3i64));
    s.vars
        .insert("password".into(), Value::from("hunter2").sensitive());
    s.vars.insert("later".into(), Value::Unknown);
    s.vars
        .insert("names".into(), Value::List(vec!["a".into(), "b".into()]));
    s.vars.insert(
        "tags".into(),
        Value::map([("env", Value::from("stage")), ("team", Value::from("core"))]),
    );
    s.locals.insert(
        "half_known".into(),
        Value::List(vec![Value::from("x"), Value::Unknown]),
    );
    s.resources.insert(
        (Mode::Managed, "t_vpc".into(), "main".into()),
        Value::map([("id", Value::Unknown), ("name", Value::from("vpc"))]),
    );
    s.resources.insert(
        (Mode::Managed, "t_node".into(), "pool".into()),
        Value::List(vec![
            Value::map([("id", Value::from("n0"))]),
            Value::map([("id", Value::from("n1"))]),
        ]),
    );
    s.resources.insert(
        (Mode::Data, "t_image".into(), "ubuntu".into()),
        Value::map([("id", Value::from("img-1"))]),
    );
    s.deps.insert(
        "base".into(),
        Value::map([("endpoint", Value::from("https://k8s"))]),
    );
    s.deps.insert("later".into(), Value::Unknown);
    s.dir = std::env::temp_dir();
    s
}

fn ev_in(src: &str, s: &TestScope) -> Result<Value, String> {
    let e = Expr::parse(src, "test.hcl").map_err(|d| d.to_string())?;
    eval(&e, s).map_err(|d| d.to_string())
}

fn ev(src: &str) -> Value {
    ev_in(src, &scope()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn err(src: &str) -> String {
    match ev_in(src, &scope()) {
        Ok(v) => panic!("{src} should fail, gave {v:?}"),
        Err(e) => e,
    }
}

fn s(x: &str) -> Value {
    Value::from(x)
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|x| Value::from(*x)).collect())
}

#[test]
fn literals_and_arithmetic() {
    assert_eq!(ev("1 + 2 * 3"), Value::Number(7.0));
    assert_eq!(ev("(1 + 2) * 3 - 10 / 5 % 3"), Value::Number(7.0));
    assert_eq!(ev("-var.n"), Value::Number(-3.0));
    assert_eq!(ev("!true || false"), Value::Bool(false));
    assert_eq!(ev("var.n >= 3 && var.n < 4"), Value::Bool(true));
    assert_eq!(ev("\"a\" == \"a\""), Value::Bool(true));
    assert_eq!(ev("[1, \"x\"] != [1, \"x\"]"), Value::Bool(false));
    assert_eq!(ev("null"), Value::Null);
    assert_eq!(
        ev("{ a = 1, \"b c\" = 2 }"),
        Value::map([("a", Value::Number(1.0)), ("b c", Value::Number(2.0))])
    );
    assert!(err("1 / 0").contains("Division by zero"));
}

#[test]
fn references_resolve_through_the_scope() {
    assert_eq!(ev("var.region"), s("nyc1"));
    assert_eq!(ev("t_vpc.main.name"), s("vpc"));
    assert_eq!(ev("t_node.pool[1].id"), s("n1"));
    assert_eq!(ev("data.t_image.ubuntu.id"), s("img-1"));
    assert_eq!(ev("dependency.base.outputs.endpoint"), s("https://k8s"));
    assert_eq!(ev("env"), s("stage"));
    assert_eq!(ev("path.root"), s("/project"));
    let mut sc = scope();
    sc.each = Some((s("k"), s("v")));
    sc.count = Some(2);
    assert_eq!(
        ev_in("\"${each.key}=${each.value}/${count.index}\"", &sc).unwrap(),
        s("k=v/2")
    );
    assert!(err("each.key").contains("without for_each"));
    assert!(err("count.index").contains("without count"));
    assert!(err("var.nope").contains("Reference to undeclared input variable"));
    assert!(err("t_vpc.other.id").contains("Reference to undeclared resource"));
}

#[test]
fn errors_name_file_line_column_and_show_the_line() {
    let e = err("{\n  a = tonumber(\"abc\")\n}");
    assert!(
        e.contains("Call to function \"tonumber\" failed: cannot convert \"abc\" to a number"),
        "{e}"
    );
    assert!(e.contains("--> test.hcl:2:7"), "{e}");
    assert!(e.contains("2 |   a = tonumber(\"abc\")"), "{e}");
    let e = err("var.tags.tema");
    assert!(
        e.contains("Unsupported attribute") && e.contains("did you mean \"team\""),
        "{e}"
    );
    let e = err("var.names[5]");
    assert!(
        e.contains("Invalid index") && e.contains("out of range"),
        "{e}"
    );
    assert!(err("lenght(var.names)").contains("did you mean \"length\""));
}

#[test]
fn unknown_propagates() {
    assert_eq!(ev("var.later + 1"), Value::Unknown);
    assert_eq!(ev("\"id-${t_vpc.main.id}\""), Value::Unknown);
    assert_eq!(ev("upper(var.later)"), Value::Unknown);
    assert_eq!(ev("var.later.anything[0]"), Value::Unknown);
    assert_eq!(ev("dependency.later.outputs.kubeconfig"), Value::Unknown);
    assert_eq!(ev("var.later == 1"), Value::Unknown);
    // A conditional on an unknown is unknown; a known one picks a branch without looking at the other.
    assert_eq!(ev("var.later ? 1 : 2"), Value::Unknown);
    assert_eq!(ev("true ? 1 : var.later"), Value::Number(1.0));
    // Structure of a known collection with unknown elements stays known.
    assert_eq!(ev("length(local.half_known)"), Value::Number(2.0));
    assert_eq!(ev("keys(t_vpc.main)"), list(&["id", "name"]));
    assert_eq!(ev("jsonencode(local.half_known)"), Value::Unknown);
    assert_eq!(ev("[for x in var.later : x]"), Value::Unknown);
    // Short-circuit: the right side is not needed.
    assert_eq!(ev("false && var.later"), Value::Bool(false));
}

#[test]
fn sensitive_propagates() {
    assert!(ev("var.password").is_sensitive());
    assert!(ev("\"pw=${var.password}\"").is_sensitive());
    assert!(ev("upper(var.password)").is_sensitive());
    assert!(ev("base64encode(var.password)").is_sensitive());
    assert!(ev("jsonencode({ pw = var.password })").is_sensitive());
    assert!(ev("var.password == \"x\"").is_sensitive());
    assert!(ev("length(var.password)").is_sensitive());
    assert!(ev("sensitive(\"x\")").is_sensitive());
    assert_eq!(ev("nonsensitive(var.password)"), s("hunter2"));
    // Inside a collection the mark stays on the element, not the whole.
    let m = ev("merge({ a = 1 }, { pw = var.password })");
    assert!(!m.is_sensitive() && m.get("pw").unwrap().is_sensitive());
    assert!(ev("\"%{if var.password == \"x\"}a%{else}b%{endif}\"").is_sensitive());
    // Errors do not show the secret.
    let e = err("var.password + 1");
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn templates_and_directives() {
    assert_eq!(
        ev("\"${var.n}\""),
        Value::Number(3.0),
        "a lone interpolation keeps its type"
    );
    assert_eq!(ev("\"n=${var.n}, ok=${true}\""), s("n=3, ok=true"));
    assert_eq!(ev("\"%{for x in var.names}[${x}]%{endfor}\""), s("[a][b]"));
    assert_eq!(ev("\"%{if var.n > 2}big%{else}small%{endif}\""), s("big"));
    assert_eq!(ev("\"a  ${\"b\"}  c\""), s("a  b  c"));
    assert_eq!(ev("\"a  ${~ \"b\" ~}  c\""), s("abc"));
    assert_eq!(
        ev("{\n a = <<EOT\nhello ${var.region}\nEOT\n}").get("a"),
        Some(s("hello nyc1\n"))
    );
    assert_eq!(
        ev("{\n a = <<-EOT\n    indented\n      more\n    EOT\n}").get("a"),
        Some(s("indented\n  more\n"))
    );
    assert_eq!(ev("\"$${literal}\""), s("${literal}"));
    assert!(err("\"x${var.names}\"").contains("Invalid template interpolation value"));
}

#[test]
fn for_expressions() {
    assert_eq!(ev("[for x in var.names : upper(x)]"), list(&["A", "B"]));
    assert_eq!(
        ev("[for i, x in var.names : \"${i}${x}\" if x != \"a\"]"),
        list(&["1b"])
    );
    assert_eq!(
        ev("{ for k, v in var.tags : v => k }"),
        Value::map([("stage", s("env")), ("core", s("team"))])
    );
    assert_eq!(
        ev("{ for x in [\"a\", \"b\", \"a\"] : x => x... }"),
        Value::map([("a", list(&["a", "a"])), ("b", list(&["b"]))])
    );
    assert!(err("{ for x in [\"a\", \"a\"] : x => x }").contains("Duplicate object key"));
    assert!(err("[for x in null : x]").contains("Iteration over null value"));
}

#[test]
fn splats() {
    assert_eq!(ev("t_node.pool[*].id"), list(&["n0", "n1"]));
    assert_eq!(ev("t_node.pool.*.id"), list(&["n0", "n1"]));
    assert_eq!(
        ev("[{ a = [1] }, { a = [2] }][*].a[0]"),
        Value::List(vec![Value::Number(1.0), Value::Number(2.0)])
    );
    assert_eq!(ev("null[*]"), Value::List(vec![]));
    assert_eq!(ev("var.later[*].id"), Value::Unknown);
}

#[test]
fn conditionals() {
    assert_eq!(ev("var.n > 2 ? \"big\" : \"small\""), s("big"));
    assert_eq!(ev("var.region == \"x\" ? 1 : 2"), Value::Number(2.0));
    assert!(ev("var.password == \"hunter2\" ? \"yes\" : \"no\"").is_sensitive());
    assert!(err("\"x\" ? 1 : 2").contains("Incorrect condition type"));
}

#[test]
fn string_functions() {
    assert_eq!(
        ev("format(\"%s-%03d-%.1f-%v\", \"a\", 7, 1.25, true)"),
        s("a-007-1.2-true")
    );
    assert_eq!(
        ev("format(\"%-4s|%q|%%\", \"ab\", \"x\")"),
        s("ab  |\"x\"|%")
    );
    assert_eq!(ev("join(\",\", var.names, [\"c\"])"), s("a,b,c"));
    assert_eq!(ev("split(\",\", \"a,b\")"), list(&["a", "b"]));
    assert_eq!(ev("lower(\"AbC\")"), s("abc"));
    assert_eq!(ev("upper(\"abc\")"), s("ABC"));
    assert_eq!(ev("replace(\"a-b-c\", \"-\", \"_\")"), s("a_b_c"));
    assert_eq!(ev("tostring(12)"), s("12"));
    assert!(err("tostring([])").contains("cannot convert a list to a string"));
    assert_eq!(ev("trimspace(\"  x \\n\")"), s("x"));
    assert_eq!(ev("startswith(\"hello\", \"he\")"), Value::Bool(true));
    assert_eq!(ev("endswith(\"hello\", \"he\")"), Value::Bool(false));
    assert_eq!(ev("substr(\"hello\", 1, 3)"), s("ell"));
    assert_eq!(ev("substr(\"hello\", -3, -1)"), s("llo"));
    assert_eq!(ev("trimprefix(\"v1.2\", \"v\")"), s("1.2"));
    assert_eq!(ev("trimsuffix(\"a.hcl\", \".hcl\")"), s("a"));
}

#[test]
fn number_functions() {
    assert_eq!(ev("tonumber(\"42\")"), Value::Number(42.0));
    assert_eq!(ev("min(3, 1, 2)"), Value::Number(1.0));
    assert_eq!(ev("max(3, 1, 2)"), Value::Number(3.0));
    assert_eq!(ev("abs(-2)"), Value::Number(2.0));
    assert_eq!(ev("ceil(1.2)"), Value::Number(2.0));
    assert_eq!(ev("floor(1.8)"), Value::Number(1.0));
    assert_eq!(
        ev("range(3)"),
        Value::List(vec![0.0.into(), 1.0.into(), 2.0.into()])
    );
    assert_eq!(
        ev("range(1, 7, 3)"),
        Value::List(vec![1.0.into(), 4.0.into()])
    );
    assert!(err("range(100000)").contains("more than 1024"));
}

#[test]
fn collection_functions() {
    assert_eq!(
        ev("merge({ a = 1, b = 1 }, { b = 2 })"),
        Value::map([("a", 1.0.into()), ("b", 2.0.into())])
    );
    assert_eq!(ev("lookup(var.tags, \"env\", \"x\")"), s("stage"));
    assert_eq!(ev("lookup(var.tags, \"nope\", \"x\")"), s("x"));
    assert_eq!(ev("concat(var.names, [\"c\"])"), list(&["a", "b", "c"]));
    assert_eq!(ev("length(\"héllo\")"), Value::Number(5.0));
    assert_eq!(ev("length(var.tags)"), Value::Number(2.0));
    assert_eq!(ev("keys(var.tags)"), list(&["env", "team"]));
    assert_eq!(ev("values(var.tags)"), list(&["stage", "core"]));
    assert_eq!(ev("coalesce(null, \"\", \"x\")"), s("x"));
    assert!(err("coalesce(null, \"\")").contains("no non-null"));
    assert_eq!(ev("contains(var.names, \"b\")"), Value::Bool(true));
    assert_eq!(ev("element(var.names, 3)"), s("b"));
    assert_eq!(
        ev("flatten([[\"a\"], [[\"b\"]], \"c\"])"),
        list(&["a", "b", "c"])
    );
    assert_eq!(ev("distinct([\"a\", \"b\", \"a\"])"), list(&["a", "b"]));
    assert_eq!(ev("toset([\"b\", \"a\", \"b\"])"), list(&["a", "b"]));
    assert_eq!(ev("tolist(var.names)"), list(&["a", "b"]));
    assert_eq!(ev("tomap({ a = \"x\" })"), Value::map([("a", s("x"))]));
    assert_eq!(
        ev("zipmap([\"a\", \"b\"], [1, 2])"),
        Value::map([("a", 1.0.into()), ("b", 2.0.into())])
    );
    assert_eq!(ev("compact([\"a\", \"\", null])"), list(&["a"]));
    assert_eq!(ev("reverse(var.names)"), list(&["b", "a"]));
    assert_eq!(ev("try(var.tags.nope, \"fallback\")"), s("fallback"));
    assert_eq!(ev("can(var.tags.nope)"), Value::Bool(false));
    assert_eq!(ev("can(var.tags.env)"), Value::Bool(true));
    assert_eq!(ev("concat([[\"a\"], [\"b\"]]...)"), list(&["a", "b"]));
}

#[test]
fn encoding_functions() {
    assert_eq!(
        ev("jsonencode({ a = [1, \"x\", true, null] })"),
        s("{\"a\":[1,\"x\",true,null]}")
    );
    assert_eq!(
        ev("jsondecode(\"{\\\"a\\\": [1, 2]}\")"),
        Value::map([("a", Value::List(vec![1.0.into(), 2.0.into()]))])
    );
    assert!(err("jsondecode(\"{\")").contains("invalid JSON"));
    assert_eq!(ev("yamlencode({ a = \"b\" })"), s("a: b\n"));
    assert_eq!(
        ev("yamldecode(\"a: 1\\nb: [x, y]\\n\")"),
        Value::map([("a", 1.0.into()), ("b", list(&["x", "y"]))])
    );
    assert_eq!(ev("base64encode(\"hello\")"), s("aGVsbG8="));
    assert_eq!(ev("base64decode(\"aGVsbG8=\")"), s("hello"));
    assert!(err("base64decode(\"!!\")").contains("invalid base64"));
}

#[test]
fn network_functions() {
    assert_eq!(ev("cidrsubnet(\"10.10.0.0/16\", 8, 2)"), s("10.10.2.0/24"));
    assert_eq!(ev("cidrsubnet(\"10.0.0.0/8\", 4, 15)"), s("10.240.0.0/12"));
    assert_eq!(ev("cidrsubnet(\"fd00::/56\", 8, 1)"), s("fd00:0:0:1::/64"));
    assert!(err("cidrsubnet(\"10.0.0.0/30\", 4, 0)").contains("not enough bits"));
    assert!(err("cidrsubnet(\"10.0.0.0/16\", 2, 4)").contains("does not fit"));
}

#[test]
fn file_functions_read_relative_to_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("motd.txt"), "hi").unwrap();
    std::fs::create_dir_all(dir.path().join("k8s/sub")).unwrap();
    std::fs::write(dir.path().join("k8s/a.yaml"), "").unwrap();
    std::fs::write(dir.path().join("k8s/sub/b.yaml"), "").unwrap();
    std::fs::write(dir.path().join("k8s/c.txt"), "").unwrap();
    std::fs::write(
        dir.path().join("init.tpl"),
        "name=${name}\n%{ for p in ports ~}\nport ${p}\n%{ endfor ~}\n",
    )
    .unwrap();
    let mut sc = scope();
    sc.dir = dir.path().to_path_buf();
    assert_eq!(ev_in("file(\"motd.txt\")", &sc).unwrap(), s("hi"));
    assert!(ev_in("file(\"missing.txt\")", &sc)
        .unwrap_err()
        .contains("no file exists at \"missing.txt\""));
    assert_eq!(
        ev_in("fileset(\"k8s\", \"**/*.yaml\")", &sc).unwrap(),
        list(&["a.yaml", "sub/b.yaml"])
    );
    assert_eq!(
        ev_in(
            "templatefile(\"init.tpl\", { name = \"web\", ports = [80, 443] })",
            &sc
        )
        .unwrap(),
        s("name=web\nport 80\nport 443\n")
    );
    let e = ev_in("templatefile(\"init.tpl\", { name = \"web\" })", &sc).unwrap_err();
    assert!(e.contains("init.tpl:2"), "{e}");
    assert!(ev_in(
        "templatefile(\"init.tpl\", { name = var.password, ports = [] })",
        &sc
    )
    .unwrap()
    .is_sensitive());
}

#[test]
fn body_evaluation_collects_every_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("s")).unwrap();
    std::fs::write(dir.path().join("strata.hcl"), "project \"p\" {}\n").unwrap();
    std::fs::write(
        dir.path().join("s/main.hcl"),
        "resource \"t_x\" \"a\" {\n  name = var.region\n  bad1 = var.nope\n  bad2 = 1 + \"x\"\n  node_pool { size = 1 }\n  node_pool { size = 2 }\n}\n",
    )
    .unwrap();
    let project = strata_config::load_project(dir.path()).unwrap();
    let r = &project.stacks["s"].resources[0];
    let e = eval_body(&r.body, &scope()).unwrap_err();
    assert_eq!(e.len(), 2, "{e}");
    let mut body = r.body.clone();
    body.attributes.retain(|a| a.name == "name");
    let v = eval_body(&body, &scope()).unwrap();
    assert_eq!(v.get("name"), Some(s("nyc1")));
    assert_eq!(v.get("node_pool").unwrap().as_list().unwrap().len(), 2);
}
