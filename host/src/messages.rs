//! The values a plugin's callbacks hand the proxy and the proxy hands back, public because the proxy acts on
//! them: a local response (`proxy_send_local_response`), an HTTP call to perform (`proxy_http_call`) and the
//! response it got. Host functions fill them in (`abi/http.rs`); HTTP contexts carry them in their `Outcome`.

use crate::map::Pair;

/// A local response a plugin asked for with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    /// The `details` string of the call (logged at debug level when the plugin sends the response).
    pub details: Vec<u8>,
}

/// An HTTP call a plugin dispatched with `proxy_http_call`, for the proxy to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// The token the plugin got back; the response is delivered with it.
    pub token: u32,
    /// The HTTP context the call belongs to (its response is delivered there).
    pub context_id: u32,
    /// `host[:port]` as the plugin gave it.
    pub upstream: String,
    pub method: Vec<u8>,
    pub path: Vec<u8>,
    /// `:scheme` of the call's headers, `http` when absent.
    pub scheme: Vec<u8>,
    pub authority: Vec<u8>,
    /// The other headers (pseudo-headers removed), in order.
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    /// Milliseconds; the plugin's value, or `limits::DEFAULT_HTTP_CALL_TIMEOUT_MS` when it gave 0.
    pub timeout_ms: u32,
    /// Set for a unary gRPC call (`proxy_grpc_call`): the request is its HTTP/2 POST (`:path`
    /// `/service/method`, `content-type: application/grpc`, `te: trailers`, the message framed in `body`),
    /// which the proxy sends to a gRPC upstream.
    pub grpc: Option<GrpcMethod>,
}

/// The service and method of a unary gRPC call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcMethod {
    pub service: Vec<u8>,
    pub method: Vec<u8>,
}

/// The response of an HTTP call, exposed during `proxy_on_http_call_response` (map types 6 and 7, buffer 4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResponse {
    /// Response headers with `:status` first; empty when the call failed.
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    pub trailers: Vec<Pair>,
}
