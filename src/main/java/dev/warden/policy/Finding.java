package dev.warden.policy;

/** One policy rule that matched a call. */
public record Finding(String rule, Severity severity, String detail) {
}
