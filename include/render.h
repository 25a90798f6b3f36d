/* Outputs of a snapshot: pure functions from a snapshot_t to a stream, with
 * no socket or gateway behind them, so each is unit-tested from a hand-built
 * snapshot. */
#ifndef SCTPGW_RENDER_H
#define SCTPGW_RENDER_H

#include <stdio.h>
#include "snapshot.h"

/* The JSON schema's version: raised only when a field changes meaning or
 * goes away (fields may be added without it). sctpgw(8), STATUS. */
#define RENDER_JSON_SCHEMA 1

/* Aligned text for a person, like `wg show`: the gateway, each association
 * and its paths, the services, and the flows when with_flows. Returns 0,
 * or -EIO when the stream failed. */
int render_text(const snapshot_t *s, int with_flows, FILE *out);

/* One JSON object of the documented, stable schema (sctpgw(8), STATUS);
 * "flows" is present only when with_flows. Returns 0 or -EIO. */
int render_json(const snapshot_t *s, int with_flows, FILE *out);

#endif
