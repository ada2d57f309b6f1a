package dev.warden.contract;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.warden.call.Status;

/**
 * What create_workspace and delete_workspace answer: {@code ok} with the workspace's id (and, on
 * create, its name and when it expires); {@code invalid} for an id that is unknown, expired or
 * another client's (alike), or over the client's quota.
 */
@JsonPropertyOrder({"status", "workspace_id", "name", "expires_at", "retry_after_ms", "message"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkspaceResult(
        @JsonProperty("status") Status status,
        @JsonProperty("workspace_id") String workspaceId,
        @JsonProperty("name") String name,
        @JsonProperty("expires_at") String expiresAt,
        @JsonProperty("retry_after_ms") Long retryAfterMs,
        @JsonProperty("message") String message) {

    public static WorkspaceResult refused(Status status, Long retryAfterMs, String message) {
        return new WorkspaceResult(status, null, null, null, retryAfterMs, message);
    }

    @JsonIgnore
    public boolean isError() {
        return status != Status.OK;
    }
}
