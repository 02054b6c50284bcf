//! One plugin instance (`Vm`): its wasmtime `Store`, made from the plugin's linked module (`InstancePre`,
//! `cache.rs`), and the one way into the guest, `Vm::call`, which gives each call its deadline and the proxy's
//! backend and marks the instance failed when the guest traps. Whether an instance is still usable (not
//! trapped, not retired for its memory) is tracked here too.
//!
//! The rest of the instance lives in `state.rs` (the store's data, `HostState`), `callbacks.rs` (the guest's
//! exports resolved once), `contexts.rs` (context ids, and the callbacks that end a context) and `answers.rs`
//! (the answers of calls a context dispatched). The one unsafe
//! block here erases the lifetime of the backend `Vm::call` hands to host functions.

mod answers;
mod callbacks;
mod contexts;
mod state;

use std::ptr::NonNull;
use std::rc::Rc;

use wasmtime::{InstancePre, Store, Trap, TypedFunc, WasmParams, WasmResults};

pub(crate) use answers::Claim;
pub(crate) use callbacks::{Callbacks, HeadersFn};
pub(crate) use state::{ContextKind, HostState, QueueWatch};

use crate::backend::Backend;
use crate::engine::engine;
use crate::error::Error;
use crate::limits::{
    PluginOptions, MAX_LOG_LINES_PER_CALLBACK, MEMORY_RECYCLE_PERCENT, SETUP_TIME_LIMIT_MS,
};
use crate::ticker::{call_starts, deadline_ticks, note_time_limit};
use crate::types::{AbiVersion, LogLevel};

pub(crate) struct Vm {
    pub store: Store<HostState>,
    pub cb: Callbacks,
    next_context_id: u32,
    /// Why this instance must not run again (it trapped).
    failed: Option<String>,
    /// Set when the instance's memory passed the recycling watermark: new work goes to a fresh instance.
    retired: bool,
    /// Set while the instance starts or a root context is configured: calls get `limits::SETUP_TIME_LIMIT_MS`.
    setup: bool,
    options: PluginOptions,
}

impl Vm {
    /// Instantiate the plugin's linked module and run its start function.
    pub(crate) fn instantiate(
        plugin: Rc<str>,
        pre: &InstancePre<HostState>,
        abi: AbiVersion,
        vm_configuration: Rc<[u8]>,
        options: PluginOptions,
        backend: &mut dyn Backend,
    ) -> Result<Vm, Error> {
        let state = HostState::new(plugin, vm_configuration, &options);
        let mut store = Store::new(engine(), state);
        store.limiter(|s| &mut s.limits);
        // A start section (AssemblyScript 0.14 puts its top-level code there) runs inside instantiation: give
        // it the set-up deadline, as the start function gets.
        let setup_limit = options.time_limit_ms.max(SETUP_TIME_LIMIT_MS);
        store.set_epoch_deadline(deadline_ticks(setup_limit));
        note_time_limit(setup_limit);
        call_starts();
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| Error::Load(format!("instantiation failed: {e:#}")))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Error::Load("the module exports no \"memory\"".into()))?;
        let allocate = match callbacks::typed::<i32, i32>(
            &instance,
            &mut store,
            "proxy_on_memory_allocate",
        )? {
            Some(f) => Some(f),
            None => callbacks::typed::<i32, i32>(&instance, &mut store, "malloc")?,
        }
        .map(|f| (*f).clone());
        if allocate.is_none() {
            return Err(Error::Load(
                "the module exports neither proxy_on_memory_allocate nor malloc".into(),
            ));
        }
        store.data_mut().memory = Some(memory);
        store.data_mut().allocate = allocate;

        let cb = Callbacks::resolve(&instance, &mut store, abi)?;
        let mut vm = Vm {
            store,
            cb,
            next_context_id: 0,
            failed: None,
            retired: false,
            setup: true,
            options,
        };
        if let Some(init) = callbacks::typed::<(), ()>(&instance, &mut vm.store, "_initialize")? {
            vm.call(backend, "_initialize", &init, ())?;
        } else if let Some(start) = callbacks::typed::<(), ()>(&instance, &mut vm.store, "_start")?
        {
            vm.call(backend, "_start", &start, ())?;
        }
        vm.setup = false;
        Ok(vm)
    }

    pub(crate) fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Mark the calls that follow as set-up work (configuring a root context) or request work.
    pub(crate) fn set_setup(&mut self, setup: bool) {
        self.setup = setup;
    }

    /// The time limit of the next call in milliseconds: the plugin's, or the longer set-up one.
    fn time_limit_ms(&self) -> u64 {
        if self.setup {
            self.options.time_limit_ms.max(SETUP_TIME_LIMIT_MS)
        } else {
            self.options.time_limit_ms
        }
    }

    /// Whether new work must go to a fresh instance (it trapped, or it was retired).
    pub(crate) fn is_spent(&self) -> bool {
        self.failed.is_some() || self.retired
    }

    /// Bytes of linear memory the instance has now (its initial size, or the size it last grew to).
    pub(crate) fn memory_bytes(&mut self) -> usize {
        self.store.data().limits.memory_bytes
    }

    /// Retire the instance when its memory passed the watermark (`limits::MEMORY_RECYCLE_PERCENT` of its
    /// limit): the contexts it serves finish in it, new ones get a fresh instance. Returns whether it did.
    pub(crate) fn retire_if_grown(&mut self) -> bool {
        let watermark = self.options.memory_limit / 100 * MEMORY_RECYCLE_PERCENT;
        if !self.retired && self.memory_bytes() > watermark {
            self.retired = true;
            return true;
        }
        false
    }

    pub(crate) fn state(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// Call a guest function with `backend` reachable from host functions for the duration of the call.
    /// A trap marks the instance failed: it is never entered again.
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        backend: &mut dyn Backend,
        callback: &'static str,
        func: &TypedFunc<P, R>,
        params: P,
    ) -> Result<R, Error> {
        if let Some(reason) = &self.failed {
            return Err(Error::Unusable(reason.clone()));
        }
        // SAFETY: only the lifetime is erased; the pointer is removed below before `backend` can end.
        let ptr: NonNull<dyn Backend> = unsafe {
            std::mem::transmute::<NonNull<dyn Backend + '_>, NonNull<dyn Backend + 'static>>(
                NonNull::from(&mut *backend),
            )
        };
        self.store.data_mut().backend = Some(ptr);
        let time_limit = self.time_limit_ms();
        self.store.set_epoch_deadline(deadline_ticks(time_limit));
        let state = self.store.data_mut();
        state.deadline_epoch = crate::ticker::deadline_epoch(time_limit);
        state.time_limit_ms = time_limit;
        state.log_lines = 0;
        call_starts();
        let result = func.call(&mut self.store, params);
        let state = self.store.data_mut();
        // What the plugin wrote to stdout/stderr without a final newline is a line of its own too.
        state.flush_output(0);
        state.flush_output(1);
        state.backend = None;
        let over = state.log_lines.saturating_sub(MAX_LOG_LINES_PER_CALLBACK);
        if over > 0 {
            let plugin = state.plugin.clone();
            let msg = format!(
                "{callback}: {over} more log line(s) dropped (at most {MAX_LOG_LINES_PER_CALLBACK} per callback)"
            );
            backend.log(LogLevel::Warn, &plugin, msg.as_bytes());
        }
        result.map_err(|e| {
            let message = if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                format!("interrupted: ran past its time limit of {time_limit} ms")
            } else {
                trap_message(&e)
            };
            self.failed = Some(format!("{callback} trapped: {message}"));
            Error::Trap { callback, message }
        })
    }
}

/// The most useful one-line description of a trap: the trap code plus the guest's own message when a host
/// function raised it.
fn trap_message(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    parts.dedup();
    parts.retain(|p| !p.starts_with("error while executing at wasm backtrace"));
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}
