/* curlload.h - libcurl is opened on first use (see curlload.c). */
#ifndef TALLY_CURLLOAD_H
#define TALLY_CURLLOAD_H

/* Opens libcurl now, if it is not open yet (any thread; once). An attempt
 * calls it on the check pool while its build runs, so that its read-back
 * does not wait for the loading. */
void curl_preload(void);

#endif
