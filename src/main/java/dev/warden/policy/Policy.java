package dev.warden.policy;

import dev.warden.call.Tier;
import dev.warden.config.ContainerLimits;
import dev.warden.policy.shell.Node;
import dev.warden.policy.shell.ShellParser;
import dev.warden.policy.shell.ShellSyntaxException;
import dev.warden.policy.shell.Word;
import dev.warden.session.Workspace;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The single place where a call is judged: the command line is parsed and every program it would
 * run is matched against the operator's rules (config/policy.yaml), code is scanned per language,
 * and the strictest matching action decides the tier, a hold for approval, or a refusal. Nothing a
 * tool argument says can loosen it.
 */
public final class Policy {

    /** What a run_command line runs when it needs a shell: bash inside the tier's sandbox, never on the host. */
    static final List<String> SHELL = List.of("/bin/bash", "-c");

    private final PolicyLoader.Compiled compiled;

    private final Set<String> l1Rules;
    /** Program rules by the programs they name, rules for any program, and check and code rules. */
    private final Map<String, List<Rule>> byProgram = new java.util.HashMap<>();
    private final List<Rule> anyProgram = new ArrayList<>();
    private final List<Rule> otherRules = new ArrayList<>();

    public Policy(PolicyLoader.Compiled compiled) {
        this.compiled = compiled;
        for (Rule r : compiled.rules()) {
            if (r.check != null || r.code) {
                otherRules.add(r);
            }
            else if (r.programs() == null) {
                anyProgram.add(r);
            }
            else {
                r.programs().forEach(p -> byProgram.computeIfAbsent(p, k -> new ArrayList<>()).add(r));
            }
        }
        // each program's list ends with the rules for any program; in policy order within each part
        byProgram.values().forEach(list -> list.addAll(anyProgram));
        this.l1Rules = compiled.rules().stream().filter(r -> r.action == Action.L1).map(r -> r.id)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    public String preset() {
        return compiled.preset();
    }

    /** How long a held call waits for a person before it is denied. */
    public java.time.Duration approvalTimeout() {
        return compiled.approvalTimeout();
    }

    /** The largest workspace that is snapshotted before an approved call (0: never). */
    public long checkpointMaxBytes() {
        return compiled.checkpointMaxBytes();
    }

    /** Whether a call routed to L3 may run at L2 when no container can be had (policy key l3_fallback). */
    public boolean l3FallbackToL2() {
        return compiled.l3FallbackToL2();
    }

    /**
     * The OCI runtime of L3 containers (policy key container_runtime, the preset resolved): runc,
     * runsc (gVisor; calls are refused while the engine has no runsc) or auto (runsc when the engine
     * has it, else runc).
     */
    public String containerRuntime() {
        return compiled.containerRuntime();
    }

    /** The policy's {@code network:} section as written (null when absent), compiled by the egress package. */
    public com.fasterxml.jackson.databind.JsonNode networkSection() {
        return compiled.network();
    }

    /** The container limits of a language (policy key containers), or the `default` entry. */
    public ContainerLimits containerLimits(String language) {
        ContainerLimits l = compiled.containers().get(language);
        return l != null ? l : compiled.containers().get("default");
    }

    /** {@link #decideCommand(String, Workspace, String, boolean, HostCheck)} with no host allowed. */
    public Decision decideCommand(String command, Workspace workspace, String cwd, boolean longTimeout) {
        return decideCommand(command, workspace, cwd, longTimeout, HostCheck.NONE);
    }

    /**
     * @param cwd the call's directory relative to the workspace ("" for its root)
     * @param longTimeout whether the call asks for more time than the limits allow
     * @param hosts which destinations the network policy allows: a rule with hosts_from_args does not
     *     hold or block a command whose named hosts it allows, every one
     */
    public Decision decideCommand(String command, Workspace workspace, String cwd, boolean longTimeout,
            HostCheck hosts) {
        Analysis a = new Analysis(cwd.isEmpty() ? "/workspace" : "/workspace/" + cwd);
        Node root = null;
        try {
            root = ShellParser.parse(command);
            a.command(root);
        }
        catch (ShellSyntaxException e) {
            a.unparsed(e.getMessage());
        }
        if (longTimeout) {
            a.structural.add(new Analysis.Structural("long_timeout", "timeout_ms above the policy's maximum"));
        }
        if (root != null && a.invocations.isEmpty() && a.structural.isEmpty()) {
            return Decision.block(Tier.L2, List.of(new Finding("command.empty", Severity.LOW, "no program named")),
                    "The command runs no program (it is empty, a comment or only assignments); name a program to run.");
        }
        List<String> plain = root == null ? null : plainArgv(root);
        boolean inlineOk = plain != null && a.invocations.size() == 1 && argumentsStayInside(plain, workspace, cwd);
        List<String> argv = new ArrayList<>();
        if (plain != null) {
            argv.addAll(plain);
        }
        else {
            argv.addAll(SHELL);
            argv.add(command);
        }
        return judge(a, inlineOk, argv, null, java.util.Objects.requireNonNull(hosts, "hosts"));
    }

    /** {@link #decideCode(String, String, boolean, HostCheck)} with no host allowed. */
    public Decision decideCode(String language, String code, boolean longTimeout) {
        return decideCode(language, code, longTimeout, HostCheck.NONE);
    }

    /** @param hosts as for decideCommand: for the commands the code runs (os.system, a bash script) */
    public Decision decideCode(String language, String code, boolean longTimeout, HostCheck hosts) {
        Analysis a = new Analysis("/workspace");
        a.code(language, code);
        if (longTimeout) {
            a.structural.add(new Analysis.Structural("long_timeout", "timeout_ms above the policy's maximum"));
        }
        return judge(a, false, List.of(), language, java.util.Objects.requireNonNull(hosts, "hosts"));
    }

    /**
     * @param language the language of execute_code, null for a command line
     * @param hostCheck the destinations the network policy allows
     */
    private Decision judge(Analysis a, boolean inlineOk, List<String> argv, String language, HostCheck hostCheck) {
        java.util.SortedSet<String> presets = new java.util.TreeSet<>();
        Set<String> hosts = new LinkedHashSet<>();
        Map<String, Finding> findings = new LinkedHashMap<>();
        Set<String> codeSeen = new java.util.HashSet<>();
        Action strictest = null;
        Action strictestRun = Action.L2; // the tier a blocked or held call would have had
        Action belowHold = Action.L2; // where a held call runs once approved: never inline
        Set<String> heldBy = new LinkedHashSet<>();
        Rule decisive = null;
        boolean allInline = !a.invocations.isEmpty();
        for (Analysis.Invocation inv : a.invocations) {
            Action own = null;
            Hosts.Named named = null;
            for (Rule r : rulesFor(inv)) {
                if (r.matches(inv)) {
                    presets.addAll(r.grants(inv.program));
                    if (r.hostsFromArgs || r.grants()) {
                        named = named != null ? named : Hosts.read(inv);
                        named.dests().forEach(d -> hosts.add(d.toString()));
                    }
                    if (r.hostsFromArgs && allAllowed(named, hostCheck)) {
                        // the network policy lets it reach every host it names: the rule neither holds nor blocks
                        findings.putIfAbsent(r.id + "\0hosts", new Finding(r.id, Severity.INFO, inv.program
                                + " to allowed hosts: " + String.join(", ", named.dests().stream().map(Hosts.Dest::toString).toList())));
                        continue;
                    }
                    own = Action.max(own == null ? r.action : own, r.action);
                    decisive = stricter(decisive, r);
                    belowHold = noteHold(r, belowHold, heldBy);
                    add(findings, r, "`" + inv.shown() + "`");
                    if (r.action.compareTo(Action.APPROVE) < 0 && r.action != Action.L1) {
                        strictestRun = Action.max(strictestRun, r.action);
                    }
                }
            }
            if (own == null) {
                own = compiled.defaultAction();
                if (own.compareTo(Action.APPROVE) < 0) {
                    belowHold = Action.max(belowHold, own);
                }
            }
            allInline &= own == Action.L1;
            strictest = strictest == null ? own : Action.max(strictest, own);
        }
        for (Analysis.Structural s : a.structural) {
            for (Rule r : otherRules) {
                if (r.matches(s)) {
                    presets.addAll(r.grants(null));
                    strictest = strictest == null ? r.action : Action.max(strictest, r.action);
                    decisive = stricter(decisive, r);
                    belowHold = noteHold(r, belowHold, heldBy);
                    add(findings, r, s.detail());
                }
            }
        }
        for (Analysis.CodeUse u : a.codeUses) {
            for (Rule r : otherRules) {
                if (r.matches(u)) {
                    presets.addAll(r.grants(null));
                    strictest = strictest == null ? r.action : Action.max(strictest, r.action);
                    decisive = stricter(decisive, r);
                    belowHold = noteHold(r, belowHold, heldBy);
                    // one finding per rule and name, at its first line
                    String key = r.id + "\0" + u.hit().name();
                    if (codeSeen.add(key)) {
                        add(findings, r, "`" + u.hit().name() + "` at line " + u.hit().line());
                    }
                }
            }
        }
        if (language != null) {
            for (Rule r : otherRules) {
                if (r.matchesLanguage(language)) {
                    presets.addAll(r.grants(null));
                    strictest = strictest == null ? r.action : Action.max(strictest, r.action);
                    decisive = stricter(decisive, r);
                    add(findings, r, "language " + language);
                }
            }
        }
        if (strictest == null) {
            strictest = compiled.defaultAction();
        }
        if (strictest == Action.L1 && !(inlineOk && allInline)) {
            strictest = Action.L2;
        }
        List<Finding> list = new ArrayList<>(findings.values());
        if (strictest != Action.L1) {
            // "runs inline" findings would mislead when the call as a whole does not
            list.removeIf(f -> l1Rules.contains(f.rule()));
        }
        if (list.isEmpty()) {
            list.add(new Finding("default." + strictest.wire(), Severity.INFO, "no rule matched; runs at "
                    + strictest.tier() + (strictest == Action.L2 ? " in the sandbox" : "")));
        }
        Decision d = switch (strictest) {
            case BLOCK -> Decision.block(strictestRun.tier(), list, sentence("Blocked by policy rule", decisive));
            case APPROVE -> Decision.hold(argv, list, sentence("Held for a human's approval by policy rule", decisive),
                    belowHold.tier(), List.copyOf(heldBy));
            default -> Decision.run(strictest.tier(), argv, list);
        };
        return d.withNetwork(presets, List.copyOf(hosts));
    }

    /** A command that names at least one host, every argument that could name one read, each host allowed. */
    private static boolean allAllowed(Hosts.Named named, HostCheck check) {
        return named.complete() && !named.dests().isEmpty()
                && named.dests().stream().allMatch(d -> check.allowed(d.host(), d.port()));
    }

    /** Records a matched rule: an approve rule is one a grant must cover, a lower one may raise the run tier. */
    private static Action noteHold(Rule r, Action belowHold, Set<String> heldBy) {
        if (r.action == Action.APPROVE) {
            heldBy.add(r.id);
            return belowHold;
        }
        return r.action.compareTo(Action.APPROVE) < 0 ? Action.max(belowHold, r.action) : belowHold;
    }

    /** The rules that can match this invocation, in policy order. */
    private List<Rule> rulesFor(Analysis.Invocation inv) {
        if (inv.program == null) {
            return anyProgram;
        }
        List<Rule> named = byProgram.get(inv.program);
        return named == null ? anyProgram : named;
    }

    private static Rule stricter(Rule current, Rule candidate) {
        if (current == null) {
            return candidate;
        }
        int byAction = candidate.action.compareTo(current.action);
        if (byAction != 0) {
            return byAction > 0 ? candidate : current;
        }
        return candidate.severity.compareTo(current.severity) > 0 ? candidate : current;
    }

    private static void add(Map<String, Finding> findings, Rule r, String subject) {
        String detail = r.reason + ": " + (subject.length() > 200 ? subject.substring(0, 197) + "..." : subject);
        findings.putIfAbsent(r.id + "\0" + detail, new Finding(r.id, r.severity, detail));
        if (findings.size() > 50) {
            findings.remove(findings.keySet().iterator().next());
        }
    }

    /** One sentence for the model: which rule, why, and what to do instead. */
    private static String sentence(String lead, Rule r) {
        String rec = r.recommendation.isBlank() ? "" : "; instead, " + r.recommendation;
        return lead + " " + r.id + ": " + r.reason + rec + ".";
    }

    /** The words of a command with no shell syntax at all, which runs as an argv without a shell; else null. */
    static List<String> plainArgv(Node root) {
        if (!(root instanceof Node.Simple s) || !s.assignments().isEmpty() || !s.redirects().isEmpty()
                || s.words().isEmpty()) {
            return null;
        }
        List<String> argv = new ArrayList<>();
        for (Word w : s.words()) {
            if (!w.literal() || !w.substitutions().isEmpty() || w.processSubstitution()) {
                return null;
            }
            argv.add(w.text());
        }
        return argv;
    }

    /** Variables a call may not set: they change how programs load code or where they look for it. */
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Set<String> ENV_DENIED = Set.of("PATH", "HOME", "TMPDIR", "USER", "LANG", "IFS", "ENV",
            "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "NODE_OPTIONS", "NODE_PATH",
            "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PERL5OPT", "PERL5LIB", "RUBYOPT", "JAVA_TOOL_OPTIONS",
            "GCONV_PATH", "HOSTALIASES", "RESOLV_HOST_CONF", "LOCALDOMAIN");

    /** The call's extra variables that may pass, and a finding for each one dropped. */
    public record EnvFilter(Map<String, String> kept, List<Finding> findings) {
    }

    public EnvFilter filterEnv(Map<String, String> requested) {
        Map<String, String> kept = new LinkedHashMap<>();
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

    /** Every non-option argument that could be a path must resolve inside the workspace (L1 runs on the host). */
    private static boolean argumentsStayInside(List<String> argv, Workspace workspace, String cwd) {
        String program = argv.get(0);
        String base = Analysis.basename(program);
        if (!(program.equals(base) || program.equals("/usr/bin/" + base) || program.equals("/bin/" + base))) {
            return false;
        }
        Set<String> checked = new LinkedHashSet<>();
        for (String arg : argv.subList(1, argv.size())) {
            if (arg.startsWith("-")) {
                // an option's value (--file=/etc/x) is a path too
                int eq = arg.indexOf('=');
                if (eq > 0) {
                    checked.add(arg.substring(eq + 1));
                }
                continue;
            }
            checked.add(arg);
        }
        for (String arg : checked) {
            if (arg.startsWith("/") || arg.startsWith("~")) {
                return false;
            }
            String rel = cwd.isEmpty() ? arg : cwd + "/" + arg;
            if (workspace.resolve(rel).isEmpty()) {
                return false;
            }
        }
        return true;
    }
}
