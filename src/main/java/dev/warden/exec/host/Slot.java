package dev.warden.exec.host;

import dev.warden.exec.EgressPort;

/**
 * One unit of concurrency: uids of its own (so RLIMIT_NPROC of one run never counts another's
 * processes) and cgroups of its own. Held by exactly one run or one pre-created sandbox at a time.
 * Inline runs use a second uid that no sandbox ever runs as: an inline run is allowed no child at
 * all (RLIMIT_NPROC 1), so nothing else may count against its uid, not even a sandbox's zombie.
 * With egress, the slot's sandboxes reach the proxy through the slot's own port, opened with the
 * slot (null without egress; inline runs never get one).
 */
record Slot(int index, int uid, int inlineUid, int gid, Cgroups cgroups, EgressPort port) {
}
