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
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <microhttpd.h>

struct shim_server;

/* One per daemon: what its callbacks get as their closure. Its own cache line, so the
 * workers' in-flight counts are not written to one shared line on every request. */
struct worker {
    _Alignas(64) struct shim_server *server;
    unsigned index;
    atomic_long in_flight;
};

/* One libmicrohttpd daemon per worker thread, fed by one acceptor thread that hands new
 * connections out in turn. (MHD's own thread pool lets its threads race for each accept, and
 * a burst of connections can all land on one thread, leaving the others idle for the life of
 * those keep-alive connections.) */
struct shim_server {
    struct MHD_Daemon **daemons;
    struct worker *workers;
    unsigned count;
    int listen_fd;
    pthread_t acceptor;
    int acceptor_started;
    atomic_int closing;
    shim_handler handler;
    void *context;
    size_t max_body;
    char too_large_body[96];   /* the 413's JSON, naming the limit; built once at start */
    size_t too_large_length;
    uint16_t port;
};

/* Per-connection state. A connection serves one request at a time, so the body buffer and the
 * answer's buffer are reused by its next request rather than allocated for each one; a buffer
 * that grew past KEEP_BYTES (a big batch) is let go when its request completes. */
struct connection_state {
    uint8_t *body;          /* the request body, with a NUL after it */
    size_t length;
    size_t capacity;
    uint8_t *answer;        /* the response body, handed to MHD without a copy */
    size_t answer_capacity;
    int too_large;
    int responded;
};

enum { KEEP_BYTES = 65536 };

static struct connection_state *state_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? (struct connection_state *)info->socket_context : NULL;
}

/* `body` must stay unchanged until the response is sent: a static string or the connection's
 * answer buffer (untouched until this request completes). */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t length, const char *hname, const char *hvalue) {
    struct MHD_Response *r = MHD_create_response_from_buffer(length, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    if (type != NULL) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (hname != NULL && hvalue != NULL) MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
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
    return queue(c, status, content_type, state->answer, length, extra_header_name, extra_header_value) == MHD_YES ? 0 : -1;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    (void)cls;
    (void)connection;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(struct connection_state));   /* NULL: its requests are refused */
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct connection_state *state = (struct connection_state *)*socket_context;
        if (state != NULL) {
            free(state->body);
            free(state->answer);
            free(state);
        }
        *socket_context = NULL;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    const struct worker *worker = (const struct worker *)cls;
    struct shim_server *server = worker->server;
    struct connection_state *state = (struct connection_state *)*con_cls;
    if (state == NULL) {
        /* First call: headers only. Refuse an announced oversized body before reading it. */
        state = state_of(connection);
        if (state == NULL) return MHD_NO;
        state->length = 0;
        state->too_large = 0;
        state->responded = 0;
        if (state->body != NULL) state->body[0] = 0;
        *con_cls = state;
        atomic_fetch_add_explicit(&((struct worker *)worker)->in_flight, 1, memory_order_relaxed);
        const char *cl = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end = NULL;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && n > server->max_body) {
                state->too_large = 1;
                state->responded = 1;
                return queue(connection, 413, "application/json", server->too_large_body, server->too_large_length, NULL, NULL);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (state->too_large) return MHD_YES;          /* discard the rest */
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
    if (state->too_large)
        return queue(connection, 413, "application/json", server->too_large_body, server->too_large_length, NULL, NULL);
    shim_request request = {
        .method = method,
        .url = url,
        .content_type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .authorization = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
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
    (void)connection;
    (void)toe;
    struct worker *worker = (struct worker *)cls;
    struct connection_state *state = (struct connection_state *)*con_cls;
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
    atomic_fetch_sub_explicit(&worker->in_flight, 1, memory_order_relaxed);
}

/* Accepts connections until the listening socket is shut down, handing them to the daemons
 * in turn. MHD owns (and on failure closes) each socket it is given. */
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
        MHD_add_connection(server->daemons[next], fd, (struct sockaddr *)&addr, length);
        next = (next + 1) % server->count;
    }
    return NULL;
}

static void fail(char *error, size_t error_size, const char *what, const shim_config *config) {
    snprintf(error, error_size, "cannot listen on %s:%u: %s (%s)", config->host, (unsigned)config->port, what, strerror(errno));
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
    struct shim_server *server = calloc(1, sizeof *server);
    unsigned count = config->threads ? config->threads : 1;
    if (server == NULL || (server->daemons = calloc(count, sizeof *server->daemons)) == NULL
        || (server->workers = aligned_alloc(_Alignof(struct worker), count * sizeof *server->workers)) == NULL) {
        if (server != NULL) free(server->daemons);
        free(server);
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    server->handler = handler;
    server->context = context;
    server->max_body = config->max_body_bytes;
    server->too_large_length = (size_t)snprintf(server->too_large_body, sizeof server->too_large_body,
        "{\"error\":\"request body exceeds max_body_bytes (%zu bytes)\"}", server->max_body);
    atomic_init(&server->closing, 0);

    int one = 1;
    server->listen_fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server->listen_fd < 0) { fail(error, error_size, "socket", config); free(server->workers); free(server->daemons); free(server); return NULL; }
    setsockopt(server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (storage.ss_family == AF_INET6) setsockopt(server->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(server->listen_fd, (struct sockaddr *)&storage, length) != 0 || listen(server->listen_fd, SOMAXCONN) != 0) {
        fail(error, error_size, errno == EADDRINUSE ? "address in use" : "bind/listen", config);
        close(server->listen_fd); free(server->workers); free(server->daemons); free(server);
        return NULL;
    }
    length = sizeof storage;
    getsockname(server->listen_fd, (struct sockaddr *)&storage, &length);
    server->port = ntohs(storage.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);

    /* The connection limit is the server's; each daemon takes its share. */
    unsigned share = config->connection_limit ? (config->connection_limit + count - 1) / count : 0;
    for (unsigned i = 0; i < count; i++) {
        server->workers[i].server = server;
        server->workers[i].index = i;
        atomic_init(&server->workers[i].in_flight, 0);
        server->daemons[i] = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET,
            0, NULL, NULL, &on_request, &server->workers[i],
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)config->connection_timeout,
            MHD_OPTION_NOTIFY_COMPLETED, &on_completed, &server->workers[i],
            MHD_OPTION_NOTIFY_CONNECTION, &on_connection, NULL,
            share ? MHD_OPTION_CONNECTION_LIMIT : MHD_OPTION_END, share,
            MHD_OPTION_END);
        if (server->daemons[i] == NULL) {
            snprintf(error, error_size, "cannot start HTTP worker %u of %u", i + 1, count);
            server->count = i;
            shim_stop(server);
            return NULL;
        }
    }
    server->count = count;
    if (pthread_create(&server->acceptor, NULL, accept_loop, server) != 0) {
        snprintf(error, error_size, "cannot start the accepting thread");
        shim_stop(server);
        return NULL;
    }
    server->acceptor_started = 1;
    return server;
}

uint16_t shim_port(const shim_server *server) { return server->port; }

void shim_quiesce(shim_server *server) {
    if (server->listen_fd < 0) return;
    atomic_store(&server->closing, 1);
    shutdown(server->listen_fd, SHUT_RDWR);   /* wakes the blocked accept4 */
    if (server->acceptor_started) pthread_join(server->acceptor, NULL);
    server->acceptor_started = 0;
    close(server->listen_fd);
    server->listen_fd = -1;
}

long shim_in_flight(const shim_server *server) {
    long total = 0;
    for (unsigned i = 0; i < server->count; i++) total += atomic_load(&server->workers[i].in_flight);
    return total;
}

void shim_stop(shim_server *server) {
    if (server == NULL) return;
    shim_quiesce(server);
    for (unsigned i = 0; i < server->count; i++) MHD_stop_daemon(server->daemons[i]);
    free(server->workers);
    free(server->daemons);
    free(server);
}
