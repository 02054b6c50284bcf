//! HTTP and gRPC calls a root context dispatches where no request exists (`proxy_on_tick`,
//! `proxy_on_queue_ready`, and the response callbacks of such calls). They are collected here after each of
//! those callbacks; the proxy takes them (`take_root_calls`), performs them on its own, and hands each answer
//! back (`RootCall::deliver`), which runs the root context's `proxy_on_http_call_response` (or the gRPC
//! callbacks) in the instance that dispatched it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use crate::backend::Backend;
use crate::messages::{CallResponse, HttpCall};
use crate::types::LogLevel;
use crate::vm::{Claim, Vm};

thread_local! {
    static ROOT_CALLS: RefCell<Vec<RootCall>> = const { RefCell::new(Vec::new()) };
}

/// A call a root context dispatched, for the proxy to perform.
pub struct RootCall {
    vm: Weak<RefCell<Vm>>,
    root: u32,
    plugin: Rc<str>,
    call: HttpCall,
}

/// The calls root contexts dispatched since the last time (after `run_due`, after a `RootCall::deliver`).
pub fn take_root_calls() -> Vec<RootCall> {
    ROOT_CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

/// Let root context `root` dispatch calls during the callback about to run in `vm`.
pub(crate) fn allow(vm: &mut Vm, root: u32) {
    let state = vm.state();
    state.effective_context = root;
    state.running_root = Some(root);
    state.dispatched.clear();
}

/// After the callback: keep what it dispatched for the proxy.
pub(crate) fn collect(vm_rc: &Rc<RefCell<Vm>>, vm: &mut Vm, root: u32) {
    let state = vm.state();
    state.running_root = None;
    if state.dispatched.is_empty() {
        return;
    }
    let plugin = state.plugin.clone();
    let calls: Vec<RootCall> = state
        .dispatched
        .drain(..)
        .map(|call| RootCall {
            vm: Rc::downgrade(vm_rc),
            root,
            plugin: plugin.clone(),
            call,
        })
        .collect();
    ROOT_CALLS.with(|c| c.borrow_mut().extend(calls));
}

impl RootCall {
    pub fn call(&self) -> &HttpCall {
        &self.call
    }

    pub fn plugin_name(&self) -> &str {
        &self.plugin
    }

    /// Deliver the call's answer (an empty `CallResponse` when it failed) to the root context that dispatched
    /// it, if its instance still lives and the call is still outstanding; a failure of the callback is logged
    /// through `backend`. Calls the callback dispatches are collected for `take_root_calls`.
    pub fn deliver(self, backend: &mut dyn Backend, response: CallResponse) {
        let Some(vm_rc) = self.vm.upgrade() else {
            return;
        };
        let Ok(mut vm) = vm_rc.try_borrow_mut() else {
            return;
        };
        let token = self.call.token;
        let grpc = match vm.state().claim(token, self.root) {
            Claim::Cancelled | Claim::NotOutstanding => return,
            Claim::Http => false,
            Claim::Grpc => true,
        };
        allow(&mut vm, self.root);
        let result = vm.deliver_answer(backend, self.root, token, grpc, response);
        if result.is_err() {
            vm.state().dispatched.clear();
        }
        collect(&vm_rc, &mut vm, self.root);
        if let Err(e) = result {
            backend.log(LogLevel::Error, &self.plugin, e.to_string().as_bytes());
        }
    }
}
