/* cron.h - the schedule (SPEC section 12) and retry backoff (SPEC section 6).
 *
 * A schedule is a 5-field cron expression read in UTC:
 *
 *   minute (0-59)  hour (0-23)  day-of-month (1-31)  month (1-12)  day-of-week (0-7)
 *
 * Fields are separated by spaces or tabs. Each field is a comma-separated list
 * of items; an item is one of
 *
 *   *        every value            a-b      a range (a <= b)
 *   a        one value              a-b/n    every n-th value from a to b
 *   * / n    every n-th value       a/n      every n-th value from a to the maximum
 *
 * (written without the spaces). Months may be named jan-dec and days sun-sat,
 * case-insensitively, anywhere a number may stand (mon-fri, jan/3). In
 * day-of-week both 0 and 7 are Sunday.
 *
 * Day matching follows Vixie cron: when both day-of-month and day-of-week are
 * restricted, a day matches if EITHER matches ("0 0 13 * 5" runs on every
 * 13th and on every Friday); otherwise both must. As in Vixie cron, a field
 * counts as unrestricted when it begins with '*' (so "* / 2" in day-of-month
 * still combines with day-of-week by AND).
 *
 * Nothing here reads the clock or local time: callers pass epoch seconds and
 * all calendar work is done with timegm/gmtime_r. */
#ifndef TALLY_CRON_H
#define TALLY_CRON_H

#include "err.h"

/* Longest field accepted, in bytes; a longer one is an error naming it. */
#define CRON_FIELD_MAX 512

/* How far cron_next and cron_prev look before giving up (5 years). */
#define CRON_HORIZON_SECS (5LL * 366 * 24 * 60 * 60)

struct cron;

/* Parses expr into *out (caller frees with cron_free). On failure *out is
 * NULL, err has class TC_INPUT and a message that starts with "ctx: " (when
 * ctx is not NULL) and names the field, e.g.
 *   "tally.conf: component.server.schedule: minute field '61' out of range 0-59"
 * Returns 0 or -1. */
int cron_parse(const char *expr, struct cron **out, const char *ctx, struct tally_err *err);

/* The first matching minute strictly after `after` (epoch seconds, UTC; the
 * result is at second 0), or -1 if none within CRON_HORIZON_SECS (for
 * example "0 0 30 2 *"). */
long long cron_next(const struct cron *c, long long after);

/* The last matching minute at or before `before` (a match at exactly `before`
 * counts when `before` is at second 0), or -1 if none within
 * CRON_HORIZON_SECS. Used at start to make up for one missed run. */
long long cron_prev(const struct cron *c, long long before);

void cron_free(struct cron *c); /* NULL is fine */

/* Delays after the 1st, 2nd and 3rd consecutive transient failure. */
#define BACKOFF_1_SECS (5 * 60)
#define BACKOFF_2_SECS (15 * 60)
#define BACKOFF_3_SECS (45 * 60)

/* When to retry after a transient failure (network, rate-limit, timeout,
 * verify, record). failures counts consecutive failures including this one
 * (values below 1 are taken as 1); failed_at is when this one happened.
 *
 *   failures 1:    failed_at + 5 min
 *   failures 2:    failed_at + 15 min
 *   failures 3:    failed_at + 45 min
 *   failures >= 4: next_scheduled (-1 when there is none: no automatic retry)
 *
 * Then, if the result is not -1 and rate_limit_reset > 0, the retry is never
 * before the reset: the result is max(result, rate_limit_reset). A result of
 * -1 stays -1 (no schedule means no automatic retry, even after a reset).
 * The backoff does not cut short at an earlier next_scheduled: the caller
 * runs the scheduled run on its own if it comes first. */
long long backoff_next(int failures, long long failed_at, long long next_scheduled,
		       long long rate_limit_reset);

#endif
