package dev.warden.contract;

/** request_approval arguments, already type-checked: an execution id, or a free-text action and reason. */
public record ApprovalCall(String executionId, String action, String reason) {
}
