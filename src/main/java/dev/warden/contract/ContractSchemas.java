package dev.warden.contract;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON Schemas of the contract, as the files under {@code src/main/resources/contract/} hold them
 * (docs/CONTRACT.md): one input schema per tool, the result of run_command and execute_code, and the
 * result of request_approval. They are read once, when this class loads; the tools' inputSchema and
 * outputSchema are these files, with only what depends on the server's configuration filled in: the
 * maximum timeout in the {@code timeout_ms} descriptions and the {@code language} enum of execute_code.
 * Every call returns a fresh, mutable copy, so no caller can change what another is served.
 */
public final class ContractSchemas {

    /** Where the files are, on the classpath. */
    public static final String DIR = "/contract/";
    public static final String RUN_COMMAND_INPUT = "run_command.input.json";
    public static final String EXECUTE_CODE_INPUT = "execute_code.input.json";
    public static final String REQUEST_APPROVAL_INPUT = "request_approval.input.json";
    public static final String CALL_RESULT = "call-result.json";
    public static final String APPROVAL_RESULT = "approval-result.json";
    public static final String GET_EXECUTION_INPUT = "get_execution.input.json";
    public static final String SEND_INPUT_INPUT = "send_input.input.json";
    public static final String STOP_EXECUTION_INPUT = "stop_execution.input.json";
    public static final String LIST_EXECUTIONS_INPUT = "list_executions.input.json";
    public static final String INPUT_RESULT = "input-result.json";
    public static final String EXECUTION_LIST = "execution-list.json";
    public static final String READ_FILE_INPUT = "read_file.input.json";
    public static final String WRITE_FILE_INPUT = "write_file.input.json";
    public static final String LIST_FILES_INPUT = "list_files.input.json";
    public static final String FILE_RESULT = "file-result.json";
    public static final String CREATE_WORKSPACE_INPUT = "create_workspace.input.json";
    public static final String DELETE_WORKSPACE_INPUT = "delete_workspace.input.json";
    public static final String WORKSPACE_RESULT = "workspace-result.json";
    /** Every file, in the order above. */
    public static final List<String> FILES = List.of(RUN_COMMAND_INPUT, EXECUTE_CODE_INPUT, REQUEST_APPROVAL_INPUT,
            CALL_RESULT, APPROVAL_RESULT, GET_EXECUTION_INPUT, SEND_INPUT_INPUT, STOP_EXECUTION_INPUT,
            LIST_EXECUTIONS_INPUT, INPUT_RESULT, EXECUTION_LIST, READ_FILE_INPUT, WRITE_FILE_INPUT, LIST_FILES_INPUT,
            FILE_RESULT, CREATE_WORKSPACE_INPUT, DELETE_WORKSPACE_INPUT, WORKSPACE_RESULT);

    /** The placeholder in the {@code timeout_ms} descriptions, replaced by the configured maximum. */
    static final String MAX_TIMEOUT_PLACEHOLDER = "{max_timeout_ms}";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, JsonNode> LOADED = loadAll();

    private ContractSchemas() {
    }

    /** run_command's inputSchema, its timeout_ms description naming {@code maxTimeoutMs}. */
    public static Map<String, Object> runCommandInput(long maxTimeoutMs) {
        ObjectNode schema = copy(RUN_COMMAND_INPUT);
        fillMaxTimeout(schema, maxTimeoutMs);
        return toMap(schema);
    }

    /** execute_code's inputSchema: {@code language} is one of {@code languages}, timeout_ms as for run_command. */
    public static Map<String, Object> executeCodeInput(List<String> languages, long maxTimeoutMs) {
        ObjectNode schema = copy(EXECUTE_CODE_INPUT);
        fillMaxTimeout(schema, maxTimeoutMs);
        ObjectNode language = (ObjectNode) schema.get("properties").get("language");
        ((ObjectNode) schema.get("properties")).set("language",
                insertAfter(language, "type", "enum", JSON.valueToTree(languages)));
        return toMap(schema);
    }

    public static Map<String, Object> requestApprovalInput() {
        return toMap(copy(REQUEST_APPROVAL_INPUT));
    }

    /** The outputSchema of run_command and execute_code: a {@link CallResult}. */
    public static Map<String, Object> callResult() {
        return toMap(copy(CALL_RESULT));
    }

    /** The outputSchema of request_approval: an {@link ApprovalResult}. */
    public static Map<String, Object> approvalResult() {
        return toMap(copy(APPROVAL_RESULT));
    }

    /** The schema of one file as served, with nothing to fill in (the execution tools' inputs and results). */
    public static Map<String, Object> served(String name) {
        return toMap(copy(name));
    }

    /** One file exactly as it is in the repository (placeholders unfilled), as a fresh tree. */
    public static ObjectNode file(String name) {
        return copy(name);
    }

    private static ObjectNode copy(String name) {
        JsonNode n = LOADED.get(name);
        if (n == null) {
            throw new IllegalArgumentException("no contract schema " + name + "; there are " + FILES);
        }
        return (ObjectNode) n.deepCopy();
    }

    private static void fillMaxTimeout(ObjectNode schema, long maxTimeoutMs) {
        ObjectNode timeout = (ObjectNode) schema.get("properties").get("timeout_ms");
        String description = timeout.get("description").asText();
        if (!description.contains(MAX_TIMEOUT_PLACEHOLDER)) {
            throw new IllegalStateException("the timeout_ms description lost its " + MAX_TIMEOUT_PLACEHOLDER);
        }
        timeout.put("description", description.replace(MAX_TIMEOUT_PLACEHOLDER, Long.toString(maxTimeoutMs)));
    }

    /** {@code node} with {@code key: value} placed right after {@code after}, so the served order stays as it was. */
    private static ObjectNode insertAfter(ObjectNode node, String after, String key, JsonNode value) {
        ObjectNode out = JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getKey().equals(key)) {
                out.set(e.getKey(), e.getValue());
            }
            if (e.getKey().equals(after)) {
                out.set(key, value);
            }
        }
        return out;
    }

    private static Map<String, Object> toMap(ObjectNode schema) {
        return JSON.convertValue(schema, new TypeReference<Map<String, Object>>() {
        });
    }

    private static Map<String, JsonNode> loadAll() {
        Map<String, JsonNode> all = new LinkedHashMap<>();
        for (String name : FILES) {
            try (InputStream in = ContractSchemas.class.getResourceAsStream(DIR + name)) {
                if (in == null) {
                    throw new IllegalStateException("contract schema " + DIR + name + " is not on the classpath");
                }
                JsonNode n = JSON.readTree(in);
                if (!(n instanceof ObjectNode)) {
                    throw new IllegalStateException("contract schema " + name + " is not a JSON object");
                }
                all.put(name, n);
            }
            catch (IOException e) {
                throw new IllegalStateException("cannot read contract schema " + name, e);
            }
        }
        return Map.copyOf(all);
    }
}
