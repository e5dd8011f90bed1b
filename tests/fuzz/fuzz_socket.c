/* fuzz_socket.c - socket lines from an engine, read by the real client: a
 * loopback UNIX socket answers the client's hello with the input (JSON
 * Lines, or not), then EOF. The client attaches or refuses with a message,
 * and then hands out events until it says "disconnected". */
#include "client.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_unix_start();
	fuzz_unix_set((const char *)data, size);
	struct client *c = NULL;
	struct tally_err err = {0};
	if (client_connect(path, 0, &c, &err) < 0) {
		FUZZ_REQUIRE(c == NULL && err.msg[0], "refused without a message");
		return 0;
	}
	FUZZ_REQUIRE(json_is_object(client_hello(c)), "attached without a hello object");
	int gone = 0;
	for (int i = 0; i < 100000 && !gone; i++) {
		json_t *ev = client_next_event(c, 2000);
		if (!ev)
			break;
		FUZZ_REQUIRE(json_is_object(ev), "an event that is not an object");
		const char *name = json_string_value(json_object_get(ev, "event"));
		gone = name && strcmp(name, "disconnected") == 0;
		json_decref(ev);
	}
	FUZZ_REQUIRE(gone, "no disconnected event after EOF");
	client_free(c);
	return 0;
}
