/*
 * seccomp-filter: writes, as C source, the syscall filter that warden-spawn --seccomp loads.
 * Run at build time on the machine the launcher is built for (libseccomp resolves the native
 * architecture's syscall numbers there), so the launcher loads a finished BPF program and needs
 * no libseccomp at run time.
 *
 *   seccomp-filter > seccomp-filter.h
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what, const char *arg) {
    fprintf(stderr, "seccomp-filter: %s %s%s%s\n", what, arg ? arg : "", errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

/*
 * A denylist, every entry answered with an error, never a kill, so a program that probes for a
 * feature (io_uring, userfaultfd, a namespace) falls back as it would on an older kernel. It covers
 * everything Docker's default profile refuses to an unprivileged container, plus what Docker
 * allows but a run here has no use for (ptrace, io_uring, the key store, the new mount API), and
 * answers ENOSYS to every syscall number past the newest one known here, as Docker's allowlist
 * does: a syscall added to the kernel later is refused until someone judged it.
 * Only the native ABI passes: a 32-bit (int 0x80) or x32 syscall on x86-64, or an aarch32 one on
 * aarch64, is answered ENOSYS by libseccomp's architecture check, so nothing slips past the
 * table through another ABI's numbering.
 * memfd_create and pidfd_open/pidfd_send_signal stay allowed: Docker allows them, runtimes use
 * memfd_create (V8, glibc's and Python's shared memory), a memfd is charged to the run's memory
 * cgroup, and an L2 run can already write and exec files in /tmp; a pidfd reaches only processes
 * the run could signal anyway. pidfd_getfd, which takes another process's fds, is ptrace and goes.
 */
enum sys_kind {
    DENY,   /* EPERM; the name must be known on this architecture */
    LEGACY, /* EPERM where the architecture has it (x86-64's old calls are absent on aarch64) */
    NOSYS,  /* ENOSYS: "not on this kernel", so callers use their fallback (clone3 -> clone) */
};

/* nr: the syscall's number in the unified table of calls added since Linux 5.1 (424 and up, the
 * same on x86-64 and aarch64), used when this libseccomp predates the call; -1 for older calls. */
static const struct { const char *name; int nr; enum sys_kind kind; } denied[] = {
    /* the kernel key store: with the session keyring, a run could read and plant the server's keys */
    {"add_key", -1, DENY}, {"keyctl", -1, DENY}, {"request_key", -1, DENY},
    /* large, often-exploited kernel surfaces an untrusted program does not need */
    {"io_uring_setup", 425, DENY}, {"io_uring_enter", 426, DENY}, {"io_uring_register", 427, DENY},
    {"userfaultfd", -1, DENY}, {"perf_event_open", -1, DENY}, {"bpf", -1, DENY},
    {"fanotify_init", -1, DENY}, {"lookup_dcookie", -1, LEGACY},
    /* namespaces and mounts: the sandbox's shape is fixed by bwrap before this filter */
    {"unshare", -1, DENY}, {"setns", -1, DENY}, {"clone3", 435, NOSYS},
    {"mount", -1, DENY}, {"umount2", -1, DENY}, {"umount", -1, LEGACY}, {"pivot_root", -1, DENY},
    {"open_tree", 428, DENY}, {"move_mount", 429, DENY}, {"fsopen", 430, DENY}, {"fsconfig", 431, DENY},
    {"fsmount", 432, DENY}, {"fspick", 433, DENY}, {"mount_setattr", 442, DENY}, {"open_tree_attr", 467, DENY},
    {"statmount", 457, DENY}, {"listmount", 458, DENY},
    {"name_to_handle_at", -1, DENY}, {"open_by_handle_at", -1, DENY},
    {"quotactl", -1, DENY}, {"quotactl_fd", 443, DENY},
    /* other processes' memory and fds */
    {"ptrace", -1, DENY}, {"process_vm_readv", -1, DENY}, {"process_vm_writev", -1, DENY},
    {"kcmp", -1, DENY}, {"pidfd_getfd", 438, DENY}, {"process_madvise", 440, DENY},
    {"process_mrelease", 448, DENY},
    /* the machine: modules, kexec, clocks, swap, reboot, accounting, names, the console */
    {"init_module", -1, DENY}, {"finit_module", -1, DENY}, {"delete_module", -1, DENY},
    {"create_module", -1, LEGACY}, {"get_kernel_syms", -1, LEGACY}, {"query_module", -1, LEGACY},
    {"kexec_load", -1, DENY}, {"kexec_file_load", -1, DENY},
    {"reboot", -1, DENY}, {"swapon", -1, DENY}, {"swapoff", -1, DENY}, {"acct", -1, DENY},
    {"settimeofday", -1, DENY}, {"clock_settime", -1, DENY}, {"clock_adjtime", -1, DENY}, {"stime", -1, LEGACY},
    {"sethostname", -1, DENY}, {"setdomainname", -1, DENY}, {"syslog", -1, DENY}, {"vhangup", -1, DENY},
    {"iopl", -1, LEGACY}, {"ioperm", -1, LEGACY}, {"vm86", -1, LEGACY}, {"vm86old", -1, LEGACY},
    {"nfsservctl", -1, LEGACY}, {"uselib", -1, LEGACY}, {"ustat", -1, LEGACY}, {"sysfs", -1, LEGACY},
    {"_sysctl", -1, LEGACY},
    /* NUMA placement (Docker: CAP_SYS_NICE only) and the rest of the newer calls Docker lacks */
    {"mbind", -1, DENY}, {"set_mempolicy", -1, DENY}, {"get_mempolicy", -1, DENY}, {"move_pages", -1, DENY},
    {"migrate_pages", -1, DENY}, {"set_mempolicy_home_node", 450, DENY}, {"memfd_secret", 447, DENY},
    {"lsm_get_self_attr", 459, DENY}, {"lsm_set_self_attr", 460, DENY}, {"lsm_list_modules", 461, DENY},
};

/* Every number from here on is newer than this table (469 is file_setattr, Linux 6.17). */
#define FIRST_UNJUDGED_NR 470
#define LAST_UNJUDGED_NR 599

static int seccomp_nr(const char *name, int fallback) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR || nr < 0) return fallback;
    return nr;
}

static void seccomp_add(scmp_filter_ctx ctx, uint32_t action, int nr, const char *what,
        unsigned count, const struct scmp_arg_cmp *cmp) {
    int rc = seccomp_rule_add_exact_array(ctx, action, nr, count, cmp);
    if (rc != 0) { errno = -rc; die("seccomp: cannot add a rule for", what); }
}

static scmp_filter_ctx build_filter(void) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) { errno = 0; die("seccomp: cannot create a filter", NULL); }
    /* a syscall through another ABI's entry point is refused like an unknown one */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)) != 0
            /* a binary tree of syscall numbers instead of a linear list: each syscall pays
             * a handful of comparisons, not one per entry */
            || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0) {
        errno = 0; die("seccomp: cannot set the filter's attributes", NULL);
    }
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        int nr = seccomp_nr(denied[i].name, denied[i].nr);
        if (nr < 0) {
            if (denied[i].kind == LEGACY) continue;
            errno = 0; die("seccomp: syscall unknown to libseccomp:", denied[i].name);
        }
        uint32_t action = SCMP_ACT_ERRNO(denied[i].kind == NOSYS ? ENOSYS : EPERM);
        seccomp_add(ctx, action, nr, denied[i].name, 0, NULL);
    }
    for (int nr = FIRST_UNJUDGED_NR; nr <= LAST_UNJUDGED_NR; nr++) {
        seccomp_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, "a syscall newer than this launcher", 0, NULL);
    }
    /* clone (flags first on x86-64 and aarch64) may make threads and processes, not namespaces.
     * CLONE_NEWTIME shares its bit with the exit signal in clone and exists only for clone3. */
    static const uint64_t ns_flags[] = { CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
        CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET };
    for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++) {
        struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
        seccomp_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), "clone", 1, &c);
    }
    /* personality: the query and ordinary personas, never ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC
     * (Docker allows only a few fixed values; these two are the ones that weaken exploits' odds).
     * The query, 0xffffffff, has every bit set: the top bit in the mask lets it through. */
    static const uint32_t weakening[] = { 0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400000 /* READ_IMPLIES_EXEC */ };
    for (size_t i = 0; i < sizeof weakening / sizeof weakening[0]; i++) {
        struct scmp_arg_cmp c = SCMP_A0_32(SCMP_CMP_MASKED_EQ, 0x80000000U | weakening[i], weakening[i]);
        seccomp_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), "personality", 1, &c);
    }
    /* sockets: every family the network namespace and Landlock already govern, but not vsock,
     * which reaches the hypervisor host and is in no namespace (Docker refuses it too) */
    struct scmp_arg_cmp vsock = SCMP_A0_32(SCMP_CMP_EQ, AF_VSOCK);
    seccomp_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), "socket", 1, &vsock);
    return ctx;
}

int main(void) {
    scmp_filter_ctx ctx = build_filter();
    /* libseccomp 2.5 exports only to a file descriptor */
    FILE *tmp = tmpfile();
    if (!tmp) die("tmpfile", NULL);
    int rc = seccomp_export_bpf(ctx, fileno(tmp));
    if (rc != 0) { errno = -rc; die("cannot export the filter", NULL); }
    static struct sock_filter prog[BPF_MAXINSNS + 1];
    rewind(tmp);
    size_t len = fread(prog, 1, sizeof prog, tmp);
    if (len % sizeof *prog != 0) die("the exported filter has a bad length", NULL);
    size_t n = len / sizeof *prog;
    if (n == 0 || n > BPF_MAXINSNS) die("the filter has a bad length", NULL);
    printf("/* generated by seccomp-filter.c at build time: do not edit */\n");
    printf("static const struct sock_filter seccomp_filter[%zu] = {\n", n);
    for (size_t i = 0; i < n; i++)
        printf("    {0x%04x, %u, %u, 0x%08x},\n", prog[i].code, prog[i].jt, prog[i].jf, prog[i].k);
    printf("};\n");
    if (fflush(stdout) != 0 || ferror(stdout)) die("cannot write the filter", NULL);
    seccomp_release(ctx);
    return 0;
}
