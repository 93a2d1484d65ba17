#ifndef MICROHTTPD_SHIM_H
#define MICROHTTPD_SHIM_H
/* The only code that touches libmicrohttpd: the listening socket and the thread that accepts
 * on it, one daemon per worker thread (its variadic start call, its callbacks), the
 * body-accumulation protocol, behind plain C functions. It knows nothing of models or JSON. */
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
    const char *authorization;  /* NULL when absent */
    const uint8_t *body;        /* never NULL; body[body_length] is a NUL */
    size_t body_length;
    unsigned worker;            /* 0 ..< threads: the thread answering; one request at a time each */
    void *opaque;               /* for shim_respond */
} shim_request;

/* Called on an MHD worker thread for every complete request; must call shim_respond once. */
typedef void (*shim_handler)(void *context, const shim_request *request);

typedef struct shim_config {
    const char *host;            /* IPv4 or IPv6 literal */
    uint16_t port;               /* 0: any free port */
    unsigned threads;            /* worker threads (one libmicrohttpd daemon each), >= 1 */
    size_t max_body_bytes;       /* larger bodies get 413 without being buffered */
    unsigned connection_timeout; /* seconds of inactivity before a connection is closed, 0 = none */
    unsigned connection_limit;   /* 0 = libmicrohttpd's default */
} shim_config;

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
/* Stops accepting new connections (closes the listening socket); connections already accepted
 * and their requests go on. */
void shim_quiesce(shim_server *server);
/* Requests between their first byte and their completion. */
long shim_in_flight(const shim_server *server);
/* Stops the daemon (closing every connection) and frees the server. */
void shim_stop(shim_server *server);

#ifdef __cplusplus
}
#endif
#endif
