//! A fixed-size region of memory shared by nginx's master and its workers (mapped `MAP_SHARED` before they
//! fork), with a bounds-checked view, a process-safe lock and a size-class allocator.
//!
//! Every offset read back from the region is checked before use, so a region left inconsistent by a killed
//! worker yields `Corrupt` errors, never an access outside the mapping.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use super::SharedError;

const MAGIC: u32 = 0x5057_5348; // "PWSH"
const VERSION: u32 = 1;

// Header fields (byte offsets of u32 values).
const H_MAGIC: u32 = 0;
const H_VERSION: u32 = 4;
const H_LEN: u32 = 8;
const H_LOCK: u32 = 12;
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
const HEADER: u32 = H_FREE + 4 * NCLASSES;
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

/// A view of one shared region. The creator keeps it mapped for the life of the process.
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
        // SAFETY: `p` is a fresh mapping of `len` bytes that lives as long as the process.
        let region = unsafe { Region::from_raw(p as *mut u8, len) };
        region.format(metric_slots, slot_size)?;
        Ok(region)
    }

    /// A view of `len` bytes at `base`.
    ///
    /// # Safety
    /// `base` must be 8-aligned and valid for reads and writes of `len` bytes for the life of the view.
    pub(crate) unsafe fn from_raw(base: *mut u8, len: usize) -> Region {
        Region {
            base,
            len: len.min(u32::MAX as usize) as u32,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

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
        // SAFETY: bounds checked; the source is a separate Rust slice.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(o), bytes.len()) };
        Ok(())
    }

    fn atomic_u32(&self, off: u32) -> &AtomicU32 {
        self.atomic_u32_at(off)
            .expect("header field inside the region")
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

    /// Take the region's lock. A lock held by a process that no longer exists (a worker killed while it
    /// held it) is taken over.
    pub(crate) fn lock(&self) -> Guard<'_> {
        let lock = self.atomic_u32(H_LOCK);
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() } as u32;
        let mut spins: u32 = 0;
        loop {
            match lock.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Guard { region: self },
                Err(owner) => {
                    spins = spins.wrapping_add(1);
                    if spins.is_multiple_of(64) {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                    if spins.is_multiple_of(4096) && owner != 0 && !alive(owner, me) {
                        let _ =
                            lock.compare_exchange(owner, me, Ordering::Acquire, Ordering::Relaxed);
                        if lock.load(Ordering::Relaxed) == me {
                            return Guard { region: self };
                        }
                    }
                }
            }
        }
    }

    fn class_of(total: u32) -> Option<u32> {
        let size = total.max(MIN_BLOCK).checked_next_power_of_two()?;
        let class = size.trailing_zeros() - MIN_BLOCK.trailing_zeros();
        (class < NCLASSES).then_some(class)
    }

    /// Allocate a block able to hold `payload` bytes; returns the payload's offset (8-aligned).
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
            self.set(H_BUMP, end)?;
            bump
        };
        self.set(block, class)?;
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
}

fn alive(pid: u32, me: u32) -> bool {
    if pid == me {
        // This process is single-threaded towards the region and holds no guard here: a stale lock.
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The region's lock, released when dropped.
pub(crate) struct Guard<'a> {
    region: &'a Region,
}

impl std::ops::Deref for Guard<'_> {
    type Target = Region;
    fn deref(&self) -> &Region {
        self.region
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.region.atomic_u32(H_LOCK).store(0, Ordering::Release);
    }
}
