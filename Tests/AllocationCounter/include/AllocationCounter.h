// Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made
// by the threads that asked for it, for the test that a steady-state training step allocates
// nothing. Linked into the test executable only: its definitions of malloc and friends take the
// place of the C library's for the whole test process, and forward to glibc's own (__libc_*).
#pragma once

/// Starts (1) or stops (0) counting the allocations of the calling thread.
void digits_count_allocations_on_this_thread(int on);

/// Allocations counted so far, on every counting thread.
long digits_counted_allocations(void);
