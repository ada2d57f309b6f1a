/**
 * How much may run, and whether anything may: token buckets per client and tier (Bucket4j), a cap
 * on concurrent executions with a bounded queue, the registry of running executions an operator can
 * stop, and the kill switch. Depends on exec (to stop a run) and config only.
 */
package dev.warden.limit;
