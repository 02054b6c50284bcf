//! Shared queues: named FIFO queues of byte strings in the shared region, identified by a token that
//! registering the same name again returns unchanged (as in Envoy).

use super::region::{Blocks, Region, Tag, H_QUEUES, H_QUEUE_ID};
use super::SharedError;
use crate::limits::{MAX_QUEUE_ITEMS, MAX_SHARED_QUEUES};

// Queue payload: next queue, id, name length, head item, tail item, item count, enqueue sequence, then name.
const Q_NEXT: u32 = 0;
const Q_ID: u32 = 4;
const Q_NAME_LEN: u32 = 8;
const Q_HEAD: u32 = 12;
const Q_TAIL: u32 = 16;
const Q_COUNT: u32 = 20;
const Q_SEQ: u32 = 24;
const Q_NAME: u32 = 32;
// Item payload: next item, length, then the bytes.
const I_NEXT: u32 = 0;
const I_LEN: u32 = 4;
const I_DATA: u32 = 8;

/// Walk the queue list; `pick` selects the queue wanted.
fn find(
    r: &Region,
    mut pick: impl FnMut(&Region, u32) -> Result<bool, SharedError>,
) -> Result<Option<u32>, SharedError> {
    let mut q = r.get(H_QUEUES)?;
    let mut budget = MAX_SHARED_QUEUES + 1;
    while q != 0 {
        budget = budget.checked_sub(1).ok_or(SharedError::Corrupt)?;
        r.check_payload(q, Tag::Queue)?;
        if pick(r, q)? {
            return Ok(Some(q));
        }
        q = r.get(q + Q_NEXT)?;
    }
    Ok(None)
}

fn by_name(r: &Region, name: &[u8]) -> Result<Option<u32>, SharedError> {
    find(r, |r, q| {
        let len = r.get(q + Q_NAME_LEN)?;
        Ok(r.bytes(q + Q_NAME, len)? == name)
    })
}

fn by_id(r: &Region, id: u32) -> Result<u32, SharedError> {
    find(r, |r, q| Ok(r.get(q + Q_ID)? == id))?.ok_or(SharedError::NotFound)
}

/// The token of queue `name`, creating it when absent.
pub(super) fn register(r: &Region, name: &[u8]) -> Result<u32, SharedError> {
    if let Some(q) = by_name(r, name)? {
        return r.get(q + Q_ID);
    }
    let mut count = 0;
    find(r, |_, _| {
        count += 1;
        Ok(false)
    })?;
    if count >= MAX_SHARED_QUEUES {
        return Err(SharedError::Full);
    }
    let name_len = u32::try_from(name.len()).map_err(|_| SharedError::TooLarge)?;
    let q = r.alloc(Q_NAME + name_len, Tag::Queue)?;
    let id = r.get(H_QUEUE_ID)?.max(1);
    r.set(H_QUEUE_ID, id.wrapping_add(1).max(1))?;
    for field in [Q_HEAD, Q_TAIL, Q_COUNT, Q_SEQ] {
        r.set(q + field, 0)?;
    }
    r.set(q + Q_ID, id)?;
    r.set(q + Q_NAME_LEN, name_len)?;
    r.write(q + Q_NAME, name)?;
    r.set(q + Q_NEXT, r.get(H_QUEUES)?)?;
    r.set(H_QUEUES, q)?;
    Ok(id)
}

pub(super) fn resolve(r: &Region, name: &[u8]) -> Result<Option<u32>, SharedError> {
    by_name(r, name)?.map(|q| r.get(q + Q_ID)).transpose()
}

pub(super) fn enqueue(r: &Region, id: u32, data: &[u8]) -> Result<(), SharedError> {
    let q = by_id(r, id)?;
    let count = r.get(q + Q_COUNT)?;
    if count >= MAX_QUEUE_ITEMS {
        return Err(SharedError::Full);
    }
    let len = u32::try_from(data.len()).map_err(|_| SharedError::TooLarge)?;
    let item = r.alloc(
        I_DATA.checked_add(len).ok_or(SharedError::TooLarge)?,
        Tag::Item,
    )?;
    r.set(item + I_NEXT, 0)?;
    r.set(item + I_LEN, len)?;
    r.write(item + I_DATA, data)?;
    // Linking the item makes it visible; the tail and the counts follow (the repair recomputes them).
    let tail = r.get(q + Q_TAIL)?;
    if tail == 0 || r.get(q + Q_HEAD)? == 0 {
        r.set(q + Q_HEAD, item)?;
    } else {
        r.check_payload(tail, Tag::Item)?;
        r.set(tail + I_NEXT, item)?;
    }
    r.set(q + Q_TAIL, item)?;
    r.set(q + Q_COUNT, count + 1)?;
    r.set(q + Q_SEQ, r.get(q + Q_SEQ)?.wrapping_add(1))
}

/// The oldest item, removed; `None` when the queue is empty.
pub(super) fn dequeue(r: &Region, id: u32) -> Result<Option<Vec<u8>>, SharedError> {
    let q = by_id(r, id)?;
    let head = r.get(q + Q_HEAD)?;
    if head == 0 {
        return Ok(None);
    }
    r.check_payload(head, Tag::Item)?;
    let data = r.bytes(head + I_DATA, r.get(head + I_LEN)?)?.to_vec();
    let next = r.get(head + I_NEXT)?;
    // The tail first, so that a dequeuer killed between the two stores leaves the item queued (head set,
    // tail 0: the repair finds the tail again; an enqueue starts the list afresh) rather than a head of 0
    // with a tail that enqueues would keep appending behind.
    if next == 0 {
        r.set(q + Q_TAIL, 0)?;
    }
    r.set(q + Q_HEAD, next)?;
    r.set(q + Q_COUNT, r.get(q + Q_COUNT)?.saturating_sub(1))?;
    r.free(head)?;
    Ok(Some(data))
}

/// Items waiting and the number of items ever enqueued (wrapping), to notice new arrivals.
pub(super) fn state(r: &Region, id: u32) -> Result<(u32, u32), SharedError> {
    let q = by_id(r, id)?;
    Ok((r.get(q + Q_COUNT)?, r.get(q + Q_SEQ)?))
}

/// Repair after a writer died holding the lock: keep the queues and items reachable from the list of queues
/// that are whole (a live block of their kind whose name or bytes fit in it, not reached twice), cut a list
/// where it stops being so, and recompute every queue's tail and count from its items.
pub(super) fn repair(r: &Region, blocks: &mut Blocks) -> Result<(), SharedError> {
    let mut link = H_QUEUES;
    let mut queues = 0;
    loop {
        let q = r.get(link)?;
        if q == 0 {
            break;
        }
        let whole = queues < MAX_SHARED_QUEUES
            && blocks
                .unclaimed(r, q, Tag::Queue)
                .is_some_and(|capacity| fits(r, q + Q_NAME_LEN, Q_NAME, capacity));
        if !whole {
            r.set(link, 0)?;
            break;
        }
        blocks.claim(q);
        queues += 1;
        let mut item_link = q + Q_HEAD;
        let (mut tail, mut count) = (0, 0);
        loop {
            let item = r.get(item_link)?;
            if item == 0 {
                break;
            }
            let whole = blocks
                .unclaimed(r, item, Tag::Item)
                .is_some_and(|capacity| fits(r, item + I_LEN, I_DATA, capacity));
            if !whole {
                r.set(item_link, 0)?;
                break;
            }
            blocks.claim(item);
            (tail, count) = (item, count + 1);
            item_link = item + I_NEXT;
        }
        r.set(q + Q_TAIL, tail)?;
        r.set(q + Q_COUNT, count)?;
        link = q + Q_NEXT;
    }
    Ok(())
}

/// Whether `start` bytes plus the length stored at `len_field` fit in `capacity`.
fn fits(r: &Region, len_field: u32, start: u32, capacity: u32) -> bool {
    r.get(len_field)
        .ok()
        .and_then(|len| len.checked_add(start))
        .is_some_and(|n| n <= capacity)
}
