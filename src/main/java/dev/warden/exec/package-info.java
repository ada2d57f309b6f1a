/**
 * Executors: inline (L1) and sandbox (L2), the limits they enforce, and the process-tree handling
 * behind them (the container executor, L3, is exec.container). The kernel is the boundary here: namespaces, cgroups, rlimits, a dropped uid,
 * Landlock. May use config and session; never policy, mcp, sanitize or audit.
 */
package dev.warden.exec;
