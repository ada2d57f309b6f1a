package dev.warden.contract;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.warden.call.Status;
import java.util.List;
import java.util.Map;

/**
 * What read_file, write_file and list_files answer. read_file: {@code path, size, mime, encoding,
 * content, truncated} (and {@code redactions}, of text); write_file: {@code path, size}; list_files:
 * {@code entries, truncated}. Every answer has {@code status} and its {@code execution_id} (the key of
 * its audit line); every status but ok a {@code message}, rate_limited a {@code retry_after_ms}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"status", "path", "size", "mime", "encoding", "content", "entries", "truncated", "redactions",
        "execution_id", "retry_after_ms", "message"})
public record FileResult(
        @JsonProperty("status") Status status,
        @JsonProperty("path") String path,
        @JsonProperty("size") Long size,
        @JsonProperty("mime") String mime,
        @JsonProperty("encoding") String encoding,
        @JsonProperty("content") String content,
        @JsonProperty("entries") List<Map<String, Object>> entries,
        @JsonProperty("truncated") Boolean truncated,
        @JsonProperty("redactions") Integer redactions,
        @JsonProperty("execution_id") String executionId,
        @JsonProperty("retry_after_ms") Long retryAfterMs,
        @JsonProperty("message") String message,
        @JsonIgnore String image) {

    /** Refused or failed: the status and why. */
    public static FileResult refused(Status status, String id, Long retryAfterMs, String message) {
        return new FileResult(status, null, null, null, null, null, null, null, null, id, retryAfterMs, message, null);
    }

    /** A read image (PNG, JPEG, GIF, SVG, WebP), whole, as base64: also sent as MCP image content; else null. */
    @Override
    @JsonIgnore
    public String image() {
        return image;
    }

    @JsonIgnore
    public boolean isError() {
        return status != Status.OK;
    }
}
