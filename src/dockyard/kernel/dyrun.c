/*
 * dyrun: Dockyard's lean container runtime (the alternative to runc).
 *
 * Why it exists: runc costs 25-50 ms per start (a Go binary that re-executes itself,
 * writes state, sets up every cgroup controller). The manager already did the work that
 * needs decisions (the overlay root, the sandbox's netns, the files to bind); what is left
 * is a fixed list of system calls, which this program makes in well under a millisecond.
 *
 *   dyrun run  [directives] -- ARGV...   start a container; ARGV[0] is the init to exec
 *   dyrun exec [directives] -- ARGV...   run ARGV in the namespaces of --pid's container
 *   dyrun template DIR                   make the mount namespace every run starts from
 *
 * Directives (each a flag followed by a fixed number of arguments; the manager builds
 * them from the same OCI document runc gets, see kernel/lean.py):
 *   --root PATH                 the container's root (already mounted by the manager)
 *   --mntns FD                  (run) the template mount namespace (see below), open on FD
 *   --report FD                 (run) no init: ARGV is the command itself, found on the
 *                               container's PATH, and becomes PID 1 with our stdin,
 *                               stdout and stderr; the start is reported on FD once the
 *                               command runs: "ok PID", "error CODE MSG" (it could not
 *                               be executed: 127 not found, 126 otherwise) or "fail MSG"
 *                               (see dymon.c, which starts every such container)
 *   --netns PATH                join this network namespace (absent: stay in ours)
 *   --hostname NAME, --domainname NAME
 *   --mount TYPE SRC DEST FLAGS DATA   in order; FLAGS is the decimal MS_* mask
 *   --mask PATH, --readonly PATH        Docker's masked and read-only paths
 *   --readonly-root             the root mount read-only (docker run --read-only)
 *   --sysctl KEY=VALUE          a sysctl of the container's own IPC namespace
 *                               (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)
 *   --user UID GID GROUPS       GROUPS: comma-separated additional gids ("" for none)
 *   --cwd PATH, --env K=V, --caps HEXMASK (the bounding set kept)
 *   --cgroup DIR                a cgroup v1 devices directory to create and enter,
 *                               allowing only the usual devices (as runc does)
 *   --nodev 1                   the other way to allow only the usual devices: every
 *                               mount of the container is nodev (the root included) and
 *                               the usual nodes are the host's, bind-mounted. A node made
 *                               with CAP_MKNOD can then be made but not opened (EACCES),
 *                               without the ~13 ms a cgroup v1 attach costs (it waits for
 *                               an RCU grace period).
 *   --memory DIR LIMIT MEMSW    (run) a cgroup v1 memory directory to create and enter
 *                               with memory.limit_in_bytes LIMIT and, unless MEMSW is 0,
 *                               memory.memsw.limit_in_bytes MEMSW (-1: unlimited); only
 *                               for a container with a memory limit (the attach costs
 *                               the same RCU grace period as --cgroup)
 *   --join DIR                  (exec, repeatable) an existing cgroup of the container
 *                               to enter (its memory group: an exec'd process counts
 *                               against the container's limit, as in Docker)
 *   --pid PID                   (exec) the container's init, whose namespaces to join
 *   --tty FD ROWS COLS          (exec; run with --report) give the command a terminal of
 *                               the container's devpts as controlling tty and stdio; its
 *                               master is sent over the unix socket FD (SCM_RIGHTS), as
 *                               runc's --console-socket does
 *
 * template: a mount namespace holding nothing but a tmpfs root with two directories,
 * /root and /proc (a procfs, for the /proc/self/fd paths mounts are made through). It
 * prints "ready" and waits for stdin to close, while the manager opens its
 * /proc/PID/ns/mnt; that descriptor keeps the namespace for every later run.
 *
 * Why: a new mount namespace is a copy of the one it is made from. Copied from the
 * manager's, it held every mount on the host, two more with each running container (its
 * root and its network namespace), and the copy, the rprivate walk and the detach of
 * the old root after pivot_root each cost O(mounts): ~11 ms a start with 450 containers
 * running. Copied from the template it is two mounts, whatever runs.
 *
 * run: the process joins the netns, clones (open_tree) the root and every bind source
 * while it still sees the manager's mounts, joins the template and unshares
 * mount/UTS/IPC/PID namespaces and forks; the child (PID 1 of the new PID namespace)
 * attaches the root at /root, builds the mounts, pivots into the root,
 * drops capabilities and privileges and execs the init with fds 3, 4, 5 untouched. The
 * parent prints "pid <host pid>" on stdout and exits, so the child is re-parented to the
 * manager (a child subreaper), exactly as a runc-started init is. Failures in the child
 * are reported on fd 5 as "fail <message>" (the init reports on the same fd).
 * With --report the child execs the command itself, keeping our stdio; the parent waits
 * for that exec (or the child's failure) and reports on FD before exiting. dymon, which
 * started us and is a child subreaper, then becomes the command's parent.
 *
 * exec: joins the init's namespaces (and cgroup), forks, and in the child sets the user,
 * working directory and environment and execs the command found on the container's PATH;
 * exits with the command's status, or 127/126 (with Docker's message on stderr) when it
 * cannot be found or executed, or 125 for any other failure.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sendfd.h"

#define REPORT_FD 5
#define MAX_ITEMS 256
#define MAX_JOINS 8

struct mnt {
    const char *type, *src, *dest, *data;
    unsigned long flags;
    int tree;    /* a bind's source, cloned before leaving the manager's namespace */
    int as_file; /* a bind of a file: its mount point is a file */
};

struct config {
    const char *root, *netns, *hostname, *domainname, *cwd, *cgroup, *groups;
    const char *memory, *memory_limit, *memsw_limit;
    const char *joins[MAX_JOINS];
    int n_joins;
    struct mnt mounts[MAX_ITEMS];
    int n_mounts;
    const char *masked[MAX_ITEMS], *readonly[MAX_ITEMS], *sysctls[MAX_ITEMS];
    int n_masked, n_readonly, n_sysctls;
    const char *env[MAX_ITEMS * 4];
    int n_env;
    uid_t uid;
    gid_t gid;
    uint64_t caps;
    int have_caps;
    int nodev;
    int readonly_root;
    int mntns; /* the template mount namespace, -1: none given */
    pid_t pid;
    int have_tty, tty_sock;
    unsigned short tty_rows, tty_cols;
    char **argv;
};

static int in_child = 0; /* failures: child reports on fd 5, parent prints to stderr */
/* run --report FD (no init: the command is the container's PID 1, its stdio is ours):
 * the parent reports "ok PID", "error CODE MSG" or "fail MSG" on FD; the child tells
 * the parent of a failure on the check pipe, whose end closes on a successful exec. */
static int report_fd = -1, check_fd = -1;

static void die(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (in_child && check_fd >= 0)
        dprintf(check_fd, "fail %s\n", msg);
    else if (in_child)
        dprintf(REPORT_FD, "fail %s\n", msg);
    else if (report_fd >= 0)
        dprintf(report_fd, "fail %s\n", msg);
    else
        dprintf(2, "dyrun: %s\n", msg);
    _exit(125);
}

static void parse(int argc, char **argv, struct config *c) {
    memset(c, 0, sizeof *c);
    c->groups = "";
    c->mntns = -1;
    int i = 2;
#define NEED(n) \
    if (i + (n) >= argc) die("%s: missing argument", argv[i])
    while (i < argc) {
        const char *f = argv[i];
        if (!strcmp(f, "--")) {
            c->argv = argv + i + 1;
            break;
        }
        NEED(1);
        if (!strcmp(f, "--root")) c->root = argv[++i];
        else if (!strcmp(f, "--netns")) c->netns = argv[++i];
        else if (!strcmp(f, "--hostname")) c->hostname = argv[++i];
        else if (!strcmp(f, "--domainname")) c->domainname = argv[++i];
        else if (!strcmp(f, "--cwd")) c->cwd = argv[++i];
        else if (!strcmp(f, "--cgroup")) c->cgroup = argv[++i];
        else if (!strcmp(f, "--pid")) c->pid = (pid_t)atoi(argv[++i]);
        else if (!strcmp(f, "--nodev")) c->nodev = atoi(argv[++i]);
        else if (!strcmp(f, "--readonly-root")) c->readonly_root = 1;
        else if (!strcmp(f, "--mntns")) c->mntns = atoi(argv[++i]);
        else if (!strcmp(f, "--report")) {
            report_fd = atoi(argv[++i]);
            fcntl(report_fd, F_SETFD, FD_CLOEXEC); /* never the command's */
        }
        else if (!strcmp(f, "--caps")) {
            c->caps = strtoull(argv[++i], NULL, 16);
            c->have_caps = 1;
        } else if (!strcmp(f, "--env")) {
            if (c->n_env >= MAX_ITEMS * 4 - 1) die("too many --env");
            c->env[c->n_env++] = argv[++i];
        } else if (!strcmp(f, "--mask")) {
            if (c->n_masked >= MAX_ITEMS) die("too many --mask");
            c->masked[c->n_masked++] = argv[++i];
        } else if (!strcmp(f, "--readonly")) {
            if (c->n_readonly >= MAX_ITEMS) die("too many --readonly");
            c->readonly[c->n_readonly++] = argv[++i];
        } else if (!strcmp(f, "--sysctl")) {
            if (c->n_sysctls >= MAX_ITEMS) die("too many --sysctl");
            c->sysctls[c->n_sysctls++] = argv[++i];
        } else if (!strcmp(f, "--join")) {
            if (c->n_joins >= MAX_JOINS) die("too many --join");
            c->joins[c->n_joins++] = argv[++i];
        } else if (!strcmp(f, "--memory")) {
            NEED(3);
            c->memory = argv[i + 1];
            c->memory_limit = argv[i + 2];
            c->memsw_limit = argv[i + 3];
            i += 3;
        } else if (!strcmp(f, "--user")) {
            NEED(3);
            c->uid = (uid_t)strtoul(argv[i + 1], NULL, 10);
            c->gid = (gid_t)strtoul(argv[i + 2], NULL, 10);
            c->groups = argv[i + 3];
            i += 3;
        } else if (!strcmp(f, "--tty")) {
            NEED(3);
            c->have_tty = 1;
            c->tty_sock = atoi(argv[i + 1]);
            c->tty_rows = (unsigned short)strtoul(argv[i + 2], NULL, 10);
            c->tty_cols = (unsigned short)strtoul(argv[i + 3], NULL, 10);
            i += 3;
        } else if (!strcmp(f, "--mount")) {
            NEED(5);
            if (c->n_mounts >= MAX_ITEMS) die("too many --mount");
            struct mnt *m = &c->mounts[c->n_mounts++];
            m->type = argv[i + 1];
            m->src = argv[i + 2];
            m->dest = argv[i + 3];
            m->flags = strtoul(argv[i + 4], NULL, 10);
            m->data = argv[i + 5];
            m->tree = -1;
            i += 5;
        } else {
            die("unknown directive %s", f);
        }
        i++;
    }
#undef NEED
    if (!c->argv || !c->argv[0]) die("no command after --");
    c->env[c->n_env] = NULL;
}

/* ------------------------------------------------------------ paths in the root */

/* Open PATH inside the root: symlinks resolve as if the root were "/", so nothing in
 * the image can point a mount outside it. */
static int open_in_root(int rootfd, const char *path, int flags) {
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    while (*path == '/') path++;
    if (!*path) path = ".";
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* mkdir -p of DEST inside the root; with as_file the last component is an empty file
 * (the mount point of a file bind mount). Returns an O_PATH fd of DEST. */
static int make_target(int rootfd, const char *dest, int as_file) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dest);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        int last = saved == '\0' || buf[i + 1] == '\0';
        int fd = open_in_root(rootfd, buf, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            char *slash = strrchr(buf, '/');
            *slash = '\0';
            int parent = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
            *slash = '/';
            if (parent < 0) die("mount point %s: %s", dest, strerror(errno));
            if (last && as_file) {
                int f = openat(parent, slash + 1, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                               0644);
                if (f >= 0) close(f);
            } else if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) {
                die("mkdir %s: %s", buf, strerror(errno));
            }
            close(parent);
        } else if (fd >= 0) {
            close(fd);
        }
        buf[i] = saved;
        if (saved == '\0') break;
    }
    int fd = open_in_root(rootfd, dest, O_PATH);
    if (fd < 0) die("mount point %s: %s", dest, strerror(errno));
    return fd;
}

static void fd_path(char *out, size_t n, int fd) { snprintf(out, n, "/proc/self/fd/%d", fd); }

/* ------------------------------------------------------------------ /dev nodes */

static const struct {
    const char *name;
    unsigned maj, min;
} devices[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

#define N_DEVICES (sizeof devices / sizeof devices[0])

/* The host's nodes, cloned while the manager's /dev is still in sight (nodev only). */
static int device_trees[N_DEVICES];

static void make_dev(int rootfd, int devfd, int nodev) {
    mode_t old = umask(0);
    for (size_t i = 0; i < N_DEVICES; i++) {
        const char *name = devices[i].name;
        if (!nodev) {
            if (mknodat(devfd, name, S_IFCHR | 0666, makedev(devices[i].maj, devices[i].min)) < 0
                && errno != EEXIST)
                die("mknod /dev/%s: %s", name, strerror(errno));
            continue;
        }
        /* /dev is nodev: the host's node, bind-mounted, is the only way to a device */
        int f = openat(devfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f < 0) die("create /dev/%s: %s", name, strerror(errno));
        close(f);
        char dest[64];
        snprintf(dest, sizeof dest, "dev/%s", name);
        int fd = open_in_root(rootfd, dest, O_PATH);
        if (fd < 0) die("open /dev/%s: %s", name, strerror(errno));
        if (move_mount(device_trees[i], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH |
                       MOVE_MOUNT_T_EMPTY_PATH) < 0)
            die("bind /dev/%s: %s", name, strerror(errno));
        close(device_trees[i]);
        device_trees[i] = -1;
        close(fd);
    }
    umask(old);
    static const char *links[][2] = {{"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                                     {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                     {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
            die("symlink /dev/%s: %s", links[i][1], strerror(errno));
    }
}

static void do_mount(int rootfd, const struct mnt *m, int nodev) {
    int is_bind = (m->flags & MS_BIND) != 0;
    int fd = make_target(rootfd, m->dest, is_bind && m->as_file);
    char target[64];
    fd_path(target, sizeof target, fd);
    unsigned long flags = m->flags;
    if (is_bind) {
        struct stat st;
        int err = 0;
        if (fstat(fd, &st) < 0)
            err = errno;
        else if ((!S_ISDIR(st.st_mode)) != m->as_file)
            err = ENOTDIR; /* what mount(2) says; move_mount would say EINVAL */
        else if (move_mount(m->tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH |
                            MOVE_MOUNT_T_EMPTY_PATH) < 0)
            err = errno;
        if (err) die("bind mount %s on %s: %s", m->src, m->dest, strerror(err));
        if (flags & ~(MS_BIND | MS_REC)) {
            close(fd);
            fd = open_in_root(rootfd, m->dest, O_PATH);
            fd_path(target, sizeof target, fd);
            if (mount(NULL, target, NULL, flags | MS_REMOUNT | MS_BIND, NULL) < 0)
                die("remount %s read-only: %s", m->dest, strerror(errno));
        }
    } else if (mount(m->src, target, m->type, flags, m->data[0] ? m->data : NULL) < 0) {
        die("mount %s on %s: %s", m->type, m->dest, strerror(errno));
    }
    close(fd);
    if (!strcmp(m->dest, "/dev") && !strcmp(m->type, "tmpfs")) {
        int devfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
        if (devfd < 0) die("open /dev: %s", strerror(errno));
        make_dev(rootfd, devfd, nodev);
        close(devfd);
    }
}

/* After pivot_root: hide (masked) or freeze (read-only) kernel interfaces. */
static void mask_path(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) return; /* absent on this kernel: nothing to hide */
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                                : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (r < 0) die("mask %s: %s", path, strerror(errno));
}

/* KEY=VALUE into /proc/sys, by this process: the IPC sysctls are per IPC namespace, the
 * writer's, which is the container's now; before /proc/sys is made read-only. */
static void write_sysctl(const char *item) {
    const char *eq = strchr(item, '=');
    char path[512];
    if (!eq || (size_t)(eq - item) >= sizeof path - 10) die("bad sysctl %s", item);
    int n = snprintf(path, sizeof path, "/proc/sys/%.*s", (int)(eq - item), item);
    for (char *p = path + 10; p < path + n; p++)
        if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) die("sysctl %s: %s", item, strerror(errno));
    size_t len = strlen(eq + 1);
    if (write(fd, eq + 1, len) != (ssize_t)len) die("sysctl %s: %s", item, strerror(errno));
    close(fd);
}

/* The root mount alone (not the mounts below it) read-only, last, once every mount
 * point in it exists. A bind remount replaces the mount's nosuid/nodev/noexec, so those
 * it has are asked for again. */
static void readonly_root(void) {
    struct statvfs sv;
    if (statvfs("/", &sv) < 0) die("statvfs /: %s", strerror(errno));
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (mount(NULL, "/", NULL, flags, NULL) < 0)
        die("remount the root read-only: %s", strerror(errno));
}

static void readonly_path(const char *path) {
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT) return;
        die("bind %s: %s", path, strerror(errno));
    }
    if (mount(NULL, path, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC,
              NULL) < 0)
        die("remount %s read-only: %s", path, strerror(errno));
}

/* --------------------------------------------------------------- privileges */

static void drop_bounding(uint64_t keep) {
    for (int cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break; /* past the kernel's last capability */
            die("drop capability %d: %s", cap, strerror(errno));
        }
    }
}

static void set_user(const struct config *c) {
    gid_t groups[256];
    size_t n = 0;
    for (const char *p = c->groups; *p && n < 256;) {
        groups[n++] = (gid_t)strtoul(p, (char **)&p, 10);
        if (*p == ',') p++;
    }
    if (setgroups(n, groups) < 0) die("setgroups: %s", strerror(errno));
    if (setresgid(c->gid, c->gid, c->gid) < 0) die("setgid %u: %s", c->gid, strerror(errno));
    if (setresuid(c->uid, c->uid, c->uid) < 0) die("setuid %u: %s", c->uid, strerror(errno));
}

/* Docker: root keeps the default set as effective and permitted capabilities; any other
 * user gets only the bounding set (setuid above already cleared the rest). */
static void set_caps(uint64_t keep) {
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    d[0].effective = d[0].permitted = (uint32_t)keep;
    d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &h, d) < 0) die("capset: %s", strerror(errno));
}

/* What the manager's process left us (Python ignores SIGPIPE and SIGXFSZ, a thread may
 * block signals, a daemon may run with umask 077) is not what a container starts with. */
static void reset_process(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* the raw system call: glibc's wrapper refuses its own two real-time signals */
    struct kernel_sigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } dfl = {.handler = SIG_DFL};
    for (int sig = 1; sig <= 64; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    }
    umask(022);
}

static void write_file(const char *dir, const char *name, const char *value) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, value, strlen(value));
    if (n < 0) die("write %s to %s: %s", value, path, strerror(errno));
    close(fd);
}

/* runc's default device rules: mknod anything, use only the harmless nodes. */
static const char *allowed_devices[] = {"c *:* m",   "b *:* m",    "c 1:3 rwm", "c 1:5 rwm",
                                        "c 1:7 rwm", "c 1:8 rwm",  "c 1:9 rwm", "c 5:0 rwm",
                                        "c 5:1 rwm", "c 5:2 rwm",  "c 136:* rwm",
                                        "c 10:200 rwm"};

static void enter_cgroup(const char *dir, int create) {
    if (create) {
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) die("mkdir %s: %s", dir, strerror(errno));
        write_file(dir, "devices.deny", "a");
        for (size_t i = 0; i < sizeof allowed_devices / sizeof allowed_devices[0]; i++)
            write_file(dir, "devices.allow", allowed_devices[i]);
    }
    write_file(dir, "cgroup.procs", "0");
}

/* The limit first: the kernel refuses a memory+swap limit below the memory limit. */
static void enter_memory_cgroup(const struct config *c) {
    if (mkdir(c->memory, 0755) < 0 && errno != EEXIST)
        die("mkdir %s: %s", c->memory, strerror(errno));
    write_file(c->memory, "memory.limit_in_bytes", c->memory_limit);
    if (strcmp(c->memsw_limit, "0") != 0)
        write_file(c->memory, "memory.memsw.limit_in_bytes", c->memsw_limit);
    write_file(c->memory, "cgroup.procs", "0");
}

/* --------------------------------------------------------------------- run */

/* A detached copy of the mount(s) at PATH, private: a clone of a shared mount would
 * otherwise join its peer group (on a systemd host / is shared, and every container root
 * under it), pivot_root would refuse it, and the container's mounts would show on the
 * host. */
static int clone_tree(const char *path, int recursive) {
    unsigned rec = recursive ? AT_RECURSIVE : 0;
    int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
    if (fd < 0) die("clone mount %s: %s", path, strerror(errno));
    struct mount_attr attr = {.propagation = MS_PRIVATE};
    if (mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0)
        die("make the clone of %s private: %s", path, strerror(errno));
    return fd;
}

/* Everything the container needs of the manager's mounts, as detached clones (each
 * O(1), or O(its own submounts) for a recursive bind): after this, the template. */
static int clone_sources(struct config *c) {
    int root = clone_tree(c->root, 1);
    int dev_tmpfs = 0;
    for (int i = 0; i < c->n_mounts; i++) {
        struct mnt *m = &c->mounts[i];
        if (!strcmp(m->dest, "/dev") && !strcmp(m->type, "tmpfs")) dev_tmpfs = 1;
        if (!(m->flags & MS_BIND)) continue;
        struct stat st;
        if (stat(m->src, &st) < 0) die("bind source %s: %s", m->src, strerror(errno));
        m->as_file = !S_ISDIR(st.st_mode);
        /* A file has no submounts to take along, and a recursive clone would still walk
         * every mount under its mount's root (the host's /, all containers' roots). */
        m->tree = clone_tree(m->src, (m->flags & MS_REC) && !m->as_file);
    }
    for (size_t i = 0; i < N_DEVICES; i++) {
        char src[64];
        snprintf(src, sizeof src, "/dev/%s", devices[i].name);
        device_trees[i] = c->nodev && dev_tmpfs ? clone_tree(src, 0) : -1;
    }
    return root;
}

/* A terminal of the container's devpts (we are in its mount namespace): the master
 * goes to the manager, the slave is returned for the command. */
static int open_console(const struct config *c) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) die("open /dev/ptmx: %s", strerror(errno));
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("unlock the terminal: %s", strerror(errno));
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) die("open the terminal: %s", strerror(errno));
    if (c->tty_rows && c->tty_cols) {
        struct winsize ws = {.ws_row = c->tty_rows, .ws_col = c->tty_cols};
        ioctl(master, TIOCSWINSZ, &ws);
    }
    if (send_fd(c->tty_sock, master) < 0) die("send the terminal: %s", strerror(errno));
    close(master);
    close(c->tty_sock);
    return slave;
}

/* In the command's process: the terminal as its controlling tty and stdio. */
static void take_terminal(const struct config *c, int slave) {
    /* the terminal belongs to the command's user, as runc makes stdio theirs */
    if (fchown(slave, c->uid, (gid_t)-1) < 0) die("chown the terminal: %s", strerror(errno));
    setsid();
    if (ioctl(slave, TIOCSCTTY, 0) < 0) die("set the controlling terminal: %s",
                                           strerror(errno));
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
}

/* Docker's wording of an exec failure (Go's lower-case error text). */
static void exec_error(int e, char *why, size_t size) {
    snprintf(why, size, "%s", e == ENOENT ? "executable file not found in $PATH"
                                          : strerror(e));
    why[0] = (char)tolower((unsigned char)why[0]);
}

/* run --report: wait for the child's exec (its end of the check pipe closes) or its
 * failure, and report which. */
static int report_start(pid_t pid, int check[2]) {
    close(check[1]);
    char text[1100];
    size_t len = 0;
    ssize_t n;
    while ((n = read(check[0], text + len, sizeof text - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || (len += (size_t)n) == sizeof text - 1) break;
    }
    close(check[0]);
    if (len == 0) {
        dprintf(report_fd, "ok %d\n", (int)pid);
        return 0;
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    write(report_fd, text, len);
    return 0;
}

static int exec_path(const struct config *c);

static int cmd_run(struct config *c) {
    if (!c->root) die("run needs --root");
    if (c->mntns < 0) die("run needs --mntns");
    if (c->cgroup) enter_cgroup(c->cgroup, 1);
    if (c->memory) enter_memory_cgroup(c);
    if (c->netns) {
        int fd = open(c->netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            die("join network namespace %s: %s", c->netns, strerror(errno));
        close(fd);
    }
    int root_tree = clone_sources(c);
    if (setns(c->mntns, CLONE_NEWNS) < 0) die("join the template mount namespace: %s",
                                               strerror(errno));
    close(c->mntns);
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) < 0)
        die("unshare: %s", strerror(errno));
    int check[2] = {-1, -1};
    if (report_fd >= 0 && pipe2(check, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid > 0 && report_fd < 0) {
        printf("pid %d\n", (int)pid);
        return 0;
    }
    if (pid > 0) return report_start(pid, check);
    in_child = 1;
    if (report_fd >= 0) {
        close(check[0]);
        check_fd = check[1];
    } else {
        dup2(0, 1); /* the container's stdio: /dev/null, as runc -d leaves it */
        dup2(0, 2);
    }
    reset_process();
    /* The template's mounts are private already, and the copy of them is ours alone:
     * the root goes on /root, a mount point of this namespace as pivot_root needs. */
    if (move_mount(root_tree, "", AT_FDCWD, "/root", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        die("attach root %s: %s", c->root, strerror(errno));
    close(root_tree);
    if (c->nodev && mount(NULL, "/root", NULL, MS_BIND | MS_REMOUNT | MS_NODEV, NULL) < 0)
        die("remount root %s nodev: %s", c->root, strerror(errno));
    int rootfd = open("/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) die("open root %s: %s", c->root, strerror(errno));
    for (int i = 0; i < c->n_mounts; i++) do_mount(rootfd, &c->mounts[i], c->nodev);
    if (c->cwd) close(make_target(rootfd, c->cwd, 0)); /* runc creates a missing cwd */
    if (fchdir(rootfd) < 0) die("chdir root: %s", strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) die("detach the old root: %s", strerror(errno));
    if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
    close(rootfd);
    for (int i = 0; i < c->n_sysctls; i++) write_sysctl(c->sysctls[i]);
    for (int i = 0; i < c->n_masked; i++) mask_path(c->masked[i]);
    for (int i = 0; i < c->n_readonly; i++) readonly_path(c->readonly[i]);
    if (c->readonly_root) readonly_root();
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
        die("sethostname: %s", strerror(errno));
    if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
        die("setdomainname: %s", strerror(errno));
    if (c->cwd && chdir(c->cwd) < 0) die("chdir %s: %s", c->cwd, strerror(errno));
    /* run --report --tty: a terminal of the container's own devpts (/dev/pts/0), its
     * master sent to dymon, which hands it to the manager and keeps a copy */
    if (report_fd >= 0 && c->have_tty) take_terminal(c, open_console(c));
    if (c->have_caps) drop_bounding(c->caps);
    set_user(c);
    if (c->have_caps && c->uid == 0) set_caps(c->caps);
    if (report_fd >= 0) { /* the command itself, found on the container's PATH */
        int e = exec_path(c);
        char why[256];
        exec_error(e, why, sizeof why);
        dprintf(check_fd, "error %d exec: \"%s\": %s\n", e == ENOENT ? 127 : 126,
                c->argv[0], why);
        _exit(e == ENOENT ? 127 : 126);
    }
    execve(c->argv[0], c->argv, (char **)c->env);
    die("exec %s: %s", c->argv[0], strerror(errno));
    return 125;
}

/* -------------------------------------------------------------------- exec */

static const char *lookup_env(const struct config *c, const char *name) {
    size_t n = strlen(name);
    for (int i = c->n_env - 1; i >= 0; i--)
        if (!strncmp(c->env[i], name, n) && c->env[i][n] == '=') return c->env[i] + n + 1;
    return NULL;
}

/* execvpe over the container's PATH, keeping the most telling error (EACCES over
 * ENOENT) as execvp does. */
static int exec_path(const struct config *c) {
    const char *file = c->argv[0];
    if (strchr(file, '/')) {
        execve(file, c->argv, (char **)c->env);
        return errno;
    }
    const char *path = lookup_env(c, "PATH");
    if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int seen_eacces = 0;
    char buf[4096];
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        snprintf(buf, sizeof buf, "%.*s/%s", (int)(end - p), p, file);
        execve(end == p ? file : buf, c->argv, (char **)c->env);
        if (errno == EACCES) seen_eacces = 1;
        if (!*end) break;
        p = end;
    }
    return seen_eacces ? EACCES : ENOENT;
}

static int cmd_exec(struct config *c) {
    if (c->pid <= 0) die("exec needs --pid");
    static const struct {
        const char *name;
        int type;
    } kinds[] = {{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
                 {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
    int fds[5];
    char path[64];
    /* open them all first: after joining the mount namespace /proc is the container's */
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)c->pid, kinds[i].name);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) die("open %s: %s", path, strerror(errno));
    }
    if (c->cgroup) enter_cgroup(c->cgroup, 0);
    for (int i = 0; i < c->n_joins; i++) write_file(c->joins[i], "cgroup.procs", "0");
    for (int i = 0; i < 5; i++) {
        if (setns(fds[i], kinds[i].type) < 0)
            die("join %s namespace: %s", kinds[i].name, strerror(errno));
        close(fds[i]);
    }
    int slave = c->have_tty ? open_console(c) : -1;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(report[0]);
        if (slave >= 0) take_terminal(c, slave);
        reset_process();
        if (chdir(c->cwd ? c->cwd : "/") < 0) die("chdir %s: %s", c->cwd, strerror(errno));
        if (c->have_caps) drop_bounding(c->caps);
        set_user(c);
        if (c->have_caps && c->uid == 0) set_caps(c->caps);
        int e = exec_path(c);
        if (write(report[1], &e, sizeof e) < 0) _exit(125);
        _exit(e == ENOENT ? 127 : 126);
    }
    close(report[1]);
    if (slave >= 0) close(slave);
    /* the caller's signals go to the command, as with runc exec */
    int e = 0;
    ssize_t got;
    do {
        got = read(report[0], &e, sizeof e);
    } while (got < 0 && errno == EINTR);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == (ssize_t)sizeof e) {
        char why[256];
        exec_error(e, why, sizeof why);
        dprintf(2, "exec: \"%s\": %s\n", c->argv[0], why);
        return e == ENOENT ? 127 : 126;
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* ---------------------------------------------------------------- template */

static int cmd_template(const char *dir) {
    if (unshare(CLONE_NEWNS) < 0) die("unshare: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make mounts private: %s", strerror(errno));
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=16k") < 0)
        die("mount tmpfs on %s: %s", dir, strerror(errno));
    if (chdir(dir) < 0) die("chdir %s: %s", dir, strerror(errno));
    if (mkdir("root", 0700) < 0 || mkdir("proc", 0555) < 0) die("mkdir: %s", strerror(errno));
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc: %s", strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) die("detach the old root: %s", strerror(errno));
    if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
    printf("ready\n");
    fflush(stdout);
    char b;
    while (read(0, &b, 1) > 0) {
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: dyrun run|exec|template [directives] -- ARGV...");
    if (!strcmp(argv[1], "template")) {
        if (argc != 3) die("usage: dyrun template DIR");
        return cmd_template(argv[2]);
    }
    struct config *c = calloc(1, sizeof *c);
    if (!c) die("out of memory");
    parse(argc, argv, c);
    if (!strcmp(argv[1], "run")) return cmd_run(c);
    if (!strcmp(argv[1], "exec")) return cmd_exec(c);
    die("unknown mode %s", argv[1]);
    return 125;
}
