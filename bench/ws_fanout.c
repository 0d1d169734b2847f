/*
 * Fan-out latency client for bench/websocket.sh (a bench tool, not part of Atlas; the script compiles it with cc).
 *
 * Opens SESSIONS WebSocket sessions to atlas-httpbench's /ws on 127.0.0.1:PORT (RFC 6455 handshake, masked client
 * frames), then for each round: sends the trigger text (MODE) on session 0, and reads every session's next message
 * with epoll. The server stamps CLOCK_MONOTONIC (ns) into the message before it queues the first send; this client
 * takes CLOCK_MONOTONIC right after the read that completes each session's frame, so
 *     latency = receipt - stamp      (same host, same clock)
 * covers the server's per-session work, its socket writes and this client's reads, and nothing of the trigger's way
 * in. Printed per run: p50/p90/p99/max over every session of the measured rounds (WARMUP rounds first, not counted),
 * the median time from the trigger's send to the stamp (server pick-up), and the median and worst round (stamp to the
 * last session's receipt).
 *
 * Usage: ws_fanout PORT SESSIONS ROUNDS [MODE=broadcast] [WARMUP=2] [GAP_MS=50]
 *   MODE is the trigger text (Apps/atlas-httpbench): "broadcast" (one shared frame), "broadcast text" (encoded per
 *   session), "broadcast json" (a numbered JSON event per session; the stamp is its "sentAt") or "broadcast tasks"
 *   (that JSON event, each from a task of its own).
 * Exit status 1 when a session fails to open, closes, or a round does not complete within 10 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { INPUT_BYTES_MAX = 8192, EVENTS_MAX = 1024, ROUND_TIMEOUT_MS = 10000 };

typedef struct {
    int fd;
    size_t length;                 /* bytes held in input */
    int64_t received_round;        /* last round this session's message arrived in; -1 before the first */
    unsigned char input[INPUT_BYTES_MAX];
} Session;

static int64_t now_ns(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (int64_t)spec.tv_sec * 1000000000LL + spec.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "ws_fanout: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

/* Writes all of `bytes` (blocking briefly on a full socket; the frames here are tiny). */
static void write_all(int fd, const unsigned char *bytes, size_t count) {
    while (count > 0) {
        ssize_t written = write(fd, bytes, count);
        if (written < 0 && (errno == EAGAIN || errno == EINTR)) { usleep(100); continue; }
        if (written <= 0) die("write");
        bytes += written;
        count -= (size_t)written;
    }
}

/* One masked client frame (RFC 6455 §5.3) with at most 125 payload bytes: FIN, opcode, mask bit, key, payload. */
static void send_masked(int fd, unsigned char opcode, const unsigned char *payload, size_t count) {
    unsigned char frame[2 + 4 + 125];
    if (count > 125) { errno = EINVAL; die("frame too long"); }
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | (unsigned char)count;
    if (getrandom(frame + 2, 4, 0) != 4) die("getrandom");
    for (size_t i = 0; i < count; i++) frame[6 + i] = payload[i] ^ frame[2 + (i & 3)];
    write_all(fd, frame, 6 + count);
}

/* Connects and upgrades; returns the descriptor, non-blocking, with any bytes after the 101 head in `session`. */
static void open_session(int port, Session *session) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    /* The RFC's sample key: the server only checks its form, and a bench needs no secrecy. */
    static const char request[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    write_all(fd, (const unsigned char *)request, sizeof request - 1);
    size_t length = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t count = read(fd, session->input + length, sizeof session->input - 1 - length);
        if (count <= 0) die("handshake read");
        length += (size_t)count;
        session->input[length] = 0;
        end = strstr((char *)session->input, "\r\n\r\n");
        if (end == NULL && length >= sizeof session->input - 1) { errno = EPROTO; die("handshake head too long"); }
    }
    if (strncmp((char *)session->input, "HTTP/1.1 101", 12) != 0) { errno = EPROTO; die("no 101 answer"); }
    size_t head = (size_t)(end + 4 - (char *)session->input);
    memmove(session->input, session->input + head, length - head);
    session->length = length - head;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    session->fd = fd;
    session->received_round = -1;
}

/* The server's stamp: the whole payload ("broadcast", "broadcast text") or the JSON member "sentAt". */
static int64_t parse_stamp(const unsigned char *payload, size_t count) {
    const char *digits = (const char *)payload;
    const char *end = digits + count;
    if (count > 0 && payload[0] == '{') {
        static const char key[] = "\"sentAt\":";
        const char *found = memmem(payload, count, key, sizeof key - 1);
        if (found == NULL) return -1;
        digits = found + sizeof key - 1;
    }
    int64_t value = 0;
    const char *p = digits;
    while (p < end && *p >= '0' && *p <= '9') value = value * 10 + (*p++ - '0');
    return p == digits ? -1 : value;
}

/* Parses complete frames in `session`: a text frame is this round's message (its latency is recorded), a ping is
 * answered, a close ends the run. Returns how many sessions completed this round (0 or 1). */
static int take_frames(Session *session, int64_t round, int64_t received_at, int64_t *latencies, size_t *latency_count,
                       int64_t *stamp_out) {
    int completed = 0;
    size_t offset = 0;
    while (session->length - offset >= 2) {
        const unsigned char *frame = session->input + offset;
        unsigned char opcode = frame[0] & 0x0F;
        size_t header = 2, count = frame[1] & 0x7F;
        if (count == 126) {
            if (session->length - offset < 4) break;
            header = 4;
            count = ((size_t)frame[2] << 8) | frame[3];
        } else if (count == 127) {
            errno = EPROTO;
            die("frame over 64 KiB");
        }
        if (header + count > sizeof session->input) { errno = EPROTO; die("frame over the input buffer"); }
        if (session->length - offset < header + count) break;
        const unsigned char *payload = frame + header;
        if (opcode == 0x1) {
            int64_t stamp = parse_stamp(payload, count);
            if (stamp < 0) { errno = EPROTO; die("message without a stamp"); }
            if (session->received_round == round) { errno = EPROTO; die("two messages in one round"); }
            session->received_round = round;
            latencies[(*latency_count)++] = received_at - stamp;
            *stamp_out = stamp;
            completed = 1;
        } else if (opcode == 0x9) {
            send_masked(session->fd, 0xA, payload, count);
        } else if (opcode == 0x8) {
            errno = ECONNRESET;
            die("the server closed a session");
        }
        offset += header + count;
    }
    memmove(session->input, session->input + offset, session->length - offset);
    session->length -= offset;
    return completed;
}

static int compare(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pick_ms(const int64_t *sorted, size_t count, double quantile) {
    size_t index = (size_t)(quantile * (double)count);
    if (index >= count) index = count - 1;
    return (double)sorted[index] / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: ws_fanout PORT SESSIONS ROUNDS [MODE=broadcast] [WARMUP=2] [GAP_MS=50]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    size_t sessions_count = (size_t)atol(argv[2]);
    int64_t rounds = atol(argv[3]);
    const char *mode = argc > 4 ? argv[4] : "broadcast";
    int64_t warmup = argc > 5 ? atol(argv[5]) : 2;
    int gap_ms = argc > 6 ? atoi(argv[6]) : 50;
    if (sessions_count == 0 || rounds <= 0 || warmup < 0) { fprintf(stderr, "ws_fanout: bad arguments\n"); return 2; }

    Session *sessions = calloc(sessions_count, sizeof *sessions);
    int64_t *latencies = malloc(sizeof *latencies * sessions_count * (size_t)rounds);
    int64_t *round_ns = malloc(sizeof *round_ns * (size_t)rounds);
    int64_t *pickup_ns = malloc(sizeof *pickup_ns * (size_t)rounds);
    if (!sessions || !latencies || !round_ns || !pickup_ns) die("malloc");
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) die("epoll_create1");
    int64_t opened_at = now_ns();
    for (size_t i = 0; i < sessions_count; i++) {
        open_session(port, &sessions[i]);
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = &sessions[i]};
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, sessions[i].fd, &event) != 0) die("epoll_ctl");
    }
    double open_seconds = (double)(now_ns() - opened_at) / 1e9;
    usleep(500 * 1000);  /* every session's handler registers for the broadcast when its task starts */

    struct epoll_event events[EVENTS_MAX];
    size_t latency_count = 0, round_count = 0;
    for (int64_t round = 0; round < warmup + rounds; round++) {
        int measured = round >= warmup;
        size_t latency_start = latency_count;
        size_t done = 0;
        int64_t stamp = 0, last_receipt = 0;
        int64_t triggered_at = now_ns();
        send_masked(sessions[0].fd, 0x1, (const unsigned char *)mode, strlen(mode));
        int64_t deadline = triggered_at + (int64_t)ROUND_TIMEOUT_MS * 1000000;
        while (done < sessions_count) {
            int ready = epoll_wait(epoll, events, EVENTS_MAX, 100);
            if (ready < 0 && errno != EINTR) die("epoll_wait");
            for (int i = 0; i < ready; i++) {
                Session *session = events[i].data.ptr;
                ssize_t count = read(session->fd, session->input + session->length, sizeof session->input - session->length);
                int64_t received_at = now_ns();
                if (count == 0) { errno = ECONNRESET; die("a session ended"); }
                if (count < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    die("read");
                }
                session->length += (size_t)count;
                if (take_frames(session, round, received_at, latencies, &latency_count, &stamp)) {
                    done++;
                    last_receipt = received_at;
                }
            }
            if (now_ns() > deadline) {
                fprintf(stderr, "ws_fanout: round %lld: %zu of %zu sessions received within %d ms\n", (long long)round,
                        done, sessions_count, ROUND_TIMEOUT_MS);
                return 1;
            }
        }
        if (measured) {
            pickup_ns[round_count] = stamp - triggered_at;
            round_ns[round_count] = last_receipt - stamp;
            round_count++;
        } else {
            latency_count = latency_start;
        }
        usleep((useconds_t)gap_ms * 1000);
    }

    qsort(latencies, latency_count, sizeof *latencies, compare);
    qsort(round_ns, round_count, sizeof *round_ns, compare);
    qsort(pickup_ns, round_count, sizeof *pickup_ns, compare);
    printf("client=c mode=\"%s\" fanout_sessions=%zu rounds=%lld warmup=%lld open_seconds=%.2f p50_ms=%.2f p90_ms=%.2f "
           "p99_ms=%.2f max_ms=%.2f round_median_ms=%.2f round_max_ms=%.2f pickup_median_ms=%.2f\n",
           mode, sessions_count, (long long)rounds, (long long)warmup, open_seconds, pick_ms(latencies, latency_count, 0.5),
           pick_ms(latencies, latency_count, 0.9), pick_ms(latencies, latency_count, 0.99),
           (double)latencies[latency_count - 1] / 1e6, pick_ms(round_ns, round_count, 0.5),
           (double)round_ns[round_count - 1] / 1e6, pick_ms(pickup_ns, round_count, 0.5));
    for (size_t i = 0; i < sessions_count; i++) close(sessions[i].fd);
    return 0;
}
