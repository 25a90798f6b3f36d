/* The control socket a gateway serves (`[gateway] control`): a unix stream
 * socket where each connection carries one request line and gets one
 * answer, then is closed. The answer is "ok LEN\n" followed by a body
 * (text or JSON) of exactly LEN bytes, so that a client can tell an
 * answer cut short from a whole one, or the one line "error: WHY\n".
 *
 * Requests: "status" [json] [flows], "primary ADDR", "reload". */
#ifndef SCTPGW_CONTROL_H
#define SCTPGW_CONTROL_H

#include <stddef.h>

struct gateway;
typedef struct control control_t;

#define CONTROL_REQ_MAX     256 /* bytes of one request line, newline included */
#define CONTROL_CLIENTS_MAX 16  /* clients served at once; past it the oldest silent one goes */

/* Serves `path` (mode 0660, its folder made if missing, a stale socket of
 * a gateway that died replaced). Returns 0 or -errno with the reason in err. */
int control_start(struct gateway *gw, const char *path, control_t **out, char *err, size_t len);

/* Stops serving: the listener and every client close, the socket file is
 * removed. The memory goes once the handles have closed. NULL is a no-op. */
void control_close(control_t *c);

/* control_close at the next turn of the loop: a reload that a client of
 * this socket asked for (and that moves the socket) answers it first. */
void control_close_later(control_t *c);

/* Exit statuses of the client commands (sctpgw status, primary and reload). */
enum {
    CTL_EXIT_OK = 0,          /* done */
    CTL_EXIT_REFUSED = 1,     /* the gateway answered with an error */
    CTL_EXIT_USAGE = 2,       /* bad command line or configuration */
    CTL_EXIT_UNREACHABLE = 3, /* no socket, no permission, nothing behind it, or cut short */
    CTL_EXIT_OUTPUT = 4,      /* the answer could not be written to stdout */
};

/* Client side: the control socket to ask when none is named: the only
 * socket in `dir` a gateway listens on (each names its own after its name
 * key), else a stale one (the request then says nothing answers), else
 * dir/sctpgw.sock. With several live ones it names them on stderr and
 * returns -1. */
int ctl_find_socket(const char *dir, char *out, size_t len);

/* Client side: sends one request to the gateway at `path`, writes the body
 * of an "ok" answer to stdout and anything else, explained, to stderr.
 * Returns a CTL_EXIT_* status; an answer cut short is CTL_EXIT_UNREACHABLE. */
int ctl_request(const char *path, const char *request);

#endif
