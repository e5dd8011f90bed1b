/* protocol.h - the words of the engine's protocol, each spelled once in
 * engine/: event names, component state words, attempt stages and results,
 * and hold actions, as enums with one name table each (protocol.c), plus
 * the JSON helpers and builders the engine's events are made with. The
 * names are the ones SPEC section 8 lists; the tables are pure (no engine
 * needed), tested by tests/unit/test_protocol.c. */
#ifndef TALLY_PROTOCOL_H
#define TALLY_PROTOCOL_H

#include <jansson.h>

#include "recorder.h"

enum ev {
	EV_STATUS = 0, EV_CHECK, EV_ERROR, EV_ATTEMPT, EV_RECORD, EV_HOLD, EV_STAGE, EV_LOG,
	EV_DROPPED, EV_SUMMARY, EV_DONE, EV_ENGINE, EV_HEALTH, EV_LOGFILE, EV_NOTE, EV_SCHEDULE,
	EV_SHIPPED, EV_VERIFY, EV_HELLO, EV_ACCEPTED, EV_COUNT
};

/* A component's state word (SPEC section 2), in the status row. */
enum comp_st {
	ST_UNCHECKED = 0, ST_UNKNOWN, ST_CURRENT, ST_OUTDATED, ST_AHEAD, ST_BASE_MOVED, ST_PINNED,
	ST_FAILED, ST_BUILDING, ST_PUSHING, ST_VERIFYING, ST_RECORDING, ST_COUNT
};

/* An attempt's stages ("stage" events) and the state word each shows. */
enum stage { SG_BUILD = 0, SG_PUSH, SG_VERIFY, SG_RECORD, SG_FLOATING, SG_CLEANUP, SG_COUNT };

/* An attempt's result ("attempt" events, the ledger). */
enum result { RS_SHIPPED = 0, RS_BUILT, RS_FAILED, RS_VERIFIED, RS_CANCELLED, RS_PLANNED, RS_COUNT };

const char *ev_name(enum ev e);
const char *state_name(enum comp_st s);
const char *stage_name(enum stage s);
enum comp_st stage_state(enum stage s);
const char *result_name(enum result r);
/* skip, unskip, pin, unpin: the action of a hold commit (Tally-Action). */
const char *hold_action_name(enum recorder_hold_op op);
/* ship, rebuild, reset, adopt: the action of a record commit (Tally-Action,
 * the ledger, attempt events). */
const char *record_action_name(enum recorder_action a);
/* Names back to values: -1 when name is not one (NULL included). */
int ev_from_name(const char *name);
int state_from_name(const char *name);
int stage_from_name(const char *name);
int result_from_name(const char *name);
int hold_action_from_name(const char *name);
int record_action_from_name(const char *name);
/* 1 when s is result r's name. */
int result_is(const char *s, enum result r);

json_t *jstr(const char *s);
json_t *jtime(long long t);
const char *jget_s(json_t *o, const char *k);
long long now_s(void);
void free_str(char **p);
/* {"event": "error", "component", "class": null, "warning": true, "message"} */
json_t *ev_warning(const char *component, const char *msg);

#endif
