package dev.warden.policy.code;

import java.util.List;
import java.util.Set;

/**
 * The Python pattern layer: {@code import} and {@code from ... import} statements (which bind
 * aliases), calls and attribute references with aliases resolved, {@code __import__} and
 * {@code importlib.import_module}, and {@code getattr(module, "name")}.
 */
final class PythonPatterns extends PatternScanner {

    /** Names dropped from the front of a longer name: builtins.eval is eval. */
    static final Set<String> GLOBAL_ROOTS = Set.of("builtins", "__builtins__");

    private static final Set<String> KEYWORDS = Set.of("False", "None", "True", "and", "as", "assert", "async",
        "await", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from",
        "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
        "while", "with", "yield");

    /** Builtins whose bare mention is reported: passing them around is as good as calling them. */
    private static final Set<String> SENSITIVE = Set.of("eval", "exec", "compile", "__import__", "breakpoint");

    /** Builtins worth following through an assignment such as {@code e = eval}. */
    private static final Set<String> KNOWN_GLOBALS = Set.of("eval", "exec", "compile", "__import__", "breakpoint",
        "getattr", "open", "globals", "vars", "builtins", "__builtins__");

    PythonPatterns(List<Token> tokens, ScanState state) {
        super(tokens, state);
    }

    @Override
    PatternScanner nested(List<Token> embedded) {
        return new PythonPatterns(embedded, state);
    }

    @Override
    int visit(int i) {
        Token t = at(i);
        if (t.type == TokenType.OP) {
            return t.text.equals(".") && isValueEnd(at(i - 1)) ? memberReference(i) : i + 1;
        }
        if (t.type != TokenType.NAME || handled.get(i)) {
            return i + 1;
        }
        if (t.text.equals("import")) {
            return importStatement(i);
        }
        if (t.text.equals("from")) {
            int end = fromImport(i);
            return end > 0 ? end : i + 1;
        }
        Token prev = at(i - 1);
        if (KEYWORDS.contains(t.text) || prev.isOp(".") || prev.isName("def") || prev.isName("class")) {
            return i + 1;
        }
        return reference(i);
    }

    /** {@code import a.b [as x], c ...}: reports each module and binds its alias or its root name. */
    private int importStatement(int i) {
        int k = i + 1;
        while (at(k).type == TokenType.NAME) {
            Token first = at(k);
            Chain c = chain(k);
            String module = c.root() + c.rest();
            state.hit(CodeHit.IMPORT, module, first.line, null);
            k = c.end();
            if (at(k).isName("as") && at(k + 1).type == TokenType.NAME) {
                state.bind(at(k + 1).text, module);
                k += 2;
            }
            else {
                state.bind(c.root(), c.root());
            }
            if (!op(k, ",")) {
                break;
            }
            k++;
        }
        return k;
    }

    /**
     * {@code from [.]a.b import c [as d], ...} (optionally in parentheses): reports the module and
     * each name under it, and binds each local name to its dotted name. Returns -1 if the tokens
     * are not an import (e.g. {@code yield from x}).
     */
    private int fromImport(int i) {
        int k = i + 1;
        StringBuilder module = new StringBuilder();
        while (op(k, ".") || op(k, "...")) {
            module.append(at(k).text);
            k++;
        }
        if (at(k).type == TokenType.NAME && !at(k).isName("import")) {
            Chain c = chain(k);
            module.append(c.root()).append(c.rest());
            k = c.end();
        }
        if (module.length() == 0 || !at(k).isName("import")) {
            return -1;
        }
        String base = module.toString();
        state.hit(CodeHit.IMPORT, base, at(i + 1).line, null);
        k++;
        boolean parenthesized = op(k, "(");
        if (parenthesized) {
            k++;
        }
        while (true) {
            Token n = at(k);
            if (n.isOp("*")) {
                state.hit(CodeHit.IMPORT, join(base, "*"), n.line, null);
                k++;
            }
            else if (n.type == TokenType.NAME) {
                String full = join(base, n.text);
                state.hit(CodeHit.IMPORT, full, n.line, null);
                k++;
                if (at(k).isName("as") && at(k + 1).type == TokenType.NAME) {
                    state.bind(at(k + 1).text, full);
                    k += 2;
                }
                else {
                    state.bind(n.text, full);
                }
            }
            else {
                break;
            }
            if (!op(k, ",")) {
                break;
            }
            k++;
        }
        if (parenthesized && op(k, ")")) {
            k++;
        }
        return k;
    }

    private static String join(String module, String name) {
        return module.endsWith(".") ? module + name : module + "." + name;
    }

    /** Adds {@code getattr(module, "name")} to the import calls the base class knows. */
    @Override
    void specialCall(String name, int open, int line, String literal) {
        super.specialCall(name, open, line, literal);
        if (name.equals("getattr")) {
            Ref target = parseRef(open + 1);
            if (target != null && op(target.end(), ",") && at(target.end() + 1).isPlainString()
                    && (op(target.end() + 2, ")") || op(target.end() + 2, ","))) {
                String member = state.normalize(target.name() + "." + at(target.end() + 1).text);
                state.hit(CodeHit.ATTRIBUTE, member, line, null);
            }
        }
    }

    @Override
    Members members(int k) {
        if (!(op(k, ".") && at(k + 1).type == TokenType.NAME)) {
            return new Members("", k);
        }
        StringBuilder rest = new StringBuilder();
        while (op(k, ".") && at(k + 1).type == TokenType.NAME) {
            rest.append('.').append(at(k + 1).text);
            k += 2;
        }
        return new Members(rest.toString(), k);
    }

    @Override
    int callOpen(int k) {
        return op(k, "(") ? k : -1;
    }

    @Override
    boolean isImporter(String name) {
        return name.equals("__import__") || name.endsWith(".__import__") || name.equals("importlib.import_module");
    }

    @Override
    String moduleName(String literal) {
        return literal;
    }

    @Override
    boolean isKnownGlobal(String name) {
        return KNOWN_GLOBALS.contains(name);
    }

    @Override
    boolean isSensitive(String name) {
        return SENSITIVE.contains(name);
    }

    @Override
    boolean endsExpression(int k) {
        Token t = at(k);
        return t.type == TokenType.NEWLINE || t.type == TokenType.EOF || t.isOp(";");
    }

    @Override
    boolean isAssignment(Token t) {
        return t.isOp("=") || t.isOp(":=");
    }
}
