/* protocol.h - the words of the engine's protocol, each spelled once:
 * event names, state words, stages and hold actions, as enums with one name
 * table each, and the JSON helpers the event builders use. Pure. */
#ifndef TALLY_PROTOCOL_H
#define TALLY_PROTOCOL_H

#include <jansson.h>

json_t *jstr(const char *s);
json_t *jtime(long long t);
const char *jget_s(json_t *o, const char *k);
long long now_s(void);
void free_str(char **p);

#endif
