/* fuzz_state.c - libFuzzer target for the state file that
 * `ksmpilotctl status` reads: any bytes as state_dir/state, through
 * state_read().
 *
 * Besides the sanitizers, the target aborts when a key or a value read
 * holds a control character or bytes that are not UTF-8 (status prints
 * them on a root terminal), when more keys than STATE_MAX_KEYS are kept,
 * or when a file without the magic line is taken. */
#include "fuzz.h"

#include <errno.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state_kv kv;
	char path[600];
	int r;

	snprintf(path, sizeof(path), "%s/state", fuzz_dir());
	unlink(path);
	if (!fuzz_put(fuzz_dir(), "state", data, size, 0600))
		FUZZ_DIE("cannot write %s", path);
	r = state_read(path, &kv);
	if (r == -EINVAL || r == -EFBIG)
		return 0;
	if (r != 0)
		FUZZ_DIE("state_read() failed with %d", r);
	if (size < 16 || memcmp(data, "# ksmpilot state", 16) != 0)
		FUZZ_DIE("a file without the magic line was taken");
	if (kv.n > STATE_MAX_KEYS)
		FUZZ_DIE("%u keys kept", kv.n);
	for (unsigned i = 0; i < kv.n; i++) {
		if (!fuzz_text_clean(kv.key[i]) || !fuzz_text_clean(kv.value[i]))
			FUZZ_DIE("key %u or its value is not clean text", i);
		if (state_get(&kv, kv.key[i]) == NULL)
			FUZZ_DIE("state_get() does not find key %u", i);
	}
	return 0;
}
