//! The HTTP/1.1 side of a plugin's HTTP call, for proxies that perform calls on their own connections (the
//! nginx directive path): the upstream address, the request bytes, and the response parsed from what the
//! connection delivered. One request per connection (`Connection: close`). Header parsing is httparse's.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::limits::MAX_HTTP_CALL_RESPONSE_HEADERS;
use crate::map::Pair;
use crate::messages::{CallResponse, HttpCall};

/// Headers the request line and framing set; a plugin's own values for them are not sent.
const OWN_HEADERS: [&[u8]; 4] = [
    b"host",
    b"content-length",
    b"connection",
    b"transfer-encoding",
];

/// The socket address of `host[:port]` / `[v6]:port`; `localhost` is the IPv4 loopback. Host names are not
/// resolved here (`Err` says so).
pub fn address(upstream: &str, scheme: &[u8]) -> Result<SocketAddr, String> {
    let default_port = if scheme == b"https" { 443 } else { 80 };
    let (host, port) = if let Some(rest) = upstream.strip_prefix('[') {
        let (h, p) = rest
            .split_once(']')
            .ok_or_else(|| format!("bad upstream \"{upstream}\""))?;
        (h, p.strip_prefix(':'))
    } else {
        match upstream.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (upstream, None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("bad port in upstream \"{upstream}\""))?,
        None => default_port,
    };
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse::<IpAddr>().map_err(|_| {
            format!("\"{host}\" is not an IP address: host names are not resolved for this call")
        })?
    };
    Ok(SocketAddr::new(ip, port))
}

/// The request a call sends.
pub fn request(call: &HttpCall) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + call.body.len());
    for part in [
        &call.method[..],
        b" ",
        &call.path,
        b" HTTP/1.1\r\nHost: ",
        &call.authority,
        b"\r\n",
    ] {
        out.extend_from_slice(part);
    }
    for (k, v) in &call.headers {
        if OWN_HEADERS.iter().any(|o| k.eq_ignore_ascii_case(o)) {
            continue;
        }
        for part in [&k[..], b": ", v, b"\r\n"] {
            out.extend_from_slice(part);
        }
    }
    let method = call.method.to_ascii_uppercase();
    if !call.body.is_empty() || matches!(&method[..], b"POST" | b"PUT" | b"PATCH") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", call.body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&call.body);
    out
}

/// The response in `data` once it is complete (`Ok(None)`: more is needed). `eof`: the upstream closed the
/// connection. `head`: the request was HEAD (no body). A body longer than `max_body` fails the call.
pub fn response(
    data: &[u8],
    eof: bool,
    head: bool,
    max_body: usize,
) -> Result<Option<CallResponse>, String> {
    let mut lines = [httparse::EMPTY_HEADER; MAX_HTTP_CALL_RESPONSE_HEADERS];
    let mut resp = httparse::Response::new(&mut lines);
    let head_len = match resp.parse(data) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if eof => {
            return Err("the connection closed before the response header".into())
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad response header: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let mut headers: Vec<Pair> = vec![(b":status".to_vec(), status.to_string().into_bytes())];
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for h in resp.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        if name == "content-length" {
            let v = std::str::from_utf8(h.value).ok().map(str::trim);
            length = Some(
                v.and_then(|v| v.parse().ok())
                    .ok_or("bad Content-Length in the response")?,
            );
        } else if name == "transfer-encoding" && h.value.to_ascii_lowercase().ends_with(b"chunked")
        {
            chunked = true;
        }
        headers.push((name.into_bytes(), h.value.to_vec()));
    }
    let rest = &data[head_len..];
    let no_body = head || status / 100 == 1 || status == 204 || status == 304;
    let body = if no_body {
        Vec::new()
    } else if chunked {
        match dechunk(rest, max_body)? {
            Some(b) => b,
            None if eof => return Err("the connection closed inside the chunked body".into()),
            None => return Ok(None),
        }
    } else if let Some(len) = length {
        if len > max_body {
            return Err(format!("response body larger than {max_body} bytes"));
        }
        if rest.len() < len {
            return if eof {
                Err("the connection closed before the end of the body".into())
            } else {
                Ok(None)
            };
        }
        rest[..len].to_vec()
    } else if eof {
        if rest.len() > max_body {
            return Err(format!("response body larger than {max_body} bytes"));
        }
        rest.to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(CallResponse {
        headers,
        body,
        trailers: Vec::new(),
    }))
}

/// Decode a chunked body; `None` until the last chunk and the final CRLF are in.
fn dechunk(mut data: &[u8], max_body: usize) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        data = &data[eol + 2..];
        if size == 0 {
            // Trailers (ignored) end with an empty line.
            return Ok(find_blank_line_end(data).map(|_| out));
        }
        if out.len() + size > max_body {
            return Err(format!("response body larger than {max_body} bytes"));
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[..size]);
        if &data[size..size + 2] != b"\r\n" {
            return Err("missing CRLF after a chunk".into());
        }
        data = &data[size + 2..];
    }
}

/// Where the trailer section after the last chunk ends (an empty line), if it is complete.
fn find_blank_line_end(data: &[u8]) -> Option<usize> {
    if data.starts_with(b"\r\n") {
        return Some(2);
    }
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> HttpCall {
        HttpCall {
            token: 1,
            context_id: 2,
            upstream: "127.0.0.1:8080".into(),
            method: b"POST".to_vec(),
            path: b"/up?x=1".to_vec(),
            scheme: b"http".to_vec(),
            authority: b"up.test".to_vec(),
            headers: vec![
                (b"x-a".to_vec(), b"1".to_vec()),
                (b"Content-Length".to_vec(), b"99".to_vec()),
            ],
            body: b"ping".to_vec(),
            timeout_ms: 1000,
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address("127.0.0.1:8080", b"http").unwrap().to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(address("10.0.0.1", b"http").unwrap().port(), 80);
        assert_eq!(address("10.0.0.1", b"https").unwrap().port(), 443);
        assert_eq!(
            address("localhost:1", b"http").unwrap().to_string(),
            "127.0.0.1:1"
        );
        assert_eq!(address("[::1]:9", b"http").unwrap().to_string(), "[::1]:9");
        assert_eq!(address("::1", b"http").unwrap().to_string(), "[::1]:80");
        assert!(address("example.com:80", b"http")
            .unwrap_err()
            .contains("not an IP address"));
        assert!(address("1.2.3.4:99999", b"http").is_err());
    }

    #[test]
    fn request_bytes() {
        let r = String::from_utf8(request(&call())).unwrap();
        assert_eq!(
            r,
            "POST /up?x=1 HTTP/1.1\r\nHost: up.test\r\nx-a: 1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping"
        );
    }

    #[test]
    fn responses() {
        let full = b"HTTP/1.1 201 Created\r\nX-Up: yes\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..full.len() {
            assert_eq!(
                response(&full[..cut], false, false, 100).unwrap(),
                None,
                "{cut}"
            );
        }
        let r = response(full, false, false, 100).unwrap().unwrap();
        assert_eq!(r.headers[0], (b":status".to_vec(), b"201".to_vec()));
        assert_eq!(r.headers[1], (b"x-up".to_vec(), b"yes".to_vec()));
        assert_eq!(r.body, b"hello");
        assert!(response(full, false, false, 4).is_err());

        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        for cut in 0..chunked.len() {
            assert_eq!(
                response(&chunked[..cut], false, false, 100).unwrap(),
                None,
                "{cut}"
            );
        }
        assert_eq!(
            response(chunked, false, false, 100).unwrap().unwrap().body,
            b"abcde"
        );
        assert!(response(&chunked[..60], true, false, 100).is_err());

        let close = b"HTTP/1.0 200 OK\r\n\r\nuntil close";
        assert_eq!(response(close, false, false, 100).unwrap(), None);
        assert_eq!(
            response(close, true, false, 100).unwrap().unwrap().body,
            b"until close"
        );
        let empty = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(
            response(empty, false, false, 100).unwrap().unwrap().body,
            b""
        );
        assert!(response(b"garbage\r\n\r\n", false, false, 100).is_err());
        assert!(response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
            true,
            false,
            100
        )
        .is_err());
    }
}
