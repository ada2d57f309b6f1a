package dev.warden.pipeline;

import dev.warden.contract.CallResult;

/**
 * A step ends the call here, with this answer: a refusal, a limit, a held call. Thrown, so each
 * step of {@link CallPipeline} reads as one line that either passes or ends the call (as nsjail's
 * containment steps fail fast); caught in one place, where the answer is audited and returned.
 */
final class Stop extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient CallResult result;

    Stop(CallResult result) {
        super(null, null, false, false); // control flow, not an error: no stack trace
        this.result = result;
    }

    CallResult result() {
        return result;
    }
}
