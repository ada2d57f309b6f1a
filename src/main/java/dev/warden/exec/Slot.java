package dev.warden.exec;

/**
 * One unit of concurrency: a uid of its own (so RLIMIT_NPROC of one run never counts another's
 * processes) and, where the machine has them, cgroups of its own. Held by exactly one run or one
 * pre-created sandbox at a time.
 */
record Slot(int index, int uid, int gid, Cgroups cgroups) {
}
