//! What the answer of a unary gRPC call means (the gRPC over HTTP/2 protocol): its status from `grpc-status`
//! and `grpc-message` (in the trailers, or in the headers of a trailers-only answer), a transport failure or a
//! non-200 HTTP status mapped as gRPC clients map them, and its one length-prefixed message.

use crate::map::Pair;
use crate::messages::CallResponse;

/// gRPC status codes this file produces itself.
const UNKNOWN: u32 = 2;
const INTERNAL: u32 = 13;
const UNAVAILABLE: u32 = 14;

/// A unary call's answer as the plugin sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct GrpcAnswer {
    pub status: u32,
    pub status_message: Vec<u8>,
    /// Initial metadata (the response headers without pseudo-headers), the message, the trailing metadata.
    pub message: CallResponse,
}

fn get<'a>(pairs: &'a [Pair], name: &[u8]) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// The status gRPC clients give an answer whose HTTP status is not 200.
fn from_http(status: &[u8]) -> u32 {
    match status {
        b"400" => INTERNAL,
        b"401" => 16,
        b"403" => 7,
        b"404" => 12,
        b"429" | b"502" | b"503" | b"504" => UNAVAILABLE,
        _ => UNKNOWN,
    }
}

/// `grpc-message` is percent-encoded.
fn percent_decoded(v: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match (
            v[i],
            v.get(i + 1).and_then(|c| hex(*c)),
            v.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Read the answer of a unary call from what the proxy got back (empty headers: no answer at all).
pub(crate) fn answer(response: CallResponse) -> GrpcAnswer {
    let fail = |status: u32, why: &str| GrpcAnswer {
        status,
        status_message: why.as_bytes().to_vec(),
        message: CallResponse::default(),
    };
    let CallResponse {
        headers,
        body,
        trailers,
    } = response;
    let Some(http_status) = get(&headers, b":status") else {
        return fail(UNAVAILABLE, "the upstream did not answer");
    };
    if http_status != b"200" {
        let why = format!("HTTP status {}", String::from_utf8_lossy(http_status));
        return fail(from_http(http_status), &why);
    }
    let status_source = if get(&trailers, b"grpc-status").is_some() {
        &trailers
    } else {
        &headers
    };
    let status = match get(status_source, b"grpc-status") {
        Some(v) => match std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
        {
            Some(code) => code,
            None => return fail(UNKNOWN, "bad grpc-status"),
        },
        None => return fail(UNKNOWN, "no grpc-status"),
    };
    let status_message = get(status_source, b"grpc-message")
        .map(percent_decoded)
        .unwrap_or_default();
    let metadata: Vec<Pair> = headers
        .into_iter()
        .filter(|(k, _)| !k.starts_with(b":"))
        .collect();
    if status != 0 {
        return GrpcAnswer {
            status,
            status_message,
            message: CallResponse {
                headers: metadata,
                body: Vec::new(),
                trailers,
            },
        };
    }
    let message = match body.as_slice() {
        [0, len @ ..] if len.len() >= 4 => {
            let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            match len.get(4..) {
                Some(rest) if rest.len() == n => rest.to_vec(),
                _ => return fail(INTERNAL, "not one complete message"),
            }
        }
        [1, ..] => return fail(INTERNAL, "a compressed message (no encoding was asked for)"),
        _ => return fail(INTERNAL, "no message"),
    };
    GrpcAnswer {
        status: 0,
        status_message,
        message: CallResponse {
            headers: metadata,
            body: message,
            trailers,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<Pair> {
        list.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn response(headers: &[(&str, &str)], body: &[u8], trailers: &[(&str, &str)]) -> CallResponse {
        CallResponse {
            headers: pairs(headers),
            body: body.to_vec(),
            trailers: pairs(trailers),
        }
    }

    #[test]
    fn an_ok_answer_gives_its_message_and_metadata() {
        let a = answer(response(
            &[
                (":status", "200"),
                ("content-type", "application/grpc"),
                ("x-md", "1"),
            ],
            &[0, 0, 0, 0, 2, b'h', b'i'],
            &[("grpc-status", "0")],
        ));
        assert_eq!(a.status, 0);
        assert_eq!(a.message.body, b"hi");
        assert_eq!(
            a.message.headers,
            pairs(&[("content-type", "application/grpc"), ("x-md", "1")])
        );
        assert_eq!(a.message.trailers, pairs(&[("grpc-status", "0")]));
    }

    #[test]
    fn statuses_come_from_trailers_or_a_trailers_only_answer() {
        let a = answer(response(
            &[(":status", "200")],
            b"",
            &[("grpc-status", "7"), ("grpc-message", "no%20entry")],
        ));
        assert_eq!((a.status, a.status_message), (7, b"no entry".to_vec()));
        let a = answer(response(
            &[
                (":status", "200"),
                ("grpc-status", "5"),
                ("grpc-message", "gone"),
            ],
            b"",
            &[],
        ));
        assert_eq!((a.status, a.status_message), (5, b"gone".to_vec()));
    }

    #[test]
    fn failures_map_as_grpc_clients_map_them() {
        assert_eq!(answer(CallResponse::default()).status, UNAVAILABLE);
        assert_eq!(
            answer(response(&[(":status", "503")], b"", &[])).status,
            UNAVAILABLE
        );
        assert_eq!(answer(response(&[(":status", "404")], b"", &[])).status, 12);
        assert_eq!(
            answer(response(&[(":status", "200")], b"", &[])).status,
            UNKNOWN
        );
        let ok = [("grpc-status", "0")];
        assert_eq!(
            answer(response(&[(":status", "200")], b"", &ok)).status,
            INTERNAL
        );
        let short = [0, 0, 0, 0, 9, b'x'];
        assert_eq!(
            answer(response(&[(":status", "200")], &short, &ok)).status,
            INTERNAL
        );
        let compressed = [1, 0, 0, 0, 1, b'x'];
        assert_eq!(
            answer(response(&[(":status", "200")], &compressed, &ok)).status,
            INTERNAL
        );
    }
}
