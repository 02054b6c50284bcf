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
            perl_string(r),
        ))
    }
    /// First match in `line`.
    pub fn find<'a>(&self, line: &'a str) -> Option<&'a str> {
        match self {
            Pattern::Lit(s) => line.find(s.as_str()).map(|p| &line[p..p + s.len()]),
            Pattern::Re(r, _) => r.find(line).ok().flatten().map(|m| m.as_str()),
        }
    }
    /// The pattern as Perl interpolates it into a test name: a string as is, a `qr//` as
    /// `(?^flags:source)`.
    pub fn show(&self) -> String {
        match self {
            Pattern::Lit(s) => s.clone(),
            Pattern::Re(_, d) => d.clone(),
        }
    }
}

/// Perl's stringification of a `qr//`: `(?^flags:source)`.
pub fn perl_string(r: &PerlRegex) -> String {
    let mut flags = String::new();
    for f in ['m', 's', 'i', 'x'] {
        if r.flags.contains(f) {
            flags.push(f);
        }
    }
    format!("(?^{flags}:{})", r.src)
}

/// Socket.pm's `fmt_str`: chomp, then `"`, CR and LF escaped.
pub fn fmt_str(s: &str) -> String {
    s.strip_suffix('\n')
        .unwrap_or(s)
        .replace('"', "\\\"")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// Patterns of an error_log-like section, as Socket.pm's `check_error_log` takes them: a
/// string is chomped and split on runs of newlines (each piece a literal substring, empty
/// pieces dropped), a regex is one pattern, an array lists patterns (a string element is one
/// literal, not split).
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

/// One pattern for grep_error_log: a string (a literal, used as is) or a regex.
pub fn single_pattern(v: &Value) -> Result<Pattern, String> {
    match v {
        Value::Str(s) => Ok(Pattern::Lit(s.clone())),
        Value::Re(r) => Pattern::regex(r),
        Value::Array(_) => Err("a nested array is not a grep_error_log pattern".into()),
    }
}

/// `check_error_code`: `is(code || '', expected)`; a missing array element (undef) fails.
pub fn status(expected: Option<&str>, resp: &Response) -> Assertion {
    let got = resp.status.map(|s| s.to_string()).unwrap_or_default();
    let ok = expected.is_some_and(|e| got == e);
    Assertion::new("status code ok".into(), ok, || {
        vec![
            format!("         got: '{got}'"),
            match expected {
                Some(e) => format!("    expected: '{e}'"),
                None => "    expected: undef".into(),
            },
        ]
    })
}

/// Replace `$ServerPort` and `$ServerPortForClient` (as Perl words) by the port, as Socket.pm
/// does in response_body, response_body_like and response_headers values.
pub fn server_port(s: &str, port: u16) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("$ServerPort") {
        out.push_str(&rest[..p]);
        let after = &rest[p + "$ServerPort".len()..];
        let (word, tail) = match after.strip_prefix("ForClient") {
            Some(t) => ("$ServerPortForClient", t),
            None => ("$ServerPort", after),
        };
        // `\b` after the name: the next character must not be a word character
        if tail
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            out.push_str(word);
        } else {
            out.push_str(&port.to_string());
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// `--- response_headers`, as `parse_headers` + `check_response_headers`: each line trimmed;
/// `!Name` (or a line without `:`) asserts that no raw header line starts with `Name:`
/// (case-sensitive); `Name: v` compares the header (case-insensitive, repeated headers joined
/// by ", ", absent = ""). A repeated name keeps its last line.
pub fn headers(spec: &str, resp: &Response, port: u16) -> Vec<Assertion> {
    let mut parsed: Vec<(String, Option<String>)> = Vec::new();
    for line in spec.lines() {
        let line = line.trim();
        let (key, val) = if let Some(neg) = line.strip_prefix('!') {
            (neg.trim_start().to_string(), None)
        } else {
            match line.split_once(':') {
                Some((k, v)) => (k.trim_end().to_string(), Some(v.trim_start().to_string())),
                None => (line.to_string(), None),
            }
        };
        parsed.retain(|(k, _)| *k != key);
        parsed.push((key, val));
    }
    let mut out = Vec::new();
    for (key, val) in parsed {
        match val {
            None => {
                let present = resp.headers.iter().any(|(k, _)| *k == key);
                out.push(Assertion::new(
                    format!("header {key} not present in the raw headers"),
                    !present,
                    || vec![format!("    a raw header line starts with `{key}:`")],
                ));
            }
            Some(v) => {
                let expected = server_port(&v, port);
                let got = resp.header(&key).unwrap_or_default();
                out.push(Assertion::new(
                    format!("header {key} ok"),
                    got == expected,
                    || got_expected(&got, &expected),
                ));
            }
        }
    }
    out
}

/// Expected value of `--- response_body`: a string (equality), a regex (like), or undef
/// (a missing array element: fails).
pub enum Body<'a> {
    Str(&'a str),
    Re(&'a Pattern),
    Undef,
}

pub fn body(expected: Body, got: &[u8], r: usize, i: usize) -> Assertion {
    let got = String::from_utf8_lossy(got);
    match expected {
        Body::Re(p) => Assertion::new(
            format!("response_body - like (repeated req {r}, req {i})"),
            p.find(&got).is_some(),
            || {
                vec![
                    format!("         got: {}", quote(&got)),
                    format!("    expected to match: {}", p.show()),
                ]
            },
        ),
        Body::Str(e) => Assertion::new(
            format!("response_body - response is expected (repeated req {r}, req {i})"),
            got == e,
            || got_expected(&got, e),
        ),
        Body::Undef => Assertion::fail(
            format!("response_body - response is expected (repeated req {r}, req {i})"),
            vec![
                format!("         got: {}", quote(&got)),
                "    expected: undef (the array has no element for this request)".into(),
            ],
        ),
    }
}

/// Util.pm's `trim`: outer whitespace dropped, newlines to spaces, whitespace runs squeezed.
pub fn trim_summary(s: &str) -> String {
    let t = s.trim().replace('\n', " ");
    let mut out = String::new();
    let mut ws = 0;
    for c in t.chars() {
        if c.is_whitespace() {
            ws += 1;
            if ws == 1 {
                out.push(c);
            } else if ws == 2 {
                out.pop();
                out.push(' ');
            }
        } else {
            ws = 0;
            out.push(c);
        }
    }
    out
}

pub fn body_like(re: &Pattern, got: &[u8]) -> Assertion {
    let got = String::from_utf8_lossy(got);
    Assertion::new(
        format!(
            "response_body_like - response is expected ({})",
            trim_summary(&got)
        ),
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

/// `error_log`: per pattern, pass if some line matches. `suffix` is ` (req R)` for the checks
/// after requests and empty for the shutdown checks, as in Socket.pm.
pub fn error_log(pats: &[Pattern], lines: &[String], suffix: &str) -> Vec<Assertion> {
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for p in pats {
        if lines.iter().any(|l| p.find(l).is_some()) {
            passed.push(Assertion::pass(format!(
                "pattern \"{}\" matches a line in error.log{suffix}",
                p.show()
            )));
        } else {
            failed.push(Assertion::fail(
                format!(
                    "pattern \"{}\" should match a line in error.log{suffix}",
                    p.show()
                ),
                log_excerpt(lines),
            ));
        }
    }
    passed.extend(failed);
    passed
}

/// `no_error_log`: one failure per matching line and pattern; a pass per pattern that
/// matches no line.
pub fn no_error_log(pats: &[Pattern], lines: &[String], suffix: &str) -> Vec<Assertion> {
    let mut out = Vec::new();
    let mut found = vec![false; pats.len()];
    for (n, l) in lines.iter().enumerate() {
        for (k, p) in pats.iter().enumerate() {
            if p.find(l).is_some() {
                found[k] = true;
                let end = (n + 10).min(lines.len().saturating_sub(1));
                let more: Vec<String> = lines[(n + 1).min(end)..end]
                    .iter()
                    .map(|l| format!("    {}", l.trim_end_matches('\n')))
                    .collect();
                out.push(Assertion::fail(
                    format!(
                        "pattern \"{}\" should not match any line in error.log but matches line \"{}\"{suffix}",
                        fmt_str(&p.show()),
                        fmt_str(l)
                    ),
                    more,
                ));
            }
        }
    }
    for (k, p) in pats.iter().enumerate() {
        if !found[k] {
            out.push(Assertion::pass(format!(
                "pattern \"{}\" does not match a line in error.log{suffix}",
                fmt_str(&p.show())
            )));
        }
    }
    out
}

/// First match per line, `\n` appended; a match that contains a newline is dropped
/// (Socket.pm: `if ($matched !~ /\n/) { $matched_lines .= $matched . "\n" }`).
pub fn grep(p: &Pattern, lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        if let Some(m) = p.find(l) {
            if !m.contains('\n') {
                out.push_str(m);
                out.push('\n');
            }
        }
    }
    out
}

pub enum Expected<'a> {
    Str(&'a str),
    Re(&'a Pattern),
    /// a grep_error_log_out array with no element for this repetition
    Undef,
}

pub fn grep_out(expected: Expected, got: &str, suffix: &str) -> Assertion {
    let desc = format!("grep_error_log_out{suffix}");
    match expected {
        Expected::Str(e) => Assertion::new(desc, got == e, || got_expected(got, e)),
        Expected::Re(p) => Assertion::new(desc, p.find(got).is_some(), || {
            vec![
                format!("         got: {}", quote(got)),
                format!("    expected to match: {}", p.show()),
            ]
        }),
        Expected::Undef => Assertion::fail(
            desc,
            vec![
                format!("         got: {}", quote(got)),
                "    expected: undef (the array has no element for this repetition)".into(),
            ],
        ),
    }
}

/// Lines that fail the block as assertion failures (`\bAssertion .*?failed\b` after
/// requests, `\bAssertion .*? failed\.$` in the shutdown log), and `[alert]`/`[crit]`/
/// `[emerg]` lines (warnings only).
pub fn scan(lines: &[String], shutdown: bool) -> (Vec<String>, Vec<String>) {
    let re = if shutdown {
        perlre::compile(r"\bAssertion .*? failed\.$", "")
    } else {
        perlre::compile(r"\bAssertion .*?failed\b", "")
    }
    .expect("internal regex");
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

    // Util.pm parse_headers + Socket.pm check_response_headers
    #[test]
    fn headers_checks() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Foo: a\r\nX-Foo: b\r\nX-Port: 1984\r\nContent-Length: 0\r\n\r\n",
            false,
        );
        let a = headers(
            "Content-Type: text/plain\nx-foo: a, b\nX-Absent:\n! X-None\nX-Port: $ServerPort\n",
            &r,
            1984,
        );
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|a| a.ok), "{a:?}");
        assert_eq!(a[3].desc, "header X-None not present in the raw headers");
        let a = headers("! X-Foo\nX-Absent: v\nContent-Type: text/html", &r, 1984);
        assert!(a.iter().all(|a| !a.ok));
        // the absence check looks at raw header names, case-sensitively
        assert!(headers("! x-foo", &r, 1984)[0].ok);
        // a line without `:` is an absence check too
        let a = headers("X-Foo", &r, 1984);
        assert!(!a[0].ok && a[0].desc.contains("not present"));
        // a repeated name keeps its last line
        let a = headers("Content-Type: x\nContent-Type: text/plain", &r, 1984);
        assert_eq!(a.len(), 1);
        assert!(a[0].ok);
    }

    #[test]
    fn status_and_body() {
        let r = parse_response(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nok\n",
            false,
        );
        assert!(status(Some("404"), &r).ok);
        assert!(!status(Some("200"), &r).ok);
        assert!(!status(None, &r).ok);
        let b = body(Body::Str("ok\n"), &r.body, 0, 1);
        assert!(b.ok);
        assert_eq!(
            b.desc,
            "response_body - response is expected (repeated req 0, req 1)"
        );
        assert!(!body(Body::Str("ok"), &r.body, 0, 0).ok);
        assert!(body(Body::Re(&re("^ok$")), &r.body, 0, 0).ok);
        assert!(!body(Body::Undef, &r.body, 0, 0).ok);
        assert!(body_like(&re("^ok$"), &r.body).ok);
        assert!(body_like(&re("k"), &r.body).ok);
        assert!(!body_like(&re("^k"), &r.body).ok);
        assert_eq!(
            body_like(&re("k"), b"a  b\n\nc\n").desc,
            "response_body_like - response is expected (a b c)"
        );
        assert!(!status(Some("200"), &Response::default()).ok);
    }

    #[test]
    fn error_log_checks() {
        let l = lines(LOG);
        let p = patterns(&Value::Str("[error]\noops\n".into())).unwrap();
        assert_eq!(p.len(), 2);
        let a = error_log(&p, &l, " (req 0)");
        assert!(a.iter().all(|a| a.ok));
        assert_eq!(
            a[0].desc,
            "pattern \"[error]\" matches a line in error.log (req 0)"
        );
        // no_error_log: one failure per matching line
        let a = no_error_log(&p, &l, " (req 1)");
        assert_eq!(a.len(), 2);
        assert!(a.iter().all(|a| !a.ok));
        assert!(a[0].desc.starts_with(
            "pattern \"[error]\" should not match any line in error.log but matches line \"2024/01/01 00:00:00 [error] 1#1: *1 oops, client: 127.0.0.1, server: localhost, request: \\\"GET /t HTTP/1.1\\\", host: \\\"localhost\\\"\" (req 1)"
        ), "{}", a[0].desc);
        let twice = lines("a x\nb x\n");
        assert_eq!(
            no_error_log(&[Pattern::Lit("x".into())], &twice, "").len(),
            2
        );
        // `$` right after the message does not match a request-bound line
        assert!(!error_log(&[re("oops$")], &l, "")[0].ok);
        assert!(error_log(&[re("done$")], &l, "")[0].ok);
        assert!(error_log(&[re(r#"host: "localhost"$"#)], &l, "")[0].ok);
        let a = no_error_log(&[re(r"\[warn\]")], &l, " (req 0)");
        assert!(a[0].ok);
        assert_eq!(
            a[0].desc,
            "pattern \"(?^:\\[warn\\])\" does not match a line in error.log (req 0)"
        );
        let arr = Value::Array(vec![
            Value::Str("a\nb".into()),
            Value::Re(PerlRegex {
                src: "x".into(),
                flags: "i".into(),
            }),
        ]);
        let p = patterns(&arr).unwrap();
        assert_eq!(p.len(), 2);
        // an array element is one literal, not split on newlines
        assert_eq!(p[0].show(), "a\nb");
        assert_eq!(p[1].show(), "(?^i:x)");
        assert_eq!(
            error_log(&p, &l, "")[1].desc,
            "pattern \"(?^i:x)\" should match a line in error.log"
        );
    }

    // Socket.pm check_error_log: the first match of each line, "\n" appended; a match that
    // contains a newline is dropped
    #[test]
    fn grep_error_log_checks() {
        let l = lines(LOG);
        let got = grep(&re(r"value=\d+|done"), &l);
        assert_eq!(got, "done\nvalue=42\n");
        let a = grep_out(Expected::Str("done\nvalue=42\n"), &got, " (req 0)");
        assert!(a.ok);
        assert_eq!(a.desc, "grep_error_log_out (req 0)");
        assert!(!grep_out(Expected::Str("value=42\n"), &got, "").ok);
        assert!(grep_out(Expected::Re(&re("value=4")), &got, "").ok);
        assert!(!grep_out(Expected::Undef, "", "").ok);
        let lit = grep(&Pattern::Lit("[error]".into()), &l);
        assert_eq!(lit, "[error]\n");
        assert_eq!(grep(&re(r"done\n"), &l), "");
        assert_eq!(grep(&re(r"done$"), &l), "done\n");
        assert_eq!(grep(&re(r"\[notice\].*\n"), &l), "");
        // a multi-line string section keeps its final newline: it can only match a line's end,
        // and such a match is dropped
        assert_eq!(grep(&Pattern::Lit("done\n".into()), &l), "");
        assert_eq!(grep(&re("nothing"), &l), "");
    }

    #[test]
    fn scanning() {
        let l = lines(
            "x Assertion `a' failed.\ny [alert] 1#1: bad\nz [crit] c\nok\nAssertion x failedy\n",
        );
        let (a, b) = scan(&l, false);
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 2);
        assert_eq!(scan(&lines("Assertion x failed here\n"), false).0.len(), 1);
        // in the shutdown log the line must end in "failed."
        assert_eq!(scan(&lines("Assertion x failed here\n"), true).0.len(), 0);
        assert_eq!(scan(&lines("Assertion `x' failed.\n"), true).0.len(), 1);
    }

    #[test]
    fn perl_strings() {
        assert_eq!(fmt_str("a \"b\"\r\n"), "a \\\"b\\\"\\r");
        assert_eq!(trim_summary("  a\n\tb  c \n"), "a b c");
        assert_eq!(trim_summary("a\tb"), "a\tb");
        assert_eq!(
            perl_string(&PerlRegex {
                src: "a/b".into(),
                flags: "si".into()
            }),
            "(?^si:a/b)"
        );
    }
}
