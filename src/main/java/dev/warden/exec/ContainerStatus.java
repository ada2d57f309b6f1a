package dev.warden.exec;

import java.util.Optional;

/**
 * Whether the L3 tier can run a language right now (an engine answers and the language's image is
 * there), so a call routed to L3 is refused with the reason, or falls back where the policy says
 * so, instead of failing half-way.
 */
public interface ContainerStatus {

    /** Empty when the language can run in a container; else why not, as one clause for the model. */
    Optional<String> unavailable(String language);

    /**
     * Docker-only mode: why this host has no L1/L2 sandbox (no bubblewrap, not root, no writable
     * cgroups), when calls the policy sends to L1 or L2 run in containers instead; empty when the
     * host's sandbox serves them. Never a reason to run anything with less isolation: a call that
     * has neither is refused.
     */
    default Optional<String> hostSandboxMissing() {
        return Optional.empty();
    }

    /**
     * The one line a server without a sandbox and without an engine says: what is missing and what
     * to install. Also the start of every refusal of a call on such a server.
     */
    static String nothingToRunWith(String hostProblem, String engineProblem) {
        return "Warden has nothing to run calls in: " + hostProblem + "; and " + engineProblem
                + ". Install one: bubblewrap with Warden started as root on Linux (tools/install-sandbox.sh), or a Docker"
                + " engine this user may use (Docker Desktop on macOS and Windows; on Linux, membership of the docker"
                + " group) with Warden's images (tools/build-images.sh)";
    }

    /** No container tier on this server at all. */
    ContainerStatus NONE = language -> Optional.of("this server has no container tier");
}
