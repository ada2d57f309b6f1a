package dev.warden.contract;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * A file a run created or changed in its workspace, as the result field {@code artifacts} lists it:
 * its path relative to the workspace root, its size in bytes when the run ended, its MIME type by the
 * name's extension, and the {@link WorkspaceUri} that resources/read answers.
 */
@JsonPropertyOrder({"path", "size", "mime", "uri"})
public record Artifact(@JsonProperty("path") String path, @JsonProperty("size") long size,
        @JsonProperty("mime") String mime, @JsonProperty("uri") String uri) {
}
