/*
 * dyinit: PID 1 of every Dockyard container.
 *
 * Why it exists: Dockyard keeps no helper process per container outside it, yet a
 * container's exit must be recorded and its output logged even while the manager is
 * down. So the one process that must live as long as the container does both jobs
 * from inside it:
 *
 *   - runs the command as its child, with stdout/stderr on pipes, and writes each line
 *     to the log (fd 3) as Docker's json-file does: {"log":..,"stream":..,"time":..};
 *   - reports to the manager on fd 5 whether the command could be executed
 *     ("ok <pid>" or "error <exit code> <message>"), then closes it;
 *   - forwards signals to the command, reaps orphans (it is PID 1),
 *   - and when the command ends writes "exit <code>" to the status file (fd 4) and
 *     exits with the same code (128+signal for a signalled command).
 *
 * Statically linked, so it runs in any image; the manager bind-mounts it read-only.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_FD 3
#define STATUS_FD 4
#define REPORT_FD 5
#define LINE_MAX_BYTES 16384 /* Docker splits longer lines into 16 KiB records */

static volatile sig_atomic_t child_pid = 0;

struct stream {
    int fd;
    const char *name;
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static void write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void emit(struct stream *s, const char *data, size_t len) {
    /* worst case every byte becomes \u00XX: 6 bytes */
    static char out[LINE_MAX_BYTES * 6 + 128];
    struct timespec ts;
    struct tm tm;
    size_t o = 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    o += (size_t)snprintf(out, sizeof out, "{\"log\":\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    o += (size_t)snprintf(out + o, sizeof out - o,
                          "\",\"stream\":\"%s\",\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\"}\n",
                          s->name, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                          tm.tm_min, tm.tm_sec, ts.tv_nsec);
    write_all(LOG_FD, out, o);
}

/* Read what is there; emit complete lines, and a full buffer as a partial record. */
static int drain(struct stream *s) {
    for (;;) {
        ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : -1;
        }
        if (n == 0) {
            if (s->len) emit(s, s->buf, s->len);
            s->len = 0;
            return -1;
        }
        s->len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < s->len; i++) {
            if (s->buf[i] == '\n') {
                emit(s, s->buf + start, i + 1 - start);
                start = i + 1;
            }
        }
        if (start == 0 && s->len == sizeof s->buf) {
            emit(s, s->buf, s->len);
            s->len = 0;
        } else if (start) {
            memmove(s->buf, s->buf + start, s->len - start);
            s->len -= start;
        }
    }
}

static void forward(int sig) {
    if (child_pid > 0) kill(child_pid, sig);
}

static void on_child(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc < 2) {
        dprintf(2, "dyinit: no command\n");
        return 125;
    }
    int out[2], err[2], exec_report[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(exec_report, O_CLOEXEC)) {
        dprintf(REPORT_FD, "error 125 pipe: %s\n", strerror(errno));
        return 125;
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid < 0) {
        dprintf(REPORT_FD, "error 125 fork: %s\n", strerror(errno));
        return 125;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(LOG_FD);
        close(STATUS_FD);
        close(REPORT_FD);
        execvp(argv[1], argv + 1);
        int e = errno;
        write_all(exec_report[1], (const char *)&e, sizeof e);
        _exit(e == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    close(out[1]);
    close(err[1]);
    close(exec_report[1]);
    int exec_errno = 0;
    ssize_t got;
    do {
        got = read(exec_report[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    close(exec_report[0]);
    if (got == (ssize_t)sizeof exec_errno) {
        int code = exec_errno == ENOENT ? 127 : 126;
        char why[128] = "executable file not found in $PATH";
        if (exec_errno != ENOENT) {
            /* Go's lower-case error text, as Docker prints it */
            snprintf(why, sizeof why, "%s", strerror(exec_errno));
            why[0] = (char)tolower((unsigned char)why[0]);
        }
        dprintf(REPORT_FD, "error %d exec: \"%s\": %s\n", code, argv[1], why);
        close(REPORT_FD);
        waitpid(pid, NULL, 0);
        dprintf(STATUS_FD, "exit %d\n", code);
        return code;
    }
    dprintf(REPORT_FD, "ok %d\n", (int)pid);
    close(REPORT_FD);

    struct sigaction fwd = {0}, chld = {0};
    fwd.sa_handler = forward;
    chld.sa_handler = on_child;
    for (int sig = 1; sig < 32; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
        sigaction(sig, &fwd, NULL);
    }
    sigaction(SIGCHLD, &chld, NULL);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    struct stream streams[2] = {{.fd = out[0], .name = "stdout"}, {.fd = err[0], .name = "stderr"}};
    int open_streams = 2, status = 0, done = 0;
    sigset_t none;
    sigemptyset(&none);
    while (!done) {
        struct pollfd fds[2];
        for (int i = 0; i < 2; i++) {
            fds[i].fd = streams[i].fd;
            fds[i].events = POLLIN;
        }
        /* Signals are delivered only inside ppoll, so a SIGCHLD is never missed. */
        int r = open_streams ? ppoll(fds, 2, NULL, &none) : ppoll(NULL, 0, NULL, &none);
        if (r > 0) {
            for (int i = 0; i < 2; i++) {
                if (streams[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                    if (drain(&streams[i]) < 0) {
                        close(streams[i].fd);
                        streams[i].fd = -1;
                        open_streams--;
                    }
                }
            }
        }
        pid_t reaped;
        int st;
        while ((reaped = waitpid(-1, &st, WNOHANG)) > 0) {
            if (reaped == pid) {
                status = st;
                done = 1;
            }
        }
    }
    /* The command is gone: log what it (or its descendants) left in the pipes. */
    for (int i = 0; i < 2; i++) {
        if (streams[i].fd >= 0) {
            drain(&streams[i]);
            if (streams[i].len) emit(&streams[i], streams[i].buf, streams[i].len);
        }
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    dprintf(STATUS_FD, "exit %d\n", code);
    return code;
}
