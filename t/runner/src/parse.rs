//! Parsing of `.t` files: the Perl prologue (a fixed set of recognised calls), the
//! `__DATA__` blocks and their sections, value normalisation and filters.

use crate::eval::{self, Value};
use fancy_regex::Regex;

/// Settings from the prologue.
#[derive(Clone, Debug, PartialEq)]
pub struct Prologue {
    pub repeat_each: u32,
    pub no_shuffle: bool,
    pub log_level: Option<String>,
    pub master_on: bool,
    pub workers: Option<u32>,
    pub env_to_nginx: Vec<String>,
    pub worker_connections: Option<u32>,
    pub timeout: Option<f64>,
    pub server_name: Option<String>,
    pub check_accum_error_log: bool,
    pub no_root_location: bool,
    pub set_html_dir: bool,
}

impl Default for Prologue {
    fn default() -> Self {
        Prologue {
            repeat_each: 1,
            no_shuffle: false,
            log_level: None,
            master_on: false,
            workers: None,
            env_to_nginx: Vec::new(),
            worker_connections: None,
            timeout: None,
            server_name: None,
            check_accum_error_log: false,
            no_root_location: false,
            set_html_dir: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub name: String,
    pub filters: Vec<String>,
    /// Raw text (inline value, or the lines up to the next header).
    pub raw: String,
    pub inline: bool,
    /// 1-based line of the header in the file.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Text after `=== `, e.g. `TEST 1: sanity`.
    pub name: String,
    /// 1-based position in the file.
    pub index: usize,
    pub line: usize,
    pub sections: Vec<Section>,
}

impl Block {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
    pub fn has(&self, name: &str) -> bool {
        self.section(name).is_some()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestFile {
    pub prologue: Prologue,
    pub blocks: Vec<Block>,
}

pub fn parse_file(text: &str) -> Result<TestFile, String> {
    let mut prologue_text = String::new();
    let mut data_line = None;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let l = line.trim_end_matches(['\n', '\r']);
        if l == "__DATA__" {
            data_line = Some(n + 1);
            break;
        }
        if l == "__END__" {
            return Err("`__END__` before `__DATA__`: no test blocks".into());
        }
        prologue_text.push_str(line);
    }
    let data_line = data_line.ok_or("no `__DATA__` line: not a Test::Nginx file")?;
    let prologue = parse_prologue(&prologue_text)?;
    let data: String = text
        .split_inclusive('\n')
        .skip(data_line)
        .collect::<Vec<_>>()
        .concat();
    let blocks = parse_blocks(&data, data_line + 1)?;
    Ok(TestFile { prologue, blocks })
}

/// Split Perl source into statements (at `;` outside quotes/brackets), dropping comments.
fn statements(src: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = src.chars().peekable();
    let mut depth = 0i32;
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            '\'' | '"' => {
                cur.push(c);
                let mut closed = false;
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(format!("prologue: unterminated string in `{}`", cur.trim()));
                }
            }
            '(' | '{' | '[' => {
                depth += 1;
                cur.push(c);
            }
            ')' | '}' | ']' => {
                depth -= 1;
                cur.push(c);
            }
            ';' if depth == 0 => {
                let st = cur.split_whitespace().collect::<Vec<_>>().join(" ");
                if !st.is_empty() {
                    out.push(st);
                }
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    let rest = cur.split_whitespace().collect::<Vec<_>>().join(" ");
    if !rest.is_empty() {
        if rest.contains("add_block_preprocessor") {
            out.push(rest);
        } else {
            return Err(format!("prologue: statement without `;`: `{rest}`"));
        }
    }
    Ok(out)
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("internal regex")
}

fn caps(r: &str, s: &str) -> Option<Vec<String>> {
    let c = re(r).captures(s).ok()??;
    Some(
        c.iter()
            .map(|m| m.map(|m| m.as_str().to_string()).unwrap_or_default())
            .collect(),
    )
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('\'') && s.ends_with('\'')) || (s.starts_with('"') && s.ends_with('"')))
    {
        Some(s[1..s.len() - 1].to_string())
    } else {
        None
    }
}

pub fn parse_prologue(src: &str) -> Result<Prologue, String> {
    let mut p = Prologue::default();
    let mut used = false;
    let mut ran = false;
    const ARG: &str = r#"\s*\(\s*(?:(['"]?)([^'"()]*)\1)\s*\)$"#;
    const NOARG: &str = r"\s*(?:\(\s*\))?$";
    for st in statements(src)? {
        let bad = || {
            format!(
                "prologue: unsupported Perl statement `{st}` (this runner only understands the \
                 Test::Nginx calls listed in t/runner/README.md)"
            )
        };
        if st.contains("add_block_preprocessor") {
            return Err(
                "prologue: add_block_preprocessor is not supported: this project spells out every \
                 block's config (see t/runner/README.md)"
                    .into(),
            );
        }
        if let Some(c) = caps(
            r#"^use Test::Nginx::Socket(?:::Lua)?(?:\s+(?:(['"])no_plan\1|qw\(\s*no_plan\s*\)))?$"#,
            &st,
        ) {
            let _ = c;
            used = true;
        } else if caps(r"^use (?:strict|warnings)$", &st).is_some()
            || caps(r"^plan\s*\(?\s*tests\s*=>\s*.+$", &st).is_some()
        {
        } else if let Some(c) = caps(&format!("^repeat_each{ARG}"), &st) {
            p.repeat_each = c[2].trim().parse().map_err(|_| bad())?;
        } else if caps(&format!("^no_shuffle{NOARG}"), &st).is_some() {
            p.no_shuffle = true;
        } else if caps(&format!("^no_long_string{NOARG}"), &st).is_some() {
        } else if let Some(c) = caps(&format!("^log_level{ARG}"), &st) {
            p.log_level = Some(c[2].trim().to_string());
        } else if caps(&format!("^master_on{NOARG}"), &st).is_some() {
            p.master_on = true;
        } else if let Some(c) = caps(&format!("^workers{ARG}"), &st) {
            p.workers = Some(c[2].trim().parse().map_err(|_| bad())?);
        } else if let Some(c) = caps(&format!("^worker_connections{ARG}"), &st) {
            p.worker_connections = Some(c[2].trim().parse().map_err(|_| bad())?);
        } else if let Some(c) = caps(&format!("^timeout{ARG}"), &st) {
            p.timeout = Some(c[2].trim().parse().map_err(|_| bad())?);
        } else if let Some(c) = caps(&format!("^server_name{ARG}"), &st) {
            p.server_name = Some(c[2].trim().to_string());
        } else if caps(&format!("^check_accum_error_log{NOARG}"), &st).is_some() {
            p.check_accum_error_log = true;
        } else if caps(&format!("^no_root_location{NOARG}"), &st).is_some() {
            p.no_root_location = true;
        } else if let Some(c) = caps(r"^env_to_nginx\s*\((.*)\)$", &st) {
            for a in c[1].split(',') {
                if a.trim().is_empty() {
                    continue;
                }
                p.env_to_nginx.push(unquote(a).ok_or_else(bad)?);
            }
        } else if caps(
            r#"^\$ENV\{\s*(['"]?)TEST_NGINX_HTML_DIR\1\s*\}\s*\|\|=\s*html_dir\s*(?:\(\s*\))?$"#,
            &st,
        )
        .is_some()
        {
            p.set_html_dir = true;
        } else if caps(&format!("^run_tests{NOARG}"), &st).is_some() {
            ran = true;
        } else {
            return Err(bad());
        }
    }
    if !used {
        return Err("prologue: no `use Test::Nginx::Socket...;` line".into());
    }
    if !ran {
        return Err("prologue: no `run_tests();` call".into());
    }
    Ok(p)
}

fn parse_blocks(data: &str, first_line: usize) -> Result<Vec<Block>, String> {
    let header = re(r"^---\s+(\w+)(.*)$");
    let mut blocks: Vec<Block> = Vec::new();
    for (n, line) in data.split_inclusive('\n').enumerate() {
        let lineno = first_line + n;
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(name) = bare.strip_prefix("=== ") {
            let index = blocks.len() + 1;
            blocks.push(Block {
                name: name.trim().to_string(),
                index,
                line: lineno,
                sections: Vec::new(),
            });
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            continue; // text before the first block is ignored, like Test::Base does
        };
        if let Ok(Some(c)) = header.captures(bare) {
            let name = c[1].to_string();
            let rest = c.get(2).map(|m| m.as_str()).unwrap_or("");
            let (filters, inline) = match rest.find(':') {
                Some(pos) => (&rest[..pos], Some(rest[pos + 1..].trim().to_string())),
                None => (rest, None),
            };
            let filters: Vec<String> = filters.split_whitespace().map(String::from).collect();
            block.sections.push(Section {
                name,
                filters,
                raw: inline.clone().unwrap_or_default(),
                inline: inline.is_some(),
                line: lineno,
            });
            continue;
        }
        if let Some(sec) = block.sections.last_mut() {
            if !sec.inline {
                sec.raw.push_str(line);
            }
        }
    }
    Ok(blocks)
}

/// Test::Base-style normalisation: CRLF → LF, leading blank lines dropped, whitespace after
/// the last newline of the trailing whitespace dropped (a multi-line value ends in one `\n`).
pub fn normalise(raw: &str) -> String {
    let s = raw.replace("\r\n", "\n");
    // drop leading lines made only of spaces/tabs
    let mut start = 0;
    loop {
        let rest = &s[start..];
        match rest.find('\n') {
            Some(nl) if rest[..nl].chars().all(|c| c == ' ' || c == '\t') => start += nl + 1,
            _ => break,
        }
    }
    let s = &s[start..];
    let content_end = s.trim_end().len();
    match s[content_end..].find('\n') {
        Some(nl) => s[..content_end + nl + 1].to_string(),
        None => s.to_string(),
    }
}

/// Apply the section's filters to its normalised value.
pub fn section_value(sec: &Section, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    let mut v = Value::Str(if sec.inline {
        sec.raw.clone()
    } else {
        normalise(&sec.raw)
    });
    for f in &sec.filters {
        v = match f.as_str() {
            "chomp" => map_str(v, |s| {
                if s.ends_with('\n') {
                    s.pop();
                }
            }),
            "chop" => map_str(v, |s| {
                s.pop();
            }),
            "eval" => match v {
                Value::Str(s) => eval::eval(&s, env)
                    .map_err(|e| format!("section `{}` (line {}): {e}", sec.name, sec.line))?,
                other => {
                    return Err(format!(
                        "section `{}`: eval applied to {}",
                        sec.name,
                        other.describe()
                    ))
                }
            },
            other => {
                return Err(format!(
                    "section `{}` (line {}): unsupported filter `{other}` (supported: chomp, chop, eval)",
                    sec.name, sec.line
                ))
            }
        };
    }
    Ok(v)
}

fn map_str(v: Value, f: impl Fn(&mut String) + Copy) -> Value {
    match v {
        Value::Str(mut s) => {
            f(&mut s);
            Value::Str(s)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|x| map_str(x, f)).collect()),
        other => other,
    }
}

/// Replace `$TEST_NGINX_NAME` by the environment value; an unset one is an error.
pub fn expand_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let r = re(r"\$(TEST_NGINX_[_A-Z0-9]+)");
    let mut out = String::new();
    let mut last = 0;
    for c in r.captures_iter(text) {
        let c = c.map_err(|e| e.to_string())?;
        let m = c.get(0).expect("group 0");
        let name = &c[1];
        let v = env(name).ok_or_else(|| format!("No environment {name} defined."))?;
        out.push_str(&text[last..m.start()]);
        out.push_str(&v);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# vim:set ft= ts=4 sw=4 et:
use Test::Nginx::Socket::Lua 'no_plan';   # comment
repeat_each(2);
no_shuffle();
no_long_string();
log_level('info');
master_on(); workers(2);
env_to_nginx("FOO", 'BAR=1');
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

run_tests();

__DATA__

=== TEST 1: sanity
description text
--- config
    location /t { return 200 "ok\n"; }
--- request
GET /t
--- error_code: 200
--- response_body chomp
ok

--- grep_error_log eval: qr/x/
--- no_error_log
[error]
[alert]



=== TEST 2: second
--- response_body
--- must_die
"#;

    #[test]
    fn file_structure() {
        let f = parse_file(FILE).unwrap();
        assert_eq!(f.prologue.repeat_each, 2);
        assert!(f.prologue.no_shuffle && f.prologue.master_on && f.prologue.set_html_dir);
        assert_eq!(f.prologue.workers, Some(2));
        assert_eq!(f.prologue.log_level.as_deref(), Some("info"));
        assert_eq!(f.prologue.env_to_nginx, vec!["FOO", "BAR=1"]);
        assert_eq!(f.blocks.len(), 2);
        let b = &f.blocks[0];
        assert_eq!(b.name, "TEST 1: sanity");
        assert_eq!(b.line, 15);
        let names: Vec<_> = b.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "config",
                "request",
                "error_code",
                "response_body",
                "grep_error_log",
                "no_error_log"
            ]
        );
        let env = |_: &str| None;
        let v = |n: &str| section_value(b.section(n).unwrap(), &env).unwrap();
        assert_eq!(v("error_code"), Value::Str("200".into()));
        assert_eq!(v("response_body"), Value::Str("ok".into()));
        assert_eq!(v("request"), Value::Str("GET /t\n".into()));
        assert_eq!(v("no_error_log"), Value::Str("[error]\n[alert]\n".into()));
        assert!(matches!(v("grep_error_log"), Value::Re(_)));
        assert_eq!(b.section("grep_error_log").unwrap().filters, vec!["eval"]);
        let b2 = &f.blocks[1];
        assert_eq!(
            section_value(b2.section("response_body").unwrap(), &env).unwrap(),
            Value::Str("".into())
        );
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise("\n  \nfoo\nbar  \n\n \n"), "foo\nbar  \n");
        assert_eq!(normalise("a\r\nb\r\n\r\n"), "a\nb\n");
        assert_eq!(normalise("\n"), "");
        assert_eq!(normalise(""), "");
        assert_eq!(normalise("  x\n"), "  x\n");
        assert_eq!(normalise("x"), "x");
    }

    #[test]
    fn filters() {
        let env = |_: &str| None;
        let sec = |f: &[&str], raw: &str| Section {
            name: "x".into(),
            filters: f.iter().map(|s| s.to_string()).collect(),
            raw: raw.into(),
            inline: false,
            line: 1,
        };
        let v = |f: &[&str], raw: &str| section_value(&sec(f, raw), &env);
        assert_eq!(v(&["chop"], "abc\n").unwrap(), Value::Str("abc".into()));
        assert_eq!(
            v(&["chomp", "chop"], "abc\n").unwrap(),
            Value::Str("ab".into())
        );
        assert_eq!(
            v(&["eval"], "\"a\" x 2 . \"\\n\"\n").unwrap(),
            Value::Str("aa\n".into())
        );
        assert!(v(&["lines"], "x").is_err());
        assert!(v(&["eval"], "system('ls')").is_err());
    }

    #[test]
    fn prologue_refusals() {
        let ok = "use Test::Nginx::Socket 'no_plan';\nrun_tests();\n";
        assert!(parse_prologue(ok).is_ok());
        let plan = "use Test::Nginx::Socket::Lua;\nplan tests => repeat_each() * (blocks() * 3);\nrun_tests();\n";
        assert!(parse_prologue(plan).is_ok());
        let pre = "use Test::Nginx::Socket::Lua 'no_plan';\nadd_block_preprocessor(sub {\n my $b = shift;\n if (!defined $b->request) { $b->set_value(request => 'GET /t'); }\n});\nrun_tests();\n";
        let e = parse_prologue(pre).unwrap_err();
        assert!(e.contains("add_block_preprocessor"), "{e}");
        let other = "use Test::Nginx::Socket::Lua 'no_plan';\nour $x = 1;\nrun_tests();\n";
        assert!(parse_prologue(other).is_err());
        assert!(parse_prologue("use Test::Nginx::Socket 'no_plan';\n").is_err());
        assert!(parse_prologue("run_tests();\n").is_err());
        assert!(parse_file("use Test::Nginx::Socket;\nrun_tests();\n").is_err());
    }

    #[test]
    fn env_expansion() {
        let env = |n: &str| (n == "TEST_NGINX_SERVER_PORT").then(|| "1984".to_string());
        assert_eq!(
            expand_env("listen $TEST_NGINX_SERVER_PORT;", &env).unwrap(),
            "listen 1984;"
        );
        assert!(expand_env("$TEST_NGINX_NOPE", &env)
            .unwrap_err()
            .contains("TEST_NGINX_NOPE"));
        assert_eq!(expand_env("$foo", &env).unwrap(), "$foo");
    }
}
