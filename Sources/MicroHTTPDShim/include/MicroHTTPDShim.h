#ifndef MICROHTTPD_SHIM_H
#define MICROHTTPD_SHIM_H
/* The only code that touches libmicrohttpd: the listening socket and the thread that accepts
 * on it, one daemon per worker thread (its variadic start call, its callbacks), the
 * body-accumulation protocol, and the limits that keep a client from holding the server: the
 * connection limits, the request deadline, framing checks and the drain. Behind plain C
 * functions; it knows nothing of models or JSON. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One complete request, valid during the handler call only. */
typedef struct shim_request {
    const char *method;
    const char *url;
    const char *content_type;   /* NULL when absent */
    const char *authorization;  /* NULL when absent; may hold NUL bytes: use authorization_length */
    size_t authorization_length;
    const char *inference_header_length; /* the Inference-Header-Content-Length header, NULL when absent */
    const uint8_t *body;        /* never NULL; body[body_length] is a NUL */
    size_t body_length;
    unsigned worker;            /* 0 ..< threads: the thread answering; one request at a time each */
    void *opaque;               /* for shim_respond */
} shim_request;

/* Called on an MHD worker thread for every complete request; must call shim_respond once. */
typedef void (*shim_handler)(void *context, const shim_request *request);

/* Called with what an operator should know (limits reached, at most once a second per kind),
 * from the shim's own threads. level: 0 info, 1 warning. */
typedef void (*shim_logger)(void *context, int level, const char *message);

typedef struct shim_config {
    const char *host;              /* IPv4 or IPv6 literal */
    uint16_t port;                 /* 0: any free port */
    unsigned threads;              /* worker threads (one libmicrohttpd daemon each), >= 1 */
    size_t max_body_bytes;         /* larger bodies get 413 without being buffered */
    unsigned connection_timeout;   /* seconds of inactivity before a connection is closed, 0 = none */
    unsigned request_timeout;      /* seconds from a connection's opening (or its previous response)
                                      to a complete request, headers and body; 0 = none */
    unsigned connection_limit;     /* open connections at most, >= threads; a connection over it
                                      is closed as soon as it is accepted */
    unsigned per_ip_connection_limit; /* open connections from one address at most, 0 = no limit */
    shim_logger logger;            /* may be NULL */
    void *logger_context;
} shim_config;

/* Counters since start (connections_open and requests_in_flight: now). */
typedef struct shim_stats {
    uint64_t connections_open;
    uint64_t requests_in_flight;        /* headers read, response not yet sent */
    uint64_t refused_connection_limit;  /* closed at accept: every thread at its share */
    uint64_t refused_per_ip_limit;      /* closed at accept: that address at its limit */
    uint64_t request_timeouts;          /* 408: a request not complete within request_timeout */
    uint64_t bad_framing;               /* 400: conflicting Content-Length / Transfer-Encoding */
    uint64_t too_many_parameters;       /* 414: a query string with too many parameters */
} shim_stats;

typedef struct shim_server shim_server;

/* Starts the daemon; NULL on failure with a message in error. */
shim_server *shim_start(const shim_config *config, shim_handler handler, void *context,
                        char *error, size_t error_size);
/* The bound port (useful with port 0). */
uint16_t shim_port(const shim_server *server);
/* Queues the response for a request (the body is copied). extra_header_name may be NULL. */
int shim_respond(const shim_request *request, unsigned status, const char *content_type,
                 const void *body, size_t length, const char *extra_header_name,
                 const char *extra_header_value);
/* Begins the drain: closes the listening socket; from now on every response says
 * `Connection: close` and its connection closes after it; requests already sent are answered;
 * a connection that sends nothing more is closed after a short grace. Idempotent. */
void shim_drain(shim_server *server);
/* Connections open now (0 once a drain has finished). */
long shim_connections(const shim_server *server);
/* Waits until no connection is open, or `milliseconds` have passed; returns the connections
 * still open. For the drain: it returns as soon as the last one closes. */
long shim_await_drain(shim_server *server, unsigned milliseconds);
void shim_get_stats(const shim_server *server, shim_stats *stats);
/* Stops the daemons (closing every connection) and frees the server. */
void shim_stop(shim_server *server);

#ifdef __cplusplus
}
#endif
#endif
