/*
 * The guest's probe of the pagewalk module (kmod/pagewalk_ioctl.h), run by /init:
 *
 *   kmod-probe badinput      each malformed request once; prints "KMOD-BAD <name> <errno>"
 *   kmod-probe eperm         opens the device as root, drops to uid 65534 and asks again:
 *                            prints "KMOD-EPERM <errno of open> <errno of ioctl>"
 *   kmod-probe churn SECS FILE
 *                            for SECS seconds maps, touches and unmaps pages in a loop and
 *                            forks children that map and touch a page and exit; writes
 *                            "<pid> <va>" of itself to FILE first (the VA it keeps remapping)
 *   kmod-probe lockdown      opens the device, locks the kernel down (integrity: no raw
 *                            memory access; one way, until reboot) and asks again: prints
 *                            "KMOD-LOCKDOWN <errno of the ioctl> <errno of a new open>"
 *   kmod-probe hammer PID VA SECS
 *                            for SECS seconds asks, as fast as it can, for the kernel's walk
 *                            of VA and of the pages after it in PID and in the pids after it
 *                            (the churning process's children), for PID's roots and for a
 *                            read of its PGD; prints "KMOD-HAMMER <calls> <errno>:<count>..."
 *
 * Static, so it runs from the busybox initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pagewalk_ioctl.h"

static int dev(void)
{
	int fd = open(PAGEWALK_DEVICE, O_RDONLY);

	if (fd < 0) {
		printf("KMOD-BAD open %d\n", errno);
		exit(1);
	}
	return fd;
}

/* The errno of one ioctl, 0 on success. */
static int req(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

#define HDR(r) do { memset(&(r), 0, sizeof(r)); (r).hdr.size = sizeof(r); (r).hdr.version = PAGEWALK_ABI_VERSION; } while (0)

static void report(const char *name, int err)
{
	printf("KMOD-BAD %s %d\n", name, err);
}

static int badinput(void)
{
	int fd = dev();
	struct pagewalk_info info;
	struct pagewalk_walk w;
	struct pagewalk_read r;
	struct pagewalk_roots roots;
	static char buf[PAGEWALK_MAX_READ + 4096];
	/* A command built for a structure 8 bytes shorter than the module's. */
	const unsigned long short_cmd = _IOC(_IOC_READ | _IOC_WRITE, PAGEWALK_IOC_MAGIC, 1, sizeof(info) - 8);

	HDR(info);
	report("ok_info", req(fd, PAGEWALK_IOC_INFO, &info));
	report("wrong_ioctl_size", req(fd, short_cmd, &info));
	HDR(info);
	info.hdr.size -= 8;
	report("wrong_header_size", req(fd, PAGEWALK_IOC_INFO, &info));
	HDR(info);
	info.hdr.version = PAGEWALK_ABI_VERSION + 1;
	report("wrong_version", req(fd, PAGEWALK_IOC_INFO, &info));
	HDR(info);
	info.reserved = 1;
	report("reserved_set", req(fd, PAGEWALK_IOC_INFO, &info));
	report("unknown_command", req(fd, _IOWR(PAGEWALK_IOC_MAGIC, 99, struct pagewalk_info), &info));

	HDR(w);
	w.pid = getpid();
	w.va = 0x0000800000000000ull; /* the first non-canonical address of 4-level paging */
	report("va_non_canonical", req(fd, PAGEWALK_IOC_WALK, &w));
	HDR(w);
	w.pid = getpid();
	w.va = 0x0100000000000000ull; /* bit 56 alone: non-canonical under 5-level paging too */
	report("va_non_canonical_57", req(fd, PAGEWALK_IOC_WALK, &w));
	HDR(w);
	w.pid = 2; /* kthreadd */
	w.va = 0x400000;
	report("pid_kernel_thread", req(fd, PAGEWALK_IOC_WALK, &w));
	HDR(w);
	w.pid = 0x3fffffff; /* above PID_MAX_LIMIT: never existed */
	w.va = 0x400000;
	report("pid_never_existed", req(fd, PAGEWALK_IOC_WALK, &w));
	HDR(w);
	w.pid = -5;
	report("pid_negative", req(fd, PAGEWALK_IOC_WALK, &w));
	HDR(roots);
	roots.pid = 2;
	report("roots_kernel_thread", req(fd, PAGEWALK_IOC_ROOTS, &roots));

	HDR(r);
	r.pa = 0xfee00000; /* the local APIC: MMIO, never RAM */
	r.length = 8;
	r.buffer = (uintptr_t)buf;
	report("read_mmio", req(fd, PAGEWALK_IOC_READ, &r));
	r.pa = 1ull << 50; /* far above any RAM */
	report("read_above_ram", req(fd, PAGEWALK_IOC_READ, &r));
	r.pa = 0x100004; /* RAM, but not 8-byte aligned */
	r.length = 8;
	report("read_unaligned", req(fd, PAGEWALK_IOC_READ, &r));
	r.pa = 0x100000;
	r.length = 12;
	report("read_ragged_length", req(fd, PAGEWALK_IOC_READ, &r));
	r.length = PAGEWALK_MAX_READ + 8;
	report("read_oversized", req(fd, PAGEWALK_IOC_READ, &r));
	r.length = 0;
	report("read_empty", req(fd, PAGEWALK_IOC_READ, &r));
	r.pa = ~0ull & ~7ull;
	r.length = 16;
	report("read_wraps", req(fd, PAGEWALK_IOC_READ, &r));
	r.pa = 0x100000;
	r.length = 4096;
	r.buffer = 8; /* not a user buffer */
	report("read_bad_buffer", req(fd, PAGEWALK_IOC_READ, &r));
	r.buffer = (uintptr_t)buf;
	report("ok_read", req(fd, PAGEWALK_IOC_READ, &r));
	close(fd);
	return 0;
}

static int eperm(void)
{
	int fd = dev(), open_err = 0, err;
	struct pagewalk_info info;

	if (setgid(65534) || setuid(65534)) {
		printf("KMOD-EPERM setuid-failed %d\n", errno);
		return 1;
	}
	if (open(PAGEWALK_DEVICE, O_RDONLY) < 0)
		open_err = errno;
	HDR(info);
	err = req(fd, PAGEWALK_IOC_INFO, &info);
	printf("KMOD-EPERM %d %d\n", open_err, err);
	return 0;
}

static int lockdown(void)
{
	int fd = dev(), lock, open_err = 0, err;
	struct pagewalk_info info;

	lock = open("/sys/kernel/security/lockdown", O_WRONLY);
	if (lock < 0 || write(lock, "integrity", 9) != 9) {
		printf("KMOD-LOCKDOWN unavailable %d\n", errno);
		return 1;
	}
	close(lock);
	HDR(info);
	err = req(fd, PAGEWALK_IOC_INFO, &info);
	if (open(PAGEWALK_DEVICE, O_RDONLY) < 0)
		open_err = errno;
	printf("KMOD-LOCKDOWN %d %d\n", err, open_err);
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int churn(double seconds, const char *file)
{
	const size_t len = 64 * 4096;
	/* A fixed address, remapped over and over, so a walker can keep asking for it. */
	char *const want = (char *)0x7e0000000000ull;
	const double end = now() + seconds;
	unsigned long rounds = 0, children = 0;
	FILE *f = fopen(file, "w");

	if (!f)
		return 1;
	fprintf(f, "%d 0x%lx\n", getpid(), (unsigned long)want);
	fclose(f);
	while (now() < end) {
		char *p = mmap(want, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		size_t i;

		if (p == MAP_FAILED)
			return 1;
		for (i = 0; i < len; i += 4096)
			p[i] = (char)i;
		munmap(p, len);
		if (++rounds % 64 == 0) {
			pid_t c = fork();

			if (c == 0) {
				/* A process that maps a page, touches it and exits with it mapped:
				 * its tables are torn down while it may be walked. */
				char *q = mmap(want, 4096, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

				if (q != MAP_FAILED)
					q[0] = 1;
				usleep(500);
				_exit(0);
			}
			if (c > 0) {
				waitpid(c, NULL, 0);
				children++;
			}
		}
	}
	printf("KMOD-CHURN %lu %lu\n", rounds, children);
	return 0;
}

static int hammer(int pid, unsigned long long va, double seconds)
{
	int fd = dev(), counts[256] = { 0 }, i;
	const double end = now() + seconds;
	unsigned long calls = 0;
	static char page[4096];

	while (now() < end) {
		struct pagewalk_walk w;
		struct pagewalk_roots roots;
		struct pagewalk_read r;
		int err;

		HDR(w);
		w.pid = pid + (calls % 8 == 7 ? (int)(calls / 8 % 64) + 1 : 0);
		w.va = va + (calls % 64) * 4096;
		err = req(fd, PAGEWALK_IOC_WALK, &w);
		counts[err & 255]++;
		HDR(roots);
		roots.pid = pid;
		err = req(fd, PAGEWALK_IOC_ROOTS, &roots);
		counts[err & 255]++;
		if (!err) {
			HDR(r);
			r.pa = roots.pgd_pa;
			r.length = sizeof(page);
			r.buffer = (uintptr_t)page;
			counts[req(fd, PAGEWALK_IOC_READ, &r) & 255]++;
		}
		calls++;
	}
	printf("KMOD-HAMMER %lu", calls);
	for (i = 0; i < 256; i++)
		if (counts[i])
			printf(" %d:%d", i, counts[i]);
	printf("\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "badinput"))
		return badinput();
	if (argc == 2 && !strcmp(argv[1], "eperm"))
		return eperm();
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return churn(atof(argv[2]), argv[3]);
	if (argc == 2 && !strcmp(argv[1], "lockdown"))
		return lockdown();
	if (argc == 5 && !strcmp(argv[1], "hammer"))
		return hammer(atoi(argv[2]), strtoull(argv[3], NULL, 0), atof(argv[4]));
	fprintf(stderr, "usage: kmod-probe badinput|eperm|lockdown|churn SECS FILE|hammer PID VA SECS\n");
	return 2;
}
