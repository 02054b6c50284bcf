//! A fixed-size region of memory shared by nginx's master and its workers (mapped `MAP_SHARED` before they
//! fork), with a bounds-checked view, a lock and a size-class allocator.
//!
//! The lock is a robust, process-shared pthread mutex in the region's header: it excludes every thread of
//! every process, and when its owner dies (a worker killed with SIGKILL, a thread that exits holding it) the
//! next locker gets it with `EOWNERDEAD`, repairs the region (`super::repair`) and makes it consistent again.
//!
//! Writers make a change visible with one aligned 32-bit store of an offset, after everything it points to
//! is written, so a writer killed half way leaves the old state reachable and at worst some unreachable
//! blocks and stale counters, which the repair takes back and recounts. Every offset read back from the
//! region is checked before use as well, so a region left inconsistent any other way yields `Corrupt`
//! errors, never an access outside the mapping.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicU32};

use super::SharedError;

const MAGIC: u32 = 0x5057_5348; // "PWSH"
/// 2: the lock is a robust pthread mutex at `H_MUTEX` (1 had a spin lock holding a pid at offset 12).
const VERSION: u32 = 2;

// Header fields (byte offsets of u32 values).
const H_MAGIC: u32 = 0;
const H_VERSION: u32 = 4;
const H_LEN: u32 = 8;
/// How many times the lock was taken over from a dead owner.
const H_RECOVERED: u32 = 12;
const H_BUMP: u32 = 16;
const H_HEAP_END: u32 = 20;
pub(super) const H_BUCKETS: u32 = 24;
pub(super) const H_NBUCKETS: u32 = 28;
pub(super) const H_CAS: u32 = 32;
pub(super) const H_ENTRIES: u32 = 36;
pub(super) const H_QUEUES: u32 = 40;
pub(super) const H_QUEUE_ID: u32 = 44;
pub(super) const H_METRICS: u32 = 48;
const H_USED: u32 = 52;
const H_HEAP_START: u32 = 56;
const H_FREE: u32 = 64;
/// Size classes: blocks of 32 << class bytes.
const NCLASSES: u32 = 26;
/// The lock: a `pthread_mutex_t` (40 bytes on x86_64 glibc, 48 on aarch64) in a fixed 64-byte slot.
const H_MUTEX: u32 = H_FREE + 4 * NCLASSES;
const MUTEX_SPACE: u32 = 64;
const HEADER: u32 = H_MUTEX + MUTEX_SPACE;
const _: () = assert!(
    std::mem::size_of::<libc::pthread_mutex_t>() <= MUTEX_SPACE as usize
        && std::mem::align_of::<libc::pthread_mutex_t>() <= 8
        && H_MUTEX.is_multiple_of(8)
);
const MIN_BLOCK: u32 = 32;
/// A block starts with its class and a tag, then its payload.
const BLOCK_HEADER: u32 = 8;

/// What a block holds (checked when an offset is followed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(super) enum Tag {
    Free = 0xF4EE,
    Entry = 1,
    Queue = 2,
    Item = 3,
    Name = 4,
}

/// One shared region, mapped by `create` and unmapped when dropped (the process-wide region is a static,
/// never dropped: nginx's master maps it once and keeps it through reloads).
pub(crate) struct Region {
    base: *mut u8,
    len: u32,
}

// SAFETY: the region is plain shared memory; concurrent access goes through the lock or through atomics.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

fn align8(v: u32) -> u32 {
    (v + 7) & !7
}

/// Test hook: the number of region writes this process still makes before it kills itself with SIGKILL in
/// the middle of the next one (0: never). Only forked test children set it, to die at every possible point.
#[cfg(test)]
pub(super) static WRITES_BEFORE_KILL: AtomicU32 = AtomicU32::new(0);

/// Called before each write to the region; `half` does half of the write (a torn write) before a test kill.
#[cfg(test)]
fn crash_point(half: impl FnOnce()) {
    use std::sync::atomic::Ordering::Relaxed;
    match WRITES_BEFORE_KILL.load(Relaxed) {
        0 => {}
        1 => {
            half();
            // SAFETY: the test child kills itself, as a worker killed by an operator would die.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            loop {
                // SAFETY: pause has no preconditions; SIGKILL ends the process.
                unsafe { libc::pause() };
            }
        }
        n => WRITES_BEFORE_KILL.store(n - 1, Relaxed),
    }
}

#[cfg(not(test))]
#[inline(always)]
fn crash_point(_half: impl FnOnce()) {}

impl Region {
    /// Map a fresh anonymous shared region of `len` bytes and lay it out.
    pub(crate) fn create(len: usize, metric_slots: u32, slot_size: u32) -> Result<Region, String> {
        // SAFETY: a fresh anonymous mapping; no existing memory is touched.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "cannot map {len} bytes of shared memory: {}",
                std::io::Error::last_os_error()
            ));
        }
        let region = Region {
            base: p as *mut u8,
            len: len.min(u32::MAX as usize) as u32,
        };
        region.format(metric_slots, slot_size)?;
        Ok(region)
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Lay out a fresh region, its lock included. Only ever called on a mapping nobody else uses yet.
    fn format(&self, metric_slots: u32, slot_size: u32) -> Result<(), String> {
        let nbuckets = (self.len / 512).clamp(64, 1 << 16).next_power_of_two();
        let buckets = HEADER;
        let metrics = align8(buckets + 4 * nbuckets);
        let heap = align8(metrics + metric_slots * slot_size);
        if heap + 64 * 1024 > self.len {
            return Err(format!(
                "{} bytes of shared memory are too few: at least {} are needed",
                self.len,
                heap + 64 * 1024
            ));
        }
        // SAFETY: the header, buckets and metric table lie inside the region (checked above).
        unsafe { std::ptr::write_bytes(self.base, 0, heap as usize) };
        self.init_mutex()?;
        let set = |off, v| self.set(off, v).expect("header inside the region");
        set(H_VERSION, VERSION);
        set(H_LEN, self.len);
        set(H_BUMP, heap);
        set(H_HEAP_START, heap);
        set(H_HEAP_END, self.len & !7);
        set(H_BUCKETS, buckets);
        set(H_NBUCKETS, nbuckets);
        set(H_METRICS, metrics);
        set(H_QUEUE_ID, 1);
        set(H_MAGIC, MAGIC);
        Ok(())
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        // SAFETY: `H_MUTEX + MUTEX_SPACE <= HEADER`, which `format` checked lies inside the mapping; the
        // mapping is page-aligned and `H_MUTEX` 8-aligned (asserted above), enough for a pthread_mutex_t.
        unsafe { self.base.add(H_MUTEX as usize) as *mut libc::pthread_mutex_t }
    }

    /// Make the header's mutex robust (a dead owner's lock passes to the next locker), process-shared and
    /// error-checking (a thread locking it twice gets `EDEADLK` instead of hanging).
    fn init_mutex(&self) -> Result<(), String> {
        let fail = |what: &str, rc: i32| {
            format!(
                "cannot set up the shared memory lock ({what}): {}",
                std::io::Error::from_raw_os_error(rc)
            )
        };
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: `attr` is initialised by pthread_mutexattr_init before any other use and destroyed after;
        // the mutex lies in the mapping (see `mutex`), which no other thread or process uses yet.
        unsafe {
            let a = attr.as_mut_ptr();
            let rc = libc::pthread_mutexattr_init(a);
            if rc != 0 {
                return Err(fail("attributes", rc));
            }
            let mut rc = libc::pthread_mutexattr_setpshared(a, libc::PTHREAD_PROCESS_SHARED);
            let mut what = "process-shared";
            if rc == 0 {
                rc = libc::pthread_mutexattr_setrobust(a, libc::PTHREAD_MUTEX_ROBUST);
                what = "robust";
            }
            if rc == 0 {
                rc = libc::pthread_mutexattr_settype(a, libc::PTHREAD_MUTEX_ERRORCHECK);
                what = "error-checking";
            }
            if rc == 0 {
                rc = libc::pthread_mutex_init(self.mutex(), a);
                what = "init";
            }
            libc::pthread_mutexattr_destroy(a);
            if rc != 0 {
                return Err(fail(what, rc));
            }
        }
        Ok(())
    }

    fn check(&self, off: u32, len: u32) -> Result<usize, SharedError> {
        match off.checked_add(len) {
            Some(end) if end <= self.len => Ok(off as usize),
            _ => Err(SharedError::Corrupt),
        }
    }

    pub(super) fn get(&self, off: u32) -> Result<u32, SharedError> {
        let o = self.check(off, 4)?;
        // SAFETY: bounds checked; unaligned read of plain bytes.
        Ok(unsafe { std::ptr::read_unaligned(self.base.add(o) as *const u32) })
    }

    pub(super) fn set(&self, off: u32, v: u32) -> Result<(), SharedError> {
        let o = self.check(off, 4)?;
        crash_point(|| ());
        // SAFETY: bounds checked; unaligned write of plain bytes.
        unsafe { std::ptr::write_unaligned(self.base.add(o) as *mut u32, v) };
        Ok(())
    }

    pub(super) fn bytes(&self, off: u32, len: u32) -> Result<&[u8], SharedError> {
        let o = self.check(off, len)?;
        // SAFETY: bounds checked; callers hold the lock while the bytes may change.
        Ok(unsafe { std::slice::from_raw_parts(self.base.add(o), len as usize) })
    }

    pub(super) fn write(&self, off: u32, bytes: &[u8]) -> Result<(), SharedError> {
        let len = u32::try_from(bytes.len()).map_err(|_| SharedError::Corrupt)?;
        let o = self.check(off, len)?;
        // SAFETY (both copies): bounds checked; the source is a separate Rust slice.
        crash_point(|| unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(o), bytes.len() / 2)
        });
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(o), bytes.len()) };
        Ok(())
    }

    /// A 4-aligned 32-bit field inside the region, read and written atomically.
    pub(super) fn atomic_u32_at(&self, off: u32) -> Result<&AtomicU32, SharedError> {
        let o = self.check(off, 4)?;
        if o % 4 != 0 {
            return Err(SharedError::Corrupt);
        }
        // SAFETY: in bounds and aligned; such fields are only ever accessed atomically.
        Ok(unsafe { &*(self.base.add(o) as *const AtomicU32) })
    }

    /// An 8-aligned 64-bit counter inside the region.
    pub(super) fn atomic_i64(&self, off: u32) -> Result<&AtomicI64, SharedError> {
        let o = self.check(off, 8)?;
        if o % 8 != 0 {
            return Err(SharedError::Corrupt);
        }
        // SAFETY: in bounds and aligned; counters are only ever accessed atomically.
        Ok(unsafe { &*(self.base.add(o) as *const AtomicI64) })
    }

    /// Whether the region was laid out by this version of the host.
    pub(crate) fn is_formatted(&self) -> bool {
        self.get(H_MAGIC) == Ok(MAGIC) && self.get(H_VERSION) == Ok(VERSION)
    }

    /// Take the region's lock, waiting for other threads and processes. A lock whose owner died holding it
    /// (a worker killed with SIGKILL, a thread that exited) is taken over and the region repaired first.
    /// `Corrupt` when the calling thread holds the lock already, or the lock cannot be used.
    pub(crate) fn lock(&self) -> Result<Guard<'_>, SharedError> {
        if !self.is_formatted() {
            return Err(SharedError::Corrupt);
        }
        // SAFETY: `format` initialised the mutex, which lives as long as the mapping (borrowed by the guard).
        let rc = unsafe { libc::pthread_mutex_lock(self.mutex()) };
        let guard = Guard {
            region: self,
            _not_send: PhantomData,
        };
        match rc {
            0 => Ok(guard),
            libc::EOWNERDEAD => {
                // This thread holds the lock now. Should it die repairing, the next locker gets EOWNERDEAD
                // again and repairs again: the repair only rebuilds what it can derive from what is reachable.
                // Nothing here may return early: a robust mutex unlocked before it is made consistent
                // can never be locked again.
                let _ = self.set(H_RECOVERED, self.recoveries().wrapping_add(1));
                let _ = super::repair(self);
                // SAFETY: the calling thread holds the robust mutex in the owner-died state.
                unsafe { libc::pthread_mutex_consistent(self.mutex()) };
                Ok(guard)
            }
            _ => {
                // EDEADLK (this thread holds it: a caller bug), ENOTRECOVERABLE or EINVAL: not locked.
                std::mem::forget(guard);
                Err(SharedError::Corrupt)
            }
        }
    }

    /// How many times the lock was taken over from a dead owner.
    pub(crate) fn recoveries(&self) -> u32 {
        self.get(H_RECOVERED).unwrap_or(0)
    }

    fn class_of(total: u32) -> Option<u32> {
        let size = total.max(MIN_BLOCK).checked_next_power_of_two()?;
        let class = size.trailing_zeros() - MIN_BLOCK.trailing_zeros();
        (class < NCLASSES).then_some(class)
    }

    /// Allocate a block able to hold `payload` bytes; returns the payload's offset (8-aligned). A writer
    /// killed here leaves at most one block on no list, which the repair takes back.
    pub(super) fn alloc(&self, payload: u32, tag: Tag) -> Result<u32, SharedError> {
        let total = payload.checked_add(BLOCK_HEADER).ok_or(SharedError::Full)?;
        let class = Region::class_of(total).ok_or(SharedError::Full)?;
        let size = MIN_BLOCK << class;
        let head_field = H_FREE + 4 * class;
        let head = self.get(head_field)?;
        let block = if head != 0 {
            self.check_block(head, Tag::Free)?;
            if self.get(head)? != class {
                return Err(SharedError::Corrupt);
            }
            self.set(head_field, self.get(head + BLOCK_HEADER)?)?;
            head
        } else {
            let bump = self.get(H_BUMP)?;
            let end = bump.checked_add(size).ok_or(SharedError::Full)?;
            if end > self.get(H_HEAP_END)? {
                return Err(SharedError::Full);
            }
            // The header first: every block below the bump pointer has a valid class (the repair walks them).
            self.set(bump, class)?;
            self.set(bump + 4, Tag::Free as u32)?;
            self.set(H_BUMP, end)?;
            bump
        };
        self.set(block + 4, tag as u32)?;
        self.set(H_USED, self.get(H_USED)?.saturating_add(size))?;
        Ok(block + BLOCK_HEADER)
    }

    /// Return a block to its size class's free list.
    pub(super) fn free(&self, payload_off: u32) -> Result<(), SharedError> {
        let block = payload_off
            .checked_sub(BLOCK_HEADER)
            .ok_or(SharedError::Corrupt)?;
        let class = self.get(block)?;
        if class >= NCLASSES {
            return Err(SharedError::Corrupt);
        }
        let head_field = H_FREE + 4 * class;
        self.set(payload_off, self.get(head_field)?)?;
        self.set(block + 4, Tag::Free as u32)?;
        self.set(head_field, block)?;
        self.set(H_USED, self.get(H_USED)?.saturating_sub(MIN_BLOCK << class))?;
        Ok(())
    }

    /// Bytes a block's payload can hold.
    pub(super) fn capacity(&self, payload_off: u32) -> Result<u32, SharedError> {
        let class = self.get(
            payload_off
                .checked_sub(BLOCK_HEADER)
                .ok_or(SharedError::Corrupt)?,
        )?;
        if class >= NCLASSES {
            return Err(SharedError::Corrupt);
        }
        Ok((MIN_BLOCK << class) - BLOCK_HEADER)
    }

    fn check_block(&self, block: u32, tag: Tag) -> Result<(), SharedError> {
        let heap_start = self.get(H_HEAP_START)?;
        if block < heap_start || !block.is_multiple_of(8) || block >= self.get(H_BUMP)? {
            return Err(SharedError::Corrupt);
        }
        if self.get(block + 4)? != tag as u32 {
            return Err(SharedError::Corrupt);
        }
        Ok(())
    }

    /// Check that `payload_off` (read back from the region) is the payload of a live block of kind `tag`.
    pub(super) fn check_payload(&self, payload_off: u32, tag: Tag) -> Result<(), SharedError> {
        let block = payload_off
            .checked_sub(BLOCK_HEADER)
            .ok_or(SharedError::Corrupt)?;
        self.check_block(block, tag)
    }

    /// Bytes held by live blocks, and the heap's size.
    pub(crate) fn usage(&self) -> (u32, u32) {
        let used = self.get(H_USED).unwrap_or(0);
        let end = self.get(H_HEAP_END).unwrap_or(0);
        let heap = end - self.get(H_HEAP_START).unwrap_or(0).min(end);
        (used, heap)
    }

    /// The first step of a repair: the blocks of the heap, walked from its start by their classes. A block
    /// header that is not valid ends the heap there (the bump pointer moves back to it).
    pub(super) fn blocks(&self) -> Result<Blocks, SharedError> {
        let start = self.get(H_HEAP_START)?;
        let end = self.get(H_HEAP_END)?;
        let bump = self.get(H_BUMP)?;
        if start > bump || bump > end || end > self.len || !start.is_multiple_of(8) {
            return Err(SharedError::Corrupt);
        }
        let n = ((end - start) / MIN_BLOCK) as usize;
        let mut blocks = Blocks {
            start,
            end: bump,
            starts: vec![0; n.div_ceil(64)],
            live: vec![0; n.div_ceil(64)],
        };
        let mut b = start;
        while b < bump {
            let class = self.get(b)?;
            let next = (class < NCLASSES)
                .then(|| b.checked_add(MIN_BLOCK << class))
                .flatten()
                .filter(|next| *next <= bump);
            let Some(next) = next else {
                self.set(H_BUMP, b)?;
                blocks.end = b;
                break;
            };
            let i = blocks.index(b).ok_or(SharedError::Corrupt)?;
            blocks.starts[i / 64] |= 1 << (i % 64);
            b = next;
        }
        Ok(blocks)
    }

    /// The last step of a repair: every block no structure claimed goes back to a free list, rebuilt from
    /// scratch, and the bytes in use are recounted.
    pub(super) fn rebuild_free_lists(&self, blocks: &Blocks) -> Result<(), SharedError> {
        for class in 0..NCLASSES {
            self.set(H_FREE + 4 * class, 0)?;
        }
        let mut used: u32 = 0;
        let mut b = blocks.start;
        while b < blocks.end {
            let class = self.get(b)?;
            let size = MIN_BLOCK << class.min(NCLASSES - 1);
            let i = blocks.index(b).ok_or(SharedError::Corrupt)?;
            if blocks.live[i / 64] & (1 << (i % 64)) != 0 {
                used = used.saturating_add(size);
            } else {
                let head_field = H_FREE + 4 * class;
                self.set(b + BLOCK_HEADER, self.get(head_field)?)?;
                self.set(b + 4, Tag::Free as u32)?;
                self.set(head_field, b)?;
            }
            b += size;
        }
        self.set(H_USED, used)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `create` mapped exactly `len` bytes at `base`; no guard outlives the region (it borrows it).
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len as usize) };
    }
}

/// The heap's blocks during a repair: where each starts, and which ones a structure still reaches.
pub(super) struct Blocks {
    start: u32,
    end: u32,
    starts: Vec<u64>,
    live: Vec<u64>,
}

impl Blocks {
    fn index(&self, block: u32) -> Option<usize> {
        let d = block.checked_sub(self.start)?;
        (block < self.end && d.is_multiple_of(MIN_BLOCK)).then_some((d / MIN_BLOCK) as usize)
    }

    /// The capacity of the block whose payload is at `payload_off` when it is a block of kind `tag` that no
    /// structure claimed yet; `None` otherwise (not a block, another kind, or reached twice: a cycle).
    pub(super) fn unclaimed(&self, r: &Region, payload_off: u32, tag: Tag) -> Option<u32> {
        let block = payload_off.checked_sub(BLOCK_HEADER)?;
        let i = self.index(block)?;
        let bit = 1 << (i % 64);
        if self.starts[i / 64] & bit == 0 || self.live[i / 64] & bit != 0 {
            return None;
        }
        if r.get(block + 4).ok()? != tag as u32 {
            return None;
        }
        r.capacity(payload_off).ok()
    }

    /// Keep the block whose payload is at `payload_off` (checked with `unclaimed` first).
    pub(super) fn claim(&mut self, payload_off: u32) {
        if let Some(i) = payload_off
            .checked_sub(BLOCK_HEADER)
            .and_then(|b| self.index(b))
        {
            self.live[i / 64] |= 1 << (i % 64);
        }
    }
}

/// The region's lock, released when dropped (by the thread that took it: a guard is not `Send`).
pub(crate) struct Guard<'a> {
    region: &'a Region,
    _not_send: PhantomData<*const ()>,
}

impl std::ops::Deref for Guard<'_> {
    type Target = Region;
    fn deref(&self) -> &Region {
        self.region
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread locked the mutex (a guard exists only for a successful lock and is not Send).
        unsafe { libc::pthread_mutex_unlock(self.region.mutex()) };
    }
}
