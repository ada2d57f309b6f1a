/** The audit log: one JSON line per call, written before the result leaves. Depends on nothing else in Warden. */
package dev.warden.audit;
