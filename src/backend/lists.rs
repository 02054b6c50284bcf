//! nginx header lists (`ngx_list_t` of `ngx_table_elt_t`): visiting live elements, pushing one, unlinking
//! every element of a name without moving the others, and linking an element into the `headers_in` field that
//! names it. The unsafe here is list surgery on the request's lists and pool; every mutation leaves the list in
//! a shape every nginx list walker accepts.

use ngx::ffi::{
    ngx_hash_key_lc, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_palloc, ngx_table_elt_t,
};
use proxy_wasm_host::Status;

use super::{bytes, RequestBackend};

/// Visit every live (hash != 0) element of an nginx header list.
///
/// # Safety
/// `list` must be an initialised list of `ngx_table_elt_t`.
pub(super) unsafe fn for_each_header(
    list: *mut ngx_list_t,
    mut f: impl FnMut(&mut ngx_table_elt_t),
) {
    // SAFETY: guaranteed by the caller; parts are chained through `next` and hold `nelts` elements.
    unsafe {
        let mut part: *mut ngx_list_part_t = &mut (*list).part;
        while !part.is_null() {
            let elts = (*part).elts as *mut ngx_table_elt_t;
            for i in 0..(*part).nelts {
                let h = &mut *elts.add(i);
                if h.hash != 0 {
                    f(h);
                }
            }
            part = (*part).next;
        }
    }
}

/// Point a `headers_in` field at a header a plugin added: when it is empty, and (nginx 1.23 on, where the
/// field heads a chain of every header of that name) at the end of its chain otherwise.
///
/// # Safety
/// `slot` must be a header field of a live request and `h` an element of its header list.
pub(super) unsafe fn link_header(slot: *mut *mut ngx_table_elt_t, h: *mut ngx_table_elt_t) {
    // SAFETY: guaranteed by the caller; chained elements live in the request's pool.
    unsafe {
        #[cfg_attr(not(ngx_table_elt_next), allow(unused_mut))]
        let mut at = slot;
        #[cfg(ngx_table_elt_next)]
        while !(*at).is_null() {
            at = &mut (**at).next;
        }
        if (*at).is_null() {
            *at = h;
        }
    }
}

impl RequestBackend {
    /// Push `key: value` (key already lowercase) onto a header list.
    pub(super) fn push_header(
        &self,
        list: *mut ngx_list_t,
        key: &[u8],
        value: &[u8],
    ) -> Result<*mut ngx_table_elt_t, Status> {
        let key_str = self.pool_copy(key)?;
        let value_str = self.pool_copy(value)?;
        // SAFETY: `list` is an initialised header list of the live request; the strings live in its pool.
        unsafe {
            let h = ngx_list_push(list) as *mut ngx_table_elt_t;
            if h.is_null() {
                return Err(Status::InternalFailure);
            }
            (*h).key = key_str;
            (*h).value = value_str;
            (*h).lowcase_key = key_str.data;
            (*h).hash = ngx_hash_key_lc(key_str.data, key_str.len).max(1);
            #[cfg(ngx_table_elt_next)]
            {
                (*h).next = std::ptr::null_mut();
            }
            Ok(h)
        }
    }

    /// Take every `key` header out of the request header list without moving the others: nginx (and other
    /// modules) keep pointers to list elements, and the proxy module sends every element, whatever its hash.
    ///
    /// The list keeps the shape every nginx list walker accepts: a walker moves to the next part once it has
    /// seen `nelts` elements and reads that part's first element without checking its `nelts` again, so no
    /// part but the first may be empty; and `ngx_list_push` fills the last part up to `nalloc` elements, so when
    /// the last part's elements no longer start where its array does, `nalloc` is lowered to what it holds (the
    /// next push then starts a fresh part; `nalloc` only sizes parts still to come).
    pub(super) fn unlink_request_headers(&self, key: &[u8]) -> Result<(), Status> {
        // SAFETY: `r` is live; the list parts are walked within their `nelts`; new parts come from the pool.
        unsafe {
            let list: *mut ngx_list_t = &mut (*self.r).headers_in.headers;
            let first: *mut ngx_list_part_t = &mut (*list).part;
            let mut prev: *mut ngx_list_part_t = std::ptr::null_mut();
            let mut part = first;
            let mut removed = false;
            while !part.is_null() {
                let mut i = 0;
                while i < (*part).nelts {
                    let elts = (*part).elts as *mut ngx_table_elt_t;
                    if !bytes(&(*elts.add(i)).key).eq_ignore_ascii_case(key) {
                        i += 1;
                        continue;
                    }
                    removed = true;
                    if i == 0 {
                        (*part).elts = elts.add(1) as *mut _;
                        (*part).nelts -= 1;
                    } else if i == (*part).nelts - 1 {
                        (*part).nelts -= 1;
                    } else {
                        // Split: the elements after the removed one become a part of their own.
                        let rest = ngx_palloc(self.pool(), std::mem::size_of::<ngx_list_part_t>())
                            as *mut ngx_list_part_t;
                        if rest.is_null() {
                            return Err(Status::InternalFailure);
                        }
                        (*rest).elts = elts.add(i + 1) as *mut _;
                        (*rest).nelts = (*part).nelts - i - 1;
                        (*rest).next = (*part).next;
                        (*part).nelts = i;
                        (*part).next = rest;
                        if part == (*list).last {
                            (*list).last = rest;
                        }
                        prev = part;
                        part = rest;
                        i = 0;
                    }
                }
                let next = (*part).next;
                if (*part).nelts == 0 && part != first {
                    // An empty part after the first is unlinked (walkers would read past its end).
                    (*prev).next = next;
                    if (*list).last == part {
                        (*list).last = prev;
                    }
                } else {
                    prev = part;
                }
                part = next;
            }
            if !removed {
                return Ok(());
            }
            if (*first).nelts == 0 && !(*first).next.is_null() {
                // An empty first part takes over the second (the part struct is copied, not its elements).
                let second = (*first).next;
                *first = *second;
                if (*list).last == second {
                    (*list).last = first;
                }
            }
            let last = (*list).last;
            if (*last).nelts == 0 {
                // Only an empty first part is left: give it a fresh array (no element can point into it).
                let nalloc = (*list).nalloc.max(1);
                let elts = ngx_palloc(self.pool(), (*list).size * nalloc);
                if elts.is_null() {
                    return Err(Status::InternalFailure);
                }
                (*last).elts = elts;
                (*list).nalloc = nalloc;
            } else {
                // The last part counts as full: the next push starts a fresh part instead of writing past its
                // array (or over an element just removed, which a pointer elsewhere may still name).
                (*list).nalloc = (*last).nelts;
            }
        }
        Ok(())
    }
}
