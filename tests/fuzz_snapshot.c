/* fuzz_snapshot.c - libFuzzer target for the start-up snapshot that
 * `ksmpilotd --restore` writes back as root: any bytes as
 * state_dir/snapshot, through ksm_snapshot_load().
 *
 * Besides the sanitizers, the target aborts when
 *   - a snapshot is accepted with a value outside ksm_snapshot_range(),
 *     without run, or with a knob it does not keep;
 *   - an accepted snapshot does not come back the same through
 *     ksm_snapshot_save() and ksm_snapshot_load();
 *   - the reason of a refusal is empty, or holds a control character or
 *     bytes that are not UTF-8 (it is logged). */
#include "fuzz.h"

#include <errno.h>

#include "ksm.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ksm_snapshot s, t;
	char path[600], path2[600], why[256];
	int r;

	snprintf(path, sizeof(path), "%s/snapshot", fuzz_dir());
	snprintf(path2, sizeof(path2), "%s/again", fuzz_dir());
	unlink(path);
	if (!fuzz_put(fuzz_dir(), "snapshot", data, size, 0600))
		FUZZ_DIE("cannot write %s", path);
	memset(&s, 0x5a, sizeof(s));
	r = ksm_snapshot_load(&s, path, why, sizeof(why));
	if (r < 0) {
		if (r != -EINVAL)
			FUZZ_DIE("ksm_snapshot_load() failed with %d on a regular file of ours: %s", r, why);
		if (!why[0] || !fuzz_text_clean(why))
			FUZZ_DIE("a refusal without a clean reason: '%s'", why);
		return 0;
	}
	if (!(s.present & KSM_BIT(KSM_RUN)))
		FUZZ_DIE("a snapshot without run was accepted");
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		int64_t min, max;
		if (!(s.present & KSM_BIT(i)))
			continue;
		if (!ksm_snapshot_range((enum ksm_item)i, &min, &max))
			FUZZ_DIE("a snapshot with %s, which it does not keep, was accepted", ksm_item_name((enum ksm_item)i));
		if (s.v[i] < min || s.v[i] > max)
			FUZZ_DIE("%s=%lld accepted, outside %lld..%lld", ksm_item_name((enum ksm_item)i),
				 (long long)s.v[i], (long long)min, (long long)max);
	}
	if (s.boot_id[0] && !boot_id_valid(s.boot_id))
		FUZZ_DIE("boot_id '%s' accepted, not a boot id", s.boot_id);
	if (ksm_snapshot_save(&s, path2) != 0)
		FUZZ_DIE("an accepted snapshot cannot be saved");
	if (ksm_snapshot_load(&t, path2, why, sizeof(why)) != 0)
		FUZZ_DIE("a saved snapshot is refused: %s", why);
	if (t.present != s.present || t.pid != s.pid || t.time != s.time || strcmp(t.boot_id, s.boot_id) != 0)
		FUZZ_DIE("a snapshot does not come back the same");
	for (int i = 0; i < KSM_ITEM_COUNT; i++)
		if ((s.present & KSM_BIT(i)) && s.v[i] != t.v[i])
			FUZZ_DIE("%s does not come back the same", ksm_item_name((enum ksm_item)i));
	return 0;
}
