/*
 * jsonlog.h: a container's output as Docker's json-file log records, one per line:
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-26T05:20:14.123456789Z"}
 * Lines longer than 16 KiB are split into 16 KiB records, as Docker splits them.
 *
 * Shared by dyinit (a container's init that logs its command) and dymon (the monitor
 * that logs every container started without an init). Header-only: each program is
 * one static binary built from one source file.
 */
#ifndef DOCKYARD_JSONLOG_H
#define DOCKYARD_JSONLOG_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384

struct stream {
    int fd;           /* the read end of the pipe the command writes */
    int log;          /* where records go */
    const char *name; /* "stdout" or "stderr" */
    char *buf;        /* LINE_MAX_BYTES: a line not complete yet */
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
    /* worst case every byte becomes \u00XX: 6 bytes. Static, so that a page of it is
     * resident only once output arrives. */
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
    write_all(s->log, out, o);
}

/* Read what is there (the fd is non-blocking); emit complete lines, and a full buffer
 * as a partial record. -1 at end of file (the rest emitted) or on error, else 0. */
static int drain(struct stream *s) {
    for (;;) {
        ssize_t n = read(s->fd, s->buf + s->len, LINE_MAX_BYTES - s->len);
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
        if (start == 0 && s->len == LINE_MAX_BYTES) {
            emit(s, s->buf, s->len);
            s->len = 0;
        } else if (start) {
            memmove(s->buf, s->buf + start, s->len - start);
            s->len -= start;
        }
    }
}

#endif
