package dev.warden.exec.host;

import dev.warden.exec.EgressPort;

/**
 * One unit of concurrency: uids of its own (so RLIMIT_NPROC of one run never counts another's
 * processes) and cgroups of its own. Held by exactly one run or one pre-created sandbox at a time.
 * A run of a session with a workspace tenant runs as the tenant's uid instead (the same for all of the
 * session's calls); the slot's {@code group} is then its own mark: a supplementary group no other
 * slot's runs have, which the packet filter of a session's network namespace matches.
 * With egress, the slot's sandboxes reach the proxy through the slot's own port, opened with the
 * slot (null without egress; inline runs never get one).
 */
record Slot(int index, int uid, int group, int gid, Cgroups cgroups, EgressPort port) {
}
