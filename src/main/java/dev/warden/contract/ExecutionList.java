package dev.warden.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.warden.call.Status;
import java.util.List;
import java.util.Map;

/**
 * What list_executions answers: the session's background executions, oldest first, each {@code
 * {execution_id, tool, summary, status, started_at, duration_ms}}; {@code status} {@code ok} (or
 * {@code invalid}, {@code rate_limited} with a {@code message}).
 */
@JsonPropertyOrder({"status", "executions", "retry_after_ms", "message"})
public record ExecutionList(
        @JsonProperty("status") Status status,
        @JsonProperty("executions") List<Map<String, Object>> executions,
        @JsonProperty("retry_after_ms") @JsonInclude(JsonInclude.Include.NON_NULL) Long retryAfterMs,
        @JsonProperty("message") @JsonInclude(JsonInclude.Include.NON_NULL) String message) {

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isError() {
        return status != Status.OK;
    }
}
