package dev.warden.policy;

import dev.warden.policy.shell.Node;
import dev.warden.policy.shell.Word;
import java.nio.file.FileSystems;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One compiled policy rule. A rule with {@code check} matches structural findings, one with
 * {@code code} matches code scanners' hits, any other matches invocations; every key given must
 * match.
 */
final class Rule {

    final String id;
    final Action action;
    final Severity severity;
    final String reason;
    final String recommendation;

    private final Set<String> programs; // null: any
    private final List<String> options;
    private final List<Pattern> args;
    private final Pattern argv;
    private final List<PathMatcher> paths;
    private final List<PathMatcher> destPaths;
    private final List<PathMatcher> redirects;
    private final Set<String> pipedTo;
    final String check;
    private final Set<String> languages;
    private final List<String> imports;
    private final List<String> calls;
    final boolean code;
    /** Network presets every match grants, and those granted by the matched program's basename. */
    private final Set<String> grantsAlways;
    private final Map<String, String> grantsByProgram;
    /** Whether the hosts a matched command names can lower this rule (see Policy). */
    final boolean hostsFromArgs;

    Rule(String id, Action action, Severity severity, String reason, String recommendation, PolicyFile.MatchSpec m) {
        this(id, action, severity, reason, recommendation, m, List.of(), Map.of(), false);
    }

    Rule(String id, Action action, Severity severity, String reason, String recommendation, PolicyFile.MatchSpec m,
            List<String> grantsAlways, Map<String, String> grantsByProgram, boolean hostsFromArgs) {
        this.grantsAlways = Set.copyOf(grantsAlways);
        this.grantsByProgram = Map.copyOf(grantsByProgram);
        this.hostsFromArgs = hostsFromArgs;
        this.id = id;
        this.action = action;
        this.severity = severity;
        this.reason = reason;
        this.recommendation = recommendation == null ? "" : recommendation;
        this.programs = m.programs() == null || m.programs().contains("*") ? null : Set.copyOf(m.programs());
        this.options = m.options();
        this.args = m.args() == null ? null : m.args().stream().map(Pattern::compile).toList();
        this.argv = m.argv() == null ? null : Pattern.compile(m.argv());
        this.paths = globs(m.paths());
        this.destPaths = globs(m.destPaths());
        this.redirects = globs(m.redirects());
        this.pipedTo = m.pipedTo() == null ? null : Set.copyOf(m.pipedTo());
        this.check = m.check();
        this.code = m.code() != null;
        this.languages = code && m.code().languages() != null ? Set.copyOf(m.code().languages()) : null;
        this.imports = code ? m.code().imports() : null;
        this.calls = code ? m.code().calls() : null;
    }

    private static List<PathMatcher> globs(List<String> patterns) {
        if (patterns == null) {
            return null;
        }
        return patterns.stream().map(p -> FileSystems.getDefault().getPathMatcher("glob:" + p)).toList();
    }

    /** Whether the rule grants network presets at all (its matched commands' hosts are then read too). */
    boolean grants() {
        return !grantsAlways.isEmpty() || !grantsByProgram.isEmpty();
    }

    /** The network presets this rule grants a call it matched in which {@code program} runs (null: code, checks). */
    Set<String> grants(String program) {
        String byProgram = program == null ? null : grantsByProgram.get(program);
        if (byProgram == null) {
            return grantsAlways;
        }
        Set<String> all = new java.util.TreeSet<>(grantsAlways);
        all.add(byProgram);
        return all;
    }

    /** The programs the rule names, or null for any program. */
    Set<String> programs() {
        return programs;
    }

    boolean matches(Analysis.Structural s) {
        return check != null && check.equals(s.check());
    }

    /**
     * A code rule that names languages and nothing else matches every execute_code call in them:
     * how operators route a whole language to a tier (e.g. compiled languages to L3).
     */
    boolean matchesLanguage(String language) {
        return code && imports == null && calls == null && languages != null && languages.contains(language);
    }

    boolean matches(Analysis.CodeUse use) {
        if (!code || (languages != null && !languages.contains(use.language()))) {
            return false;
        }
        String name = use.hit().name();
        if (use.hit().kind().equals("import")) {
            return imports != null && imports.stream().anyMatch(p -> nameMatches(p, name));
        }
        return (calls != null && calls.stream().anyMatch(p -> nameMatches(p, name)))
                || (imports != null && imports.stream().anyMatch(p -> p.contains(".") && nameMatches(p, name)));
    }

    /** "a" matches a and a.b; "a.*" and "a*" are prefix wildcards. */
    private static boolean nameMatches(String pattern, String name) {
        if (pattern.endsWith("*")) {
            return name.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return name.equals(pattern) || name.startsWith(pattern + ".");
    }

    boolean matches(Analysis.Invocation inv) {
        if (check != null || code) {
            return false;
        }
        if (programs != null && (inv.program == null || !programs.contains(inv.program))) {
            return false;
        }
        if (options != null && options.stream().noneMatch(o -> hasOption(inv.args, o))) {
            return false;
        }
        if (args != null && inv.args.stream().filter(w -> !w.dynamic())
            .noneMatch(w -> args.stream().anyMatch(p -> p.matcher(w.text()).matches()))) {
            return false;
        }
        if (argv != null && !argv.matcher(inv.joined()).find()) {
            return false;
        }
        if (paths != null && inv.paths().stream().noneMatch(p -> anyGlob(paths, p))) {
            return false;
        }
        if (destPaths != null) {
            String dest = destination(inv);
            if (dest == null || !anyGlob(destPaths, dest)) {
                return false;
            }
        }
        if (redirects != null && inv.redirects.stream().noneMatch(r -> writes(r)
                && anyGlob(redirects, normalize(r.target().text(), inv.cwd)))) {
            return false;
        }
        return pipedTo == null || inv.pipedTo.stream().anyMatch(pipedTo::contains);
    }

    private static boolean writes(Node.Redirect r) {
        return !r.hereDoc() && !r.target().dynamic() && (r.op().contains(">") && !r.op().equals(">&")
                || r.op().equals("<>") || (r.op().equals(">&") && !r.target().text().matches("[0-9-]+")));
    }

    static boolean hasOption(List<Word> args, String option) {
        for (Word w : args) {
            String t = w.text();
            if (w.dynamic() || t.equals("--")) {
                if (t.equals("--")) {
                    return false;
                }
                continue;
            }
            if (option.startsWith("--")) {
                if (t.equals(option) || t.startsWith(option + "=")) {
                    return true;
                }
            }
            else if (option.length() == 2 && t.startsWith("-") && !t.startsWith("--") && t.length() > 1
                    && t.indexOf(option.charAt(1), 1) > 0) {
                return true;
            }
            else if (t.equals(option)) {
                return true;
            }
        }
        return false;
    }

    /** The arguments that name paths: plain words, option values (--x=/p) and key=value values (of=/dev/sda). */
    static List<String> pathArguments(Analysis.Invocation inv) {
        List<String> out = new ArrayList<>();
        for (Word w : inv.args) {
            String t = w.text();
            if (w.dynamic() && !t.startsWith("$HOME") && !t.startsWith("${HOME}")) {
                continue;
            }
            int eq = t.indexOf('=');
            if (t.startsWith("-")) {
                if (eq > 0) {
                    t = t.substring(eq + 1);
                }
                else {
                    continue;
                }
            }
            else if (eq > 0 && !t.startsWith("/") && dev.warden.policy.shell.ShellParser.isName(t.substring(0, eq))) {
                t = t.substring(eq + 1);
            }
            String n = normalize(t, inv.cwd);
            if (n != null) {
                out.add(n);
            }
        }
        return out;
    }

    /** The last path argument (the target of cp, mv, ln), or the value of -t / --target-directory. */
    private static String destination(Analysis.Invocation inv) {
        String last = null;
        for (int k = 0; k < inv.args.size(); k++) {
            Word w = inv.args.get(k);
            String t = w.text();
            if ((t.equals("-t") || t.equals("--target-directory")) && k + 1 < inv.args.size()) {
                return normalize(inv.args.get(k + 1).text(), inv.cwd);
            }
            if (t.startsWith("--target-directory=")) {
                return normalize(t.substring(t.indexOf('=') + 1), inv.cwd);
            }
            if (!t.startsWith("-") && !w.dynamic()) {
                last = t;
            }
        }
        return last == null ? null : normalize(last, inv.cwd);
    }

    private static boolean anyGlob(List<PathMatcher> globs, String path) {
        if (path == null) {
            return false;
        }
        Path p;
        try {
            p = Path.of(path);
        }
        catch (InvalidPathException e) {
            return false;
        }
        for (PathMatcher m : globs) {
            if (m.matches(p)) {
                return true;
            }
        }
        return false;
    }

    /**
     * An absolute, normalised path as the sandbox sees it: relative paths from cwd, "." and ".."
     * resolved, repeated slashes collapsed; ~ and $HOME stay "~".
     */
    static String normalize(String p, String cwd) {
        if (p == null || p.isEmpty()) {
            return null;
        }
        if (p.startsWith("${HOME}")) {
            p = "~" + p.substring(7);
        }
        else if (p.startsWith("$HOME")) {
            p = "~" + p.substring(5);
        }
        if (p.startsWith("~")) {
            String rest = p.substring(1);
            if (!rest.isEmpty() && !rest.startsWith("/")) {
                return p; // ~user
            }
            String n = normalize(rest.isEmpty() ? "/" : rest, "/");
            return n.equals("/") ? "~" : "~" + n;
        }
        String abs = p.startsWith("/") ? p : cwd + "/" + p;
        Deque<String> parts = new ArrayDeque<>();
        for (String seg : abs.split("/")) {
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            if (seg.equals("..")) {
                parts.pollLast();
            }
            else {
                parts.addLast(seg);
            }
        }
        return "/" + String.join("/", parts);
    }
}
