//! Hints to the kernel about the command's pipes and its request buffer, on Linux (where
//! splunkd runs the command); elsewhere they do nothing. Each is best effort: where the
//! kernel refuses one (an older kernel, a file instead of a pipe, a limit reached),
//! nothing changes but the speed.
//!
//! A chunk is moved whole in one direction and then whole in the other (splunkd writes
//! a request, then reads the reply), so most of a session's time is spent in the kernel:
//! copying bytes through two pipes, and giving fresh pages to the buffer that holds a
//! request. These hints shrink both costs.

use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(target_os = "linux")]
use linux::*;

/// Set by [`turn_off`]: no hint is given for the rest of the process.
static OFF: AtomicBool = AtomicBool::new(false);

/// Gives no more hints (`reghivedump --no-kernel-hints`), for a host where enlarged pipes
/// or huge pages cost more than they save.
pub fn turn_off() {
    OFF.store(true, Ordering::Relaxed);
}

/// Enlarges the pipes on standard input and output to 1 MiB, never shrinking one.
///
/// The kernel counts pipe capacity against the user's `fs.pipe-user-pages-soft` (64 MiB
/// by default), which every pipe of splunkd's user shares: the two pipes of a running
/// command count 2 MiB. Past the limit the kernel refuses to enlarge a pipe, and gives
/// new pipes of that user two pages only.
pub fn widen_pipes() {
    #[cfg(target_os = "linux")]
    if !OFF.load(Ordering::Relaxed) {
        widen(std::io::stdin());
        widen(std::io::stdout());
    }
}

/// Asks for transparent huge pages (when they are set to `always` or `madvise`) for
/// `buf`: writing a 76 MB buffer then takes 38 page faults of 2 MiB instead of 19,000 of
/// 4 KiB. Only on x86_64, whose huge pages are always 2 MiB: on aarch64 they may be 512
/// MiB (with 64 KiB pages), far more than a chunk.
pub fn advise_huge_pages(buf: &mut [u8]) {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if buf.len() >= 4 << 20 && !OFF.load(Ordering::Relaxed) {
        let _ = advise(buf, Advice::LinuxHugepage);
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    let _ = buf;
}

/// Makes the pages of `piece` real in one call, before bytes are read into it, instead of
/// one page fault per page as they are written (Linux 5.14 and later).
pub fn provide(piece: &mut [u8]) {
    #[cfg(target_os = "linux")]
    if piece.len() >= ALIGN && !OFF.load(Ordering::Relaxed) && !NO_POPULATE.load(Ordering::Relaxed)
    {
        if let Err(Errno::INVAL) = advise(piece, Advice::LinuxPopulateWrite) {
            NO_POPULATE.store(true, Ordering::Relaxed);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = piece;
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::AsFd;

    use std::sync::atomic::AtomicBool;

    pub use rustix::io::Errno;
    use rustix::mm::madvise;
    pub use rustix::mm::Advice;
    use rustix::pipe::{fcntl_getpipe_size, fcntl_setpipe_size};

    /// The pipe capacity asked for: the most an unprivileged process may set under
    /// Linux's default `fs.pipe-max-size`. With 64 KiB pipes, the default, every 64 KiB of
    /// a 76 MB chunk costs both processes a wake-up; with 1 MiB, one in sixteen remain.
    const PIPE_SIZE: usize = 1 << 20;

    /// Advice is given for whole 64 KiB blocks: a multiple of every base page size Linux
    /// uses (4, 16 or 64 KiB), which `madvise` requires its range to be aligned to.
    pub const ALIGN: usize = 64 << 10;

    /// Set once the kernel has refused `MADV_POPULATE_WRITE` (before Linux 5.14), so
    /// that it is not asked again for every piece.
    pub static NO_POPULATE: AtomicBool = AtomicBool::new(false);

    pub fn widen(fd: impl AsFd) {
        if fcntl_getpipe_size(&fd).is_ok_and(|size| size < PIPE_SIZE) {
            let _ = fcntl_setpipe_size(&fd, PIPE_SIZE);
        }
    }

    /// Gives `advice` for the whole [`ALIGN`] blocks inside `buf`.
    #[allow(unsafe_code)]
    pub fn advise(buf: &mut [u8], advice: Advice) -> rustix::io::Result<()> {
        let base = buf.as_mut_ptr() as usize;
        let first = base.next_multiple_of(ALIGN);
        let end = (base + buf.len()) / ALIGN * ALIGN;
        if end <= first {
            return Ok(());
        }
        // SAFETY: [first, end) lies within `buf`, which is borrowed for the call, and the
        // pointer is derived from `buf`'s own. Neither advice changes what the memory
        // holds: `MADV_HUGEPAGE` changes how pages are backed, and `MADV_POPULATE_WRITE`
        // faults pages in without writing to them.
        unsafe {
            let addr = buf.as_mut_ptr().add(first - base);
            madvise(addr.cast(), end - first, advice)
        }
    }
}
