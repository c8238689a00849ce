//! Hints to the kernel about the command's pipes and its request buffer. Each is best
//! effort: where the kernel refuses one (an older kernel, a file instead of a pipe, a
//! limit reached), nothing changes but the speed.
//!
//! A chunk is moved whole in one direction and then whole in the other (splunkd writes
//! a request, then reads the reply), so most of a session's time is spent in the kernel:
//! copying bytes through two pipes, and giving fresh pages to the buffer that holds a
//! request. These hints shrink both costs.

use std::ffi::c_void;
use std::io;

use rustix::mm::{madvise, Advice};
use rustix::param::page_size;
use rustix::pipe::fcntl_setpipe_size;

/// The pipe capacity asked for: the most an unprivileged process may set under Linux's
/// default `fs.pipe-max-size`. With 64 KiB pipes, the default, every 64 KiB of a 76 MB
/// chunk costs both processes a wake-up; with 1 MiB, one in sixteen of those remain.
const PIPE_SIZE: usize = 1 << 20;

/// Buffers smaller than this are not worth a system call.
const LARGE: usize = 1 << 20;

/// Enlarges the pipes on standard input and output to [`PIPE_SIZE`].
///
/// The kernel counts the capacity against the user's `fs.pipe-user-pages-soft` (64 MiB
/// by default): once that is reached it refuses, and the pipes keep their size.
pub fn widen_pipes() {
    let _ = fcntl_setpipe_size(io::stdin(), PIPE_SIZE);
    let _ = fcntl_setpipe_size(io::stdout(), PIPE_SIZE);
}

/// Asks for transparent huge pages (when they are set to `always` or `madvise`) for the
/// spare capacity of a large buffer: filling a 76 MB buffer then takes 38 page faults
/// instead of 19,000.
///
/// Only for a buffer that is never grown: the advice splits the buffer's mapping, and
/// glibc can then no longer grow it in place but copies it.
pub fn advise_huge_pages(buf: &mut Vec<u8>) {
    advise(buf, usize::MAX, Advice::LinuxHugepage);
}

/// Provides the pages of the next `want` bytes of a large buffer's spare capacity in one
/// call (Linux 5.14 and later), instead of one page fault per 4 KiB as they are written.
pub fn provide(buf: &mut Vec<u8>, want: usize) {
    advise(buf, want, Advice::LinuxPopulateWrite);
}

/// Gives `advice` for the whole pages in the first `want` bytes of `buf`'s spare capacity.
fn advise(buf: &mut Vec<u8>, want: usize, advice: Advice) {
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(want);
    if len < LARGE {
        return;
    }
    let page = page_size();
    let start = spare.as_mut_ptr() as usize;
    let first = start.next_multiple_of(page);
    let end = (start + len) / page * page;
    if end <= first {
        return;
    }
    // SAFETY: [first, end) lies within `buf`'s allocation, which outlives the call.
    // Neither advice changes what the memory holds (`MADV_POPULATE_WRITE` faults pages in
    // without writing to them), and the range is unused capacity anyway.
    let _ = unsafe { madvise(first as *mut c_void, end - first, advice) };
}
