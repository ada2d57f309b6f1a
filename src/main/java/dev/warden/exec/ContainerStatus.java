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

    /** No container tier on this server at all. */
    ContainerStatus NONE = language -> Optional.of("this server has no container tier");
}
