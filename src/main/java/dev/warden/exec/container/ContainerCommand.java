package dev.warden.exec.container;

import dev.warden.config.WardenConfig;
import dev.warden.exec.EgressPort;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.exec.StubRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one call asks of its container's stub, built by pure code from the request, the language's
 * config and the image's environment: the compile phase's argv (if the language compiles), the run
 * phase's argv inside the shell that writes the end marker, and the stub request of each (rlimits,
 * umask, directory, environment, files, argv).
 */
final class ContainerCommand {

    static final String BUILD_DIR = "/tmp/warden";
    private static final Pattern JAVA_PUBLIC_CLASS = Pattern.compile(
            "public\\s+(?:(?:final|abstract|strictfp)\\s+)*class\\s+([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(code|source|class)\\}");
    /**
     * The end-of-run marker: the shell around the program writes it with the exit status to both
     * streams once the program has exited, so the result need not wait the ~45 ms the engine takes
     * to tear the container down (the container is killed and removed right after). The program can
     * print it too, which only ends its own run early with a status it chose: it can exit with any
     * status anyway, and the kill that follows ends whatever it left running.
     */
    static final String END_MARKER = "\u001eWARDEN-EXIT:";
    static final String RUN_WRAPPER = "\"$@\"; s=$?; printf '\\036WARDEN-EXIT:%d\\n' \"$s\"; "
            + "printf '\\036WARDEN-EXIT:%d\\n' \"$s\" >&2";

    private final ExecRequest request;
    private final WardenConfig.ContainerLanguage lang;
    private final List<String> imageEnv;
    private final boolean egress;
    private final String home;
    private final Map<String, String> vars;
    private final String source;

    /**
     * @param imageEnv the image's own environment (Config.Env, KEY=value)
     * @param egress whether the container has an egress port (the run then gets the proxy's variables)
     */
    ContainerCommand(ExecRequest request, WardenConfig.ContainerLanguage lang, List<String> imageEnv, boolean egress) {
        this(request, lang, imageEnv, egress, null);
    }

    /** @param home the tenant's HOME, which wins over the image's (null: the image's, else /tmp) */
    ContainerCommand(ExecRequest request, WardenConfig.ContainerLanguage lang, List<String> imageEnv, boolean egress,
            String home) {
        this.request = request;
        this.lang = lang;
        this.imageEnv = imageEnv;
        this.egress = egress;
        this.home = home;
        String code = code();
        String className = javaClass(code);
        this.source = lang.source() == null ? null : lang.source().replace("{class}", className);
        this.vars = Map.of("{code}", code, "{source}", source == null ? "" : BUILD_DIR + "/" + source,
                "{class}", className);
    }

    /** run_command routed to L3 runs its argv in the bash image. */
    static String languageOf(ExecRequest request) {
        return request.language() != null ? request.language() : "bash";
    }

    String code() {
        return request.code() == null ? "" : request.code();
    }

    /** Whether a compile phase comes first: a compiled language's execute_code (never run_command). */
    boolean compiled() {
        return lang.compile() != null && !lang.compile().isEmpty() && request.language() != null;
    }

    /** The compile phase's argv: the source arrives on stdin; the compiler writes only into the container's /tmp. */
    List<String> compileArgv() {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c",
                "umask 077 && mkdir -p " + BUILD_DIR + " && cat > \"" + BUILD_DIR + "/$0\" && umask 002 && exec \"$@\"",
                source));
        argv.addAll(substitute(lang.compile(), vars));
        return argv;
    }

    /** The run phase's argv: the program (the call's argv, or the language's run command) inside the end-marker shell. */
    List<String> runArgv() {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", RUN_WRAPPER, "sh"));
        argv.addAll(request.language() == null ? request.argv() : substitute(lang.run(), vars));
        return argv;
    }

    /** The one request of the stub: rlimits, umask, directory, environment, files (if {@code withFiles}), argv. */
    StubRequest stubRequest(List<String> argv, boolean withFiles, Limits limits) {
        StubRequest stub = new StubRequest()
            .option("--rlimit", "cpu=" + limits.cpuSeconds())
            .option("--rlimit", "fsize=" + (long) limits.fileSizeMb() * 1024 * 1024)
            .option("--rlimit", "nofile=" + limits.openFiles())
            .option("--rlimit", "core=0")
            .option("--umask", "0002")
            .option("--chdir", request.cwd().isEmpty() ? ContainerSpec.WORKSPACE
                    : ContainerSpec.WORKSPACE + "/" + request.cwd());
        for (Map.Entry<String, String> e : environment().entrySet()) {
            stub.option("--env", e.getKey() + "=" + e.getValue());
        }
        if (withFiles) {
            for (Map.Entry<String, String> f : request.files().entrySet()) {
                stub.option("--file", f.getKey()).option("--data", f.getValue());
            }
        }
        return stub.argv(argv);
    }

    /**
     * The image's own environment (PATH, the toolchain's cache directories), then the language's
     * from config, then the call's (already filtered by the policy); with egress, the proxy's
     * variables last. Nothing else of Warden's own.
     */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : imageEnv) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        env.putIfAbsent("PATH", "/usr/local/bin:/usr/bin:/bin");
        if (home != null) {
            env.put("HOME", home);
        }
        env.putIfAbsent("HOME", "/tmp");
        env.putIfAbsent("LANG", "C.UTF-8");
        env.put("TMPDIR", "/tmp");
        if (lang.env() != null) {
            env.putAll(lang.env());
        }
        env.putAll(request.env());
        if (egress) {
            EgressPort.addEnv(env);
        }
        return env;
    }

    /** One pass per part: text put in (the code) is never searched for placeholders again. */
    static List<String> substitute(List<String> template, Map<String, String> vars) {
        List<String> out = new ArrayList<>(template.size());
        for (String part : template) {
            Matcher m = PLACEHOLDER.matcher(part);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(sb, Matcher.quoteReplacement(vars.getOrDefault(m.group(), m.group())));
            }
            m.appendTail(sb);
            out.add(sb.toString());
        }
        return out;
    }

    /** The class javac must find in a file of its own name: the public class, else Main. */
    static String javaClass(String code) {
        Matcher m = JAVA_PUBLIC_CLASS.matcher(code);
        return m.find() ? m.group(1) : "Main";
    }
}
