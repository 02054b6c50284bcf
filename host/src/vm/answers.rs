//! Answers of the calls a context dispatched (HTTP and unary gRPC), the one way both HTTP contexts
//! (`context.rs`) and root contexts (`root_calls.rs`) take them: `claim` settles what the token is (cancelled by
//! the plugin, not outstanding for that context, an HTTP call, a gRPC call) and takes it off the outstanding
//! calls; `deliver_answer` runs the guest's callback for it with the answer's maps, buffer and status readable.
//! The caller prepares and ends the callback as its context needs (`begin`/`finish`, `allow`/`collect`).

use super::{HostState, Vm};
use crate::backend::Backend;
use crate::error::Error;
use crate::messages::CallResponse;

/// What an answer's token is, once claimed.
pub(crate) enum Claim {
    /// The plugin cancelled the call (`proxy_grpc_cancel`): the answer is dropped.
    Cancelled,
    /// No call with this token is outstanding for that context.
    NotOutstanding,
    Http,
    Grpc,
}

impl HostState {
    /// Take call `token` of context `owner` off the outstanding calls, saying what it was.
    pub(crate) fn claim(&mut self, token: u32, owner: u32) -> Claim {
        if let Some(pos) = self.cancelled_calls.iter().position(|t| *t == token) {
            self.cancelled_calls.swap_remove(pos);
            return Claim::Cancelled;
        }
        if self.pending_calls.get(&token) != Some(&owner) {
            return Claim::NotOutstanding;
        }
        self.pending_calls.remove(&token);
        match self.grpc_calls.iter().position(|t| *t == token) {
            Some(pos) => {
                self.grpc_calls.swap_remove(pos);
                Claim::Grpc
            }
            None => Claim::Http,
        }
    }
}

impl Vm {
    /// Run the answer's callback with `root` as its context argument: `proxy_on_http_call_response(root,
    /// token, headers, body_size, trailers)` (maps 6/7, buffer 4); for a gRPC call, as Envoy answers a unary
    /// call, `proxy_on_grpc_receive(root, token, size)` (the message as buffer 5, the metadata as maps 4/5) when
    /// its status is OK, else `proxy_on_grpc_close(root, token, status)` (`proxy_get_status` gives the status and
    /// message). Returns the callback's name, `None` when the plugin does not export it.
    pub(crate) fn deliver_answer(
        &mut self,
        backend: &mut dyn Backend,
        root: u32,
        token: u32,
        grpc: bool,
        response: CallResponse,
    ) -> Result<Option<&'static str>, Error> {
        let (root, token) = (root as i32, token as i32);
        let result = if grpc {
            let answer = crate::grpc::answer(response);
            let (name, f, arg) = match answer.status {
                0 => (
                    "proxy_on_grpc_receive",
                    self.cb.on_grpc_receive.clone(),
                    answer.message.body.len(),
                ),
                code => (
                    "proxy_on_grpc_close",
                    self.cb.on_grpc_close.clone(),
                    code as usize,
                ),
            };
            let Some(f) = f else {
                return Ok(None);
            };
            let state = self.state();
            state.grpc_status = Some((answer.status, answer.status_message));
            state.call_response = Some(answer.message);
            self.call(backend, name, &f, (root, token, arg as i32))
                .map(|_| name)
        } else {
            let name = "proxy_on_http_call_response";
            let Some(f) = self.cb.on_http_call_response.clone() else {
                return Ok(None);
            };
            let counts = (
                response.headers.len() as i32,
                response.body.len() as i32,
                response.trailers.len() as i32,
            );
            self.state().call_response = Some(response);
            let args = (root, token, counts.0, counts.1, counts.2);
            self.call(backend, name, &f, args).map(|_| name)
        };
        let state = self.state();
        state.call_response = None;
        state.grpc_status = None;
        result.map(Some)
    }
}
