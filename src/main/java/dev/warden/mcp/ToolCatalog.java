package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.contract.ContractSchemas;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.List;

/**
 * The tools Warden offers: names, descriptions and annotations here; their inputSchema and outputSchema
 * are the contract's JSON Schema files ({@link ContractSchemas}, src/main/resources/contract/).
 */
final class ToolCatalog {

    ToolCatalog(ObjectMapper json) {
        // the schemas come from the contract's files (read once); nothing here needs the server's mapper
    }

    McpSchema.Tool runCommand(long maxTimeoutMs) {
        return McpSchema.Tool.builder("run_command", ContractSchemas.runCommandInput(maxTimeoutMs))
            .title("Run a command in the sandbox")
            .description("Run one command in this session's private workspace. Read-only tools (ls, cat, grep, ...) run "
                    + "inline; everything else runs in an isolated sandbox: no network, a private filesystem view, "
                    + "memory, process and time limits. Files persist in the workspace across calls of the session. "
                    + "Returns status, exit_code, stdout, stderr and the limits applied. For anything that may take "
                    + "more than a minute (a build, a test suite) or that keeps running (a server), pass background: "
                    + "true and follow it with get_execution.")
            .outputSchema(ContractSchemas.callResult())
            .annotations(McpSchema.ToolAnnotations.builder().title("Run a command in the sandbox").readOnlyHint(false)
                .destructiveHint(true).idempotentHint(false).openWorldHint(false).build())
            .build();
    }

    McpSchema.Tool executeCode(List<String> languages, long maxTimeoutMs) {
        return McpSchema.Tool.builder("execute_code", ContractSchemas.executeCodeInput(languages, maxTimeoutMs))
            .title("Execute code in the sandbox")
            .description("Run a program in " + String.join(", ", languages) + " inside an isolated sandbox: no network, "
                    + "a private filesystem view with this session's workspace as the working directory, memory, "
                    + "process and time limits. Optional files are written into the workspace first. Returns status, "
                    + "exit_code, stdout, stderr, usage and the limits applied. For work that may take more than a "
                    + "minute, pass background: true and follow it with get_execution.")
            .outputSchema(ContractSchemas.callResult())
            .annotations(McpSchema.ToolAnnotations.builder().title("Execute code in the sandbox").readOnlyHint(false)
                .destructiveHint(true).idempotentHint(false).openWorldHint(false).build())
            .build();
    }

    McpSchema.Tool getExecution() {
        return tool("get_execution", ContractSchemas.GET_EXECUTION_INPUT, ContractSchemas.CALL_RESULT,
                "Read a background execution",
                "Read the output of a background execution (started with background: true) from the given offsets, "
                        + "waiting up to wait_ms (at most 30000) for new output or its end. While it runs, status is "
                        + "running; pass the returned stdout_offset and stderr_offset to the next call to get only "
                        + "what is new. Once it has ended, this is its final result (exit_code, usage, findings).",
                true);
    }

    McpSchema.Tool sendInput() {
        return tool("send_input", ContractSchemas.SEND_INPUT_INPUT, ContractSchemas.INPUT_RESULT,
                "Write to a background execution's stdin",
                "Write text to the stdin of a running background execution (add \\n to end a line); close: true "
                        + "closes its stdin afterwards, so it reads end of file.", false);
    }

    McpSchema.Tool stopExecution() {
        return tool("stop_execution", ContractSchemas.STOP_EXECUTION_INPUT, ContractSchemas.CALL_RESULT,
                "Stop a background execution",
                "End a background execution with every process it started, and return its final result (status "
                        + "killed, with all the output kept).", false);
    }

    McpSchema.Tool listExecutions() {
        return tool("list_executions", ContractSchemas.LIST_EXECUTIONS_INPUT, ContractSchemas.EXECUTION_LIST,
                "List background executions",
                "List this session's background executions, running and ended: execution_id, tool, summary, "
                        + "status, started_at, duration_ms.", true);
    }

    McpSchema.Tool readFile() {
        return tool("read_file", ContractSchemas.READ_FILE_INPUT, ContractSchemas.FILE_RESULT, "Read a workspace file",
                "Read a file of this session's workspace: text (sanitized like command output) or base64 for binary, "
                        + "from offset for at most length bytes (truncated says more follows; read on from offset + "
                        + "what you got). An image (PNG, JPEG, GIF, SVG, WebP) read whole also comes back as image "
                        + "content.", true);
    }

    McpSchema.Tool writeFile() {
        return tool("write_file", ContractSchemas.WRITE_FILE_INPUT, ContractSchemas.FILE_RESULT,
                "Write a workspace file",
                "Write a file of this session's workspace (missing directories are made): mode create (refused if it "
                        + "exists), overwrite (default) or append; content as text or base64.", false);
    }

    McpSchema.Tool listFiles() {
        return tool("list_files", ContractSchemas.LIST_FILES_INPUT, ContractSchemas.FILE_RESULT,
                "List workspace files",
                "List a directory of this session's workspace (default its root), or with recursive: true its whole "
                        + "tree: path, type (file, dir, symlink), size and modified time of each entry.", true);
    }

    McpSchema.Tool createWorkspace() {
        return tool("create_workspace", ContractSchemas.CREATE_WORKSPACE_INPUT, ContractSchemas.WORKSPACE_RESULT,
                "Create a durable workspace",
                "Create a workspace that outlives this session (reconnects, server restarts) until delete_workspace "
                        + "or its ttl_s. Pass its workspace_id as `workspace` to any tool to work in it; only this "
                        + "client can.", false);
    }

    McpSchema.Tool deleteWorkspace() {
        return tool("delete_workspace", ContractSchemas.DELETE_WORKSPACE_INPUT, ContractSchemas.WORKSPACE_RESULT,
                "Delete a durable workspace",
                "Delete a durable workspace of this client: its runs are stopped and its files removed.", false);
    }

    private static McpSchema.Tool tool(String name, String input, String output, String title, String description,
            boolean readOnly) {
        return McpSchema.Tool.builder(name, ContractSchemas.served(input))
            .title(title)
            .description(description)
            .outputSchema(ContractSchemas.served(output))
            .annotations(McpSchema.ToolAnnotations.builder().title(title).readOnlyHint(readOnly)
                .destructiveHint(!readOnly).idempotentHint(readOnly).openWorldHint(false).build())
            .build();
    }

    McpSchema.Tool requestApproval(long timeoutS) {
        return McpSchema.Tool.builder("request_approval", ContractSchemas.requestApprovalInput())
            .title("Ask a person for approval")
            .description("Wait for a person's decision on a call that came back needs_approval (pass its execution_id; "
                    + "if approved, it runs and its result is returned in `result`), or ask approval for an action "
                    + "outside Warden (pass action and reason). The person answers in your client (if it supports "
                    + "elicitation), on Warden's operator page or with its CLI; with no answer within " + timeoutS
                    + " s the decision is expired, which means no.")
            .outputSchema(ContractSchemas.approvalResult())
            .annotations(McpSchema.ToolAnnotations.builder().title("Ask a person for approval").readOnlyHint(false)
                .destructiveHint(true).idempotentHint(false).openWorldHint(false).build())
            .build();
    }
}
