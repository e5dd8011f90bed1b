/* crashpoint.h - named places where a test build can kill tally on purpose.
 *
 * In builds with TALLY_TESTING, crashpoint("name") sends SIGKILL to the
 * process when $TALLY_CRASH_AT equals name, so crash tests stop tally at an
 * exact step instead of racing kill -9 against the clock. Release builds
 * compile it to nothing. */
#ifndef TALLY_CRASHPOINT_H
#define TALLY_CRASHPOINT_H

#ifdef TALLY_TESTING
void crashpoint(const char *name);
/* Sleeps $TALLY_PAUSE_MS (default 1000) when $TALLY_PAUSE_AT equals name:
 * widens a window a test must see closed. */
void crashpoint_pause(const char *name);
#else
#define crashpoint(name) ((void)0)
#define crashpoint_pause(name) ((void)0)
#endif

#endif
