package dev.warden.mcp;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.List;
import java.util.Map;

/** The tools Warden offers, with their JSON schemas and annotations. */
final class ToolCatalog {

    private static final String RESULT_SCHEMA = """
        {"type":"object",
         "required":["status","exit_code","stdout","stderr","stdout_truncated","stderr_truncated","duration_ms",
                     "tier","executor","findings","redactions","execution_id","limits","usage"],
         "properties":{
          "status":{"type":"string","enum":["ok","failed","timeout","killed","blocked","needs_approval","denied","rate_limited","invalid"],
                    "description":"ok: exit 0; failed: non-zero exit or not run; timeout; killed: a resource limit ended it; blocked: refused by policy; invalid: bad input"},
          "exit_code":{"type":["integer","null"],"description":"process exit code; null when it never ran or was killed"},
          "stdout":{"type":"string"},"stderr":{"type":"string"},
          "stdout_truncated":{"type":"boolean"},"stderr_truncated":{"type":"boolean"},
          "duration_ms":{"type":"number","description":"wall time of the run"},
          "tier":{"type":"string","enum":["L1","L2","L3","L4"]},
          "executor":{"type":"string","enum":["inline","sandbox","container","none"]},
          "findings":{"type":"array","items":{"type":"object","required":["rule","severity","detail"],
             "properties":{"rule":{"type":"string"},"severity":{"type":"string","enum":["info","low","medium","high","critical"]},"detail":{"type":"string"}}}},
          "redactions":{"type":"integer","description":"secrets redacted from the output"},
          "execution_id":{"type":"string"},
          "limits":{"type":"object","properties":{"timeout_ms":{"type":"integer"},"memory_mb":{"type":"integer"},"pids":{"type":"integer"},
             "output_bytes":{"type":"integer"},"cpu_ms":{"type":"integer"},"file_size_mb":{"type":"integer"},"open_files":{"type":"integer"},"disk_mb":{"type":"integer"}}},
          "usage":{"type":"object","properties":{"cpu_ms":{"type":"integer"},"peak_memory_kb":{"type":"integer"}}},
          "retry_after_ms":{"type":"integer"},
          "message":{"type":"string","description":"why, in one sentence, for every status but ok"},
          "compile":{"type":"object","description":"compiled languages only: the compile phase; the top-level fields describe the run, which follows only if this is ok",
             "required":["status","exit_code","stdout","stderr","duration_ms"],
             "properties":{"status":{"type":"string","enum":["ok","failed","timeout","killed"]},
              "exit_code":{"type":["integer","null"]},"stdout":{"type":"string"},"stderr":{"type":"string"},
              "stdout_truncated":{"type":"boolean"},"stderr_truncated":{"type":"boolean"},
              "duration_ms":{"type":"number"}}}}}
        """;

    private final ObjectMapper json;
    private final Map<String, Object> resultSchema;

    ToolCatalog(ObjectMapper json) {
        this.json = json;
        this.resultSchema = parse(RESULT_SCHEMA);
    }

    McpSchema.Tool runCommand(long maxTimeoutMs) {
        String schema = """
            {"type":"object","additionalProperties":false,"required":["command"],
             "properties":{
              "command":{"type":"string","description":"One command line, e.g. `ls -la src`, `python3 script.py` or `grep -r TODO . | wc -l`. It is parsed as shell and every program in it is judged by the server's policy; a plain command runs as an argv, one with shell syntax (pipes, ;, &&, redirections, $()) runs under bash inside the sandbox, never on the host."},
              "cwd":{"type":"string","description":"working directory, relative to the session workspace (default: its root)"},
              "timeout_ms":{"type":"integer","minimum":1,"description":"wall-clock limit in ms; up to %d runs at once, more needs a human's approval"},
              "stdin":{"type":"string","description":"text given to the program on standard input"},
              "env":{"type":"object","additionalProperties":{"type":"string"},"description":"extra environment variables (reserved and loader variables are dropped)"}}}
            """.formatted(maxTimeoutMs);
        return McpSchema.Tool.builder("run_command", parse(schema))
            .title("Run a command in the sandbox")
            .description("Run one command in this session's private workspace. Read-only tools (ls, cat, grep, ...) run "
                    + "inline; everything else runs in an isolated sandbox: no network, a private filesystem view, "
                    + "memory, process and time limits. Files persist in the workspace across calls of the session. "
                    + "Returns status, exit_code, stdout, stderr and the limits applied.")
            .outputSchema(resultSchema)
            .annotations(McpSchema.ToolAnnotations.builder().title("Run a command in the sandbox").readOnlyHint(false)
                .destructiveHint(true).idempotentHint(false).openWorldHint(false).build())
            .build();
    }

    McpSchema.Tool executeCode(List<String> languages, long maxTimeoutMs) {
        String schema = """
            {"type":"object","additionalProperties":false,"required":["language","code"],
             "properties":{
              "language":{"type":"string","enum":%s,"description":"the language of the code"},
              "code":{"type":"string","description":"the program's source"},
              "stdin":{"type":"string","description":"text given to the program on standard input"},
              "timeout_ms":{"type":"integer","minimum":1,"description":"wall-clock limit in ms; up to %d runs at once, more needs a human's approval"},
              "files":{"type":"object","additionalProperties":{"type":"string"},"description":"files to write into the workspace first: relative path -> text content"}}}
            """.formatted(toJson(languages), maxTimeoutMs);
        return McpSchema.Tool.builder("execute_code", parse(schema))
            .title("Execute code in the sandbox")
            .description("Run a program in " + String.join(", ", languages) + " inside an isolated sandbox: no network, "
                    + "a private filesystem view with this session's workspace as the working directory, memory, "
                    + "process and time limits. Optional files are written into the workspace first. Returns status, "
                    + "exit_code, stdout, stderr, usage and the limits applied.")
            .outputSchema(resultSchema)
            .annotations(McpSchema.ToolAnnotations.builder().title("Execute code in the sandbox").readOnlyHint(false)
                .destructiveHint(true).idempotentHint(false).openWorldHint(false).build())
            .build();
    }

    McpSchema.Tool requestApproval(long timeoutS) {
        String input = """
            {"type":"object","additionalProperties":false,
             "properties":{
              "execution_id":{"type":"string","description":"the execution_id of a call of this session that returned status needs_approval"},
              "action":{"type":"string","description":"instead of execution_id: what you want to do outside Warden, in plain words"},
              "reason":{"type":"string","description":"with action: why it is needed"}}}
            """;
        String output = """
            {"type":"object",
             "properties":{
              "decision":{"type":"string","enum":["approved","denied","expired"],"description":"absent only when the request itself was refused (see message)"},
              "approver":{"type":"string","description":"who decided"},
              "decided_at":{"type":"string","description":"when, ISO-8601"},
              "execution_id":{"type":"string"},
              "scope":{"type":"string","enum":["once","session"]},
              "channel":{"type":"string","description":"elicitation, operator, cli, session_grant or policy (expiry)"},
              "result":{"type":"object","description":"the held call's own result (as run_command/execute_code return it), when it was approved and ran"},
              "retry_after_ms":{"type":"integer"},
              "message":{"type":"string","description":"one sentence on the outcome"}}}
            """;
        return McpSchema.Tool.builder("request_approval", parse(input))
            .title("Ask a person for approval")
            .description("Wait for a person's decision on a call that came back needs_approval (pass its execution_id; "
                    + "if approved, it runs and its result is returned in `result`), or ask approval for an action "
                    + "outside Warden (pass action and reason). The person answers in your client (if it supports "
                    + "elicitation), on Warden's operator page or with its CLI; with no answer within " + timeoutS
                    + " s the decision is expired, which means no.")
            .outputSchema(parse(output))
            .annotations(McpSchema.ToolAnnotations.builder().title("Ask a person for approval").readOnlyHint(false)
                .destructiveHint(true).idempotentHint(false).openWorldHint(false).build())
            .build();
    }

    private Map<String, Object> parse(String s) {
        try {
            return json.readValue(s, new TypeReference<Map<String, Object>>() {
            });
        }
        catch (Exception e) {
            throw new IllegalStateException("bad built-in schema", e);
        }
    }

    private String toJson(Object o) {
        try {
            return json.writeValueAsString(o);
        }
        catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
