// See include/AllocationCounter.h. glibc exports its allocator as __libc_malloc & co., and
// supports replacing malloc by defining it in the executable; free is left to glibc, which owns
// every block either way.
#include "AllocationCounter.h"
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

enum { counterCount = 1024 };
static atomic_long counters[counterCount];
static atomic_int lastCounter;
static _Thread_local int countingInto;  // 0: not counting

static inline void note(void) {
    if (countingInto) atomic_fetch_add_explicit(&counters[countingInto], 1, memory_order_relaxed);
}

int digits_new_allocation_counter(void) {
    int counter = atomic_fetch_add(&lastCounter, 1) % (counterCount - 1) + 1;
    atomic_store(&counters[counter], 0);
    return counter;
}

void digits_count_allocations_on_this_thread(int counter) {
    countingInto = counter > 0 && counter < counterCount ? counter : 0;
}

long digits_counted_allocations(int counter) {
    return counter > 0 && counter < counterCount ? atomic_load(&counters[counter]) : 0;
}

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *result = pointer;
    return 0;
}
