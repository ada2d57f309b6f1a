/**
 * L1 and L2 on the host: the inline read-only executor and the bubblewrap sandbox, their uid slots,
 * cgroups, the launcher's instance lease and the runtime that checks the machine before the first run.
 * The kernel is the boundary here: namespaces, cgroups, rlimits, a dropped uid, a syscall filter.
 * May use exec, config and session; never policy, mcp, sanitize or audit.
 */
package dev.warden.exec.host;
