package dev.warden.policy.shell;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A recursive-descent parser for the POSIX shell command language (XCU 2.10) with the bash
 * extensions agents actually write: {@code $'…'}, {@code $"…"}, {@code [[ … ]]}, {@code (( … ))},
 * {@code <(…)}/{@code >(…)}, {@code |&}, {@code &>}, {@code <<<}, {@code function f}, arrays
 * {@code a=(…)}, {@code ;&} and {@code ;;&}. It builds a tree of what would run ({@link Node}); it
 * expands and evaluates nothing.
 *
 * <p>Anything it does not understand is a {@link ShellSyntaxException}, never a guess: the policy
 * refuses what it cannot read. There is no JVM library for this (the maintained shell parsers are in
 * Go, Rust, C# and JavaScript), hence this one; {@code ShellParserTest} holds its own tests.
 */
public final class ShellParser {

    /** Words that are keywords only where a command starts. */
    private static final Set<String> RESERVED = Set.of("if", "then", "else", "elif", "fi", "do", "done", "case",
            "esac", "while", "until", "for", "in", "function", "select", "{", "}", "[[", "]]", "!");
    private static final Set<String> LIST_END = Set.of("then", "else", "elif", "fi", "do", "done", "esac", "}");
    private static final int MAX_DEPTH = 100;

    private final String s;
    private int i;
    private int depth;
    /** A newline position whose following here-document bodies were read: parsing resumes after them. */
    private final Map<Integer, Integer> hereDocSkips = new HashMap<>();

    private ShellParser(String s, int depth) {
        this.s = s;
        this.depth = depth;
    }

    /** Parses a whole command line or script. */
    public static Node parse(String source) throws ShellSyntaxException {
        try {
            return new ShellParser(source, 0).all();
        }
        catch (Fail f) {
            throw new ShellSyntaxException(f.getMessage());
        }
        catch (StackOverflowError e) {
            throw new ShellSyntaxException("the command is nested too deeply to judge");
        }
    }

    private static final class Fail extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Fail(String message) {
            super(message, null, false, false);
        }
    }

    private Node all() {
        Node n = list(Set.of(), false);
        skipSpace(true);
        if (!eof()) {
            throw unexpected();
        }
        return n;
    }

    // ---- lists, and-or lists, pipelines ------------------------------------------------------

    private Node list(Set<String> stopWords, boolean stopAtParen) {
        if (++depth > MAX_DEPTH) {
            throw new Fail("the command is nested too deeply to judge");
        }
        List<Node> items = new ArrayList<>();
        List<String> ops = new ArrayList<>();
        while (true) {
            skipSpace(true);
            if (eof() || (stopAtParen && peek() == ')') || startsWith(";;") || startsWith(";&")) {
                break;
            }
            String w = reservedAhead();
            if (w != null && (stopWords.contains(w) || LIST_END.contains(w))) {
                if (stopWords.contains(w)) {
                    break;
                }
                throw new Fail("unexpected '" + w + "'");
            }
            items.add(andOr());
            skipSpace(false);
            if (startsWith(";;") || startsWith(";&")) {
                ops.add(";");
                break;
            }
            if (!eof() && peek() == ';') {
                i++;
                ops.add(";");
            }
            else if (!eof() && peek() == '&' && !startsWith("&&") && !startsWith("&>")) {
                i++;
                ops.add("&");
            }
            else if (!eof() && peek() == '\n') {
                ops.add(";");
            }
            else {
                ops.add("");
                break;
            }
        }
        depth--;
        if (items.size() == 1 && !ops.get(0).equals("&")) {
            return items.get(0);
        }
        return new Node.Sequence(items, ops);
    }

    private Node andOr() {
        List<Node> items = new ArrayList<>();
        List<String> ops = new ArrayList<>();
        items.add(pipeline());
        while (true) {
            skipSpace(false);
            if (startsWith("&&") || startsWith("||")) {
                ops.add(s.substring(i, i + 2));
                i += 2;
                skipSpace(true);
                items.add(pipeline());
            }
            else {
                break;
            }
        }
        if (items.size() == 1) {
            return items.get(0);
        }
        ops.add("");
        return new Node.Sequence(items, ops);
    }

    private Node pipeline() {
        skipSpace(false);
        boolean negated = false;
        if ("!".equals(reservedAhead())) {
            i++;
            negated = true;
        }
        List<Node> stages = new ArrayList<>();
        stages.add(command());
        while (true) {
            skipSpace(false);
            if (!eof() && peek() == '|' && !startsWith("||")) {
                i += startsWith("|&") ? 2 : 1;
                skipSpace(true);
                stages.add(command());
            }
            else {
                break;
            }
        }
        if (stages.size() == 1 && !negated) {
            return stages.get(0);
        }
        return new Node.Pipeline(stages, negated);
    }

    // ---- commands ------------------------------------------------------------------------------

    private Node command() {
        skipSpace(false);
        if (eof()) {
            throw new Fail("a command is missing at the end");
        }
        if (startsWith("((")) {
            List<Node> subs = new ArrayList<>();
            String text = arithmetic(subs);
            return new Node.Compound("((", List.of(new Word(text, true, false, subs, false)), List.of(), redirects());
        }
        if (peek() == '(') {
            i++;
            Node body = list(Set.of(), true);
            expectChar(')');
            return new Node.Group(body, true, redirects());
        }
        String w = reservedAhead();
        if (w != null) {
            switch (w) {
                case "{": {
                    i++;
                    Node body = list(Set.of("}"), false);
                    expectWord("}");
                    return new Node.Group(body, false, redirects());
                }
                case "if":
                    return ifClause();
                case "while":
                case "until": {
                    i += w.length();
                    Node cond = list(Set.of("do"), false);
                    expectWord("do");
                    Node body = list(Set.of("done"), false);
                    expectWord("done");
                    return new Node.Compound(w, List.of(), List.of(cond, body), redirects());
                }
                case "for":
                case "select":
                    return forClause(w);
                case "case":
                    return caseClause();
                case "function": {
                    i += w.length();
                    skipSpace(false);
                    Word name = word();
                    skipSpace(false);
                    if (startsWith("()")) {
                        i += 2;
                    }
                    else if (!eof() && peek() == '(') {
                        i++;
                        skipSpace(false);
                        expectChar(')');
                    }
                    skipSpace(true);
                    return new Node.Function(name.text(), command());
                }
                case "[[":
                    return testClause();
                default:
                    throw new Fail("unexpected '" + w + "'");
            }
        }
        Node.Simple simple = simple();
        // name() body: a function definition
        int save = i;
        skipSpace(false);
        if (simple.words().size() == 1 && simple.assignments().isEmpty() && simple.redirects().isEmpty()
                && !eof() && peek() == '(') {
            i++;
            skipSpace(false);
            expectChar(')');
            skipSpace(true);
            Word name = simple.words().get(0);
            if (!name.literal()) {
                throw new Fail("a function name must be a plain word");
            }
            return new Node.Function(name.text(), command());
        }
        i = save;
        if (simple.words().isEmpty() && simple.assignments().isEmpty() && simple.redirects().isEmpty()) {
            throw unexpected();
        }
        return simple;
    }

    private Node ifClause() {
        i += 2;
        List<Node> bodies = new ArrayList<>();
        bodies.add(list(Set.of("then"), false));
        expectWord("then");
        bodies.add(list(Set.of("elif", "else", "fi"), false));
        while (true) {
            String w = reservedAhead();
            if ("elif".equals(w)) {
                i += 4;
                bodies.add(list(Set.of("then"), false));
                expectWord("then");
                bodies.add(list(Set.of("elif", "else", "fi"), false));
            }
            else if ("else".equals(w)) {
                i += 4;
                bodies.add(list(Set.of("fi"), false));
                expectWord("fi");
                break;
            }
            else {
                expectWord("fi");
                break;
            }
        }
        return new Node.Compound("if", List.of(), bodies, redirects());
    }

    private Node forClause(String keyword) {
        i += keyword.length();
        skipSpace(false);
        List<Word> words = new ArrayList<>();
        if (startsWith("((")) {
            List<Node> subs = new ArrayList<>();
            words.add(new Word(arithmetic(subs), true, false, subs, false));
        }
        else {
            words.add(word());
            skipSpace(true);
            if ("in".equals(reservedAhead())) {
                i += 2;
                while (true) {
                    skipSpace(false);
                    if (eof() || peek() == ';' || peek() == '\n') {
                        break;
                    }
                    words.add(word());
                }
            }
        }
        skipSpace(false);
        if (!eof() && peek() == ';') {
            i++;
        }
        skipSpace(true);
        expectWord("do");
        Node body = list(Set.of("done"), false);
        expectWord("done");
        return new Node.Compound(keyword, words, List.of(body), redirects());
    }

    private Node caseClause() {
        i += 4;
        skipSpace(false);
        List<Word> words = new ArrayList<>();
        words.add(word());
        skipSpace(true);
        expectWord("in");
        List<Node> bodies = new ArrayList<>();
        while (true) {
            skipSpace(true);
            if ("esac".equals(reservedAhead())) {
                i += 4;
                break;
            }
            if (eof()) {
                throw new Fail("'case' is missing its 'esac'");
            }
            if (peek() == '(') {
                i++;
            }
            while (true) {
                skipSpace(false);
                words.add(word());
                skipSpace(false);
                if (!eof() && peek() == '|') {
                    i++;
                    continue;
                }
                expectChar(')');
                break;
            }
            bodies.add(list(Set.of("esac"), false));
            if (startsWith(";;&")) {
                i += 3;
            }
            else if (startsWith(";;") || startsWith(";&")) {
                i += 2;
            }
        }
        return new Node.Compound("case", words, bodies, redirects());
    }

    /** {@code [[ … ]]}: its operands are words, its operators are not redirections. */
    private Node testClause() {
        i += 2;
        List<Word> words = new ArrayList<>();
        while (true) {
            skipSpace(true);
            if (eof()) {
                throw new Fail("'[[' is missing its ']]'");
            }
            if (startsWith("]]") && (i + 2 >= s.length() || delimiter(s.charAt(i + 2)))) {
                i += 2;
                break;
            }
            if (startsWith("&&") || startsWith("||")) {
                i += 2;
                continue;
            }
            char c = peek();
            if (c == '(' || c == ')' || c == '<' || c == '>' || c == '!') {
                i++;
                continue;
            }
            words.add(word());
        }
        return new Node.Compound("[[", words, List.of(), redirects());
    }

    private Node.Simple simple() {
        List<Word> assignments = new ArrayList<>();
        List<Word> words = new ArrayList<>();
        List<Node.Redirect> redirects = new ArrayList<>();
        while (true) {
            skipSpace(false);
            if (eof()) {
                break;
            }
            char c = peek();
            if (redirectAhead()) {
                redirects.add(redirect());
                continue;
            }
            if (c == ';' || c == '&' || c == '|' || c == ')' || c == '(' || c == '\n') {
                if (c == '(' && words.isEmpty() && !assignments.isEmpty()) {
                    throw unexpected();
                }
                break;
            }
            if ((c == '<' || c == '>') && !(i + 1 < s.length() && s.charAt(i + 1) == '(')) {
                throw unexpected();
            }
            int start = i;
            Word w = word();
            if (words.isEmpty() && isAssignment(s.substring(start, i))) {
                assignments.add(w);
            }
            else {
                words.add(w);
            }
        }
        return new Node.Simple(assignments, words, redirects);
    }

    private static boolean isAssignment(String raw) {
        int eq = raw.indexOf('=');
        if (eq <= 0) {
            return false;
        }
        String name = raw.charAt(eq - 1) == '+' ? raw.substring(0, eq - 1) : raw.substring(0, eq);
        int bracket = name.indexOf('[');
        if (bracket > 0 && name.endsWith("]")) {
            name = name.substring(0, bracket);
        }
        return isName(name);
    }

    /** A shell variable name: a letter or underscore, then letters, digits, underscores. */
    public static boolean isName(String s) {
        if (s.isEmpty() || !(Character.isLetter(s.charAt(0)) && s.charAt(0) < 128 || s.charAt(0) == '_')) {
            return false;
        }
        for (int k = 1; k < s.length(); k++) {
            char c = s.charAt(k);
            if (!(c < 128 && Character.isLetterOrDigit(c) || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** NAME=… : a word that assigns a variable. */
    public static boolean isAssignmentWord(String s) {
        int eq = s.indexOf('=');
        return eq > 0 && isName(s.substring(0, eq));
    }

    // ---- redirections ----------------------------------------------------------------------------

    private boolean redirectAhead() {
        int j = i;
        if (startsWith("&>")) {
            return true;
        }
        while (j < s.length() && Character.isDigit(s.charAt(j))) {
            j++;
        }
        if (j < s.length() && s.charAt(j) == '{' && j == i) {
            int close = s.indexOf('}', j);
            if (close > j && close + 1 < s.length() && isName(s.substring(j + 1, close))
                    && (s.charAt(close + 1) == '<' || s.charAt(close + 1) == '>')) {
                j = close + 1;
            }
        }
        if (j >= s.length()) {
            return false;
        }
        char c = s.charAt(j);
        if (c != '<' && c != '>') {
            return false;
        }
        // <( and >( are process substitutions, words rather than redirections
        return !(j == i && j + 1 < s.length() && s.charAt(j + 1) == '(');
    }

    private static final List<String> REDIRECT_OPS = List.of("&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">>", ">&",
            ">|", "<", ">");

    private Node.Redirect redirect() {
        while (Character.isDigit(peek())) {
            i++;
        }
        if (peek() == '{') {
            i = s.indexOf('}', i) + 1;
        }
        String op = null;
        for (String candidate : REDIRECT_OPS) {
            if (startsWith(candidate)) {
                op = candidate;
                break;
            }
        }
        i += op.length();
        skipSpace(false);
        if (eof() || peek() == '\n' || peek() == ';' || peek() == '|' || peek() == '&') {
            throw new Fail("the redirection '" + op + "' has no target");
        }
        if (op.equals("<<") || op.equals("<<-")) {
            int start = i;
            Word delimiter = word();
            boolean quoted = s.substring(start, i).chars().anyMatch(ch -> ch == '\'' || ch == '"' || ch == '\\');
            return new Node.Redirect(op, hereDocBody(delimiter.text(), quoted, op.equals("<<-")), true);
        }
        return new Node.Redirect(op, word(), false);
    }

    /**
     * Reads a here-document's body, which starts after the newline that ends the current line (or
     * after the bodies of earlier here-documents on that line); parsing skips it when it gets there.
     */
    private Word hereDocBody(String delimiter, boolean quoted, boolean stripTabs) {
        int nl = s.indexOf('\n', i);
        if (nl < 0) {
            throw new Fail("the here-document '" + delimiter + "' has no body");
        }
        int start = hereDocSkips.getOrDefault(nl, nl + 1);
        int p = start;
        StringBuilder body = new StringBuilder();
        boolean closed = false;
        while (p <= s.length()) {
            int end = s.indexOf('\n', p);
            String line = s.substring(p, end < 0 ? s.length() : end);
            String cmp = stripTabs ? line.replaceFirst("^\t+", "") : line;
            p = end < 0 ? s.length() + 1 : end + 1;
            if (cmp.equals(delimiter)) {
                closed = true;
                break;
            }
            body.append(cmp).append('\n');
            if (end < 0) {
                break;
            }
        }
        if (!closed) {
            throw new Fail("the here-document '" + delimiter + "' is missing its end line");
        }
        hereDocSkips.put(nl, Math.min(p, s.length()));
        String text = body.toString();
        if (quoted) {
            return Word.of(text);
        }
        // unquoted: $(…) and `…` in the body run when the here-document is read
        List<Node> subs = new ArrayList<>();
        ShellParser sub = new ShellParser(text, depth + 1);
        StringBuilder ignored = new StringBuilder();
        boolean[] flags = new boolean[2];
        while (!sub.eof()) {
            char c = sub.peek();
            if (c == '\\') {
                sub.i += 2;
            }
            else if (c == '$') {
                sub.dollar(ignored, subs, flags, true);
            }
            else if (c == '`') {
                sub.backtick(ignored, subs, flags);
            }
            else {
                sub.i++;
            }
        }
        return new Word(text, flags[0], false, subs, false);
    }

    private List<Node.Redirect> redirects() {
        List<Node.Redirect> out = new ArrayList<>();
        while (true) {
            skipSpace(false);
            if (!eof() && redirectAhead()) {
                out.add(redirect());
            }
            else {
                return out;
            }
        }
    }

    // ---- words ---------------------------------------------------------------------------------

    /** flags[0]: dynamic, flags[1]: glob */
    private Word word() {
        StringBuilder sb = new StringBuilder();
        List<Node> subs = new ArrayList<>();
        boolean[] flags = new boolean[2];
        int start = i;
        if (startsWith("<(") || startsWith(">(")) {
            i += 2;
            subs.add(list(Set.of(), true));
            expectChar(')');
            return new Word(s.substring(start, i), true, false, subs, true);
        }
        boolean quoted = false;
        while (!eof()) {
            char c = peek();
            if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>'
                    || c == ')') {
                break;
            }
            if (c == '(') {
                // a=( … ): an array assignment
                if (!quoted && isAssignment(s.substring(start, i) + "x") && sb.toString().endsWith("=")) {
                    i++;
                    arrayElements(sb, subs, flags);
                    continue;
                }
                break;
            }
            switch (c) {
                case '\\':
                    if (i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                        i += 2;
                    }
                    else if (i + 1 < s.length()) {
                        sb.append(s.charAt(i + 1));
                        i += 2;
                        quoted = true;
                    }
                    else {
                        sb.append('\\');
                        i++;
                    }
                    break;
                case '\'': {
                    int end = s.indexOf('\'', i + 1);
                    if (end < 0) {
                        throw new Fail("a single quote is not closed");
                    }
                    checkNoHereDocInside(i, end);
                    sb.append(s, i + 1, end);
                    i = end + 1;
                    quoted = true;
                    break;
                }
                case '"':
                    doubleQuoted(sb, subs, flags);
                    quoted = true;
                    break;
                case '$':
                    dollar(sb, subs, flags, false);
                    break;
                case '`':
                    backtick(sb, subs, flags);
                    break;
                case '*':
                case '?':
                    flags[1] = true;
                    sb.append(c);
                    i++;
                    break;
                case '[':
                    // a pattern only with a closing ']' later in the word: `[ -f x ]` runs the program [
                    if (s.indexOf(']', i) > i && !wordEndsBefore(s.indexOf(']', i))) {
                        flags[1] = true;
                    }
                    sb.append(c);
                    i++;
                    break;
                case '~':
                    // a leading ~ is tilde expansion (the home directory), like a glob known only at run time
                    if (i == start) {
                        flags[1] = true;
                    }
                    sb.append(c);
                    i++;
                    break;
                case '{':
                    if (braceExpansionAhead()) {
                        flags[1] = true;
                    }
                    sb.append(c);
                    i++;
                    break;
                default:
                    sb.append(c);
                    i++;
            }
        }
        if (i == start) {
            throw unexpected();
        }
        return new Word(sb.toString(), flags[0], flags[1], subs, false);
    }

    private void arrayElements(StringBuilder sb, List<Node> subs, boolean[] flags) {
        sb.append('(');
        while (true) {
            skipSpace(true);
            if (eof()) {
                throw new Fail("an array's '(' is not closed");
            }
            if (peek() == ')') {
                i++;
                sb.append(')');
                return;
            }
            Word w = word();
            sb.append(' ').append(w.text());
            subs.addAll(w.substitutions());
            flags[0] |= w.dynamic();
            flags[1] |= w.glob();
        }
    }

    /** Whether an unquoted word delimiter comes between the cursor and position end. */
    private boolean wordEndsBefore(int end) {
        for (int j = i; j < end; j++) {
            char c = s.charAt(j);
            if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>'
                    || c == '(' || c == ')') {
                return true;
            }
        }
        return false;
    }

    /** An unquoted {@code {a,b}} or {@code {1..3}} in the rest of this word. */
    private boolean braceExpansionAhead() {
        int close = -1;
        for (int j = i + 1; j < s.length(); j++) {
            char c = s.charAt(j);
            if (c == '}') {
                close = j;
                break;
            }
            if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '\'' || c == '"') {
                break;
            }
        }
        if (close < 0) {
            return false;
        }
        String inner = s.substring(i + 1, close);
        return inner.contains(",") || inner.contains("..");
    }

    private void doubleQuoted(StringBuilder sb, List<Node> subs, boolean[] flags) {
        int open = i;
        i++;
        while (true) {
            if (eof()) {
                throw new Fail("a double quote is not closed");
            }
            char c = peek();
            if (c == '"') {
                i++;
                checkNoHereDocInside(open, i);
                return;
            }
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(i + 1);
                if (n == '\n') {
                    i += 2;
                }
                else if (n == '$' || n == '`' || n == '"' || n == '\\') {
                    sb.append(n);
                    i += 2;
                }
                else {
                    sb.append('\\');
                    i++;
                }
            }
            else if (c == '$') {
                dollar(sb, subs, flags, true);
            }
            else if (c == '`') {
                backtick(sb, subs, flags);
            }
            else {
                sb.append(c);
                i++;
            }
        }
    }

    private void dollar(StringBuilder sb, List<Node> subs, boolean[] flags, boolean inDoubleQuotes) {
        int start = i;
        if (startsWith("$((")) {
            i++;
            sb.append('$').append(arithmetic(subs));
            flags[0] = true;
            return;
        }
        if (startsWith("$(")) {
            i += 2;
            subs.add(list(Set.of(), true));
            skipSpace(true);
            expectChar(')');
            sb.append(s, start, i);
            flags[0] = true;
            return;
        }
        if (startsWith("${")) {
            i += 2;
            int level = 1;
            StringBuilder ignored = new StringBuilder();
            while (level > 0) {
                if (eof()) {
                    throw new Fail("a '${' is not closed");
                }
                char c = peek();
                if (c == '}') {
                    level--;
                    i++;
                }
                else if (startsWith("${")) {
                    level++;
                    i += 2;
                }
                else if (c == '\\') {
                    i += 2;
                }
                else if (c == '\'' && !inDoubleQuotes) {
                    int end = s.indexOf('\'', i + 1);
                    if (end < 0) {
                        throw new Fail("a single quote is not closed");
                    }
                    i = end + 1;
                }
                else if (c == '"') {
                    doubleQuoted(ignored, subs, flags);
                }
                else if (c == '$') {
                    dollar(ignored, subs, flags, inDoubleQuotes);
                }
                else if (c == '`') {
                    backtick(ignored, subs, flags);
                }
                else {
                    i++;
                }
            }
            sb.append(s, start, Math.min(i, s.length()));
            flags[0] = true;
            return;
        }
        if (!inDoubleQuotes && startsWith("$'")) {
            i += 2;
            ansiC(sb);
            return;
        }
        if (!inDoubleQuotes && startsWith("$\"")) {
            i++;
            doubleQuoted(sb, subs, flags);
            return;
        }
        i++;
        if (!eof() && (Character.isLetter(peek()) || peek() == '_')) {
            while (!eof() && (Character.isLetterOrDigit(peek()) || peek() == '_')) {
                i++;
            }
            sb.append(s, start, i);
            flags[0] = true;
        }
        else if (!eof() && "0123456789@*#?$!-".indexOf(peek()) >= 0) {
            i++;
            sb.append(s, start, i);
            flags[0] = true;
        }
        else {
            sb.append('$');
        }
    }

    /** {@code $((…))} or {@code ((…))}, from its first '(': the source text; substitutions inside collected. */
    private String arithmetic(List<Node> subs) {
        int start = i;
        i += 2;
        int level = 0;
        StringBuilder ignored = new StringBuilder();
        boolean[] flags = new boolean[2];
        while (true) {
            if (eof()) {
                throw new Fail("a '((' is not closed");
            }
            char c = peek();
            if (c == ')' && level == 0) {
                if (startsWith("))")) {
                    i += 2;
                    return s.substring(start, i);
                }
                throw new Fail("a '((' is closed by a single ')'");
            }
            if (c == '(') {
                level++;
                i++;
            }
            else if (c == ')') {
                level--;
                i++;
            }
            else if (c == '$') {
                dollar(ignored, subs, flags, true);
            }
            else if (c == '`') {
                backtick(ignored, subs, flags);
            }
            else {
                i++;
            }
        }
    }

    private void backtick(StringBuilder sb, List<Node> subs, boolean[] flags) {
        int start = i;
        i++;
        StringBuilder inner = new StringBuilder();
        while (true) {
            if (eof()) {
                throw new Fail("a backquote is not closed");
            }
            char c = peek();
            if (c == '`') {
                i++;
                break;
            }
            if (c == '\\' && i + 1 < s.length() && "`\\$".indexOf(s.charAt(i + 1)) >= 0) {
                inner.append(s.charAt(i + 1));
                i += 2;
            }
            else {
                inner.append(c);
                i++;
            }
        }
        ShellParser sub = new ShellParser(inner.toString(), depth + 1);
        if (depth + 1 > MAX_DEPTH) {
            throw new Fail("the command is nested too deeply to judge");
        }
        subs.add(sub.all());
        sb.append(s, start, i);
        flags[0] = true;
    }

    /** {@code $'…'}: the escapes decoded, so {@code $'\x72m'} is seen as {@code rm}. */
    private void ansiC(StringBuilder sb) {
        while (true) {
            if (eof()) {
                throw new Fail("a $' quote is not closed");
            }
            char c = peek();
            if (c == '\'') {
                i++;
                return;
            }
            if (c != '\\' || i + 1 >= s.length()) {
                sb.append(c);
                i++;
                continue;
            }
            char e = s.charAt(i + 1);
            i += 2;
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'a' -> sb.append('\u0007');
                case 'b' -> sb.append('\b');
                case 'e', 'E' -> sb.append('\u001B');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000B');
                case 'x' -> sb.appendCodePoint(number(16, 2));
                case 'u' -> sb.appendCodePoint(number(16, 4));
                case 'U' -> sb.appendCodePoint(Math.min(number(16, 8), Character.MAX_CODE_POINT));
                case 'c' -> {
                    if (!eof()) {
                        sb.append((char) (peek() & 0x1f));
                        i++;
                    }
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        i--;
                        sb.appendCodePoint(number(8, 3));
                    }
                    else {
                        sb.append(e); // \\ \' \" \? and unknown escapes
                    }
                }
            }
        }
    }

    private int number(int radix, int maxDigits) {
        int v = 0;
        int n = 0;
        while (n < maxDigits && !eof() && Character.digit(peek(), radix) >= 0) {
            v = v * radix + Character.digit(peek(), radix);
            i++;
            n++;
        }
        return v;
    }

    // ---- the cursor ----------------------------------------------------------------------------

    /** Skips blanks, line continuations and comments; newlines too when asked (reading past here-documents). */
    private void skipSpace(boolean newlines) {
        while (!eof()) {
            char c = peek();
            if (c == ' ' || c == '\t' || c == '\r') {
                i++;
            }
            else if (c == '\\' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                i += 2;
            }
            else if (c == '#') {
                while (!eof() && peek() != '\n') {
                    i++;
                }
            }
            else if (c == '\n' && newlines) {
                Integer resume = hereDocSkips.remove(i);
                i = resume != null ? resume : i + 1;
            }
            else {
                return;
            }
        }
    }

    /** A here-document body inside a quoted span would be read twice; refuse rather than guess. */
    private void checkNoHereDocInside(int from, int to) {
        for (Integer nl : hereDocSkips.keySet()) {
            if (nl > from && nl < to) {
                throw new Fail("a quoted string spans the line that starts a here-document");
            }
        }
    }

    /** The reserved word at the cursor, if the next token is exactly one. */
    private String reservedAhead() {
        int j = i;
        while (j < s.length() && !delimiter(s.charAt(j))) {
            j++;
        }
        if (j == i) {
            return null;
        }
        String w = s.substring(i, j);
        return RESERVED.contains(w) ? w : null;
    }

    private static boolean delimiter(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')'
                || c == '<' || c == '>' || c == '\r';
    }

    private void expectWord(String w) {
        skipSpace(true);
        if (!w.equals(reservedAhead())) {
            throw new Fail("expected '" + w + "'" + (eof() ? " before the end" : " near " + near()));
        }
        i += w.length();
    }

    private void expectChar(char c) {
        skipSpace(false);
        if (eof() || peek() != c) {
            throw new Fail("expected '" + c + "'" + (eof() ? " before the end" : " near " + near()));
        }
        i++;
    }

    private Fail unexpected() {
        return new Fail(eof() ? "the command ends too early" : "unexpected " + near());
    }

    private String near() {
        String rest = s.substring(i, Math.min(s.length(), i + 12)).replace("\n", "\\n");
        return "'" + rest + "'";
    }

    private boolean eof() {
        return i >= s.length();
    }

    private char peek() {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private boolean startsWith(String p) {
        return s.startsWith(p, i);
    }
}
