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
 * Standard input (``DYINIT_STDIO`` in the environment, removed before the command runs;
 * absent: stdin stays /dev/null and nothing below happens):
 *   - "stdin": fd 6 is the read end of a pipe the manager writes; it becomes the
 *     command's stdin (``docker run -i``).
 *   - "tty ROWS COLS": the command gets a terminal of the container's own devpts (so
 *     ``tty`` says /dev/pts/0) as its controlling terminal and stdin/stdout/stderr. The
 *     master goes to the manager over the unix socket at fd 6 (SCM_RIGHTS), which reads
 *     it and writes the log; a copy stays here at fd 6 so that the terminal outlives a
 *     restart of the manager (a new one takes it with pidfd_getfd).
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "jsonlog.h"
#include "sendfd.h"

#define LOG_FD 3
#define STATUS_FD 4
#define REPORT_FD 5
#define STDIO_FD 6

static volatile sig_atomic_t child_pid = 0;

/* In .bss, apart from the streams: a page of it becomes resident only when a line
 * arrives, so an idle container's init holds none of it. */
static char stream_buffers[2][LINE_MAX_BYTES];

/* A terminal of the container's devpts: the master to the manager (and kept at
 * STDIO_FD), the slave returned for the command. -1 with errno set on failure. */
static int open_console(const char *size) {
    unsigned rows = 0, cols = 0;
    sscanf(size, "%u %u", &rows, &cols);
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    int unlock = 0, slave = -1;
    if (ioctl(master, TIOCSPTLCK, &unlock) == 0)
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0 && rows && cols) {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        ioctl(master, TIOCSWINSZ, &ws);
    }
    if (slave < 0 || send_fd(STDIO_FD, master) < 0 || dup3(master, STDIO_FD, O_CLOEXEC) < 0) {
        int e = errno;
        close(master);
        if (slave >= 0) close(slave);
        errno = e;
        return -1;
    }
    close(master);
    return slave;
}

/* In the command's process: the terminal as controlling tty and stdio. */
static void use_console(int slave) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
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
    const char *stdio = getenv("DYINIT_STDIO");
    int console = -1, stdin_pipe = 0;
    if (stdio && !strncmp(stdio, "tty", 3)) {
        console = open_console(stdio + 3);
        if (console < 0) {
            dprintf(REPORT_FD, "error 125 open a terminal: %s\n", strerror(errno));
            return 125;
        }
    } else if (stdio && !strcmp(stdio, "stdin")) {
        stdin_pipe = 1;
    }
    unsetenv("DYINIT_STDIO");
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
        if (console >= 0) {
            use_console(console); /* stdout/stderr too: the pipes above stay unused */
        } else if (stdin_pipe) {
            dup2(STDIO_FD, 0);
            close(STDIO_FD);
        }
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
    if (console >= 0) close(console);
    if (stdin_pipe) close(STDIO_FD);
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
    struct stream streams[2] = {
        {.fd = out[0], .log = LOG_FD, .name = "stdout", .buf = stream_buffers[0]},
        {.fd = err[0], .log = LOG_FD, .name = "stderr", .buf = stream_buffers[1]}};
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
