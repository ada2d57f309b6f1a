/**
 * The public contract as code: the typed arguments of each tool ({@link dev.warden.contract.CommandCall},
 * {@link dev.warden.contract.CodeCall}, {@link dev.warden.contract.ApprovalCall}), how a raw argument map
 * becomes one ({@link dev.warden.contract.ToolArguments}), and the results every call answers with
 * ({@link dev.warden.contract.CallResult}, {@link dev.warden.contract.ApprovalResult}). Depends on call and
 * config, and on the values its results carry: policy's findings and approval's verdict and scope; knows
 * nothing of MCP, the pipeline or the executors.
 */
package dev.warden.contract;
