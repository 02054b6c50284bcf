//! Contexts inside one instance: fresh ids (registered in `HostState::contexts` so host functions can check
//! them), forgetting a context with everything that refers to it, and the callbacks that end a context
//! (`proxy_on_done`, `proxy_on_log`, `proxy_on_delete`), after which an instance grown past its memory
//! watermark is retired.

use super::{ContextKind, Vm};
use crate::backend::Backend;
use crate::error::Error;
use crate::limits::MEMORY_RECYCLE_PERCENT;
use crate::types::LogLevel;

impl Vm {
    /// A fresh context id, registered as `kind`.
    pub(crate) fn new_context(&mut self, kind: ContextKind) -> u32 {
        self.next_context_id += 1;
        let id = self.next_context_id;
        self.store.data_mut().contexts.insert(id, kind);
        id
    }

    pub(crate) fn forget_context(&mut self, id: u32) {
        let state = self.store.data_mut();
        if let Some(ContextKind::Root) = state.contexts.remove(&id) {
            state.configurations.remove(&id);
        }
        state.continued.retain(|c| *c != id);
        state.closed.retain(|c| *c != id);
        // Most contexts have no calls, ticks or queues: skip the scans then.
        if !state.pending_calls.is_empty() {
            state.pending_calls.retain(|_, ctx| *ctx != id);
            let pending = &state.pending_calls;
            state.grpc_calls.retain(|t| pending.contains_key(t));
        }
        if !state.tick_periods.is_empty() {
            state.tick_periods.remove(&id);
        }
        if !state.queue_watches.is_empty() {
            state.queue_watches.retain(|w| w.root != id);
        }
    }

    /// Run the end of context `id`: `proxy_on_done`, then (HTTP contexts, `log`) `proxy_on_log`, then
    /// `proxy_on_delete`, stopping at the first that fails (its error is returned for the proxy to report once).
    /// The context is forgotten regardless. Nothing runs in an instance that trapped. At the end of a request
    /// (`log`), an instance whose memory grew past the watermark is retired, with a line saying so.
    #[inline]
    pub(crate) fn end_context(
        &mut self,
        backend: &mut dyn Backend,
        id: u32,
        log: bool,
    ) -> Result<(), Error> {
        if self.is_failed() {
            self.forget_context(id);
            return Ok(());
        }
        self.state().effective_context = id;
        let result = (|| {
            if let Some(done) = self.cb.on_done.clone() {
                self.call(backend, "proxy_on_done", &done, id as i32)?;
            }
            if log {
                if let Some(on_log) = self.cb.on_log.clone() {
                    self.call(backend, "proxy_on_log", &on_log, id as i32)?;
                }
            }
            if let Some(delete) = self.cb.on_delete.clone() {
                self.call(backend, "proxy_on_delete", &delete, id as i32)?;
            }
            Ok(())
        })();
        if self.state().local_response.take().is_some() {
            let plugin = self.state().plugin.clone();
            backend.log(
                LogLevel::Error,
                &plugin,
                b"a local response at the end of a context (proxy_on_done/on_log/on_delete) is refused: the response is gone",
            );
        }
        self.forget_context(id);
        if log && self.retire_if_grown() {
            let plugin = self.state().plugin.clone();
            let msg = format!(
                "instance recycled: its memory grew to {} KiB (past {MEMORY_RECYCLE_PERCENT}% of its limit); the next request gets a fresh instance",
                self.memory_bytes() / 1024,
            );
            backend.log(LogLevel::Info, &plugin, msg.as_bytes());
        }
        result
    }
}
