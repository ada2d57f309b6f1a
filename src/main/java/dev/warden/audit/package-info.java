/**
 * The audit log: one JSON line per call, written by the log's own thread before the result leaves, and
 * what happens when it cannot be written. Depends on nothing else in Warden.
 */
package dev.warden.audit;
