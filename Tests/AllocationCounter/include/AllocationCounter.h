// Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made
// by the threads that asked for it, for the test that a steady-state training step allocates
// nothing. Linked into the test executable only: its definitions of malloc and friends take the
// place of the C library's for the whole test process, and forward to glibc's own (__libc_*).
//
// Each measurement has its own counter, so tests that run at the same time (Swift Testing runs
// them in parallel) never add to each other's counts.
#pragma once

/// A fresh counter, at zero: a number from 1 to 1023 (counters are reused after 1023).
int digits_new_allocation_counter(void);

/// Counts the calling thread's allocations into `counter` from now on; 0 stops counting.
void digits_count_allocations_on_this_thread(int counter);

/// Allocations counted so far into `counter`, on every thread that counted into it.
long digits_counted_allocations(int counter);
