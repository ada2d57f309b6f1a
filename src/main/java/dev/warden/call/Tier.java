package dev.warden.call;

/** Isolation tiers, from least to most isolated. */
public enum Tier {
    /** inline, read-only, confined by uid and Landlock */
    L1,
    /** resource-limited sandboxed process */
    L2,
    /** container */
    L3,
    /** held for a human's approval */
    L4
}
