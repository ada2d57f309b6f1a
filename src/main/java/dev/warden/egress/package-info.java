/**
 * Network egress: the only way out of a sandbox. Warden's proxy ({@link dev.warden.egress.EgressProxy},
 * Jetty's CONNECT and forward-proxy handlers) listens on one unix socket per sandbox; what a call may
 * reach is its {@link dev.warden.egress.CallNetwork}, built from the policy's {@code network:} section
 * ({@link dev.warden.egress.NetworkPolicy}), its registry presets and what a person approved. The
 * proxy resolves every name itself, refuses loopback, private, link-local, metadata and this
 * machine's own addresses unless an entry names them, and connects to the address it checked.
 * Implements exec's egress ports; reads config; knows nothing of the pipeline, policy or MCP.
 */
package dev.warden.egress;
