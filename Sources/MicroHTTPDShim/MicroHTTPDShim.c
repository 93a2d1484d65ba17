#define _GNU_SOURCE   /* accept4 */
#include "MicroHTTPDShim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

/* Why the shim counts connections itself: libmicrohttpd 0.9.75 (Debian 12's) returns from
 * new_connection_process_ at its connection limit without unlocking cleanup_connection_mutex
 * (fixed upstream in 1.0.0), and MHD checks that limit only on its own accept path. A burst
 * handed in through MHD_add_connection reached the broken path and deadlocked every daemon for
 * good. Here the acceptor hands a daemon a connection only while that daemon is under its share
 * of `connection_limit`, counting exactly (up at hand-over, down in MHD's CLOSED notification),
 * and MHD's own limit is set above the share, so MHD never reaches its limit. The per-address
 * limit is counted here too: MHD's is per daemon, and a daemon refusing would close a socket the
 * acceptor could still have given to another one. One path is not counted back: if MHD cannot
 * allocate a new connection's memory pool, it closes the socket without a CLOSED notification,
 * and that connection's place stays taken (out of memory only). */

enum {
    KEEP_BYTES = 65536,         /* a connection's buffers past this are let go after its request */
    MAX_PARAMETERS = 64,        /* query parameters (MHD 0.9.75 hangs on an out-of-memory parse) */
    TICK_MS = 100,              /* the reaper's period */
    DRAIN_GRACE_MS = 500,       /* how long a drain waits for an idle connection's next request */
    SPARE_DESCRIPTORS = 64,     /* files besides the connections: listener, epoll, pipes, models */
};

/* Where a connection is between requests. The reaper and the daemon thread race for the step
 * to CLOSING (by compare-and-swap), so a connection is answered by one of them, never both. */
enum phase {
    IDLE,        /* waiting for a request line: since the connection opened or its last response */
    RECEIVING,   /* a request line has come; headers and body are coming */
    ANSWERING,   /* the application answers; no deadline */
    CLOSING,     /* the reaper closed it (408, drain or deadline) */
};

struct shim_server;

/* Per-connection state, on its daemon's list from MHD's STARTED notification to CLOSED. A
 * connection serves one request at a time, so the body buffer and the answer's buffer are reused
 * by its next request rather than allocated for each one; a buffer that grew past KEEP_BYTES (a
 * big batch) is let go when its request completes. */
struct connection_state {
    struct connection_state *prev, *next;   /* the worker's list, under its lock */
    struct shim_server *server;
    int fd;
    atomic_int phase;
    atomic_llong since;     /* monotonic ns: when this request's deadline clock started */
    uint8_t *body;          /* the request body, with a NUL after it */
    size_t length;
    size_t capacity;
    uint8_t *answer;        /* the response body, handed to MHD without a copy */
    size_t answer_capacity;
    int too_large;
    int responded;
};

/* One per daemon: what its callbacks get as their closure. Its own cache line. */
struct worker {
    _Alignas(64) struct shim_server *server;
    unsigned index;
    long share;                    /* its part of connection_limit */
    atomic_long connections;       /* handed over and not yet closed */
    atomic_long in_flight;         /* requests from their headers to their completion */
    pthread_mutex_t lock;          /* guards the list */
    struct connection_state *head;
};

/* An address's open connections. count 0: a free slot. */
struct address_slot {
    uint8_t address[16];   /* IPv6, or IPv4 mapped into it */
    uint32_t count;
};

/* One libmicrohttpd daemon per worker thread, fed by one acceptor thread that hands new
 * connections out in turn. (MHD's own thread pool lets its threads race for each accept, and a
 * burst of connections can all land on one thread, leaving the others idle for the life of
 * those keep-alive connections.) A reaper thread enforces the request deadline and the drain. */
struct shim_server {
    struct MHD_Daemon **daemons;
    struct worker *workers;
    unsigned count;
    int listen_fd;
    pthread_t acceptor;
    int acceptor_started;
    pthread_t reaper;
    int reaper_started;
    pthread_mutex_t reaper_lock;   /* with reaper_wake: the reaper's sleep, drain waits */
    pthread_cond_t reaper_wake;
    int stopping;
    atomic_int closing;
    atomic_int draining;
    long long drain_started;
    shim_handler handler;
    void *context;
    shim_logger logger;
    void *logger_context;
    size_t max_body;
    long long request_timeout_ns;
    unsigned request_timeout;
    unsigned connection_limit;
    unsigned per_ip_limit;
    pthread_mutex_t addresses_lock;
    struct address_slot *addresses;   /* open addressing, linear probing; 2 × limit slots or more */
    size_t address_mask;
    atomic_ullong refused_limit, refused_per_ip, timeouts, bad_framing, too_many_parameters;
    char too_large_body[96];   /* the 413's JSON, naming the limit; built once at start */
    size_t too_large_length;
    uint16_t port;
};

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void say(struct shim_server *server, int level, const char *format, ...) {
    if (server->logger == NULL) return;
    char message[256];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    server->logger(server->logger_context, level, message);
}

/* MARK: Connections per address */

static void address_key(const struct sockaddr *a, uint8_t key[16]) {
    memset(key, 0, 16);
    if (a->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)a)->sin_addr, 4);
    } else if (a->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
    }
}

static size_t address_hash(const uint8_t key[16]) {
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (int i = 0; i < 16; i++) h = (h ^ key[i]) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

/* The slot of `key`, or the free slot where it would go. The table is never more than half full. */
static size_t address_find(struct shim_server *s, const uint8_t key[16]) {
    size_t i = address_hash(key) & s->address_mask;
    while (s->addresses[i].count != 0 && memcmp(s->addresses[i].address, key, 16) != 0) i = (i + 1) & s->address_mask;
    return i;
}

/* Counts one more connection from the address; 0 if it is at its limit. */
static int address_acquire(struct shim_server *s, const struct sockaddr *a) {
    if (s->per_ip_limit == 0) return 1;
    uint8_t key[16];
    address_key(a, key);
    pthread_mutex_lock(&s->addresses_lock);
    size_t i = address_find(s, key);
    int ok = s->addresses[i].count < s->per_ip_limit;
    if (ok) {
        memcpy(s->addresses[i].address, key, 16);
        s->addresses[i].count++;
    }
    pthread_mutex_unlock(&s->addresses_lock);
    return ok;
}

static void address_release(struct shim_server *s, const struct sockaddr *a) {
    if (s->per_ip_limit == 0 || a == NULL) return;
    uint8_t key[16];
    address_key(a, key);
    pthread_mutex_lock(&s->addresses_lock);
    size_t i = address_find(s, key);
    if (s->addresses[i].count > 0 && --s->addresses[i].count == 0) {
        /* Backward-shift deletion: move up each later entry of the run that may use slot i. */
        for (size_t j = (i + 1) & s->address_mask; s->addresses[j].count != 0; j = (j + 1) & s->address_mask) {
            size_t home = address_hash(s->addresses[j].address) & s->address_mask;
            if (((j - home) & s->address_mask) >= ((j - i) & s->address_mask)) {
                s->addresses[i] = s->addresses[j];
                s->addresses[j].count = 0;
                i = j;
            }
        }
    }
    pthread_mutex_unlock(&s->addresses_lock);
}

/* MARK: Responses */

static struct connection_state *state_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? (struct connection_state *)info->socket_context : NULL;
}

/* Takes the connection from RECEIVING (or IDLE) to ANSWERING; 0 if the reaper closed it first. */
static int claim(struct connection_state *state) {
    int p = atomic_load(&state->phase);
    while (p == IDLE || p == RECEIVING) {
        if (atomic_compare_exchange_weak(&state->phase, &p, ANSWERING)) return 1;
    }
    return p == ANSWERING;
}

/* `body` must stay unchanged until the response is sent: a static string or the connection's
 * answer buffer (untouched until this request completes). */
static enum MHD_Result queue(struct shim_server *server, struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t length, const char *hname, const char *hvalue, int close) {
    struct MHD_Response *r = MHD_create_response_from_buffer(length, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    if (type != NULL) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (hname != NULL && hvalue != NULL) MHD_add_response_header(r, hname, hvalue);
    if (close || atomic_load_explicit(&server->draining, memory_order_relaxed))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_error(struct shim_server *server, struct MHD_Connection *c, struct connection_state *state,
                                   unsigned status, const char *json) {
    state->responded = 1;
    if (!claim(state)) return MHD_NO;
    return queue(server, c, status, "application/json", json, strlen(json), NULL, NULL, 1);
}

int shim_respond(const shim_request *request, unsigned status, const char *content_type,
                 const void *body, size_t length, const char *extra_header_name,
                 const char *extra_header_value) {
    struct MHD_Connection *c = (struct MHD_Connection *)request->opaque;
    struct connection_state *state = state_of(c);
    if (state == NULL) return -1;
    if (length > state->answer_capacity) {
        size_t cap = length < 4096 ? 4096 : length;
        uint8_t *grown = realloc(state->answer, cap);
        if (grown == NULL) return -1;
        state->answer = grown;
        state->answer_capacity = cap;
    }
    if (length > 0) memcpy(state->answer, body, length);
    return queue(state->server, c, status, content_type, state->answer, length, extra_header_name, extra_header_value, 0) == MHD_YES ? 0 : -1;
}

/* A response written by the shim itself, outside MHD: only while MHD has nothing to send on the
 * connection (no response queued), then the connection is shut down. */
static void send_raw(int fd, unsigned status, const char *reason, const char *json) {
    char buffer[512];
    int n = snprintf(buffer, sizeof buffer,
                     "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     status, reason, strlen(json), json);
    if (n > 0 && (size_t)n < sizeof buffer) (void)send(fd, buffer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* MARK: MHD callbacks */

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    struct worker *worker = (struct worker *)cls;
    struct shim_server *server = worker->server;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct connection_state *state = calloc(1, sizeof *state);   /* NULL: its requests are refused */
        *socket_context = state;
        if (state == NULL) return;
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        state->fd = info != NULL ? info->connect_fd : -1;
        state->server = server;
        atomic_init(&state->phase, IDLE);
        atomic_init(&state->since, now_ns());
        pthread_mutex_lock(&worker->lock);
        state->next = worker->head;
        if (worker->head != NULL) worker->head->prev = state;
        worker->head = state;
        pthread_mutex_unlock(&worker->lock);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct connection_state *state = (struct connection_state *)*socket_context;
        if (state != NULL) {
            pthread_mutex_lock(&worker->lock);   /* after this, the reaper cannot reach its fd */
            if (state->prev != NULL) state->prev->next = state->next; else worker->head = state->next;
            if (state->next != NULL) state->next->prev = state->prev;
            pthread_mutex_unlock(&worker->lock);
            free(state->body);
            free(state->answer);
            free(state);
        }
        *socket_context = NULL;
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        address_release(server, info != NULL ? info->client_addr : NULL);
        atomic_fetch_sub(&worker->connections, 1);
        if (atomic_load(&server->draining)) {
            pthread_mutex_lock(&server->reaper_lock);
            pthread_cond_broadcast(&server->reaper_wake);
            pthread_mutex_unlock(&server->reaper_lock);
        }
    }
}

/* Called by MHD when a request line has been read, before it parses the query: the request's
 * deadline now applies with a 408, and a query with too many parameters is refused here (MHD
 * 0.9.75 ignores running out of memory while parsing them, and the connection hangs). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *connection) {
    struct shim_server *server = ((struct worker *)cls)->server;
    struct connection_state *state = state_of(connection);
    if (state == NULL) return NULL;
    const char *query = strchr(uri, '?');
    unsigned parameters = 0;
    if (query != NULL) {
        parameters = 1;
        for (const char *p = query; *p != 0 && parameters <= MAX_PARAMETERS; p++) parameters += *p == '&' || *p == ';';
    }
    int p = IDLE;
    if (parameters > MAX_PARAMETERS) {
        if (atomic_compare_exchange_strong(&state->phase, &p, CLOSING)) {
            atomic_fetch_add(&server->too_many_parameters, 1);
            send_raw(state->fd, 414, "URI Too Long", "{\"error\":\"the query string has more than 64 parameters\"}");
            shutdown(state->fd, SHUT_RDWR);
        }
    } else {
        atomic_compare_exchange_strong(&state->phase, &p, RECEIVING);
    }
    return NULL;
}

struct framing {
    int lengths;            /* Content-Length headers */
    int lengths_differ;
    const char *length;
    int encodings;          /* Transfer-Encoding headers */
    int chunked_only;       /* every one of them is exactly "chunked" */
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    struct framing *f = (struct framing *)cls;
    if (key == NULL || value == NULL) return MHD_YES;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->lengths > 0 && strcmp(f->length, value) != 0) f->lengths_differ = 1;
        f->length = value;
        f->lengths++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->chunked_only = (f->encodings == 0 || f->chunked_only) && strcasecmp(value, "chunked") == 0;
        f->encodings++;
    }
    return MHD_YES;
}

/* RFC 9112 §6.3: a message whose length is ambiguous is refused and its connection closed, since
 * a server and a proxy in front of it could read different requests from the same bytes. */
static const char *framing_error(struct MHD_Connection *connection, const char **content_length) {
    struct framing f = {0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, framing_header, &f);
    *content_length = f.length;
    if (f.lengths_differ) return "{\"error\":\"conflicting Content-Length headers\"}";
    if (f.lengths > 0 && f.encodings > 0) return "{\"error\":\"both Content-Length and Transfer-Encoding\"}";
    if (f.encodings > 0 && !f.chunked_only) return "{\"error\":\"Transfer-Encoding must be exactly 'chunked'\"}";
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    struct worker *worker = (struct worker *)cls;
    struct shim_server *server = worker->server;
    struct connection_state *state = (struct connection_state *)*con_cls;
    if (state == NULL) {
        /* First call: headers only. Refuse ambiguous framing and an announced oversized body
         * before reading the body. */
        state = state_of(connection);
        if (state == NULL) return MHD_NO;
        state->length = 0;
        state->too_large = 0;
        state->responded = 0;
        if (state->body != NULL) state->body[0] = 0;
        *con_cls = state;
        atomic_fetch_add_explicit(&worker->in_flight, 1, memory_order_relaxed);
        const char *cl = NULL;
        const char *bad = framing_error(connection, &cl);
        if (bad != NULL) {
            atomic_fetch_add(&server->bad_framing, 1);
            return queue_error(server, connection, state, 400, bad);
        }
        if (cl != NULL) {
            char *end = NULL;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && n > server->max_body) {
                state->too_large = 1;
                state->responded = 1;
                if (!claim(state)) return MHD_NO;
                return queue(server, connection, 413, "application/json", server->too_large_body, server->too_large_length, NULL, NULL, 1);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (state->responded || state->too_large) return MHD_YES;   /* discard the rest */
        if (state->length + n > server->max_body) {     /* chunked or lying Content-Length */
            state->too_large = 1;
            state->length = 0;
            return MHD_YES;
        }
        if (state->length + n + 1 > state->capacity) {   /* + 1: the NUL after the body */
            size_t cap = state->capacity ? state->capacity : 4096;
            while (cap < state->length + n + 1) cap *= 2;
            if (cap > server->max_body + 1) cap = server->max_body + 1;
            uint8_t *grown = realloc(state->body, cap);
            if (grown == NULL) return MHD_NO;
            state->body = grown;
            state->capacity = cap;
        }
        memcpy(state->body + state->length, upload_data, n);
        state->length += n;
        state->body[state->length] = 0;
        return MHD_YES;
    }
    if (state->responded) return MHD_YES;
    state->responded = 1;
    if (!claim(state)) return MHD_NO;   /* the reaper answered 408 first */
    if (state->too_large)
        return queue(server, connection, 413, "application/json", server->too_large_body, server->too_large_length, NULL, NULL, 1);
    const char *authorization = NULL;
    size_t authorization_length = 0;
    if (MHD_lookup_connection_value_n(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
                                      strlen(MHD_HTTP_HEADER_AUTHORIZATION), &authorization, &authorization_length) != MHD_YES) {
        authorization = NULL;
        authorization_length = 0;
    }
    shim_request request = {
        .method = method,
        .url = url,
        .content_type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .authorization = authorization,
        .authorization_length = authorization_length,
        .inference_header_length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Inference-Header-Content-Length"),
        .body = state->body != NULL ? state->body : (const uint8_t *)"",
        .body_length = state->length,
        .worker = worker->index,
        .opaque = connection,
    };
    server->handler(server->context, &request);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)toe;
    struct connection_state *state = (struct connection_state *)*con_cls;
    if (state != NULL) atomic_fetch_sub_explicit(&((struct worker *)cls)->in_flight, 1, memory_order_relaxed);
    else state = state_of(connection);   /* a request MHD refused before our handler */
    if (state == NULL) return;
    if (state->capacity > KEEP_BYTES) {
        free(state->body);
        state->body = NULL;
        state->capacity = 0;
    }
    if (state->answer_capacity > KEEP_BYTES) {
        free(state->answer);
        state->answer = NULL;
        state->answer_capacity = 0;
    }
    *con_cls = NULL;
    /* The next request's clock starts now. */
    atomic_store_explicit(&state->since, now_ns(), memory_order_relaxed);
    int p = atomic_load(&state->phase);
    while (p != CLOSING && !atomic_compare_exchange_weak(&state->phase, &p, IDLE)) {}
}

/* MARK: Threads */

/* Accepts connections until the listening socket is shut down, handing each to the next daemon
 * with room. MHD owns (and on failure closes) each socket it is given. */
static void *accept_loop(void *arg) {
    struct shim_server *server = (struct shim_server *)arg;
    unsigned next = 0;
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t length = sizeof addr;
        int fd = accept4(server->listen_fd, (struct sockaddr *)&addr, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&server->closing)) break;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) usleep(10000);   /* out of descriptors: back off */
            continue;                                                                                 /* EINTR, ECONNABORTED, … */
        }
        if (!address_acquire(server, (struct sockaddr *)&addr)) {
            close(fd);
            atomic_fetch_add(&server->refused_per_ip, 1);
            continue;
        }
        struct worker *w = NULL;
        for (unsigned k = 0; k < server->count && w == NULL; k++) {
            struct worker *candidate = &server->workers[(next + k) % server->count];
            if (atomic_load(&candidate->connections) < candidate->share) w = candidate;   /* only this thread adds */
        }
        if (w == NULL) {
            address_release(server, (struct sockaddr *)&addr);
            close(fd);
            atomic_fetch_add(&server->refused_limit, 1);
            continue;
        }
        atomic_fetch_add(&w->connections, 1);
        if (MHD_add_connection(server->daemons[w->index], fd, (struct sockaddr *)&addr, length) != MHD_YES) {
            atomic_fetch_sub(&w->connections, 1);   /* MHD closed the socket */
            address_release(server, (struct sockaddr *)&addr);
        }
        next = (w->index + 1) % server->count;
    }
    return NULL;
}

/* Whether a connection waiting for its next request may be closed by the drain: the grace has
 * passed and nothing it sent is waiting in the kernel. */
static int idle_for_drain(const struct connection_state *s) {
    char byte;
    ssize_t n = recv(s->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n <= 0;
}

/* What the log has told of the limits so far. */
struct reported {
    unsigned long long limit, per_ip, timeouts;
};

/* Logs what the limits refused since the last report; 1 if there was anything. */
static int report(struct shim_server *server, struct reported *logged) {
    struct reported now = {atomic_load(&server->refused_limit), atomic_load(&server->refused_per_ip), atomic_load(&server->timeouts)};
    if (now.limit > logged->limit)
        say(server, 1, "connection limit (%u) reached: closed %llu new connections", server->connection_limit, now.limit - logged->limit);
    if (now.per_ip > logged->per_ip)
        say(server, 1, "per-address connection limit (%u) reached: closed %llu new connections", server->per_ip_limit, now.per_ip - logged->per_ip);
    if (now.timeouts > logged->timeouts)
        say(server, 1, "request deadline (%u s) passed: answered 408 and closed %llu connections", server->request_timeout, now.timeouts - logged->timeouts);
    int any = now.limit > logged->limit || now.per_ip > logged->per_ip || now.timeouts > logged->timeouts;
    *logged = now;
    return any;
}

/* Every TICK_MS: 408 and close requests past their deadline, close idle connections once a
 * drain's grace is over, and log what the limits refused since the last time (at most once a
 * second). */
static void *reap_loop(void *arg) {
    struct shim_server *server = (struct shim_server *)arg;
    struct reported logged = {0};
    long long last_log = 0;
    char reply[128];
    snprintf(reply, sizeof reply, "{\"error\":\"request not complete within request_timeout_seconds (%u s)\"}", server->request_timeout);
    pthread_mutex_lock(&server->reaper_lock);
    while (!server->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&server->reaper_wake, &server->reaper_lock, &until);
        if (server->stopping) break;
        pthread_mutex_unlock(&server->reaper_lock);

        long long now = now_ns();
        int draining = atomic_load(&server->draining);
        long long drain_after = server->drain_started + DRAIN_GRACE_MS * 1000000LL;
        for (unsigned i = 0; i < server->count; i++) {
            struct worker *w = &server->workers[i];
            pthread_mutex_lock(&w->lock);
            for (struct connection_state *s = w->head; s != NULL; s = s->next) {
                int p = atomic_load(&s->phase);
                if (p != IDLE && p != RECEIVING) continue;
                int expired = server->request_timeout_ns > 0 && now - atomic_load(&s->since) > server->request_timeout_ns;
                int drained = draining && p == IDLE && now > drain_after && idle_for_drain(s);
                if (!(expired || drained) || !atomic_compare_exchange_strong(&s->phase, &p, CLOSING)) continue;
                if (p == RECEIVING) {
                    atomic_fetch_add(&server->timeouts, 1);
                    send_raw(s->fd, 408, "Request Timeout", reply);
                }
                shutdown(s->fd, SHUT_RDWR);   /* MHD reads the end and closes it on its own thread */
            }
            pthread_mutex_unlock(&w->lock);
        }

        if (now - last_log >= 1000000000LL && report(server, &logged)) last_log = now;
        pthread_mutex_lock(&server->reaper_lock);
    }
    pthread_mutex_unlock(&server->reaper_lock);
    report(server, &logged);   /* what the last tick had not reported yet */
    return NULL;
}

/* MARK: Start and stop */

static void fail(char *error, size_t error_size, const char *what, const shim_config *config) {
    snprintf(error, error_size, "cannot listen on %s:%u: %s (%s)", config->host, (unsigned)config->port, what, strerror(errno));
}

/* Raises the soft limit on open files as far as the connections need; 0 and a message if the
 * hard limit is too low. */
static int ensure_descriptors(unsigned connections, char *error, size_t error_size) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1;
    rlim_t need = (rlim_t)connections + SPARE_DESCRIPTORS;
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < need) {
        rlim_t raised = (r.rlim_max == RLIM_INFINITY || r.rlim_max >= need) ? need : r.rlim_max;
        struct rlimit want = {raised, r.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) r.rlim_cur = raised;
    }
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < need) {
        snprintf(error, error_size, "connection_limit %u needs %llu open files, but this process may open only %llu "
                 "(ulimit -n); lower connection_limit or raise the limit", connections, (unsigned long long)need,
                 (unsigned long long)r.rlim_cur);
        return 0;
    }
    return 1;
}

shim_server *shim_start(const shim_config *config, shim_handler handler, void *context,
                        char *error, size_t error_size) {
    struct sockaddr_storage storage;
    socklen_t length;
    memset(&storage, 0, sizeof storage);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, config->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(config->port);
        length = sizeof *v4;
    } else if (inet_pton(AF_INET6, config->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(config->port);
        length = sizeof *v6;
    } else {
        snprintf(error, error_size, "host '%s' is not an IPv4 or IPv6 address", config->host);
        return NULL;
    }
    unsigned count = config->threads ? config->threads : 1;
    if (config->connection_limit < count) {
        snprintf(error, error_size, "connection_limit (%u) must be at least the number of threads (%u)", config->connection_limit, count);
        return NULL;
    }
    if (!ensure_descriptors(config->connection_limit, error, error_size)) return NULL;
    size_t slots = 16;
    while (slots < 2 * (size_t)config->connection_limit) slots *= 2;
    struct shim_server *server = calloc(1, sizeof *server);
    if (server == NULL || (server->daemons = calloc(count, sizeof *server->daemons)) == NULL
        || (server->workers = aligned_alloc(_Alignof(struct worker), count * sizeof *server->workers)) == NULL
        || (config->per_ip_connection_limit > 0 && (server->addresses = calloc(slots, sizeof *server->addresses)) == NULL)) {
        if (server != NULL) { free(server->workers); free(server->daemons); }
        free(server);
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    server->listen_fd = -1;
    server->handler = handler;
    server->context = context;
    server->logger = config->logger;
    server->logger_context = config->logger_context;
    server->max_body = config->max_body_bytes;
    server->request_timeout = config->request_timeout;
    server->request_timeout_ns = (long long)config->request_timeout * 1000000000LL;
    server->connection_limit = config->connection_limit;
    server->per_ip_limit = config->per_ip_connection_limit;
    server->address_mask = slots - 1;
    server->too_large_length = (size_t)snprintf(server->too_large_body, sizeof server->too_large_body,
        "{\"error\":\"request body exceeds max_body_bytes (%zu bytes)\"}", server->max_body);
    pthread_mutex_init(&server->addresses_lock, NULL);
    pthread_mutex_init(&server->reaper_lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&server->reaper_wake, &attributes);
    pthread_condattr_destroy(&attributes);
    for (unsigned i = 0; i < count; i++) {
        struct worker *w = &server->workers[i];
        memset(w, 0, sizeof *w);
        w->server = server;
        w->index = i;
        w->share = (long)(config->connection_limit / count + (i < config->connection_limit % count ? 1 : 0));
        atomic_init(&w->connections, 0);
        atomic_init(&w->in_flight, 0);
        pthread_mutex_init(&w->lock, NULL);
    }

    int one = 1;
    server->listen_fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server->listen_fd < 0) { fail(error, error_size, "socket", config); shim_stop(server); return NULL; }
    setsockopt(server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (storage.ss_family == AF_INET6) setsockopt(server->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(server->listen_fd, (struct sockaddr *)&storage, length) != 0 || listen(server->listen_fd, SOMAXCONN) != 0) {
        fail(error, error_size, errno == EADDRINUSE ? "address in use" : "bind/listen", config);
        shim_stop(server);
        return NULL;
    }
    length = sizeof storage;
    getsockname(server->listen_fd, (struct sockaddr *)&storage, &length);
    server->port = ntohs(storage.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);

    for (unsigned i = 0; i < count; i++) {
        struct worker *w = &server->workers[i];
        /* Above the share, so MHD's own (broken) limit path is never reached. */
        unsigned mhd_limit = (unsigned)w->share * 2 + 16;
        server->daemons[i] = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET,
            0, NULL, NULL, &on_request, w,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)config->connection_timeout,
            MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
            MHD_OPTION_NOTIFY_COMPLETED, &on_completed, w,
            MHD_OPTION_NOTIFY_CONNECTION, &on_connection, w,
            MHD_OPTION_URI_LOG_CALLBACK, &on_request_line, w,
            MHD_OPTION_END);
        if (server->daemons[i] == NULL) {
            snprintf(error, error_size, "cannot start HTTP worker %u of %u", i + 1, count);
            server->count = i;
            shim_stop(server);
            return NULL;
        }
        server->count = i + 1;
    }
    if (pthread_create(&server->reaper, NULL, reap_loop, server) != 0) {
        snprintf(error, error_size, "cannot start the reaper thread");
        shim_stop(server);
        return NULL;
    }
    server->reaper_started = 1;
    if (pthread_create(&server->acceptor, NULL, accept_loop, server) != 0) {
        snprintf(error, error_size, "cannot start the accepting thread");
        shim_stop(server);
        return NULL;
    }
    server->acceptor_started = 1;
    return server;
}

uint16_t shim_port(const shim_server *server) { return server->port; }

static void close_listener(shim_server *server) {
    if (server->listen_fd < 0) return;
    atomic_store(&server->closing, 1);
    shutdown(server->listen_fd, SHUT_RDWR);   /* wakes the blocked accept4 */
    if (server->acceptor_started) pthread_join(server->acceptor, NULL);
    server->acceptor_started = 0;
    close(server->listen_fd);
    server->listen_fd = -1;
}

void shim_drain(shim_server *server) {
    pthread_mutex_lock(&server->reaper_lock);
    if (!atomic_load(&server->draining)) {
        server->drain_started = now_ns();
        atomic_store(&server->draining, 1);
    }
    pthread_mutex_unlock(&server->reaper_lock);
    close_listener(server);
}

long shim_connections(const shim_server *server) {
    long total = 0;
    for (unsigned i = 0; i < server->count; i++) total += atomic_load(&server->workers[i].connections);
    return total;
}

long shim_await_drain(shim_server *server, unsigned milliseconds) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += milliseconds / 1000;
    until.tv_nsec += (long)(milliseconds % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&server->reaper_lock);
    long open;
    while ((open = shim_connections(server)) > 0 && pthread_cond_timedwait(&server->reaper_wake, &server->reaper_lock, &until) != ETIMEDOUT) {}
    pthread_mutex_unlock(&server->reaper_lock);
    return shim_connections(server);
}

void shim_get_stats(const shim_server *server, shim_stats *stats) {
    shim_server *s = (shim_server *)server;
    stats->connections_open = (uint64_t)shim_connections(server);
    stats->requests_in_flight = 0;
    for (unsigned i = 0; i < server->count; i++) stats->requests_in_flight += (uint64_t)atomic_load(&s->workers[i].in_flight);
    stats->refused_connection_limit = atomic_load(&s->refused_limit);
    stats->refused_per_ip_limit = atomic_load(&s->refused_per_ip);
    stats->request_timeouts = atomic_load(&s->timeouts);
    stats->bad_framing = atomic_load(&s->bad_framing);
    stats->too_many_parameters = atomic_load(&s->too_many_parameters);
}

void shim_stop(shim_server *server) {
    if (server == NULL) return;
    close_listener(server);
    if (server->reaper_started) {
        pthread_mutex_lock(&server->reaper_lock);
        server->stopping = 1;
        pthread_cond_broadcast(&server->reaper_wake);
        pthread_mutex_unlock(&server->reaper_lock);
        pthread_join(server->reaper, NULL);
    }
    for (unsigned i = 0; i < server->count; i++) MHD_stop_daemon(server->daemons[i]);
    for (unsigned i = 0; i < server->count; i++) pthread_mutex_destroy(&server->workers[i].lock);
    pthread_cond_destroy(&server->reaper_wake);
    pthread_mutex_destroy(&server->reaper_lock);
    pthread_mutex_destroy(&server->addresses_lock);
    free(server->addresses);
    free(server->workers);
    free(server->daemons);
    free(server);
}
