/**
 * The decision before a run: which tier, which findings, or a refusal with a reason written for the
 * model. Text checks here are a convenience in front of the kernel boundary, never the boundary.
 * Depends on config and session only.
 */
package dev.warden.policy;
