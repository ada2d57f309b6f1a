package dev.warden.policy;

import dev.warden.policy.code.CodeHit;
import dev.warden.policy.code.CodeScan;
import dev.warden.policy.code.CodeScanners;
import dev.warden.policy.shell.Node;
import dev.warden.policy.shell.ShellParser;
import dev.warden.policy.shell.ShellSyntaxException;
import dev.warden.policy.shell.Word;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything a call would run, found by walking the parsed command line or scanning the code: each
 * simple command (inside substitutions, functions, loops and here-documents fed to a shell too),
 * with wrappers such as {@code sudo}, {@code env}, {@code bash -c}, {@code python -c} or
 * {@code find -exec} unwrapped into the command they run, the structural findings (a fork bomb, a
 * program only known at run time), and what code scanners saw. Rules are matched against this.
 */
final class Analysis {

    /** One program that would run, with the words it gets. */
    static final class Invocation {
        final String program; // basename; null when only known at run time
        final List<Word> args;
        final List<Node.Redirect> redirects;
        final Set<String> pipedTo = new LinkedHashSet<>();
        final String cwd; // as the sandbox sees it: /workspace or below

        Invocation(String program, List<Word> args, List<Node.Redirect> redirects, String cwd) {
            this.program = program;
            this.args = args;
            this.redirects = redirects;
            this.cwd = cwd;
        }

        private String joined;
        private List<String> paths;

        /** The arguments joined by single spaces, for `argv` patterns. */
        String joined() {
            if (joined == null) {
                joined = String.join(" ", args.stream().map(Word::text).toList());
            }
            return joined;
        }

        /** The path arguments, normalised (see Rule.pathArguments). */
        List<String> paths() {
            if (paths == null) {
                paths = Rule.pathArguments(this);
            }
            return paths;
        }

        String shown() {
            StringBuilder sb = new StringBuilder(program == null ? "?" : program);
            for (Word w : args) {
                sb.append(' ').append(w.text());
                if (sb.length() > 120) {
                    sb.setLength(117);
                    return sb.append("...").toString();
                }
            }
            return sb.toString();
        }
    }

    /** A structural check that fired (see the `check` key of rules), with what it saw. */
    record Structural(String check, String detail) {
    }

    /** A code scanner's hit, in its language. */
    record CodeUse(String language, CodeHit hit) {
    }

    final List<Invocation> invocations = new ArrayList<>();
    final List<Structural> structural = new ArrayList<>();
    final List<CodeUse> codeUses = new ArrayList<>();

    private static final int MAX_NESTING = 8;
    private static final java.util.regex.Pattern PYTHON = java.util.regex.Pattern.compile("python[0-9.]*|pypy[0-9.]*");
    private static final int MAX_INVOCATIONS = 10_000;
    private static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "fish",
            "rbash", "yash", "posh");
    /** Calls whose string argument is a command line (judged as shell). */
    private static final List<String> SHELL_CALLS = List.of("os.system", "os.popen", "subprocess.", "commands.",
            "pty.spawn", "asyncio.create_subprocess_shell", "child_process.exec", "child_process.spawn",
            "child_process.fork");

    private final Map<String, Node> functions = new HashMap<>();
    /** Which invocations each word's substitutions produced (by identity). */
    private final Map<Word, int[]> wordRanges = new java.util.IdentityHashMap<>();
    private final Deque<String> inFunction = new ArrayDeque<>();
    private final String cwd;
    private boolean tooMany;

    Analysis(String cwd) {
        this.cwd = cwd;
    }

    /** Context of a node: does it run in the background or as a pipeline stage, and how deep in nesting. */
    private record Ctx(boolean background, boolean piped, int nesting, String stdinScript) {
        Ctx with(boolean bg, boolean pipe) {
            return new Ctx(bg || background, pipe || piped, nesting, null);
        }

        Ctx deeper() {
            return new Ctx(false, false, nesting + 1, null);
        }

        Ctx stdin(String script) {
            return new Ctx(background, piped, nesting, script);
        }
    }

    // ---- entry points ---------------------------------------------------------------------------

    /** A parsed command line. */
    void command(Node root) {
        walk(root, new Ctx(false, false, 0, null));
    }

    /** A command line that did not parse: recorded as the structural finding `unparsed`. */
    void unparsed(String why) {
        structural.add(new Structural("unparsed", why));
    }

    /** Code in a language; bash is parsed as shell, python and javascript are scanned. */
    void code(String language, String code) {
        code(language, code, new Ctx(false, false, 0, null));
    }

    // ---- shell ----------------------------------------------------------------------------------

    private boolean script(String text, Ctx ctx) {
        if (ctx.nesting() > MAX_NESTING) {
            structural.add(new Structural("unparsed", "commands nested more than " + MAX_NESTING + " levels deep"));
            return false;
        }
        Node root;
        try {
            root = ShellParser.parse(text);
        }
        catch (ShellSyntaxException e) {
            structural.add(new Structural("unparsed", e.getMessage()));
            return false;
        }
        walk(root, ctx);
        return true;
    }

    private void walk(Node node, Ctx ctx) {
        if (invocations.size() > MAX_INVOCATIONS) {
            if (!tooMany) {
                tooMany = true; // never judge a prefix and wave the rest through
                structural.add(new Structural("unparsed", "more than " + MAX_INVOCATIONS + " commands to judge"));
            }
            return;
        }
        if (node instanceof Node.Sequence seq) {
            for (int k = 0; k < seq.items().size(); k++) {
                walk(seq.items().get(k), ctx.with(seq.operators().get(k).equals("&"), false));
            }
        }
        else if (node instanceof Node.Pipeline p) {
            pipeline(p, ctx);
        }
        else if (node instanceof Node.Simple s) {
            simple(s, ctx);
        }
        else if (node instanceof Node.Group g) {
            walk(g.body(), ctx.with(false, false));
            redirects(g.redirects(), ctx);
        }
        else if (node instanceof Node.Function f) {
            functions.put(f.name(), f.body());
            inFunction.push(f.name());
            walk(f.body(), new Ctx(false, false, ctx.nesting(), null));
            inFunction.pop();
        }
        else if (node instanceof Node.Compound c) {
            words(c.words(), ctx);
            for (Node b : c.bodies()) {
                walk(b, ctx.with(false, false));
            }
            redirects(c.redirects(), ctx);
        }
    }

    private void pipeline(Node.Pipeline p, Ctx ctx) {
        List<List<Invocation>> stages = new ArrayList<>();
        for (int k = 0; k < p.stages().size(); k++) {
            int before = invocations.size();
            Node stage = p.stages().get(k);
            String fed = k > 0 ? echoedScript(p.stages().get(k - 1)) : null;
            walk(stage, ctx.with(false, true).stdin(fed));
            stages.add(new ArrayList<>(invocations.subList(before, invocations.size())));
        }
        for (int k = 0; k < stages.size() - 1; k++) {
            Set<String> downstream = new LinkedHashSet<>();
            for (int j = k + 1; j < stages.size(); j++) {
                stages.get(j).forEach(inv -> downstream.add(inv.program == null ? "?" : inv.program));
            }
            stages.get(k).forEach(inv -> inv.pipedTo.addAll(downstream));
        }
    }

    /** What `echo …` or `printf …` with literal words writes into a pipe: a script when a shell reads it. */
    private static String echoedScript(Node stage) {
        if (stage instanceof Node.Simple s && !s.words().isEmpty() && s.words().stream().allMatch(Word::literal)) {
            String prog = basename(s.words().get(0).text());
            if (prog.equals("echo") || prog.equals("printf")) {
                List<String> texts = s.words().subList(1, s.words().size()).stream().map(Word::text)
                    .filter(t -> !(prog.equals("echo") && t.matches("-[neE]+"))).toList();
                return String.join(" ", texts).replace("\\n", "\n");
            }
        }
        return null;
    }

    private void simple(Node.Simple s, Ctx ctx) {
        words(s.assignments(), ctx);
        words(s.words(), ctx);
        redirects(s.redirects(), ctx);
        if (s.words().isEmpty()) {
            return;
        }
        String stdin = ctx.stdinScript();
        for (Node.Redirect r : s.redirects()) {
            if ((r.hereDoc() || r.op().equals("<<<")) && r.target().literal()) {
                stdin = r.target().text();
            }
        }
        invoke(s.words(), s.redirects(), ctx.stdin(stdin));
    }

    private void words(List<Word> words, Ctx ctx) {
        for (Word w : words) {
            int before = invocations.size();
            for (Node sub : w.substitutions()) {
                walk(sub, ctx.deeper());
            }
            if (!w.substitutions().isEmpty()) {
                wordRanges.put(w, new int[] {before, invocations.size()});
            }
        }
    }

    private void redirects(List<Node.Redirect> redirects, Ctx ctx) {
        for (Node.Redirect r : redirects) {
            for (Node sub : r.target().substitutions()) {
                walk(sub, ctx.deeper());
            }
        }
    }

    /** Records the program the words name and unwraps it when it runs another command. */
    private void invoke(List<Word> words, List<Node.Redirect> redirects, Ctx ctx) {
        if (words.isEmpty() || invocations.size() > MAX_INVOCATIONS) {
            return;
        }
        Word first = words.get(0);
        List<Word> args = words.subList(1, words.size());
        if (!first.literal()) {
            invocations.add(new Invocation(null, args, redirects, cwd));
            structural.add(new Structural("dynamic_program", "`" + first.text() + "`"));
            return;
        }
        String name = basename(first.text());
        Invocation inv = new Invocation(name, args, redirects, cwd);
        invocations.add(inv);
        for (Word w : args) {
            String t = w.text();
            if (w.literal() && t.contains("..") && !t.startsWith("/") && !t.startsWith("-")) {
                String n = Rule.normalize(t, cwd);
                if (n != null && !n.equals("/workspace") && !n.startsWith("/workspace/")) {
                    structural.add(new Structural("path_escape", "`" + t + "` leads to " + n));
                }
            }
        }
        if (inFunction.contains(name) && (ctx.background() || ctx.piped())) {
            structural.add(new Structural("fork_bomb", "function `" + name + "` starts copies of itself"));
        }
        if (functions.containsKey(name)) {
            return;
        }
        if (PYTHON.matcher(name).matches()) {
            if (!pythonModule(args, ctx)) {
                inlineCode(args, "python", Set.of("-c"), ctx);
            }
            return;
        }
        if (name.equals("node") || name.equals("nodejs") || name.equals("deno") || name.equals("bun")) {
            inlineCode(args, "javascript", Set.of("-e", "--eval", "-p", "--print"), ctx);
            return;
        }
        if (SHELLS.contains(name)) {
            shell(name, args, ctx);
            return;
        }
        switch (name) {
            case "env" -> envWrapper(args, ctx);
            case "sudo", "doas" -> rest(args, skipOptions(args, 0, Set.of("-u", "-g", "-h", "-p", "-C", "-D", "-r",
                    "-t", "-T", "-U", "--user", "--group", "--host", "--prompt", "--chdir", "--role", "--type",
                    "--other-user", "--close-from", "--command-timeout"), true), ctx);
            case "nice" -> rest(args, skipOptions(args, 0, Set.of("-n", "--adjustment"), false), ctx);
            case "nohup", "builtin", "setsid", "caffeinate", "unbuffer", "catchsegv", "valgrind", "sg", "fakeroot",
                    "proot", "firejail", "systemd-run", "runuser", "setpriv", "capsh", "ltrace" ->
                rest(args, skipOptions(args, 0, Set.of("-o", "-e", "-u", "-g", "-s", "-p"), false), ctx);
            case "strace" -> rest(args, skipOptions(args, 0, Set.of("-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b",
                    "-I", "-O", "-P", "-S", "-X"), false), ctx);
            case "time" -> rest(args, skipOptions(args, 0, Set.of("-f", "-o", "--format", "--output"), false), ctx);
            case "exec" -> rest(args, skipOptions(args, 0, Set.of("-a"), false), ctx);
            case "command" -> {
                if (args.stream().noneMatch(w -> w.text().equals("-v") || w.text().equals("-V"))) {
                    rest(args, skipOptions(args, 0, Set.of(), false), ctx);
                }
            }
            case "stdbuf" -> rest(args, skipOptions(args, 0, Set.of("-i", "-o", "-e"), false), ctx);
            case "ionice" -> rest(args, skipOptions(args, 0, Set.of("-c", "-n", "-p", "-P", "-u"), false), ctx);
            case "chrt" -> rest(args, skipOptions(args, 0, Set.of(), false) + 1, ctx);
            case "taskset" -> {
                int k = skipOptions(args, 0, Set.of(), false);
                boolean listGiven = args.stream().anyMatch(w -> w.text().matches("-[a-z]*c.*|--cpu-list"));
                rest(args, listGiven ? k + 1 : k + 1, ctx);
            }
            case "timeout" -> rest(args, skipOptions(args, 0, Set.of("-s", "-k", "--signal", "--kill-after"), false) + 1, ctx);
            case "xargs" -> {
                int k = skipOptions(args, 0, Set.of("-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file",
                        "--delimiter", "--eof", "--replace", "--max-lines", "--max-args", "--max-procs", "--max-chars",
                        "--process-slot-var"), true);
                rest(args, k, ctx);
            }
            case "watch" -> {
                int k = skipOptions(args, 0, Set.of("-n", "--interval", "-q", "--equexit"), true);
                if (k == args.size() - 1 && args.get(k).literal()) {
                    script(args.get(k).text(), ctx.deeper());
                }
                else {
                    rest(args, k, ctx);
                }
            }
            case "chroot" -> rest(args, skipOptions(args, 0, Set.of("--userspec", "--groups"), true) + 1, ctx);
            case "flock" -> {
                int k = skipOptions(args, 0, Set.of("-w", "-E", "--timeout", "--conflict-exit-code"), true) + 1;
                if (k < args.size() && (args.get(k).text().equals("-c") || args.get(k).text().equals("--command"))) {
                    scriptArgument(args, k + 1, ctx);
                }
                else {
                    rest(args, k, ctx);
                }
            }
            case "unshare", "nsenter" -> rest(args, skipOptions(args, 0, Set.of("-t", "--target", "-S", "-G",
                    "--setuid", "--setgid", "--propagation", "--map-user", "--map-group"), false), ctx);
            case "busybox", "toybox" -> rest(args, 0, ctx);
            case "find" -> findExec(args, ctx);
            case "eval" -> {
                if (args.stream().allMatch(Word::literal)) {
                    script(String.join(" ", args.stream().map(Word::text).toList()), ctx.deeper());
                }
                else {
                    structural.add(new Structural("dynamic_eval", "`eval` of text only known at run time"));
                    args.forEach(w -> pipedInto(w, "eval"));
                }
            }
            case "source", "." -> {
                for (Word w : args) {
                    if (w.processSubstitution()) {
                        pipedInto(w, name);
                    }
                }
            }
            case "su" -> {
                for (int k = 0; k < args.size(); k++) {
                    String t = args.get(k).text();
                    if (t.equals("-c") || t.equals("--command")) {
                        scriptArgument(args, k + 1, ctx);
                    }
                    else if (t.startsWith("--command=")) {
                        script(t.substring("--command=".length()), ctx.deeper());
                    }
                }
            }
            case "script" -> {
                for (int k = 0; k < args.size(); k++) {
                    if (args.get(k).text().equals("-c") || args.get(k).text().equals("--command")) {
                        scriptArgument(args, k + 1, ctx);
                    }
                }
            }
            default -> {
                // an ordinary program
            }
        }
    }

    /** The command that starts at index k of args, if any, judged as its own invocation. */
    private void rest(List<Word> args, int k, Ctx ctx) {
        if (k >= 0 && k < args.size()) {
            invoke(args.subList(k, args.size()), List.of(), ctx);
        }
    }

    /**
     * Index of the first word that is not an option (or the word after "--"). Options in
     * valueOptions take the next word as their value unless it is attached (-uroot, --user=root).
     */
    private static int skipOptions(List<Word> args, int from, Set<String> valueOptions, boolean assignmentsToo) {
        int k = from;
        while (k < args.size()) {
            String t = args.get(k).text();
            if (t.equals("--")) {
                return k + 1;
            }
            if (t.startsWith("-") && t.length() > 1) {
                k += valueOptions.contains(t) ? 2 : 1;
            }
            else if (assignmentsToo && ShellParser.isAssignmentWord(t)) {
                k++;
            }
            else {
                return k;
            }
        }
        return k;
    }

    private void envWrapper(List<Word> args, Ctx ctx) {
        int k = 0;
        while (k < args.size()) {
            String t = args.get(k).text();
            if (t.equals("--")) {
                k++;
                break;
            }
            if (t.equals("-S") || t.equals("--split-string")) {
                scriptArgument(args, k + 1, ctx);
                return;
            }
            if (t.startsWith("-S") || t.startsWith("--split-string=")) {
                script(t.startsWith("-S") ? t.substring(2) : t.substring(t.indexOf('=') + 1), ctx.deeper());
                return;
            }
            if (t.equals("-u") || t.equals("-C") || t.equals("--unset") || t.equals("--chdir")) {
                k += 2;
            }
            else if (t.startsWith("-") || ShellParser.isAssignmentWord(t)) {
                k++;
            }
            else {
                break;
            }
        }
        rest(args, k, ctx);
    }

    private void findExec(List<Word> args, Ctx ctx) {
        for (int k = 0; k < args.size(); k++) {
            String t = args.get(k).text();
            if (t.equals("-exec") || t.equals("-execdir") || t.equals("-ok") || t.equals("-okdir")) {
                int end = k + 1;
                while (end < args.size() && !args.get(end).text().equals(";") && !args.get(end).text().equals("+")) {
                    end++;
                }
                invoke(args.subList(k + 1, end), List.of(), ctx);
                k = end;
            }
        }
    }

    /** A shell: -c script, a script read from a process substitution, or a script on its stdin. */
    private void shell(String name, List<Word> args, Ctx ctx) {
        for (int k = 0; k < args.size(); k++) {
            Word w = args.get(k);
            String t = w.text();
            if (t.equals("-o") || t.equals("+o") || t.equals("-O") || t.equals("+O") || t.equals("--rcfile")
                    || t.equals("--init-file")) {
                k++;
                continue;
            }
            if (t.startsWith("-") && !t.startsWith("--") && t.indexOf('c') > 0 && w.literal()) {
                scriptArgument(args, k + 1, ctx);
                return;
            }
            if (t.startsWith("-") || t.startsWith("+")) {
                continue;
            }
            if (w.processSubstitution()) {
                pipedInto(w, name);
            }
            return; // a script file: its contents are not known here
        }
        if (ctx.stdinScript() != null) {
            script(ctx.stdinScript(), ctx.deeper());
        }
    }

    /** Marks everything inside a {@code <(…)} read by a shell as piped into it (bash <(curl …)). */
    private void pipedInto(Word w, String reader) {
        int[] range = wordRanges.get(w);
        if (range != null) {
            invocations.subList(range[0], range[1]).forEach(inv -> inv.pipedTo.add(reader));
        }
    }

    /** The word at index k is a script for a shell (sh -c, su -c, env -S): judge it. */
    private void scriptArgument(List<Word> args, int k, Ctx ctx) {
        if (k >= args.size()) {
            return;
        }
        Word w = args.get(k);
        if (w.dynamic()) {
            structural.add(new Structural("dynamic_eval", "a shell runs `" + w.text() + "`, only known at run time"));
            pipedInto(w, "sh"); // bash -c "$(curl …)" is curl | sh
        }
        script(w.text(), ctx.deeper());
    }

    /**
     * {@code python -m MODULE args} for the modules that are programs too: the module runs as that
     * program with those arguments ({@code python3 -m pip install x} is {@code pip install x}).
     * ensurepip has no subcommand, it always installs (pip, from the wheels bundled with Python), so
     * it is judged as {@code ensurepip install …}. Other modules stay arguments of python, which rules
     * can match ({@code -m http.server}). Whether a module was unwrapped.
     */
    private boolean pythonModule(List<Word> args, Ctx ctx) {
        for (int k = 0; k < args.size(); k++) {
            Word w = args.get(k);
            String t = w.text();
            if (PYTHON_VALUE_OPTIONS.contains(t)) {
                k++;
                continue;
            }
            String module = t.equals("-m") && k + 1 < args.size() && args.get(k + 1).literal() ? args.get(k + 1).text()
                    : t.startsWith("-m") && t.length() > 2 && w.literal() ? t.substring(2) : null;
            if (module != null) {
                if (!MODULE_PROGRAMS.contains(module)) {
                    return false;
                }
                List<Word> words = new ArrayList<>();
                words.add(Word.of(module));
                if (module.equals("ensurepip")) {
                    words.add(Word.of("install"));
                }
                words.addAll(args.subList(t.equals("-m") ? k + 2 : k + 1, args.size()));
                invoke(words, List.of(), ctx);
                return true;
            }
            if (!t.startsWith("-") || t.equals("-") || t.startsWith("-c")) {
                return false; // a script, stdin, or code: not a module
            }
        }
        return false;
    }

    /** Modules run with python -m that are judged as the program of the same name. */
    private static final Set<String> MODULE_PROGRAMS = Set.of("pip", "ensurepip", "venv", "pipx", "uv", "poetry");
    /** Options of python that take the next word as their value. */
    private static final Set<String> PYTHON_VALUE_OPTIONS = Set.of("-W", "-X", "--check-hash-based-pycs");

    /** python -c, node -e and the like: the code is scanned like execute_code's. */
    private void inlineCode(List<Word> args, String language, Set<String> codeOptions, Ctx ctx) {
        for (int k = 0; k < args.size(); k++) {
            Word w = args.get(k);
            String t = w.text();
            String code = null;
            if (codeOptions.contains(t) && k + 1 < args.size()) {
                w = args.get(k + 1);
                code = w.text();
            }
            else {
                for (String opt : codeOptions) {
                    if (opt.length() == 2 && t.startsWith(opt) && t.length() > 2) {
                        code = t.substring(2);
                    }
                    else if (opt.startsWith("--") && t.startsWith(opt + "=")) {
                        code = t.substring(opt.length() + 1);
                    }
                }
            }
            if (language.equals("python") && PYTHON_VALUE_OPTIONS.contains(t)) {
                k++; // -W ignore: the value is no script
                continue;
            }
            if (code != null) {
                if (w.dynamic()) {
                    structural.add(new Structural("dynamic_eval", language + " runs code only known at run time"));
                    pipedInto(w, language.equals("python") ? "python" : "node");
                }
                code(language, code, ctx.deeper());
                return;
            }
            if (!t.startsWith("-")) {
                return; // a script file, or -m module: the module name is an argument rules can match
            }
        }
        if (args.isEmpty() && ctx.stdinScript() != null) {
            code(language, ctx.stdinScript(), ctx.deeper());
        }
    }

    // ---- code -----------------------------------------------------------------------------------

    private void code(String language, String code, Ctx ctx) {
        if (language.equals("bash") || SHELLS.contains(language)) {
            int before = structural.size();
            script(code, ctx);
            // a script is code: what the parser cannot read is an incomplete check (code_unparsed),
            // not an unreadable command line; it runs in the sandbox either way
            for (int k = before; k < structural.size(); k++) {
                if (structural.get(k).check().equals("unparsed")) {
                    structural.set(k, new Structural("code_unparsed", "the script could not be parsed: "
                            + structural.get(k).detail()));
                }
                else if (structural.get(k).check().equals("dynamic_program")) {
                    structural.set(k, new Structural("dynamic_eval", "the script runs a program named by "
                            + structural.get(k).detail()));
                }
            }
            return;
        }
        if (ctx.nesting() > MAX_NESTING) {
            return;
        }
        CodeScan scan = CodeScanners.scan(language, code);
        if (scan == null) {
            return;
        }
        if (scan.lexError()) {
            structural.add(new Structural("code_unparsed", language + " code could not be fully tokenized"));
        }
        for (CodeHit hit : scan.hits()) {
            codeUses.add(new CodeUse(language, hit));
            if (hit.literal() == null) {
                continue;
            }
            String n = hit.name();
            if (SHELL_CALLS.stream().anyMatch(p -> p.endsWith(".") ? n.startsWith(p) : n.equals(p) || n.startsWith(p))) {
                script(hit.literal(), ctx.deeper());
            }
            else if (n.equals("eval") || n.equals("exec") || n.equals("Function") || n.equals("setTimeout")
                    || n.equals("setInterval")) {
                code(language, hit.literal(), ctx.deeper());
            }
        }
    }

    static String basename(String program) {
        String p = program;
        while (p.endsWith("/") && p.length() > 1) {
            p = p.substring(0, p.length() - 1);
        }
        return p.substring(p.lastIndexOf('/') + 1);
    }
}
