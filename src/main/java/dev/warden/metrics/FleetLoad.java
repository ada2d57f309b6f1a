package dev.warden.metrics;

/**
 * One replica of a fleet as the fleet's gauges show it: its state (live, dead, stopped) and, for a live
 * one, its load as of its last heartbeat. The replica id is a label value: a bounded set the operator
 * configures (fleet.replica_id), never a client's.
 */
public record FleetLoad(String replica, String state, double running, double pending, double sessions) {
}
