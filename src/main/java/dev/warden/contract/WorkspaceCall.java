package dev.warden.contract;

/**
 * The arguments of create_workspace ({@code name}, {@code ttlS}; both may be null) and
 * delete_workspace ({@code workspaceId}), already type-checked.
 */
public record WorkspaceCall(String name, Long ttlS, String workspaceId) {
}
