//! A counting global allocator for tests and benches.
//!
//! Counts allocations (and reallocations) made by the *current thread*, and the bytes
//! they asked for, so that tests running in parallel do not see each other's
//! allocations; and the bytes in use by
//! all threads (`live_bytes`), for leak checks. Include it with
//! `#[path = "common/alloc_counter.rs"] mod alloc_counter;` (or `../tests/common/...`
//! from a bench) and install it with
//! `#[global_allocator] static A: alloc_counter::Counting = alloc_counter::Counting;`.
#![allow(unsafe_code, reason = "a GlobalAlloc impl is unsafe by definition")]
#![allow(dead_code, reason = "each includer uses a different subset")]
#![allow(
    unreachable_pub,
    reason = "items of a module included by tests and benches"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // `const` init: reading it never allocates and registers no destructor.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes asked for by `alloc`, and by `realloc` beyond the old size.
    static ASKED: Cell<u64> = const { Cell::new(0) };
}

/// Forwards to the system allocator and counts `alloc` and `realloc` calls.
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(new_size.saturating_sub(layout.size()));
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn bump(bytes: usize) {
    // `try_with`: during thread teardown the slot may be gone; such allocations are not
    // part of any measurement.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    let _ = ASKED.try_with(|c| c.set(c.get() + bytes as u64));
}

/// Allocations (including reallocations) made by this thread so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Bytes allocated and not yet freed, by all threads together (heap in use, whatever
/// the system allocator keeps cached).
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Runs `f` and returns its result with the bytes it asked the allocator for on this
/// thread (a reallocation counts what it grew by), freed or not: what a decode costs
/// at its peak, at most.
pub fn bytes_asked<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = allocated_bytes();
    let out = f();
    (out, allocated_bytes() - before)
}

/// Bytes this thread has asked the allocator for so far (see
/// [`bytes_asked`]), freed or not: the allocator work, not the heap in use.
pub fn allocated_bytes() -> u64 {
    ASKED.with(Cell::get)
}

/// Runs `f` and returns its result with the number of allocations it made on this thread.
pub fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = allocations();
    let out = f();
    (out, allocations() - before)
}
