/* A snapshot in the Prometheus text exposition format, version 0.0.4: what
 * GET /metrics serves (metrics.c). Pure: snapshot in, text out, no I/O.
 *
 * The schema (every name is listed in sctpgw(8), METRICS):
 * - names start with sctpgw_, are in base units (seconds, bytes) and end in
 *   _total for counters, _seconds or _bytes for what has a unit;
 * - an instant is a Unix time in seconds (_timestamp_seconds), never a time
 *   since: the query takes time() - x, and a scrape that comes late does not
 *   skew it;
 * - a state is one series per possible state with a `state` label, 1 for the
 *   state it is in and 0 for the others (as the official client libraries'
 *   Enum does), so `== 1` selects it and a change of state never leaves a
 *   stale series behind;
 * - labels stay bounded: peer (a peer gateway's name), path (a peer
 *   address), service (a configured section), state; never a flow. An
 *   association appears by its peer's name, so only once it has proven the
 *   key; associations still connecting or proving it are counted in
 *   sctpgw_associations{state} alone (a flood of them would otherwise make
 *   as many series). Two associations with the same peer (one replacing the
 *   other) show once: the ready one, else the newest.
 * To be folded into render.h with the text and JSON renderers. */
#ifndef SCTPGW_RENDER_PROM_H
#define SCTPGW_RENDER_PROM_H

#include <stddef.h>
#include "snapshot.h"

/* What an HTTP response carrying render_prom's text says it is. */
#define RENDER_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The exposition of s, NUL-terminated, in memory the caller frees; its
 * length in *len. NULL when out of memory. */
char *render_prom(const snapshot_t *s, size_t *len);

#endif
