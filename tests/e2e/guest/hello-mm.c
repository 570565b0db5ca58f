/*
 * hello-mm: guest-side test program for the pagewalk end-to-end suite.
 *
 * Built statically (gcc -static -O1) and run as the only user process in a
 * tiny initramfs.  It creates a handful of mappings with known properties,
 * reports their virtual addresses together with the frame numbers the kernel
 * itself reports in /proc/self/pagemap, prints READY and then spins in user
 * mode forever, so that when the VM is stopped the CPU is (almost always)
 * executing this process with its own CR3 loaded.
 *
 * Output lines (one per VA, then PID, then READY):
 *   VA <name> 0x<va> PFN 0x<pfn> PRESENT <0|1>
 *   INFO swap <name> <type> 0x<offset>      (for a VA pagemap says is swapped out)
 *   PID <pid>
 *   READY
 *
 * The same VAs, one per line, go to /tmp/hello-mm.vas (written whole, then
 * renamed into place) for the guest's own pagewalk --kcore run.
 *
 * Arguments:
 *   high   also map and touch a page above the 47-bit boundary (needs a
 *          kernel running with 5-level paging; reported as an error line
 *          "NOTE high-mapping-failed" otherwise).
 *   swap   also write a page and page it out (MADV_PAGEOUT, Linux 5.4+) to the
 *          swap device /init set up, so that its PTE holds a swap entry
 *          ("NOTE pageout-failed" if it stays in memory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21 /* include/uapi/asm-generic/mman-common.h */
#endif

#define PAGE_SIZE 4096UL
#define HUGE_SIZE (2UL * 1024 * 1024)

/* A hint well above 2^47, below 2^56: only valid with 57-bit user VAs. */
#define HIGH_HINT 0x0001000000000000UL /* 2^48 */

struct entry {
    const char *name;
    uintptr_t va;
};

static struct entry entries[32];
static int nentries;

/* .data and .bss objects, each given a full page so nothing else shares it. */
static volatile char data_var[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE))) = {1};
static volatile char bss_var[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void add(const char *name, const volatile void *p)
{
    if (nentries < (int)(sizeof(entries) / sizeof(entries[0]))) {
        entries[nentries].name = name;
        entries[nentries].va = (uintptr_t)p;
        nentries++;
    }
}

__attribute__((noinline)) static int code_marker(int x)
{
    return x * 3 + 1;
}

static void report(int pagemap_fd)
{
    /* The kernel's own word of flags for each present frame: page's oracle. */
    int kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
    for (int i = 0; i < nentries; i++) {
        uint64_t ent = 0;
        off_t off = (off_t)(entries[i].va / PAGE_SIZE) * 8;
        ssize_t n = pread(pagemap_fd, &ent, sizeof(ent), off);
        if (n != (ssize_t)sizeof(ent)) {
            printf("NOTE pagemap-read-failed %s errno=%d\n", entries[i].name, errno);
            ent = 0;
        }
        int present = (int)((ent >> 63) & 1);
        uint64_t pfn = present ? (ent & ((1ULL << 55) - 1)) : 0;
        printf("VA %s 0x%llx PFN 0x%llx PRESENT %d\n", entries[i].name,
               (unsigned long long)entries[i].va, (unsigned long long)pfn, present);
        /* Swapped (bit 62): type in bits 4-0, offset in bits 54-5 (admin-guide/mm/pagemap.rst). */
        if ((ent >> 62) & 1)
            printf("INFO swap %s %llu 0x%llx\n", entries[i].name, (unsigned long long)(ent & 0x1f),
                   (unsigned long long)((ent >> 5) & ((1ULL << 50) - 1)));
        uint64_t kpf = 0;
        if (present && kpageflags_fd >= 0 &&
            pread(kpageflags_fd, &kpf, sizeof(kpf), (off_t)(pfn * 8)) == (ssize_t)sizeof(kpf))
            printf("INFO kpageflags %s 0x%llx 0x%llx\n", entries[i].name, (unsigned long long)pfn,
                   (unsigned long long)kpf);
    }
    if (kpageflags_fd >= 0)
        close(kpageflags_fd);
}

/* Pages `p` out until pagemap says it is swapped (reclaim may skip a page once). */
static void page_out(int pagemap_fd, void *p)
{
    for (int tries = 0; tries < 50; tries++) {
        uint64_t ent = 0;
        if (madvise(p, PAGE_SIZE, MADV_PAGEOUT) != 0) {
            printf("NOTE pageout-failed errno=%d\n", errno);
            return;
        }
        if (pread(pagemap_fd, &ent, sizeof(ent), (off_t)((uintptr_t)p / PAGE_SIZE) * 8) == (ssize_t)sizeof(ent) &&
            ((ent >> 62) & 1))
            return;
        usleep(100000);
    }
    printf("NOTE pageout-failed still-present\n");
}

static void write_va_file(void)
{
    FILE *f = fopen("/tmp/hello-mm.vas.tmp", "w");
    if (!f)
        return;
    for (int i = 0; i < nentries; i++)
        fprintf(f, "0x%llx\n", (unsigned long long)entries[i].va);
    if (fclose(f) == 0)
        rename("/tmp/hello-mm.vas.tmp", "/tmp/hello-mm.vas");
}

int main(int argc, char **argv)
{
    int want_high = 0, want_swap = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "high") == 0)
            want_high = 1;
        if (strcmp(argv[i], "swap") == 0)
            want_swap = 1;
    }

    /* 1. A small heap object holding a known string. */
    char *heap = malloc(128);
    if (!heap) {
        printf("NOTE malloc-failed\n");
        return 1;
    }
    strcpy(heap, "Hello mm paging!\n");
    add("heap", heap);

    /* 2. A transparent huge page: 2 MiB-aligned part of a 4 MiB mapping. */
    char *big = mmap(NULL, 2 * HUGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        printf("NOTE mmap-4m-failed errno=%d\n", errno);
        return 1;
    }
    char *thp = (char *)(((uintptr_t)big + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
    if (madvise(thp, HUGE_SIZE, MADV_HUGEPAGE) != 0)
        printf("NOTE madvise-hugepage-failed errno=%d\n", errno);
    /* One write faults in the whole huge page; fill it to be sure it stays. */
    memset(thp, 0x5a, HUGE_SIZE);
    strcpy(thp + 0x123450, "THP marker");
    add("thp", thp);
    add("thp_mid", thp + 0x123450);

    /* 3. Stack, .data, .bss and code. */
    volatile char stack_var[64];
    stack_var[0] = 7;
    stack_var[63] = 8;
    add("stack", (const void *)stack_var);
    data_var[0] = 2;
    add("data", data_var);
    bss_var[0] = 3;
    add("bss", bss_var);
    add("code", (const void *)(uintptr_t)&code_marker);
    (void)code_marker(stack_var[0]);

    /* 4. A mapped but never touched page: not present. */
    char *untouched = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (untouched != MAP_FAILED)
        add("untouched", untouched);

    /* 5. A page that was read but never written: the shared zero page. */
    char *zero = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zero != MAP_FAILED) {
        volatile char sink = *(volatile char *)zero;
        (void)sink;
        add("zeropage", zero);
    }

    /* 6. A read-only page with content (written first, then protected). */
    char *ro = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ro != MAP_FAILED) {
        strcpy(ro, "read-only page");
        if (mprotect(ro, PAGE_SIZE, PROT_READ) == 0)
            add("readonly", ro);
    }

    /* 7. A populated page turned PROT_NONE: not present to the MMU. */
    char *pn = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pn != MAP_FAILED) {
        pn[0] = 1;
        if (mprotect(pn, PAGE_SIZE, PROT_NONE) == 0)
            add("protnone", pn);
    }

    /* 8. Optionally a page above the 47-bit boundary (57-bit VA only; a 32-bit build has
     * no such addresses). */
#if UINTPTR_MAX > 0xffffffffu
    if (want_high) {
        void *hint = (void *)(uintptr_t)(HIGH_HINT);
        char *high = mmap(hint, PAGE_SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (high == MAP_FAILED || (uintptr_t)high < (1UL << 47)) {
            printf("NOTE high-mapping-failed %p\n", (void *)high);
        } else {
            strcpy(high, "High VA page");
            add("high", high);
        }
    }
#else
    (void)want_high;
#endif

    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) {
        printf("NOTE pagemap-open-failed errno=%d\n", errno);
        return 1;
    }

    /* 9. Optionally a written page paged out to swap: its PTE a swap entry. */
    if (want_swap) {
        char *sw = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (sw != MAP_FAILED) {
            strcpy(sw, "swapped page");
            page_out(fd, sw);
            add("swapped", sw);
        }
    }
    report(fd);
    close(fd);
    write_va_file();
    printf("PID %d\n", (int)getpid());
    printf("READY\n");
    fflush(stdout);

    /* Spin in user mode; never sleep, so CR3 stays ours when stopped. */
    volatile unsigned long counter = 0;
    for (;;)
        counter++;
    return 0;
}
