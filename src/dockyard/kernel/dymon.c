/*
 * dymon: the monitor of every container started without an init (Docker's default).
 *
 * Why it exists: such a container's PID 1 is the user's command, as in Docker, so no
 * process inside it can log its output or record its exit. Something outside must, and
 * must go on doing it while the manager is down or restarting. Docker keeps a shim
 * process per container for that; a process per container is what we avoid (each costs
 * ~70 KiB of kernel stack, page tables and memory), so one dymon serves them all.
 *
 *   dymon SOCKET    listen on the unix socket SOCKET (SOCK_SEQPACKET), print "ready"
 *                   on stdout and close it; run until told to quit
 *
 * It is a child subreaper: it starts dyrun itself, so every container's PID 1, whose
 * parent dyrun exits, becomes its child; it reaps them and knows their exit status.
 *
 * Requests, one per connection, NUL-separated fields:
 *   "spawn" ARGV...  with descriptors [log, status, stdin, template mount namespace]:
 *       run ARGV (dyrun run ... --report 3 --mntns 4 -- CMD...) with stdin as fd 0,
 *       pipes as fds 1 and 2 (the command's stdout and stderr), a report pipe as fd 3
 *       and the template as fd 4. Replies dyrun's report: "ok PID", "error CODE MSG"
 *       (the command could not be executed) or "fail MSG" (the container could not be
 *       built). After "ok": every line the command writes goes to the log as a json-file
 *       record; when the command has exited and its output is logged, "exit CODE" is
 *       written to the status file, then sent as the reply's last message.
 *   "spawn-tty" ARGV...  the same for a command with a terminal (dyrun ... --tty 5 R C):
 *       dyrun's fd 5 is a socket over which the terminal's master comes; it goes with
 *       the "ok PID" reply (SCM_RIGHTS), and dymon keeps a copy for the next manager.
 *   "watch" PID    (a restarted manager) reply "watching" (with the terminal's master,
 *                  if it has one), then "exit CODE" once PID's
 *                  container has ended; or "unknown" if dymon has no such container (it
 *                  ended already: its status file says how).
 *   "quit"         exit if no container runs ("bye"), else reply "busy".
 * A closed connection changes nothing for the container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonlog.h"

#define MAX_FDS 4
#define MAX_WATCHERS 4
#define EARLY_EXITS 64
#define REPORT_MAX 1024
#define REQUEST_MAX (256 * 1024) /* dyrun's directives: mounts, environment */

enum kind { LISTENER, SIGNALS, REQUEST, REPORT, OUTPUT, PEER };

/* What an epoll event is about: one per registered descriptor. */
struct handle {
    enum kind kind;
    int fd;
    struct container *c;
    int index; /* OUTPUT: which stream; PEER: which watcher (-1: the spawning one) */
};

struct container {
    struct container *next;
    pid_t dyrun;   /* until reaped */
    pid_t pid;     /* the command, once reported */
    int log, status;
    struct handle report;
    char *report_text; /* REPORT_MAX, until the report is passed on */
    size_t report_len;
    struct handle out[2];
    struct stream streams[2];
    struct handle peer; /* the connection that asked for it (fd -1 once closed) */
    int tty_sock;       /* spawn-tty: where dyrun sends the terminal's master */
    int master;         /* the terminal's master, kept while the command runs */
    struct handle watchers[MAX_WATCHERS];
};

static int epfd;
static struct container *containers;
static struct container *finished; /* freed after the batch of events that ended them */
static struct {
    pid_t pid;
    int status;
} early[EARLY_EXITS]; /* commands reaped before dyrun's report named them */
static int n_early;

static void watch(struct handle *h, int fd, enum kind kind, struct container *c, int index) {
    h->fd = fd;
    h->kind = kind;
    h->c = c;
    h->index = index;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void unwatch(struct handle *h) {
    if (h->fd < 0) return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, h->fd, NULL);
    close(h->fd);
    h->fd = -1;
}

/* TEXT to the connection, with descriptor FD (SCM_RIGHTS) unless it is -1. */
static void reply_fd(int conn, const char *text, int fd) {
    if (conn < 0) return;
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof u.buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    sendmsg(conn, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void reply(struct handle *h, const char *text) { reply_fd(h->fd, text, -1); }

/* The descriptor waiting on unix socket SOCK, or -1. */
static int receive_fd(int sock) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0) return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static void flush_stream(struct stream *s) {
    if (s->buf && s->len) emit(s, s->buf, s->len);
    s->len = 0;
    free(s->buf);
    s->buf = NULL;
}

/* Log what is in the pipe. The line buffer exists only while a line is incomplete,
 * so an idle container costs dymon no buffer. */
static void read_output(struct container *c, int i) {
    struct stream *s = &c->streams[i];
    if (!s->buf && !(s->buf = malloc(LINE_MAX_BYTES))) return;
    int ended = drain(s) < 0;
    if (ended) {
        flush_stream(s);
        unwatch(&c->out[i]);
        s->fd = -1;
    } else if (!s->len) {
        free(s->buf);
        s->buf = NULL;
    }
}

static void forget(struct container *c) {
    for (struct container **p = &containers; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    unwatch(&c->report);
    for (int i = 0; i < 2; i++) {
        unwatch(&c->out[i]);
        flush_stream(&c->streams[i]);
    }
    unwatch(&c->peer);
    for (int i = 0; i < MAX_WATCHERS; i++) unwatch(&c->watchers[i]);
    if (c->log >= 0) close(c->log);
    if (c->status >= 0) close(c->status);
    if (c->tty_sock >= 0) close(c->tty_sock);
    if (c->master >= 0) close(c->master);
    free(c->report_text);
    c->report_text = NULL;
    /* Its handles may still come up in this batch of events (with fd -1: skipped). */
    c->next = finished;
    finished = c;
}

/* The command has exited: every process of its PID namespace is gone with it, so what
 * they wrote is all in the pipes. Log it, record the exit, tell whoever waits. */
static void finish(struct container *c, int wait_status) {
    for (int i = 0; i < 2; i++)
        if (c->out[i].fd >= 0) read_output(c, i);
    int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                      : 128 + WTERMSIG(wait_status);
    char text[32];
    snprintf(text, sizeof text, "exit %d\n", code);
    write_all(c->status, text, strlen(text));
    text[strlen(text) - 1] = 0;
    reply(&c->peer, text);
    for (int i = 0; i < MAX_WATCHERS; i++) reply(&c->watchers[i], text);
    forget(c);
}

/* dyrun's report is complete (it closed the pipe): pass it on. */
static void reported(struct container *c) {
    unwatch(&c->report);
    c->report_text[c->report_len] = 0;
    char *nl = strchr(c->report_text, '\n');
    if (nl) *nl = 0;
    if (!strncmp(c->report_text, "ok ", 3)) {
        c->pid = (pid_t)atoi(c->report_text + 3);
        if (c->tty_sock >= 0) { /* sent before the command's exec, so it is there */
            c->master = receive_fd(c->tty_sock);
            close(c->tty_sock);
            c->tty_sock = -1;
        }
        reply_fd(c->peer.fd, c->report_text, c->master);
        free(c->report_text); /* an idle container keeps only what it needs */
        c->report_text = NULL;
        for (int i = 0; i < n_early; i++) {
            if (early[i].pid == c->pid) {
                int st = early[i].status;
                early[i] = early[--n_early];
                finish(c, st);
                return;
            }
        }
        return;
    }
    reply(&c->peer, c->report_len ? c->report_text : "fail dyrun ended without a report");
    forget(c); /* dyrun collected its child before reporting */
}

static void reap(void) {
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        struct container *found = NULL;
        for (struct container *c = containers; c; c = c->next) {
            if (c->dyrun == pid) {
                c->dyrun = 0;
                found = c;
                break;
            }
            if (c->pid == pid) {
                finish(c, st);
                found = c;
                break;
            }
        }
        if (!found && n_early < EARLY_EXITS) {
            early[n_early].pid = pid;
            early[n_early].status = st;
            n_early++;
        }
    }
}

/* Move fds[i] to descriptor i in a child about to exec (sources first go above the
 * targets, so no dup2 overwrites one still to be moved). */
static void place(const int *fds, int n) {
    int high[8];
    for (int i = 0; i < n; i++) high[i] = fcntl(fds[i], F_DUPFD, 16);
    for (int i = 0; i < n; i++) dup2(high[i], i);
    for (int i = 0; i < n; i++) close(high[i]);
}

static void spawn(int conn, char **argv, const int *fds, int tty) {
    /* fds: log, status, stdin, template */
    struct container *c = calloc(1, sizeof *c);
    char *report_text = calloc(1, REPORT_MAX);
    int out[2] = {-1, -1}, err[2] = {-1, -1}, rep[2] = {-1, -1}, term[2] = {-1, -1};
    int failed = !c || !report_text || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
                 pipe2(rep, O_CLOEXEC);
    if (!failed && tty) failed = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, term) < 0;
    if (failed) {
        char text[128];
        snprintf(text, sizeof text, "fail dymon: %s", strerror(errno));
        send(conn, text, strlen(text), MSG_NOSIGNAL);
        close(conn);
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0) close(out[i]);
            if (err[i] >= 0) close(err[i]);
            if (rep[i] >= 0) close(rep[i]);
            if (term[i] >= 0) close(term[i]);
        }
        for (int i = 0; i < MAX_FDS; i++) close(fds[i]);
        free(report_text);
        free(c);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int child[6] = {fds[2], out[1], err[1], rep[1], fds[3], term[1]};
        place(child, tty ? 6 : 5);
        execv(argv[0], argv);
        dprintf(3, "fail exec %s: %s\n", argv[0], strerror(errno));
        _exit(125);
    }
    close(out[1]);
    close(err[1]);
    close(rep[1]);
    if (tty) close(term[1]);
    close(fds[2]);
    close(fds[3]);
    c->dyrun = pid > 0 ? pid : 0;
    c->log = fds[0];
    c->status = fds[1];
    c->report.fd = c->out[0].fd = c->out[1].fd = c->peer.fd = -1;
    c->tty_sock = term[0];
    c->master = -1;
    c->report_text = report_text;
    for (int i = 0; i < MAX_WATCHERS; i++) c->watchers[i].fd = -1;
    c->next = containers;
    containers = c;
    const char *names[2] = {"stdout", "stderr"};
    int reads[2] = {out[0], err[0]};
    for (int i = 0; i < 2; i++) {
        fcntl(reads[i], F_SETFL, O_NONBLOCK);
        c->streams[i] = (struct stream){.fd = reads[i], .log = c->log, .name = names[i]};
        watch(&c->out[i], reads[i], OUTPUT, c, i);
    }
    watch(&c->peer, conn, PEER, c, -1);
    if (pid < 0) {
        close(rep[0]);
        snprintf(c->report_text, REPORT_MAX, "fail fork: %s", strerror(errno));
        c->report_len = strlen(c->report_text);
        reported(c);
        return;
    }
    watch(&c->report, rep[0], REPORT, c, 0);
}

static void request(struct handle *h) {
    static char buf[REQUEST_MAX + 1];
    char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct iovec iov = {.iov_base = buf, .iov_len = REQUEST_MAX};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    int conn = h->fd;
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL);
    free(h);
    int fds[MAX_FDS], n_fds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            n_fds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            if (n_fds > MAX_FDS) n_fds = MAX_FDS;
            memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)n_fds);
        }
    }
    int argc = 0;
    char **argv = NULL;
    if (n > 0 && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        buf[n] = 0;
        for (ssize_t i = 0; i <= n; i++) argc += !buf[i];
        argv = calloc((size_t)argc + 1, sizeof *argv);
    }
    if (!argv) {
        if (n > 0) send(conn, "fail dymon: request too large", 29, MSG_NOSIGNAL);
        for (int i = 0; i < n_fds; i++) close(fds[i]);
        close(conn);
        return;
    }
    argc = 0;
    for (char *p = buf; p < buf + n; p += strlen(p) + 1) argv[argc++] = p;
    int tty = !strcmp(argv[0], "spawn-tty");
    if ((tty || !strcmp(argv[0], "spawn")) && argc > 1 && n_fds == MAX_FDS) {
        spawn(conn, argv + 1, fds, tty);
        free(argv);
        return;
    }
    for (int i = 0; i < n_fds; i++) close(fds[i]);
    if (!strcmp(argv[0], "watch") && argc == 2) {
        pid_t pid = (pid_t)atoi(argv[1]);
        for (struct container *c = containers; c; c = c->next) {
            if (c->pid != pid || !pid) continue;
            for (int i = 0; i < MAX_WATCHERS; i++) {
                if (c->watchers[i].fd < 0) {
                    reply_fd(conn, "watching", c->master);
                    watch(&c->watchers[i], conn, PEER, c, i);
                    return;
                }
            }
        }
        send(conn, "unknown", 7, MSG_NOSIGNAL);
    } else if (!strcmp(argv[0], "quit")) {
        if (!containers) {
            send(conn, "bye", 3, MSG_NOSIGNAL);
            exit(0);
        }
        send(conn, "busy", 4, MSG_NOSIGNAL);
    } else {
        send(conn, "fail bad request", 16, MSG_NOSIGNAL);
    }
    free(argv);
    close(conn);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        dprintf(2, "usage: dymon SOCKET\n");
        return 2;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    /* Bound by its name in its directory: a socket address holds 107 bytes, a path
     * may be longer (the manager then connects through /proc/self/fd). */
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char *slash = strrchr(argv[1], '/');
    const char *name = slash ? slash + 1 : argv[1];
    if (slash) {
        *slash = 0;
        if (chdir(*argv[1] ? argv[1] : "/") < 0) {
            dprintf(2, "dymon: chdir %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
        *slash = '/';
    }
    if (strlen(name) >= sizeof addr.sun_path) {
        dprintf(2, "dymon: socket name too long: %s\n", name);
        return 2;
    }
    strcpy(addr.sun_path, name);
    int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    unlink(name);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(listener, 64) < 0) {
        dprintf(2, "dymon: listen on %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    static struct handle listen_handle, signal_handle;
    watch(&listen_handle, listener, LISTENER, NULL, 0);
    watch(&signal_handle, sigfd, SIGNALS, NULL, 0);
    write_all(1, "ready\n", 6);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, 1); /* whoever waited for "ready" sees end of file */
    dup2(null, 2);
    close(null);
    for (;;) {
        struct epoll_event events[64];
        int n = epoll_wait(epfd, events, 64, -1);
        for (int i = 0; i < n; i++) {
            struct handle *h = events[i].data.ptr;
            if (h->fd < 0) continue; /* closed earlier in this batch */
            switch (h->kind) {
            case LISTENER: {
                int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                struct handle *r = conn >= 0 ? malloc(sizeof *r) : NULL;
                if (r) watch(r, conn, REQUEST, NULL, 0);
                else if (conn >= 0) close(conn);
                break;
            }
            case SIGNALS: {
                struct signalfd_siginfo info;
                while (read(sigfd, &info, sizeof info) > 0) {
                }
                reap();
                break;
            }
            case REQUEST:
                request(h);
                break;
            case REPORT: {
                struct container *c = h->c;
                size_t room = REPORT_MAX - 1 - c->report_len;
                ssize_t got = read(h->fd, c->report_text + c->report_len, room);
                if (got > 0 && (size_t)got < room) c->report_len += (size_t)got;
                else reported(c);
                break;
            }
            case OUTPUT:
                read_output(h->c, h->index);
                break;
            case PEER: /* the other side closed (or wrote, which no one should) */
                unwatch(h);
                break;
            }
        }
        while (finished) {
            struct container *c = finished;
            finished = c->next;
            free(c);
        }
    }
}
