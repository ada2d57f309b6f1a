/**
 * The public contract as code (docs/CONTRACT.md): the typed arguments of each tool
 * ({@link dev.warden.contract.CommandCall}, {@link dev.warden.contract.CodeCall},
 * {@link dev.warden.contract.ApprovalCall}), how a raw argument map becomes one
 * ({@link dev.warden.contract.ToolArguments}), the results every call answers with
 * ({@link dev.warden.contract.CallResult}, {@link dev.warden.contract.ApprovalResult}), the files a run
 * changed ({@link dev.warden.contract.Artifact}) and their URIs ({@link dev.warden.contract.WorkspaceUri}),
 * and their JSON
 * Schemas, the files under {@code src/main/resources/contract/} that
 * {@link dev.warden.contract.ContractSchemas} reads and the tools serve as inputSchema and outputSchema.
 * Depends on call and config, and on the few value types a result carries: policy's
 * {@link dev.warden.policy.Finding} and approval's {@link dev.warden.approval.Verdict} and
 * {@link dev.warden.approval.Scope}. Knows nothing of MCP, the pipeline or the executors.
 */
package dev.warden.contract;
