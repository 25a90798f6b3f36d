/* The little of HTTP/1.0 and 1.1 the metrics listener needs: what to answer
 * to the head of a request. Pure: bytes in, a status out, no I/O, so every
 * input a scraper or a stranger may send can be unit-tested. */
#ifndef SCTPGW_HTTP_H
#define SCTPGW_HTTP_H

#include <stddef.h>

/* Longest request head accepted (request line and header fields); past it
 * the answer is 431. Prometheus sends about 300 bytes. */
#define HTTP_HEAD_MAX 8192

typedef struct http_route {
    int status;    /* 200, 400, 404, 405, 431 or 505; 0 while more bytes are needed */
    int head_only; /* HEAD: the answer carries no body */
} http_route_t;

/* Decides what to answer to the first len bytes a client sent. `path` is
 * the one resource served (such as "/metrics"; a query after it is
 * ignored). A request line already malformed is answered 400 without
 * waiting for the rest, so a client sending garbage is told at once. Bytes
 * after the head (a body) are not looked at. */
http_route_t http_route(const char *buf, size_t len, const char *path);

/* The reason phrase of a status, such as "Not Found". */
const char *http_reason(int status);

#endif
