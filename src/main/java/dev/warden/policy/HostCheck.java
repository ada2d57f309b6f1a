package dev.warden.policy;

/**
 * Whether the network policy lets a run reach a destination, asked by {@link Policy} for the hosts a
 * network tool's arguments name (rules with {@code hosts_from_args}). The host is as the URL names it,
 * lower-cased, without a trailing dot, an IPv6 literal in brackets ({@code [::1]}); the port is the
 * URL's or its scheme's.
 */
@FunctionalInterface
public interface HostCheck {

    /** Allows nothing: every rule acts as its action says. */
    HostCheck NONE = (host, port) -> false;

    boolean allowed(String host, int port);
}
