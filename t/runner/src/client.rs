//! A raw HTTP/1.x client (and `curl` for `--- http2`), and the response parser.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub proto: String,
    pub body: Option<Vec<u8>>,
}

/// Socket.pm's `parse_request` rule for the first line: `meth [url [version]]`
/// (`/^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/`); the error is its bail-out message.
pub fn check_request_line(text: &str) -> Result<(), String> {
    let first = match text.find('\n') {
        Some(p) => &text[..=p],
        None => text,
    };
    if first.is_empty() {
        return Err("Request line should be non-empty".into());
    }
    let n = first.split_whitespace().count();
    if n == 0 || n > 3 || first.trim_end_matches(['\n', '\r']).contains('\t') && n > 1 {
        return Err(format!(
            "Request line is not valid. Should be 'meth [url [version]]' but got \"{first}\"."
        ));
    }
    Ok(())
}

/// Parse a `--- request` value: `METHOD [URI [PROTOCOL]]` (URI `/` and `HTTP/1.1` by
/// default), further lines are the body.
pub fn parse_request(text: &str) -> Result<Request, String> {
    let text = text.trim_start_matches(['\n', '\r', ' ', '\t']);
    let (first, rest) = match text.find('\n') {
        Some(p) => (&text[..p], &text[p + 1..]),
        None => (text, ""),
    };
    let parts: Vec<&str> = first.split_whitespace().collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!(
            "bad request line `{}` (expected `METHOD [URI [PROTOCOL]]`)",
            first.trim()
        ));
    }
    let body = rest.trim();
    Ok(Request {
        method: parts[0].to_string(),
        uri: parts.get(1).unwrap_or(&"/").to_string(),
        proto: parts.get(2).unwrap_or(&"HTTP/1.1").to_string(),
        body: (!body.is_empty()).then(|| body.as_bytes().to_vec()),
    })
}

/// `Name: value` lines of `--- more_headers`.
pub fn parse_more_headers(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for l in text.lines() {
        if l.trim().is_empty() {
            continue;
        }
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| format!("more_headers: no `:` in `{l}`"))?;
        out.push((n.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// Bytes of the request, headers in Test::Nginx order.
pub fn build_raw(req: &Request, more: &[(String, String)], host: &str) -> Vec<u8> {
    let has = |n: &str| more.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let mut s = format!("{} {} {}\r\n", req.method, req.uri, req.proto);
    if !has("Host") {
        s.push_str(&format!("Host: {host}\r\n"));
    }
    if !has("Connection") {
        s.push_str("Connection: close\r\n");
    }
    for (k, v) in more {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = &req.body {
        if !has("Content-Length") {
            s.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
    }
    s.push_str("\r\n");
    let mut raw = s.into_bytes();
    if let Some(b) = &req.body {
        raw.extend_from_slice(b);
    }
    raw
}

/// Why a request did not complete.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientError {
    /// no I/O for `timeout` (Socket.pm fails the block unless `--- abort`)
    Timeout(String),
    /// the connection could not be made (Socket.pm retries, then fails)
    Connect(String),
    /// a read or write error (Socket.pm only warns)
    Other(String),
}

/// Send `raw` and read until the server closes. Returns what was read and an error, if any.
/// `timeout` bounds the gap between I/O events. A refused connection is retried for a while,
/// as Socket.pm does.
pub fn send_raw(port: u16, raw: &[u8], timeout: Duration) -> (Vec<u8>, Option<ClientError>) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut tries = 0;
    let mut sock = loop {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return (Vec::new(), Some(ClientError::Connect(e.to_string()))),
        }
    };
    let _ = sock.set_read_timeout(Some(timeout));
    let _ = sock.set_write_timeout(Some(timeout));
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    };
    if let Err(e) = sock.write_all(raw) {
        let err = if timed_out(&e) {
            ClientError::Timeout("client socket timed out while sending".to_string())
        } else {
            ClientError::Other(format!("write failed: {e}"))
        };
        return (Vec::new(), Some(err));
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        match sock.read(&mut chunk) {
            Ok(0) => return (buf, None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if timed_out(&e) => {
                return (
                    buf,
                    Some(ClientError::Timeout(format!(
                        "client socket timed out after {:.3} s without data",
                        timeout.as_secs_f64()
                    ))),
                )
            }
            // a reset after a complete response is treated like a close
            Err(e) if !buf.is_empty() => {
                let _ = e;
                return (buf, None);
            }
            Err(e) => {
                return (
                    buf,
                    Some(ClientError::Other(format!(
                        "HTTP response read failure: {e}"
                    ))),
                )
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Framing problems (truncated chunk, short body, no header end).
    pub problem: Option<String>,
}

impl Response {
    /// Header value, case-insensitive; repeated headers joined with ", ".
    pub fn header(&self, name: &str) -> Option<String> {
        let vals: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!vals.is_empty()).then(|| vals.join(", "))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parse a raw HTTP/1.x response. `head`: the request was HEAD (no body).
pub fn parse_response(raw: &[u8], head: bool) -> Response {
    let mut r = Response::default();
    let (head_end, sep_len) = match find(raw, b"\r\n\r\n") {
        Some(p) => (p, 4),
        None => match find(raw, b"\n\n") {
            Some(p) => (p, 2),
            None => {
                r.problem = Some(if raw.is_empty() {
                    "empty response".into()
                } else {
                    "response header is incomplete".into()
                });
                (raw.len(), 0)
            }
        },
    };
    let head_text = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head_text.lines();
    if let Some(status_line) = lines.next() {
        let mut parts = status_line.split_whitespace();
        let proto = parts.next().unwrap_or("");
        if proto.starts_with("HTTP/") {
            r.status = parts.next().and_then(|c| c.parse().ok());
        }
    }
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            r.headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if sep_len == 0 {
        return r;
    }
    let rest = &raw[head_end + sep_len..];
    let no_body = head || matches!(r.status, Some(100..=199) | Some(204) | Some(304));
    if no_body {
        return r;
    }
    let chunked = r
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        let (body, problem) = decode_chunked(rest);
        r.body = body;
        r.problem = problem;
    } else if let Some(len) = r
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok())
    {
        let len: usize = len;
        if rest.len() < len {
            r.problem = Some(format!(
                "short body: Content-Length {len}, got {} bytes",
                rest.len()
            ));
            r.body = rest.to_vec();
        } else {
            r.body = rest[..len].to_vec();
        }
    } else {
        r.body = rest.to_vec();
    }
    r
}

/// Decode a chunked body; returns the data decoded so far and a problem, if any.
pub fn decode_chunked(mut data: &[u8]) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    loop {
        let Some(nl) = find(data, b"\n") else {
            return (out, Some("truncated chunked body (no chunk size)".into()));
        };
        let line = String::from_utf8_lossy(&data[..nl]);
        let size_txt = line
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let Ok(size) = usize::from_str_radix(&size_txt, 16) else {
            return (out, Some(format!("bad chunk size `{size_txt}`")));
        };
        data = &data[nl + 1..];
        if size == 0 {
            return (out, None);
        }
        if data.len() < size {
            out.extend_from_slice(data);
            return (out, Some("truncated chunked body".into()));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size..];
        if data.starts_with(b"\r\n") {
            data = &data[2..];
        } else if data.starts_with(b"\n") {
            data = &data[1..];
        } else {
            return (out, Some("missing CRLF after a chunk".into()));
        }
    }
}

/// Send through `curl --http2-prior-knowledge`; returns a parsed response or an error.
pub fn send_http2(
    port: u16,
    req: &Request,
    more: &[(String, String)],
    host: &str,
    timeout: Duration,
) -> (Response, Option<String>) {
    let mut cmd = Command::new("curl");
    cmd.arg("-sS")
        .arg("-i")
        .arg("--http2-prior-knowledge")
        .arg("--max-time")
        .arg(format!("{:.3}", timeout.as_secs_f64() + 1.0))
        .arg("-X")
        .arg(&req.method)
        .arg("-H")
        .arg("User-Agent:")
        .arg("-H")
        .arg("Accept:");
    if !more.iter().any(|(k, _)| k.eq_ignore_ascii_case("Host")) {
        cmd.arg("-H").arg(format!("Host: {host}"));
    }
    for (k, v) in more {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    if req.body.is_some() {
        cmd.arg("--data-binary").arg("@-");
    }
    cmd.arg(format!("http://127.0.0.1:{port}{}", req.uri));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (Response::default(), Some(format!("cannot run curl: {e}"))),
    };
    if let Some(mut stdin) = child.stdin.take() {
        if let Some(b) = &req.body {
            let _ = stdin.write_all(b);
        }
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => return (Response::default(), Some(format!("curl failed: {e}"))),
    };
    // curl -i output: header block, blank line, decoded body
    let mut resp = Response::default();
    let raw = &out.stdout;
    if let Some(p) = find(raw, b"\r\n\r\n") {
        let headonly = parse_response(&raw[..p + 4], true);
        resp.status = headonly.status;
        resp.headers = headonly.headers;
        resp.body = raw[p + 4..].to_vec();
    }
    let err = (!out.status.success()).then(|| {
        format!(
            "curl exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    });
    (resp, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parsing() {
        let r = parse_request("GET /t\n").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.uri, "/t");
        assert_eq!(r.proto, "HTTP/1.1");
        assert_eq!(r.body, None);
        let r = parse_request("POST /t HTTP/1.0\nhello world\n\n").unwrap();
        assert_eq!(r.proto, "HTTP/1.0");
        assert_eq!(r.body.as_deref(), Some(&b"hello world"[..]));
        // Socket.pm: `meth [url [version]]`, the URL defaults to /
        assert_eq!(parse_request("GET").unwrap().uri, "/");
        assert!(parse_request("GET /a HTTP/1.1 x").is_err());
        assert!(check_request_line("GET /t HTTP/1.0\nbody").is_ok());
        assert!(check_request_line("GET").is_ok());
        assert_eq!(
            check_request_line("GET /a HTTP/1.1 x\n").unwrap_err(),
            "Request line is not valid. Should be 'meth [url [version]]' but got \"GET /a HTTP/1.1 x\n\"."
        );
        assert_eq!(
            check_request_line("").unwrap_err(),
            "Request line should be non-empty"
        );
    }

    #[test]
    fn raw_request_headers_in_order() {
        let r = parse_request("POST /t\nab").unwrap();
        let more = parse_more_headers("X-A: 1\nX-A: 2\n").unwrap();
        let raw = String::from_utf8(build_raw(&r, &more, "localhost")).unwrap();
        assert_eq!(
            raw,
            "POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 2\r\n\r\nab"
        );
        let more = parse_more_headers("Host: foo\nConnection: keep-alive").unwrap();
        let r = parse_request("GET /").unwrap();
        let raw = String::from_utf8(build_raw(&r, &more, "localhost")).unwrap();
        assert_eq!(
            raw,
            "GET / HTTP/1.1\r\nHost: foo\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn chunked_response() {
        let raw = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n3\r\nabc\r\n5;ext=1\r\nde\nfg\r\n0\r\n\r\n";
        let r = parse_response(raw, false);
        assert_eq!(r.status, Some(200));
        assert_eq!(r.body, b"abcde\nfg");
        assert_eq!(r.problem, None);
        assert_eq!(r.header("x-A").as_deref(), Some("1, 2"));
        assert_eq!(r.header("missing"), None);
        let (b, p) = decode_chunked(b"3\r\nab");
        assert_eq!(b, b"ab");
        assert!(p.is_some());
    }

    #[test]
    fn content_length_and_close() {
        let r = parse_response(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef",
            false,
        );
        assert_eq!(r.status, Some(404));
        assert_eq!(r.body, b"abc");
        let r = parse_response(b"HTTP/1.0 200 OK\r\n\r\nuntil close", false);
        assert_eq!(r.body, b"until close");
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", true);
        assert_eq!(r.body, b"");
        let r = parse_response(b"", false);
        assert_eq!(r.status, None);
        assert!(r.problem.is_some());
    }
}
