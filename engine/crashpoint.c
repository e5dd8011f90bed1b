/* crashpoint.c - named crash points for test builds (see crashpoint.h). Any
 * thread. */
#include "crashpoint.h"

#ifdef TALLY_TESTING
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void crashpoint(const char *name)
{
	const char *at = getenv("TALLY_CRASH_AT");
	if (at && strcmp(at, name) == 0)
		kill(getpid(), SIGKILL);
}

void crashpoint_pause(const char *name)
{
	const char *at = getenv("TALLY_PAUSE_AT");
	const char *ms = getenv("TALLY_PAUSE_MS");
	if (at && strcmp(at, name) == 0)
		usleep((useconds_t)(ms ? atoi(ms) : 1000) * 1000u);
}
#else
typedef int crashpoint_unused;
#endif
