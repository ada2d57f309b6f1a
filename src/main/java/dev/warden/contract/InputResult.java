package dev.warden.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.warden.call.Status;

/**
 * What send_input answers: {@code ok} once the bytes wait for the program ({@code sent_bytes}, and
 * whether its stdin is now closed); {@code invalid} for an unknown or ended execution; {@code
 * rate_limited} while the program has not read what was sent before.
 */
@JsonPropertyOrder({"status", "execution_id", "sent_bytes", "stdin_closed", "retry_after_ms", "message"})
public record InputResult(
        @JsonProperty("status") Status status,
        @JsonProperty("execution_id") String executionId,
        @JsonProperty("sent_bytes") long sentBytes,
        @JsonProperty("stdin_closed") boolean stdinClosed,
        @JsonProperty("retry_after_ms") @JsonInclude(JsonInclude.Include.NON_NULL) Long retryAfterMs,
        @JsonProperty("message") @JsonInclude(JsonInclude.Include.NON_NULL) String message) {

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isError() {
        return status != Status.OK;
    }
}
