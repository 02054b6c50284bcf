//! The assertions: response checks and error-log checks.

use crate::client::Response;
use crate::eval::{PerlRegex, Value};
use crate::perlre;
use crate::tap::{got_expected, quote};
use fancy_regex::Regex;

#[derive(Clone, Debug)]
pub struct Assertion {
    pub desc: String,
    pub ok: bool,
    pub diag: Vec<String>,
}

impl Assertion {
    pub fn pass(desc: impl Into<String>) -> Self {
        Assertion {
            desc: desc.into(),
            ok: true,
            diag: Vec::new(),
        }
    }
    pub fn fail(desc: impl Into<String>, diag: Vec<String>) -> Self {
        Assertion {
            desc: desc.into(),
            ok: false,
            diag,
        }
    }
    fn new(desc: String, ok: bool, diag: impl FnOnce() -> Vec<String>) -> Self {
        if ok {
            Assertion::pass(desc)
        } else {
            Assertion::fail(desc, diag())
        }
    }
}

/// A log pattern: a literal substring, or a regex.
#[derive(Clone, Debug)]
pub enum Pattern {
    Lit(String),
    Re(Regex, String),
}

impl Pattern {
    pub fn regex(r: &PerlRegex) -> Result<Pattern, String> {
        Ok(Pattern::Re(
            perlre::compile(&r.src, &r.flags)?,
            r.to_string(),
        ))
    }
    /// First match in `line`.
    pub fn find<'a>(&self, line: &'a str) -> Option<&'a str> {
        match self {
            Pattern::Lit(s) => line.find(s.as_str()).map(|p| &line[p..p + s.len()]),
            Pattern::Re(r, _) => r.find(line).ok().flatten().map(|m| m.as_str()),
        }
    }
    pub fn show(&self) -> String {
        match self {
            Pattern::Lit(s) => quote(s),
            Pattern::Re(_, d) => d.clone(),
        }
    }
}

/// Patterns of an error_log-like section: a string is split on newlines (each non-empty
/// line a literal), a regex is one pattern, an array lists patterns.
pub fn patterns(v: &Value) -> Result<Vec<Pattern>, String> {
    match v {
        Value::Str(s) => Ok(s
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(|l| Pattern::Lit(l.to_string()))
            .collect()),
        Value::Re(r) => Ok(vec![Pattern::regex(r)?]),
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                match x {
                    Value::Str(s) => out.push(Pattern::Lit(s.clone())),
                    Value::Re(r) => out.push(Pattern::regex(r)?),
                    Value::Array(_) => return Err("nested arrays are not patterns".into()),
                }
            }
            Ok(out)
        }
    }
}

/// One pattern for grep_error_log: a string (literal) or a regex.
pub fn single_pattern(v: &Value) -> Result<Pattern, String> {
    match v {
        Value::Str(s) => Ok(Pattern::Lit(s.trim_end_matches('\n').to_string())),
        Value::Re(r) => Pattern::regex(r),
        Value::Array(_) => Err("grep_error_log must be a string or a regex".into()),
    }
}

pub fn status(expected: &str, resp: &Response) -> Assertion {
    let got = resp.status.map(|s| s.to_string()).unwrap_or_default();
    let expected = expected.trim();
    Assertion::new("status code ok".into(), got == expected, || {
        vec![
            format!("         got: '{got}'"),
            format!("    expected: '{expected}'"),
        ]
    })
}

/// `--- response_headers`: one assertion per line.
pub fn headers(spec: &str, resp: &Response) -> Vec<Assertion> {
    let mut out = Vec::new();
    for line in spec.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('!') {
            let name = name.trim();
            let got = resp.header(name);
            out.push(Assertion::new(
                format!("header {name} not present"),
                got.is_none(),
                || {
                    vec![format!(
                        "    header {name} is present: {}",
                        quote(&got.unwrap_or_default())
                    )]
                },
            ));
            continue;
        }
        let (name, expected) = match line.split_once(':') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => {
                out.push(Assertion::fail(
                    format!("response_headers line `{line}`"),
                    vec!["    expected `Name: value` or `! Name`".into()],
                ));
                continue;
            }
        };
        let got = resp.header(name).unwrap_or_default();
        out.push(Assertion::new(
            format!("header {name} ok"),
            got == expected,
            || got_expected(&got, expected),
        ));
    }
    out
}

pub fn body(expected: &str, got: &[u8]) -> Assertion {
    let got = String::from_utf8_lossy(got);
    Assertion::new(
        "response_body - response is expected".into(),
        got == expected,
        || got_expected(&got, expected),
    )
}

pub fn body_like(re: &Pattern, got: &[u8]) -> Assertion {
    let got = String::from_utf8_lossy(got);
    Assertion::new(
        "response_body_like - response is expected".into(),
        re.find(&got).is_some(),
        || {
            vec![
                format!("         got: {}", quote(&got)),
                format!("    expected to match: {}", re.show()),
            ]
        },
    )
}

fn log_excerpt(lines: &[String]) -> Vec<String> {
    let n = lines.len();
    let mut d = vec![format!(
        "    checked {n} error.log line(s){}",
        if n > 15 { ", last 15:" } else { ":" }
    )];
    d.extend(
        lines[n.saturating_sub(15)..]
            .iter()
            .map(|l| format!("      {}", l.trim_end_matches('\n'))),
    );
    d
}

/// `error_log`: per pattern, some line matches. `what` is "error.log" or "shutdown error.log".
pub fn error_log(pats: &[Pattern], lines: &[String], what: &str) -> Vec<Assertion> {
    pats.iter()
        .map(|p| {
            let ok = lines.iter().any(|l| p.find(l).is_some());
            Assertion::new(
                format!("pattern {} should match a line in {what}", p.show()),
                ok,
                || log_excerpt(lines),
            )
        })
        .collect()
}

/// `no_error_log`: per pattern, no line matches.
pub fn no_error_log(pats: &[Pattern], lines: &[String], what: &str) -> Vec<Assertion> {
    pats.iter()
        .map(|p| {
            let hits: Vec<&String> = lines.iter().filter(|l| p.find(l).is_some()).collect();
            Assertion::new(
                format!("pattern {} should not match any line in {what}", p.show()),
                hits.is_empty(),
                || {
                    let mut d = vec![format!("    matched {} line(s):", hits.len())];
                    d.extend(
                        hits.iter()
                            .take(10)
                            .map(|l| format!("      {}", l.trim_end_matches('\n'))),
                    );
                    d
                },
            )
        })
        .collect()
}

/// First match per line, each ending in `\n`, concatenated.
pub fn grep(p: &Pattern, lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        if let Some(m) = p.find(l) {
            out.push_str(m);
            if !m.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

pub enum Expected<'a> {
    Str(&'a str),
    Re(&'a Pattern),
}

pub fn grep_out(expected: Expected, got: &str) -> Assertion {
    match expected {
        Expected::Str(e) => Assertion::new("grep_error_log_out".into(), got == e, || {
            got_expected(got, e)
        }),
        Expected::Re(p) => {
            Assertion::new("grep_error_log_out".into(), p.find(got).is_some(), || {
                vec![
                    format!("         got: {}", quote(got)),
                    format!("    expected to match: {}", p.show()),
                ]
            })
        }
    }
}

/// Lines matching `Assertion .* failed`, and `[alert]`/`[crit]`/`[emerg]` lines.
pub fn scan(lines: &[String]) -> (Vec<String>, Vec<String>) {
    let re = Regex::new(r"Assertion .* failed").expect("internal regex");
    let mut asserts = Vec::new();
    let mut alerts = Vec::new();
    for l in lines {
        let t = l.trim_end_matches('\n').to_string();
        if re.is_match(l).unwrap_or(false) {
            asserts.push(t);
        } else if l.contains("[alert]") || l.contains("[crit]") || l.contains("[emerg]") {
            alerts.push(t);
        }
    }
    (asserts, alerts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::parse_response;

    fn lines(s: &str) -> Vec<String> {
        s.split_inclusive('\n').map(String::from).collect()
    }
    fn re(src: &str) -> Pattern {
        Pattern::regex(&PerlRegex {
            src: src.into(),
            flags: "".into(),
        })
        .unwrap()
    }

    const LOG: &str = "2024/01/01 00:00:00 [error] 1#1: *1 oops, client: 127.0.0.1, server: localhost, request: \"GET /t HTTP/1.1\", host: \"localhost\"\n2024/01/01 00:00:00 [notice] 1#1: done\n2024/01/01 00:00:00 [info] 1#1: value=42\n";

    #[test]
    fn headers_checks() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Foo: a\r\nX-Foo: b\r\nContent-Length: 0\r\n\r\n",
            false,
        );
        let a = headers(
            "Content-Type: text/plain\nx-foo: a, b\nX-Absent:\n! X-None\n",
            &r,
        );
        assert_eq!(a.len(), 4);
        assert!(a.iter().all(|a| a.ok), "{a:?}");
        let a = headers("! X-Foo\nX-Absent: v\nContent-Type: text/html", &r);
        assert!(a.iter().all(|a| !a.ok));
    }

    #[test]
    fn status_and_body() {
        let r = parse_response(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nok\n",
            false,
        );
        assert!(status("404", &r).ok);
        assert!(!status("200", &r).ok);
        assert!(body("ok\n", &r.body).ok);
        assert!(!body("ok", &r.body).ok);
        assert!(body_like(&re("^ok$"), &r.body).ok);
        assert!(body_like(&re("k"), &r.body).ok);
        assert!(!body_like(&re("^k"), &r.body).ok);
        assert!(!status("200", &Response::default()).ok);
    }

    #[test]
    fn error_log_checks() {
        let l = lines(LOG);
        let p = patterns(&Value::Str("[error]\noops\n".into())).unwrap();
        assert_eq!(p.len(), 2);
        assert!(error_log(&p, &l, "error.log").iter().all(|a| a.ok));
        assert!(no_error_log(&p, &l, "error.log").iter().all(|a| !a.ok));
        // `$` right after the message does not match a request-bound line
        assert!(!error_log(&[re("oops$")], &l, "error.log")[0].ok);
        assert!(error_log(&[re("done$")], &l, "error.log")[0].ok);
        assert!(error_log(&[re(r#"host: "localhost"$"#)], &l, "error.log")[0].ok);
        assert!(no_error_log(&[re(r"\[warn\]")], &l, "error.log")[0].ok);
        let arr = Value::Array(vec![
            Value::Str("a\nb".into()),
            Value::Re(PerlRegex {
                src: "x".into(),
                flags: "i".into(),
            }),
        ]);
        assert_eq!(patterns(&arr).unwrap().len(), 2);
    }

    #[test]
    fn grep_error_log_checks() {
        let l = lines(LOG);
        let got = grep(&re(r"value=\d+|done"), &l);
        assert_eq!(got, "done\nvalue=42\n");
        assert!(grep_out(Expected::Str("done\nvalue=42\n"), &got).ok);
        assert!(!grep_out(Expected::Str("value=42\n"), &got).ok);
        assert!(grep_out(Expected::Re(&re("value=4")), &got).ok);
        let lit = grep(&Pattern::Lit("[error]".into()), &l);
        assert_eq!(lit, "[error]\n");
        // a match that includes the newline is not doubled
        assert_eq!(grep(&re(r"done\n"), &l), "done\n");
        assert_eq!(grep(&re("nothing"), &l), "");
    }

    #[test]
    fn scanning() {
        let l = lines("x Assertion `a' failed.\ny [alert] 1#1: bad\nz [crit] c\nok\n");
        let (a, b) = scan(&l);
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 2);
    }
}
