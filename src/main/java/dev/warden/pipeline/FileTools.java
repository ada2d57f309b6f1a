package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.FileCall;
import dev.warden.contract.FileResult;
import dev.warden.contract.WorkspaceUri;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Limits;
import dev.warden.limit.Executions;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import dev.warden.session.DurableStore;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * read_file, write_file and list_files. Warden never touches a workspace file itself (it runs as
 * root, and a run can plant a symlink or swap a directory at any moment): each operation is a fixed
 * program of Warden's own run in an L2 sandbox of the session, as the slot's uid, where the kernel
 * resolves every path inside the sandbox's own view, in which nothing of the host but the workspace
 * is writable and nothing secret is visible. The path is also checked here first (lexically, and
 * along the symlinks that exist), and inside again after the kernel resolved it: what leads out of
 * /workspace is refused as invalid. Rate limits, the kill switch, a fair place and the audit apply as
 * to any run.
 */
final class FileTools {

    /** The programs: $1.. are the arguments; exit codes 3 to 8 are the refusals below. */
    private static final String PRELUDE = "set -u\ninside() { case \"$1\" in /workspace|/workspace/*) return 0;; *) return 1;; esac; }\n";
    private static final String READ = PRELUDE + """
            r=$(realpath -e -- "/workspace/$1" 2>/dev/null) || exit 3
            inside "$r" || exit 4
            [ -f "$r" ] || exit 5
            [ -r "$r" ] || exit 7
            printf 'warden:size %s\\n' "$(stat -c %s -- "$r")" >&2
            exec dd if="$r" bs=65536 iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
            """;
    private static final String WRITE = PRELUDE + """
            t="/workspace/$1"
            d=$(dirname -- "$t")
            b=$(basename -- "$t")
            mkdir -p -- "$d" 2>/dev/null
            rd=$(realpath -e -- "$d" 2>/dev/null) || exit 3
            inside "$rd" || exit 4
            f="$rd/$b"
            if [ -L "$f" ]; then inside "$(realpath -m -- "$f")" || exit 4; fi
            [ -d "$f" ] && exit 5
            case "$2" in
              create) { [ -e "$f" ] || [ -L "$f" ]; } && exit 6; set -o noclobber; cat > "$f" || exit 8 ;;
              overwrite) cat > "$f" || exit 8 ;;
              append) cat >> "$f" || exit 8 ;;
            esac
            printf 'warden:size %s\\n' "$(stat -c %s -- "$f")" >&2
            """;
    private static final String LIST = PRELUDE + """
            r=$(realpath -e -- "/workspace/$1" 2>/dev/null) || exit 3
            inside "$r" || exit 4
            [ -d "$r" ] || exit 5
            printf 'warden:dir %s\\n' "${r#/workspace}" >&2
            if [ "$2" = 1 ]; then depth=(); else depth=(-maxdepth 1); fi
            find "$r" -mindepth 1 "${depth[@]}" -printf '%y\\t%s\\t%T@\\t%P\\0' 2>/dev/null | head -z -n "$3"
            exit 0
            """;
    private static final Map<String, String> MIME = Map.ofEntries(Map.entry("png", "image/png"),
            Map.entry("jpg", "image/jpeg"), Map.entry("jpeg", "image/jpeg"), Map.entry("gif", "image/gif"),
            Map.entry("svg", "image/svg+xml"), Map.entry("webp", "image/webp"), Map.entry("pdf", "application/pdf"),
            Map.entry("json", "application/json"), Map.entry("csv", "text/csv"), Map.entry("html", "text/html"),
            Map.entry("md", "text/markdown"), Map.entry("txt", "text/plain"), Map.entry("py", "text/x-python"),
            Map.entry("js", "text/javascript"), Map.entry("ts", "text/x-typescript"), Map.entry("xml", "application/xml"),
            Map.entry("yaml", "application/yaml"), Map.entry("yml", "application/yaml"), Map.entry("zip", "application/zip"),
            Map.entry("gz", "application/gzip"), Map.entry("tar", "application/x-tar"));
    /** The images read_file also returns as MCP image content. */
    static final List<String> IMAGES = List.of("image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp");

    private final Workspaces workspaces;
    private final Function<Tier, Executor> executors;
    private final Sanitizer sanitizer;
    private final LimitsConfig limits;
    private final Results results;
    private final Gate gate;

    FileTools(Workspaces workspaces, Function<Tier, Executor> executors, Sanitizer sanitizer, LimitsConfig limits,
            Results results, Gate gate) {
        this.workspaces = workspaces;
        this.executors = executors;
        this.sanitizer = sanitizer;
        this.limits = limits;
        this.results = results;
        this.gate = gate;
    }

    /** A refusal of a file tool: thrown by a step, answered by the pipeline. */
    static final class Refused extends RuntimeException {
        final transient FileResult result;

        Refused(FileResult result) {
            super(result.message(), null, false, false);
            this.result = result;
        }
    }

    FileResult read(CallContext c, FileCall call) {
        return read(c, workspace(c, call.path()), call);
    }

    /**
     * resources/read of {@code warden://workspace/<id>/<path>}: read_file's whole read (up to the output
     * limit) of that workspace, which must be this session's. An unknown workspace and another
     * session's get the same answer, so a URI tells nobody else whether it exists.
     */
    FileResult readResource(CallContext c, String uri) {
        gate.client(c);
        WorkspaceUri u;
        try {
            u = WorkspaceUri.parse(uri);
        }
        catch (WorkspaceUri.Malformed e) {
            throw invalid(c, "The uri names no workspace file: " + e.getMessage() + ".");
        }
        java.util.function.Supplier<Refused> none = () -> invalid(c, "No resource " + clean(CallAudit.clip(uri, 300))
                + " for this client: its workspace is not this session's or this client's, or it has ended.");
        Workspace ws;
        if (DurableStore.wellFormed(u.workspaceId())) { // a durable workspace: its owner's, in any of its sessions
            try {
                ws = workspaces.forDurable(u.workspaceId(), c.caller.owner());
            }
            catch (Workspaces.Refused | java.io.IOException e) {
                throw none.get();
            }
        }
        else {
            ws = workspaces.byId(u.workspaceId()).filter(w -> w.sessionId().equals(c.caller.sessionId()))
                .orElseThrow(none);
        }
        return read(c, c.workspace(ws), new FileCall(u.path(), 0, null, null, null, null, false, 0));
    }

    private FileResult read(CallContext c, Workspace ws, FileCall call) {
        int max = limits.outputBytes();
        long length = call.length() == null ? max : Math.min(call.length(), max);
        ExecOutcome.Completed done = run(c, ws, READ, List.of(relative(c, ws, call.path()), Long.toString(call.offset()),
                Long.toString(length)), new byte[0], (int) length);
        refuseByExit(c, done, call.path());
        long size = number(done, "warden:size ");
        byte[] bytes = done.stdout().bytes();
        boolean truncated = call.offset() + bytes.length < size;
        String mime = mime(call.path(), bytes);
        String encoding = call.encoding() != null ? call.encoding() : text(bytes) ? "text" : "base64";
        String content;
        Integer redactions = null;
        if (encoding.equals("text")) {
            byte[] whole = truncated ? java.util.Arrays.copyOf(bytes, wholeCharacters(bytes)) : bytes;
            Sanitizer.Clean clean = sanitizer.clean(whole, Map.of(ws.root().toString(), "/workspace"));
            content = clean.text();
            redactions = clean.redactions();
        }
        else {
            content = Base64.getEncoder().encodeToString(bytes);
        }
        boolean image = IMAGES.contains(mime) && call.offset() == 0 && !truncated;
        return new FileResult(Status.OK, clean(call.path()), size, mime, encoding, content, null, truncated, redactions,
                c.id, null, null, image ? Base64.getEncoder().encodeToString(bytes) : null);
    }

    FileResult write(CallContext c, FileCall call) {
        byte[] data;
        if ("base64".equals(call.encoding())) {
            try {
                data = Base64.getDecoder().decode(call.content().replaceAll("\\s", ""));
            }
            catch (IllegalArgumentException e) {
                throw invalid(c, "content is not valid base64 (" + e.getMessage() + ").");
            }
        }
        else {
            data = call.content().getBytes(StandardCharsets.UTF_8);
        }
        if (data.length > limits.stdinBytes()) {
            throw invalid(c, "content is " + data.length + " bytes; write_file takes at most " + limits.stdinBytes()
                    + " bytes a call (write the rest with mode append).");
        }
        Workspace ws = workspace(c, call.path());
        String rel = relative(c, ws, call.path());
        if (rel.isEmpty()) {
            throw invalid(c, "path names the workspace root; name a file inside it.");
        }
        ExecOutcome.Completed done = run(c, ws, WRITE, List.of(rel, call.mode()), data, 4096);
        refuseByExit(c, done, call.path());
        return new FileResult(Status.OK, clean(call.path()), number(done, "warden:size "), null, null, null, null, null,
                null, c.id, null, null, null);
    }

    FileResult list(CallContext c, FileCall call) {
        Workspace ws = workspace(c, call.path());
        int want = call.maxEntries();
        ExecOutcome.Completed done = run(c, ws, LIST, List.of(relative(c, ws, call.path()), call.recursive() ? "1" : "0",
                Integer.toString(want + 1)), new byte[0], limits.outputBytes());
        refuseByExit(c, done, call.path());
        String dir = line(done, "warden:dir ").orElse("");
        String prefix = dir.isEmpty() || dir.equals("/") ? "" : dir.substring(1) + "/";
        List<Map<String, Object>> entries = new ArrayList<>();
        byte[] out = done.stdout().bytes();
        int start = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] != 0) {
                continue;
            }
            String[] f = new String(out, start, i - start, StandardCharsets.UTF_8).split("\t", 4);
            start = i + 1;
            if (f.length < 4) {
                continue;
            }
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("path", clean(prefix + f[3]));
            e.put("type", switch (f[0]) {
                case "d" -> "dir";
                case "l" -> "symlink";
                case "f" -> "file";
                default -> "other";
            });
            e.put("size", Long.parseLong(f[1]));
            e.put("modified", java.time.Instant.ofEpochMilli((long) (Double.parseDouble(f[2]) * 1000)).toString());
            entries.add(e);
        }
        boolean truncated = entries.size() > want || done.stdout().truncated();
        entries.sort(Comparator.comparing(e -> (String) e.get("path")));
        List<Map<String, Object>> kept = entries.size() > want ? entries.subList(0, want) : entries;
        return new FileResult(Status.OK, null, null, null, null, null, List.copyOf(kept), truncated, null, c.id, null,
                null, null);
    }

    /** The session's workspace, with the path checked lexically and along the symlinks that exist. */
    private Workspace workspace(CallContext c, String path) {
        gate.client(c);
        try {
            return CallWorkspace.of(c, workspaces, results);
        }
        catch (java.io.IOException e) {
            throw new Refused(FileResult.refused(Status.FAILED, c.id, null, "The workspace could not be made: "
                    + sanitizer.message(e.getMessage()) + "."));
        }
    }

    private String relative(CallContext c, Workspace ws, String path) {
        return ws.resolve(path).orElseThrow(() -> invalid(c, "path \"" + clean(path) + "\" leads out of the workspace: "
                + "give a path relative to the workspace root, without .., that no symlink leads out of."));
    }

    /** The program in a sandbox of the session: the tier's rate, the kill switch and a fair place, then the executor. */
    private ExecOutcome.Completed run(CallContext c, Workspace ws, String script, List<String> args, byte[] stdin,
            int outputBytes) {
        c.tier(Tier.L2);
        Limits base = results.defaults();
        c.limits(new Limits(Math.min(base.timeoutMs(), 30_000), base.cpuMs(), base.memoryMb(), base.pids(),
                Math.max(4096, Math.min(outputBytes, base.outputBytes())), base.fileSizeMb(), base.openFiles(),
                base.tmpMb()));
        c.subject(new CallContext.Subject(c.tool, c.tool + " " + (args.isEmpty() ? "" : args.get(0)), null, "", null));
        gate.tier(c, Tier.L2, "this client is over its L2 rate");
        List<String> argv = new ArrayList<>(List.of("/bin/bash", "-c", script, c.tool));
        argv.addAll(args);
        ExecOutcome o;
        try (Executions.Ticket place = gate.place(c)) {
            o = executors.apply(Tier.L2).run(new ExecRequest(argv, ws.root(), "", stdin, Map.of()), c.limits());
        }
        if (o instanceof ExecOutcome.Completed done) {
            return done;
        }
        String why = o instanceof ExecOutcome.Refused r ? r.reason() : o instanceof ExecOutcome.TimedOut
                ? "it took longer than " + c.limits().timeoutMs() + " ms" : "it was stopped";
        throw new Refused(FileResult.refused(Status.FAILED, c.id, null, c.tool + " did not complete: "
                + sanitizer.message(why) + "."));
    }

    private void refuseByExit(CallContext c, ExecOutcome.Completed done, String path) {
        String p = "\"" + clean(path) + "\"";
        String why = switch (done.exitCode()) {
            case 0 -> null;
            case 3 -> p + " does not exist in the workspace";
            case 4 -> p + " leads out of the workspace (through a symlink); only paths inside it can be used";
            case 5 -> c.tool.equals("list_files") ? p + " is not a directory" : p + " is a directory, not a file";
            case 6 -> p + " exists already; write it with mode overwrite or append";
            case 7 -> p + " cannot be read";
            case 8 -> p + " could not be written: " + sanitizer.message(
                    new String(done.stderr().bytes(), StandardCharsets.UTF_8).strip());
            default -> null;
        };
        if (why != null) {
            throw invalid(c, why + ".");
        }
        if (done.exitCode() != 0) {
            throw new Refused(FileResult.refused(Status.FAILED, c.id, null, c.tool + " failed (exit " + done.exitCode()
                    + "): " + sanitizer.message(new String(done.stderr().bytes(), StandardCharsets.UTF_8).strip())));
        }
    }

    private Refused invalid(CallContext c, String message) {
        return new Refused(FileResult.refused(Status.INVALID, c.id, null, message));
    }

    private static Optional<String> line(ExecOutcome.Completed done, String key) {
        return new String(done.stderr().bytes(), StandardCharsets.UTF_8).lines().filter(l -> l.startsWith(key))
            .map(l -> l.substring(key.length())).findFirst();
    }

    private static long number(ExecOutcome.Completed done, String key) {
        return line(done, key).map(String::strip).map(Long::parseLong).orElse(0L);
    }

    private String clean(String path) {
        return sanitizer.clean(path.getBytes(StandardCharsets.UTF_8)).text();
    }

    /** The MIME type by the name's extension; else text/plain for UTF-8 text, application/octet-stream. */
    static String mime(String path, byte[] head) {
        int dot = path.lastIndexOf('.');
        String ext = dot < 0 || dot < path.lastIndexOf('/') ? "" : path.substring(dot + 1).toLowerCase(Locale.ROOT);
        String byName = MIME.get(ext);
        if (byName != null) {
            return byName;
        }
        return text(head) ? "text/plain" : "application/octet-stream";
    }

    /** Valid UTF-8 without NUL (a cut character at the very end is allowed: the read may have cut it). */
    static boolean text(byte[] b) {
        int n = wholeCharacters(b);
        for (int i = 0; i < n; i++) {
            if (b[i] == 0) {
                return false;
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, 0, n));
            return true;
        }
        catch (CharacterCodingException e) {
            return false;
        }
    }

    private static int wholeCharacters(byte[] b) {
        return dev.warden.exec.StreamBuffer.wholeCharacters(b);
    }
}
