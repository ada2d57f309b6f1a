/*
 * warden-spawn: the few steps Java cannot take between fork and exec.
 *
 *   warden-spawn [OPTIONS] -- PROGRAM [ARG...]
 *   warden-spawn --request          read OPTIONS -- PROGRAM ARG... from stdin
 *
 * Steps, in this order, each fatal on failure (exit 125, nothing runs):
 *   1. join the cgroups named by --cgroup (needs root, so before the uid drop)
 *   2. lower rlimits (--rlimit)
 *   3. drop supplementary groups, gid, uid (--gid, --uid); no way back
 *   4. no_new_privs, always: a setuid binary inside cannot regain root
 *   5. parent-death signal: if Warden dies, its children die with it
 *   6. Landlock (--landlock-ro/--landlock-rw): only the named trees are reachable,
 *      writes only where -rw allows them, no TCP, no signals or abstract sockets
 *      outside the domain
 *   7. close every fd above 2, chdir, umask
 *   8. write the files named by --file/--data pairs (as the dropped uid, inside the sandbox: a
 *      symlink planted in the workspace can only lead somewhere this process may write anyway)
 *   9. exec with exactly the --env given; with --reap, fork it instead and stay as its parent: a
 *      child subreaper that reaps every descendant orphaned under it (a sandbox killed from
 *      outside leaves no zombie for the host's PID 1, which reaps only every few seconds, while
 *      each zombie holds its uid's RLIMIT_NPROC), and exits with the program's status
 *
 * --request is the stub of a pre-created sandbox: it waits, inside the sandbox,
 * for the one request it will ever serve, read as "<length>\n" followed by that
 * many bytes of NUL-terminated tokens. It reads exactly those bytes, so what
 * follows on stdin is the program's own input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SETUP_FAILED 125
#define MAX_LIST 256
#define MAX_REQUEST (16 * 1024 * 1024)

static void die(const char *what, const char *arg) {
    if (errno) fprintf(stderr, "warden-spawn: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    else fprintf(stderr, "warden-spawn: %s %s\n", what, arg ? arg : "");
    _exit(SETUP_FAILED);
}

struct spec {
    const char *cgroups[MAX_LIST]; int ncgroups;
    const char *rlimits[MAX_LIST]; int nrlimits;
    const char *ro[MAX_LIST]; int nro;
    const char *rw[MAX_LIST]; int nrw;
    char *env[MAX_LIST + 1]; int nenv;
    const char *files[MAX_LIST]; const char *data[MAX_LIST]; int nfiles;
    const char *chdir_to;
    long umask_to;
    long uid, gid;
    int request_mode, reap;
    char **argv;
};

static long number(const char *s, const char *opt) {
    char *end; errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || *end || v < 0) { errno = 0; die("bad number for", opt); }
    return v;
}

static void push(const char **list, int *n, const char *v, const char *opt) {
    if (*n >= MAX_LIST) { errno = 0; die("too many", opt); }
    list[(*n)++] = v;
}

/* Parse options until "--"; returns index of the program. privileged=0 refuses root-only options. */
static int parse(struct spec *s, int argc, char **argv, int start, int privileged) {
    int i = start;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (strcmp(a, "--request") == 0 && privileged) { s->request_mode = 1; continue; }
        if (strcmp(a, "--reap") == 0 && privileged) { s->reap = 1; continue; }
        if (i + 1 >= argc) { errno = 0; die("missing value for", a); }
        const char *v = argv[++i];
        if (strcmp(a, "--cgroup") == 0 && privileged) push(s->cgroups, &s->ncgroups, v, a);
        else if (strcmp(a, "--uid") == 0 && privileged) s->uid = number(v, a);
        else if (strcmp(a, "--gid") == 0 && privileged) s->gid = number(v, a);
        else if (strcmp(a, "--rlimit") == 0) push(s->rlimits, &s->nrlimits, v, a);
        else if (strcmp(a, "--landlock-ro") == 0) push(s->ro, &s->nro, v, a);
        else if (strcmp(a, "--landlock-rw") == 0) push(s->rw, &s->nrw, v, a);
        else if (strcmp(a, "--env") == 0) {
            if (!strchr(v, '=')) { errno = 0; die("--env needs NAME=VALUE, got", v); }
            push((const char **)s->env, &s->nenv, v, a);
        }
        else if (strcmp(a, "--file") == 0) {
            if (s->nfiles >= MAX_LIST) { errno = 0; die("too many", a); }
            s->files[s->nfiles] = v; s->data[s->nfiles] = NULL; s->nfiles++;
        }
        else if (strcmp(a, "--data") == 0) {
            if (s->nfiles == 0 || s->data[s->nfiles - 1]) { errno = 0; die("--data without --file", NULL); }
            s->data[s->nfiles - 1] = v;
        }
        else if (strcmp(a, "--chdir") == 0) s->chdir_to = v;
        else if (strcmp(a, "--umask") == 0) s->umask_to = number(v, a);
        else { errno = 0; die("unknown option", a); }
    }
    s->argv = argv + i;
    return i;
}

static void join_cgroups(struct spec *s) {
    char path[4096], pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", getpid());
    for (int i = 0; i < s->ncgroups; i++) {
        snprintf(path, sizeof path, "%s/cgroup.procs", s->cgroups[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, len) != len) die("cannot join cgroup", s->cgroups[i]);
        close(fd);
    }
}

static void apply_rlimits(struct spec *s) {
    static const struct { const char *name; int res; } names[] = {
        {"nproc", RLIMIT_NPROC}, {"cpu", RLIMIT_CPU}, {"fsize", RLIMIT_FSIZE},
        {"nofile", RLIMIT_NOFILE}, {"core", RLIMIT_CORE}, {"as", RLIMIT_AS},
        {"stack", RLIMIT_STACK}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
    };
    for (int i = 0; i < s->nrlimits; i++) {
        const char *spec = s->rlimits[i];
        const char *eq = strchr(spec, '=');
        if (!eq) { errno = 0; die("--rlimit needs NAME=VALUE, got", spec); }
        int res = -1;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strlen(names[k].name) == (size_t)(eq - spec) && strncmp(names[k].name, spec, eq - spec) == 0)
                res = names[k].res;
        if (res < 0) { errno = 0; die("unknown rlimit", spec); }
        rlim_t v = (rlim_t)number(eq + 1, spec);
        struct rlimit cur;
        if (getrlimit(res, &cur) != 0) die("getrlimit", spec);
        /* Only ever lower: a limit above the current hard limit stays at the hard limit. */
        if (cur.rlim_max != RLIM_INFINITY && v > cur.rlim_max) v = cur.rlim_max;
        struct rlimit nl = { v, v };
        if (setrlimit(res, &nl) != 0) die("setrlimit", spec);
    }
}

static void drop_privileges(struct spec *s) {
    if (s->gid >= 0) {
        if (setgroups(0, NULL) != 0) die("setgroups", NULL);
        if (setresgid(s->gid, s->gid, s->gid) != 0) die("setresgid", NULL);
    }
    if (s->uid >= 0) {
        if (setresuid(s->uid, s->uid, s->uid) != 0) die("setresuid", NULL);
        /* Proof, not hope: regaining root must fail now. */
        if (s->uid != 0 && setresuid(0, 0, 0) == 0) { errno = 0; die("uid drop did not hold", NULL); }
    }
}

/* ---- Landlock, by raw syscalls so the build needs no new headers ---- */
struct ll_ruleset_attr { uint64_t fs; uint64_t net; uint64_t scoped; };
struct ll_path_beneath { uint64_t allowed; int32_t parent_fd; } __attribute__((packed));

#define FS_FILE_RIGHTS(abi) ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | ((abi) >= 3 ? (1ULL << 14) : 0) | ((abi) >= 5 ? (1ULL << 15) : 0))
#define FS_READ_RIGHTS ((1ULL << 0) | (1ULL << 2) | (1ULL << 3)) /* execute, read file, read dir */

static uint64_t fs_all(int abi) {
    uint64_t all = (1ULL << 13) - 1;         /* ABI 1: bits 0..12 */
    if (abi >= 2) all |= 1ULL << 13;         /* refer */
    if (abi >= 3) all |= 1ULL << 14;         /* truncate */
    if (abi >= 5) all |= 1ULL << 15;         /* ioctl on devices */
    return all;
}

static void add_rule(int ruleset, const char *path, uint64_t rights, int abi) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return; /* an absent tree grants nothing */
        die("landlock: cannot open", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) die("landlock: stat", path);
    if (!S_ISDIR(st.st_mode)) rights &= FS_FILE_RIGHTS(abi);
    struct ll_path_beneath pb = { rights & fs_all(abi), fd };
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
        die("landlock: add rule", path);
    close(fd);
}

static void apply_landlock(struct spec *s) {
    if (s->nro == 0 && s->nrw == 0) return;
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) die("landlock is required but unavailable", NULL); /* fail closed */
    struct ll_ruleset_attr attr = { fs_all(abi), 0, 0 };
    size_t size = sizeof(uint64_t);
    if (abi >= 4) { attr.net = 1 | 2; size = 2 * sizeof(uint64_t); }        /* no TCP bind/connect */
    if (abi >= 6) { attr.scoped = 1 | 2; size = 3 * sizeof(uint64_t); }     /* abstract unix, signals */
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) die("landlock: create ruleset", NULL);
    for (int i = 0; i < s->nro; i++) add_rule(ruleset, s->ro[i], FS_READ_RIGHTS, abi);
    for (int i = 0; i < s->nrw; i++) add_rule(ruleset, s->rw[i], fs_all(abi), abi);
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) die("landlock: restrict self", NULL);
    close(ruleset);
}

/* Read "<len>\n" then len bytes, never more: the rest of stdin belongs to the program. */
static char **read_request(int *argc_out) {
    char head[24]; size_t n = 0;
    for (;;) {
        char c; ssize_t r = read(0, &c, 1);
        if (r == 0) { errno = 0; die("request: end of input before header", NULL); }
        if (r < 0) { if (errno == EINTR) continue; die("request: read", NULL); }
        if (c == '\n') break;
        if (n + 1 >= sizeof head || c < '0' || c > '9') { errno = 0; die("request: bad header", NULL); }
        head[n++] = c;
    }
    head[n] = 0;
    long len = number(head, "request length");
    if (len <= 0 || len > MAX_REQUEST) { errno = 0; die("request: bad length", head); }
    char *buf = malloc(len + 1);
    if (!buf) die("request: out of memory", NULL);
    for (long got = 0; got < len;) {
        ssize_t r = read(0, buf + got, len - got);
        if (r == 0) { errno = 0; die("request: truncated", NULL); }
        if (r < 0) { if (errno == EINTR) continue; die("request: read", NULL); }
        got += r;
    }
    buf[len] = 0;
    if (buf[len - 1] != 0) { errno = 0; die("request: last token not terminated", NULL); }
    int count = 0;
    for (long i = 0; i < len; i++) if (buf[i] == 0) count++;
    char **argv = calloc(count + 2, sizeof(char *));
    if (!argv) die("request: out of memory", NULL);
    argv[0] = "warden-spawn";
    for (long i = 0, k = 1; i < len; k++) { argv[k] = buf + i; i += strlen(buf + i) + 1; }
    *argc_out = count + 1;
    return argv;
}

/* mkdir -p of the parents of a relative path, refusing absolute paths and "..". */
static int make_parents(char *path) {
    for (char *p = path; (p = strchr(p, '/')); p++) {
        *p = 0;
        int r = mkdir(path, 0777);
        *p = '/';
        if (r != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

static int bad_relative(const char *path) {
    if (!*path || path[0] == '/') return 1;
    for (const char *p = path; *p;) {
        const char *end = strchrnul(p, '/');
        if (end - p == 2 && p[0] == '.' && p[1] == '.') return 1;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* A failed write is the program's failure, reported like one (exit 1), not a sandbox fault. */
static void write_files(struct spec *s) {
    for (int i = 0; i < s->nfiles; i++) {
        const char *name = s->files[i], *data = s->data[i] ? s->data[i] : "";
        char path[4096];
        if (bad_relative(name) || snprintf(path, sizeof path, "%s", name) >= (int)sizeof path) {
            fprintf(stderr, "warden: files: refusing path '%s'\n", name); _exit(1);
        }
        if (make_parents(path) != 0) {
            fprintf(stderr, "warden: files: cannot create the directory of '%s': %s\n", name, strerror(errno)); _exit(1);
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0) { fprintf(stderr, "warden: files: cannot write '%s': %s\n", name, strerror(errno)); _exit(1); }
        size_t len = strlen(data), done = 0;
        while (done < len) {
            ssize_t w = write(fd, data + done, len - done);
            if (w < 0) {
                if (errno == EINTR) continue;
                fprintf(stderr, "warden: files: cannot write '%s': %s\n", name, strerror(errno)); _exit(1);
            }
            done += (size_t)w;
        }
        close(fd);
    }
}

static void exec_program(struct spec *s) {
    if (!s->argv[0]) { errno = 0; die("no program given", NULL); }
    s->env[s->nenv] = NULL;
    const char *prog = s->argv[0];
    if (strchr(prog, '/')) { execve(prog, s->argv, s->env); }
    else {
        const char *path = "/usr/local/bin:/usr/bin:/bin";
        for (int i = 0; i < s->nenv; i++) if (strncmp(s->env[i], "PATH=", 5) == 0) path = s->env[i] + 5;
        char full[4096]; int saw_eacces = 0;
        for (const char *p = path; *p;) {
            const char *colon = strchrnul(p, ':');
            snprintf(full, sizeof full, "%.*s/%s", (int)(colon - p), p, prog);
            execve(full, s->argv, s->env);
            if (errno == EACCES) saw_eacces = 1;
            p = *colon ? colon + 1 : colon;
        }
        if (saw_eacces) errno = EACCES;
    }
    int code = (errno == ENOENT) ? 127 : 126;
    fprintf(stderr, "%s: %s\n", prog, errno == ENOENT ? "command not found" : strerror(errno));
    _exit(code);
}

/* Parent of the program: reap everything until no child is left, then report the program's status. */
static void reap_until_empty(pid_t program) {
    int status = 0, program_status = -1;
    close(0); close(1); close(2); /* the program's pipes close when the program's side does */
    for (;;) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break; /* ECHILD: nothing left */
        }
        if (pid == program) program_status = status;
    }
    if (program_status < 0) _exit(SETUP_FAILED);
    if (WIFSIGNALED(program_status)) _exit(128 + WTERMSIG(program_status));
    _exit(WEXITSTATUS(program_status));
}

int main(int argc, char **argv) {
    struct spec s; memset(&s, 0, sizeof s);
    s.uid = -1; s.gid = -1; s.umask_to = -1;
    parse(&s, argc, argv, 1, 1);

    if (s.request_mode) {
        /* The request may not name cgroups or uids: those were fixed when the sandbox was made. */
        int rargc; char **rargv = read_request(&rargc);
        parse(&s, rargc, rargv, 1, 0);
    }

    join_cgroups(&s);
    apply_rlimits(&s);
    drop_privileges(&s);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs", NULL);
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig", NULL);
    if (getppid() != parent) _exit(SETUP_FAILED); /* the parent died before we could tie to it */
    apply_landlock(&s);

    syscall(SYS_close_range, 3, ~0U, 0);
    if (s.chdir_to && chdir(s.chdir_to) != 0) die("cannot enter directory", s.chdir_to);
    if (s.umask_to >= 0) umask((mode_t)s.umask_to);
    write_files(&s);
    if (s.reap) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) die("child subreaper", NULL);
        pid_t child = fork();
        if (child < 0) die("fork", NULL);
        if (child > 0) reap_until_empty(child);
        /* the program must not outlive this reaper: if it is killed, so is the program */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig", NULL);
        if (getppid() == 1) _exit(SETUP_FAILED);
    }
    exec_program(&s);
    return SETUP_FAILED;
}
