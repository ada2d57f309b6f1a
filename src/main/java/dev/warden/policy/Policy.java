package dev.warden.policy;

import dev.warden.session.Workspace;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The single place where a call's tier is decided. This is the skeleton's policy: a plain command
 * whose program is on the read-only list and whose arguments stay in the workspace runs inline (L1);
 * any other plain command runs in the sandbox (L2); a command line with shell syntax is refused with
 * a pointer to execute_code; code always runs in the sandbox. The full rule engine replaces this
 * class and keeps its two methods.
 */
public final class Policy {

    private final Set<String> inlineCommands;

    public Policy(List<String> inlineCommands) {
        this.inlineCommands = Set.copyOf(inlineCommands);
    }

    public Decision decideCommand(String command, Workspace workspace) {
        CommandWords.Split split = CommandWords.split(command);
        if (split.shellSyntax() != null) {
            return Decision.block(Tier.L2,
                    List.of(new Finding("shell.syntax", Severity.MEDIUM, "the command uses " + split.shellSyntax())),
                    "run_command runs one plain command without a shell, and this one uses " + split.shellSyntax()
                            + "; to run a shell script, call execute_code with language \"bash\" (it runs in the sandbox).");
        }
        List<String> argv = split.words();
        if (argv.isEmpty()) {
            return Decision.block(Tier.L2, List.of(new Finding("command.empty", Severity.LOW, "no program named")),
                    "the command is empty; name a program to run.");
        }
        String program = argv.get(0);
        String base = program.substring(program.lastIndexOf('/') + 1);
        boolean systemPath = program.equals(base) || program.equals("/usr/bin/" + base) || program.equals("/bin/" + base);
        if (systemPath && inlineCommands.contains(base) && argumentsStayInside(argv, workspace)) {
            List<String> inlineArgv = new ArrayList<>(argv);
            inlineArgv.set(0, base);
            return Decision.run(Tier.L1, inlineArgv,
                    List.of(new Finding("inline.read_only", Severity.INFO, "`" + base + "` is a read-only program; run inline, confined to the workspace")));
        }
        return Decision.run(Tier.L2, argv,
                List.of(new Finding("default.sandbox", Severity.INFO, "runs in the L2 sandbox")));
    }

    public Decision decideCode(String language) {
        return Decision.run(Tier.L2, List.of(),
                List.of(new Finding("code.sandbox", Severity.INFO, language + " code runs in the L2 sandbox")));
    }

    /** Variables a call may not set: they change how programs load code or where they look for it. */
    private static final java.util.regex.Pattern ENV_NAME = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Set<String> ENV_DENIED = Set.of("PATH", "HOME", "TMPDIR", "USER", "LANG", "IFS", "ENV",
            "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "NODE_OPTIONS", "NODE_PATH",
            "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PERL5OPT", "PERL5LIB", "RUBYOPT", "JAVA_TOOL_OPTIONS",
            "GCONV_PATH", "HOSTALIASES", "RESOLV_HOST_CONF", "LOCALDOMAIN");

    /** The call's extra variables that may pass, and a finding for each one dropped. */
    public record EnvFilter(java.util.Map<String, String> kept, List<Finding> findings) {
    }

    public EnvFilter filterEnv(java.util.Map<String, String> requested) {
        java.util.Map<String, String> kept = new java.util.LinkedHashMap<>();
        List<Finding> findings = new ArrayList<>();
        if (requested == null) {
            return new EnvFilter(kept, findings);
        }
        requested.forEach((k, v) -> {
            boolean loader = k.startsWith("LD_") || k.startsWith("DYLD_") || k.startsWith("BASH_FUNC_");
            if (!ENV_NAME.matcher(k).matches() || loader || ENV_DENIED.contains(k) || v.indexOf('\0') >= 0) {
                findings.add(new Finding("env.filtered", Severity.LOW,
                        "variable " + (ENV_NAME.matcher(k).matches() ? k : "(invalid name)") + " is not passed: it is reserved or changes how programs load"));
            }
            else {
                kept.put(k, v);
            }
        });
        return new EnvFilter(kept, findings);
    }

    /** Every non-option argument that could be a path must resolve inside the workspace. */
    private static boolean argumentsStayInside(List<String> argv, Workspace workspace) {
        for (String arg : argv.subList(1, argv.size())) {
            if (arg.startsWith("-")) {
                // an option's value (--file=/etc/x) is a path too
                int eq = arg.indexOf('=');
                if (eq > 0 && !insideOrNotPath(arg.substring(eq + 1), workspace)) {
                    return false;
                }
                continue;
            }
            if (!insideOrNotPath(arg, workspace)) {
                return false;
            }
        }
        return true;
    }

    private static boolean insideOrNotPath(String arg, Workspace workspace) {
        if (arg.startsWith("/") || arg.startsWith("~")) {
            return false;
        }
        return workspace.resolve(arg).isPresent();
    }
}
