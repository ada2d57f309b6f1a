/**
 * One running server's identity on this machine: its instance directory and lease, the state file the
 * operator CLI reads, and the one kind of error that stops a start with a sentence for a person
 * ({@link dev.warden.instance.StartupFailure}). Depends on session only (to sweep what a dead instance left).
 */
package dev.warden.instance;
