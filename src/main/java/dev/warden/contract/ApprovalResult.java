package dev.warden.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.warden.approval.Scope;
import dev.warden.approval.Verdict;

/**
 * The result of request_approval (CONTRACT.md): the decision, who made it and when, and for a held
 * call that was approved, that call's own result. {@code decision} is null only when the request
 * itself was bad (unknown id, wrong session, rate limited): then {@code message} says why.
 */
@JsonPropertyOrder({"decision", "approver", "decided_at", "execution_id", "scope", "channel", "result", "retry_after_ms",
        "message"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ApprovalResult(
        @JsonProperty("decision") Verdict decision,
        @JsonProperty("approver") String approver,
        @JsonProperty("decided_at") String decidedAt,
        @JsonProperty("execution_id") String executionId,
        @JsonProperty("scope") Scope scope,
        @JsonProperty("channel") String channel,
        @JsonProperty("result") CallResult result,
        @JsonProperty("retry_after_ms") Long retryAfterMs,
        @JsonProperty("message") String message) {

    public boolean isError() {
        return decision != Verdict.APPROVED;
    }

    public static ApprovalResult refused(String executionId, String message, Long retryAfterMs) {
        return new ApprovalResult(null, null, null, executionId, null, null, null, retryAfterMs, message);
    }
}
