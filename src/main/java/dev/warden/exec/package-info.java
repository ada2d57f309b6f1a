/**
 * What every executor shares: the {@link dev.warden.exec.Executor} interface, the request and outcome
 * records, limits, cancellation, the launcher's messages and the process plumbing. The implementations
 * live in exec.host (L1, L2) and exec.container (L3). May use config and session; never policy, mcp,
 * sanitize or audit.
 */
package dev.warden.exec;
