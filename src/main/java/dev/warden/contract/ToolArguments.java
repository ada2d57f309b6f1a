package dev.warden.contract;

import dev.warden.config.WardenConfig.LimitsConfig;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Types, sizes and Unicode of tool arguments, checked before anything else happens. Strict: an
 * unknown argument is an error, not ignored, so a misspelt option never silently does nothing.
 */
public final class ToolArguments {

    static final Set<String> RUN_COMMAND_KEYS = Set.of("command", "cwd", "timeout_ms", "stdin", "env", "network",
            "background");
    static final Set<String> EXECUTE_CODE_KEYS = Set.of("language", "code", "stdin", "timeout_ms", "files", "network",
            "kernel", "restart_kernel",
            "background");
    static final Set<String> GET_EXECUTION_KEYS = Set.of("execution_id", "wait_ms", "stdout_offset", "stderr_offset");
    static final Set<String> SEND_INPUT_KEYS = Set.of("execution_id", "data", "close");
    static final Set<String> STOP_EXECUTION_KEYS = Set.of("execution_id");
    static final Set<String> READ_FILE_KEYS = Set.of("path", "offset", "length", "encoding");
    static final Set<String> WRITE_FILE_KEYS = Set.of("path", "content", "encoding", "mode");
    static final Set<String> LIST_FILES_KEYS = Set.of("path", "recursive", "max_entries");
    /** The most entries one list_files answer holds. */
    public static final int ENTRIES_MAX = 10_000;
    private static final int ENTRIES_DEFAULT = 1000;
    /** The longest get_execution may wait for news. */
    public static final long WAIT_MAX_MS = 30_000;
    private static final int ID_MAX = 200;
    static final Set<String> REQUEST_APPROVAL_KEYS = Set.of("execution_id", "action", "reason");
    private static final int ACTION_MAX = 8192;
    private static final int PATH_MAX = 4096;
    private static final int FILES_MAX = 256;
    private static final int ENV_VALUE_MAX = 32 * 1024;
    private static final int NETWORK_MAX = 32;

    private final LimitsConfig limits;

    public ToolArguments(LimitsConfig limits) {
        this.limits = limits;
    }

    public CommandCall runCommand(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, RUN_COMMAND_KEYS, "run_command");
        String command = requiredString(a, "command", limits.commandBytes());
        if (command.isBlank()) {
            throw new InvalidArguments("command is empty; name a program to run.");
        }
        return new CommandCall(command, optionalString(a, "cwd", PATH_MAX), optionalLong(a, "timeout_ms"),
                optionalString(a, "stdin", limits.stdinBytes()), stringMap(a, "env", limits.envEntries(), ENV_VALUE_MAX, -1),
                network(a), flag(a, "background"));
    }

    /** A kernel's name: {@code [a-z0-9_-]{1,64}}, or null when absent. */
    private static String kernelName(Map<String, Object> a) throws InvalidArguments {
        String name = optionalString(a, "kernel", 64);
        if (name != null && !KERNEL_NAME.matcher(name).matches()) {
            throw new InvalidArguments("kernel must be 1 to 64 of a-z, 0-9, _ and -, like \"main\" or \"data-1\".");
        }
        return name;
    }

    private static final java.util.regex.Pattern KERNEL_NAME = java.util.regex.Pattern.compile("[a-z0-9_-]{1,64}");

    public ExecutionCall getExecution(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, GET_EXECUTION_KEYS, "get_execution");
        String id = executionId(a);
        long wait = nonNegative(a, "wait_ms");
        if (wait > WAIT_MAX_MS) {
            throw new InvalidArguments("wait_ms is " + wait + "; the most get_execution waits is " + WAIT_MAX_MS
                    + " ms (call it again to go on waiting).");
        }
        return new ExecutionCall(id, wait, nonNegative(a, "stdout_offset"), nonNegative(a, "stderr_offset"), null, false);
    }

    public ExecutionCall sendInput(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, SEND_INPUT_KEYS, "send_input");
        String id = executionId(a);
        String data = optionalString(a, "data", limits.stdinBytes());
        boolean close = flag(a, "close");
        if (data == null && !close) {
            throw new InvalidArguments("send_input needs data (text for the program's stdin), close: true, or both.");
        }
        return new ExecutionCall(id, 0, 0, 0, data == null ? "" : data, close);
    }

    public ExecutionCall stopExecution(Map<String, Object> args) throws InvalidArguments {
        return new ExecutionCall(executionId(known(args, STOP_EXECUTION_KEYS, "stop_execution")), 0, 0, 0, null, false);
    }

    public void listExecutions(Map<String, Object> args) throws InvalidArguments {
        known(args, Set.of(), "list_executions");
    }

    public WorkspaceCall createWorkspace(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, Set.of("name", "ttl_s"), "create_workspace");
        Long ttl = optionalLong(a, "ttl_s");
        if (ttl != null && ttl < 1) {
            throw new InvalidArguments("ttl_s must be at least 1 (whole seconds).");
        }
        return new WorkspaceCall(optionalString(a, "name", 100), ttl, null);
    }

    public WorkspaceCall deleteWorkspace(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, Set.of("workspace_id"), "delete_workspace");
        return new WorkspaceCall(null, null, requiredString(a, "workspace_id", 100));
    }

    /**
     * The {@code workspace} every tool takes (a durable workspace's id): null if absent; anything but a
     * string is invalid. Whether the id exists, and is the caller's, is for the workspaces to say.
     */
    public static String workspace(Map<String, Object> args) throws InvalidArguments {
        return args == null ? null : optionalString(args, WORKSPACE, 100);
    }

    /** The argument every tool takes besides its own. */
    public static final String WORKSPACE = "workspace";

    public FileCall readFile(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, READ_FILE_KEYS, "read_file");
        String path = requiredString(a, "path", PATH_MAX);
        Long length = optionalLong(a, "length");
        if (length != null && length < 0) {
            throw new InvalidArguments("length must not be negative.");
        }
        return new FileCall(path, nonNegative(a, "offset"), length, encoding(a), null, null, false, 0);
    }

    public FileCall writeFile(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, WRITE_FILE_KEYS, "write_file");
        String path = requiredString(a, "path", PATH_MAX);
        if (path.isBlank()) {
            throw new InvalidArguments("path is empty; name a file inside the workspace.");
        }
        // base64 takes 4 bytes for 3: the limit applies to what is written, checked again once decoded
        String content = requiredString(a, "content", limits.stdinBytes() / 3 * 4 + 4);
        String mode = optionalString(a, "mode", 16);
        if (mode != null && !Set.of("create", "overwrite", "append").contains(mode)) {
            throw new InvalidArguments("mode must be create, overwrite or append, not \"" + printable(mode) + "\".");
        }
        return new FileCall(path, 0, null, encoding(a), content, mode == null ? "overwrite" : mode, false, 0);
    }

    public FileCall listFiles(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, LIST_FILES_KEYS, "list_files");
        String path = optionalString(a, "path", PATH_MAX);
        Long max = optionalLong(a, "max_entries");
        if (max != null && (max < 1 || max > ENTRIES_MAX)) {
            throw new InvalidArguments("max_entries must be between 1 and " + ENTRIES_MAX + ".");
        }
        return new FileCall(path == null ? "" : path, 0, null, null, null, null, flag(a, "recursive"),
                max == null ? ENTRIES_DEFAULT : max.intValue());
    }

    private static String encoding(Map<String, Object> a) throws InvalidArguments {
        String e = optionalString(a, "encoding", 16);
        if (e != null && !e.equals("text") && !e.equals("base64")) {
            throw new InvalidArguments("encoding must be text or base64, not \"" + printable(e) + "\".");
        }
        return e;
    }

    private static String executionId(Map<String, Object> a) throws InvalidArguments {
        String id = requiredString(a, "execution_id", ID_MAX);
        if (id.isBlank()) {
            throw new InvalidArguments("execution_id is empty.");
        }
        return id;
    }

    private static long nonNegative(Map<String, Object> a, String key) throws InvalidArguments {
        Long v = optionalLong(a, key);
        if (v != null && v < 0) {
            throw new InvalidArguments(key + " must not be negative.");
        }
        return v == null ? 0 : v;
    }

    private static boolean flag(Map<String, Object> a, String key) throws InvalidArguments {
        Object v = a.get(key);
        if (v == null) {
            return false;
        }
        if (!(v instanceof Boolean b)) {
            throw new InvalidArguments(key + " must be true or false, not " + typeName(v) + ".");
        }
        return b;
    }

    public ApprovalCall requestApproval(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, REQUEST_APPROVAL_KEYS, "request_approval");
        String id = optionalString(a, "execution_id", ID_MAX);
        String action = optionalString(a, "action", ACTION_MAX);
        String reason = optionalString(a, "reason", ACTION_MAX);
        if (id != null && (action != null || reason != null)) {
            throw new InvalidArguments("give either execution_id (of a held call) or action and reason, not both.");
        }
        if (id == null && (action == null || action.isBlank())) {
            throw new InvalidArguments("request_approval needs execution_id (of a call that returned needs_approval) "
                    + "or action (what you want to do) and reason.");
        }
        if (id == null && (reason == null || reason.isBlank())) {
            throw new InvalidArguments("reason is required with action: say why the action is needed.");
        }
        if (id != null && id.isBlank()) {
            throw new InvalidArguments("execution_id is empty.");
        }
        return new ApprovalCall(id, action, reason);
    }

    public CodeCall executeCode(Map<String, Object> args) throws InvalidArguments {
        Map<String, Object> a = known(args, EXECUTE_CODE_KEYS, "execute_code");
        String language = requiredString(a, "language", 64);
        String code = requiredString(a, "code", limits.codeBytes());
        if (code.isBlank()) {
            throw new InvalidArguments("code is empty; send the program to run.");
        }
        return new CodeCall(language, code, optionalString(a, "stdin", limits.stdinBytes()),
                optionalLong(a, "timeout_ms"), stringMap(a, "files", FILES_MAX, limits.filesBytes(), limits.filesBytes()),
                network(a), flag(a, "background"), kernelName(a), flag(a, "restart_kernel"));
    }

    /** {@code network}: a list of up to {@value #NETWORK_MAX} host, host:port or preset names. */
    private static java.util.List<String> network(Map<String, Object> a) throws InvalidArguments {
        Object v = a.get("network");
        if (v == null) {
            return null;
        }
        if (!(v instanceof java.util.List<?> list)) {
            throw new InvalidArguments("network must be an array of host names (host or host:port), not " + typeName(v) + ".");
        }
        if (list.size() > NETWORK_MAX) {
            throw new InvalidArguments("network names " + list.size() + " hosts; the limit is " + NETWORK_MAX + ".");
        }
        java.util.List<String> out = new java.util.ArrayList<>();
        for (Object o : list) {
            String s = checkedString("network entry", o, 300);
            if (s.isBlank()) {
                throw new InvalidArguments("network has an empty entry; name a host (example.org or example.org:8443).");
            }
            out.add(s.trim());
        }
        return java.util.List.copyOf(out);
    }

    private static Map<String, Object> known(Map<String, Object> args, Set<String> keys, String tool)
            throws InvalidArguments {
        Map<String, Object> a = args == null ? Map.of() : args;
        for (String k : a.keySet()) {
            if (!keys.contains(k) && !k.equals(WORKSPACE)) {
                throw new InvalidArguments("unknown argument \"" + printable(k) + "\"; " + tool + (keys.isEmpty()
                        ? " takes no arguments." : " takes " + String.join(", ", keys.stream().sorted().toList()) + "."));
            }
        }
        return a;
    }

    private static String requiredString(Map<String, Object> a, String key, int maxBytes) throws InvalidArguments {
        Object v = a.get(key);
        if (v == null) {
            throw new InvalidArguments(key + " is required.");
        }
        return checkedString(key, v, maxBytes);
    }

    private static String optionalString(Map<String, Object> a, String key, int maxBytes) throws InvalidArguments {
        Object v = a.get(key);
        return v == null ? null : checkedString(key, v, maxBytes);
    }

    private static String checkedString(String key, Object v, int maxBytes) throws InvalidArguments {
        if (!(v instanceof String s)) {
            throw new InvalidArguments(key + " must be a string, not " + typeName(v) + ".");
        }
        validUnicode(key, s);
        if (s.indexOf('\0') >= 0) {
            throw new InvalidArguments(key + " contains a NUL character.");
        }
        int bytes = s.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxBytes) {
            throw new InvalidArguments(key + " is " + bytes + " bytes; the limit is " + maxBytes + ".");
        }
        return s;
    }

    private static Long optionalLong(Map<String, Object> a, String key) throws InvalidArguments {
        Object v = a.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            return ((Number) v).longValue();
        }
        if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite() && Math.abs(d) < 1e15) {
            return d.longValue();
        }
        if (v instanceof java.math.BigInteger || v instanceof java.math.BigDecimal) {
            throw new InvalidArguments(key + " is out of range.");
        }
        throw new InvalidArguments(key + " must be a whole number of milliseconds, not " + typeName(v) + ".");
    }

    /** An object of string values; maxEntries, per-value limit, and a total limit (-1: none). */
    private static Map<String, String> stringMap(Map<String, Object> a, String key, int maxEntries, int valueMax,
            int totalMax) throws InvalidArguments {
        Object v = a.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new InvalidArguments(key + " must be an object of strings, not " + typeName(v) + ".");
        }
        if (m.size() > maxEntries) {
            throw new InvalidArguments(key + " has " + m.size() + " entries; the limit is " + maxEntries + ".");
        }
        Map<String, String> out = new LinkedHashMap<>();
        long total = 0;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String k = String.valueOf(e.getKey());
            validUnicode(key + " key", k);
            if (k.isEmpty() || k.indexOf('\0') >= 0 || k.length() > PATH_MAX) {
                throw new InvalidArguments(key + " has an empty, too long or NUL-containing name.");
            }
            if (!(e.getValue() instanceof String s)) {
                throw new InvalidArguments(key + "[\"" + printable(k) + "\"] must be a string, not "
                        + typeName(e.getValue()) + ".");
            }
            String checked = checkedString(key + "[\"" + printable(k) + "\"]", s, valueMax);
            total += checked.getBytes(StandardCharsets.UTF_8).length;
            if (totalMax >= 0 && total > totalMax) {
                throw new InvalidArguments(key + " holds more than " + totalMax + " bytes in all.");
            }
            out.put(k, checked);
        }
        return out;
    }

    /** JSON can carry lone UTF-16 surrogates ("\ud800"); they are not text and are refused. */
    private static void validUnicode(String key, String s) throws InvalidArguments {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            }
            else if (Character.isSurrogate(c)) {
                throw new InvalidArguments(key + " is not valid Unicode (it holds an unpaired surrogate).");
            }
        }
    }

    private static String typeName(Object v) {
        if (v instanceof String) {
            return "a string";
        }
        if (v instanceof Boolean) {
            return "a boolean";
        }
        if (v instanceof Number) {
            return "a number";
        }
        if (v instanceof Map) {
            return "an object";
        }
        if (v instanceof java.util.List) {
            return "an array";
        }
        return "null";
    }

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return t.replaceAll("[\\p{Cntrl}\"\\\\]", "?");
    }
}
