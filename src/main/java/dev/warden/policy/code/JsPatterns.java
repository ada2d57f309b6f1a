package dev.warden.policy.code;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The JavaScript pattern layer: {@code require}, static and dynamic {@code import}, re-exports,
 * {@code process.binding}, aliases from declarations, destructuring and import specifiers, and calls
 * (including optional calls {@code f?.()} and tagged templates {@code Function`...`}) with aliases
 * resolved. Members may be written {@code a.b}, {@code a?.b} or {@code a["b"]}.
 */
final class JsPatterns extends PatternScanner {

    /** Names of the global object, dropped from the front of a longer name: globalThis.eval is eval. */
    static final Set<String> GLOBAL_ROOTS = Set.of("globalThis", "global", "window", "self");

    /** Keywords that never start a reference (this does; import and export are statements). */
    private static final Set<String> NOT_A_ROOT = Set.of("break", "case", "catch", "class", "const", "continue",
        "debugger", "default", "delete", "do", "else", "extends", "false", "finally", "for", "function", "if", "in",
        "instanceof", "new", "null", "return", "super", "switch", "throw", "true", "try", "typeof", "var", "void",
        "while", "with", "yield", "await");

    /** Globals whose bare mention is reported: {@code (0, eval)(code)} calls eval without "eval(". */
    private static final Set<String> SENSITIVE = Set.of("eval", "Function", "require");

    /** Globals worth following through an assignment such as {@code const r = require}. */
    private static final Set<String> KNOWN_GLOBALS = Set.of("require", "eval", "Function", "process", "module",
        "globalThis", "global", "window", "self", "setTimeout", "setInterval", "setImmediate");

    JsPatterns(List<Token> tokens, ScanState state) {
        super(tokens, state);
    }

    @Override
    PatternScanner nested(List<Token> embedded) {
        return new JsPatterns(embedded, state);
    }

    @Override
    int visit(int i) {
        Token t = at(i);
        Token prev = at(i - 1);
        if (t.type == TokenType.OP) {
            if (t.text.equals("{") && (prev.isName("const") || prev.isName("let") || prev.isName("var"))) {
                return destructuring(i);
            }
            boolean member = t.text.equals(".") || t.text.equals("?.") || t.text.equals("[");
            return member && isValueEnd(prev) ? memberReference(i) : i + 1;
        }
        if (t.type != TokenType.NAME || handled.get(i) || prev.isOp(".") || prev.isOp("?.") || prev.isOp("#")) {
            return i + 1;
        }
        if (t.text.equals("import")) {
            return op(i + 1, "(") || op(i + 1, ".") ? reference(i) : importDeclaration(i);
        }
        if (t.text.equals("export")) {
            return exportFrom(i);
        }
        if (NOT_A_ROOT.contains(t.text) || prev.isName("function") || prev.isName("class")
                || (prev.isOp("*") && at(i - 2).isName("function"))) {
            return i + 1;
        }
        return reference(i);
    }

    /**
     * A static import: {@code import "m"}, {@code import d from "m"}, {@code import * as ns from "m"},
     * {@code import {a, b as c} from "m"} and combinations. Reports the module and binds each local
     * name (a default or namespace import binds the module itself).
     */
    private int importDeclaration(int i) {
        int k = i + 1;
        if (at(k).type == TokenType.STRING) {
            state.hit(CodeHit.IMPORT, moduleName(at(k).text), at(k).line, null);
            return k + 1;
        }
        List<String[]> bindings = new ArrayList<>(); // {local, member or null for the module}
        if (at(k).type == TokenType.NAME && !at(k).isName("from")) {
            bindings.add(new String[] {at(k).text, null});
            k++;
            if (op(k, ",")) {
                k++;
            }
        }
        if (op(k, "*") && at(k + 1).isName("as") && at(k + 2).type == TokenType.NAME) {
            bindings.add(new String[] {at(k + 2).text, null});
            k += 3;
        }
        else if (op(k, "{")) {
            k = importSpecifiers(k + 1, bindings);
            if (k < 0) {
                return i + 1;
            }
        }
        if (!(at(k).isName("from") && at(k + 1).type == TokenType.STRING)) {
            return i + 1;
        }
        String module = moduleName(at(k + 1).text);
        state.hit(CodeHit.IMPORT, module, at(k + 1).line, null);
        for (String[] b : bindings) {
            state.bind(b[0], b[1] == null ? module : module + "." + b[1]);
        }
        return k + 2;
    }

    /** Parses {@code a, b as c, "d" as e, default as f }} from k; returns the index after '}' or -1. */
    private int importSpecifiers(int k, List<String[]> bindings) {
        int limit = k + MAX_LOOKAHEAD;
        while (k < limit) {
            if (op(k, "}")) {
                return k + 1;
            }
            Token name = at(k);
            if (name.type != TokenType.NAME && name.type != TokenType.STRING) {
                return -1;
            }
            String local = name.text;
            k++;
            if (at(k).isName("as") && at(k + 1).type == TokenType.NAME) {
                local = at(k + 1).text;
                k += 2;
            }
            bindings.add(new String[] {local, name.text.equals("default") ? null : name.text});
            if (op(k, ",")) {
                k++;
            }
            else if (!op(k, "}")) {
                return -1;
            }
        }
        return -1;
    }

    /** {@code export * [as ns] from "m"} and {@code export {...} from "m"} load the module too. */
    private int exportFrom(int i) {
        int k = i + 1;
        if (op(k, "*")) {
            k++;
            if (at(k).isName("as")) {
                k += 2;
            }
        }
        else if (op(k, "{")) {
            int limit = k + MAX_LOOKAHEAD;
            while (k < limit && !op(k, "}") && at(k).type != TokenType.EOF) {
                k++;
            }
            k++;
        }
        else {
            return i + 1;
        }
        if (at(k).isName("from") && at(k + 1).type == TokenType.STRING) {
            state.hit(CodeHit.IMPORT, moduleName(at(k + 1).text), at(k + 1).line, null);
        }
        return i + 1;
    }

    /**
     * {@code const {a, b: c, ...rest} = ref}: when ref is known, binds a to ref.a, c to ref.b and rest
     * to ref. The pattern's names are marked handled so they are not reported as uses; default values
     * are still visited as code.
     */
    private int destructuring(int i) {
        List<String[]> pairs = new ArrayList<>(); // {local, member or null for the whole}
        int limit = i + MAX_LOOKAHEAD;
        int k = i + 1;
        while (true) {
            if (k > limit) {
                return i + 1;
            }
            Token key = at(k);
            if (key.isOp("}")) {
                k++;
                break;
            }
            if (key.isOp("...") && at(k + 1).type == TokenType.NAME) {
                handled.set(k + 1);
                pairs.add(new String[] {at(k + 1).text, null});
                k += 2;
            }
            else if (key.type == TokenType.NAME || key.type == TokenType.STRING) {
                String local = key.type == TokenType.NAME ? key.text : null;
                handled.set(k);
                k++;
                if (op(k, ":")) {
                    Token target = at(k + 1);
                    if (target.type == TokenType.NAME && (op(k + 2, ",") || op(k + 2, "}") || op(k + 2, "="))) {
                        local = target.text;
                        handled.set(k + 1);
                        k += 2;
                    }
                    else {
                        local = null; // a nested pattern: not followed
                        k = skipElement(k + 1, limit);
                    }
                }
                if (op(k, "=")) {
                    k = skipElement(k + 1, limit);
                }
                if (local != null) {
                    pairs.add(new String[] {local, key.text});
                }
            }
            else {
                return i + 1;
            }
            if (op(k, ",")) {
                k++;
            }
            else if (!op(k, "}")) {
                return i + 1;
            }
        }
        if (op(k, "=")) {
            Ref source = parseRef(k + 1);
            if (source != null && source.known()) {
                for (String[] p : pairs) {
                    state.bind(p[0], p[1] == null ? source.name() : source.name() + "." + p[1]);
                }
            }
        }
        return i + 1;
    }

    /** Skips one element of a pattern or default value: to the next ',' or '}' outside brackets. */
    private int skipElement(int k, int limit) {
        int depth = 0;
        while (k <= limit && at(k).type != TokenType.EOF) {
            Token t = at(k);
            if (depth == 0 && (t.isOp(",") || t.isOp("}"))) {
                return k;
            }
            if (t.isOp("(") || t.isOp("[") || t.isOp("{")) {
                depth++;
            }
            else if (t.isOp(")") || t.isOp("]") || t.isOp("}")) {
                depth--;
            }
            k++;
        }
        return k;
    }

    @Override
    Members members(int k) {
        StringBuilder rest = null;
        while (true) {
            int step;
            String name;
            if ((op(k, ".") || op(k, "?.")) && at(k + 1).type == TokenType.NAME) {
                name = at(k + 1).text;
                step = 2;
            }
            else if (op(k, "[") && at(k + 1).isPlainString() && op(k + 2, "]")) {
                name = at(k + 1).text;
                step = 3;
            }
            else if (op(k, "?.") && op(k + 1, "[") && at(k + 2).isPlainString() && op(k + 3, "]")) {
                name = at(k + 2).text;
                step = 4;
            }
            else {
                break;
            }
            if (rest == null) {
                rest = new StringBuilder();
            }
            rest.append('.').append(name);
            k += step;
        }
        return new Members(rest == null ? "" : rest.toString(), k);
    }

    @Override
    int callOpen(int k) {
        if (op(k, "(") || at(k).type == TokenType.TEMPLATE) {
            return k;
        }
        return op(k, "?.") && op(k + 1, "(") ? k + 1 : -1;
    }

    @Override
    boolean isImporter(String name) {
        return name.equals("require") || name.equals("import") || name.endsWith(".require") || name.endsWith("._load")
            || name.equals("process.binding") || name.equals("process._linkedBinding");
    }

    /** Built-in modules may be written with the node: scheme; node:fs is fs. */
    @Override
    String moduleName(String literal) {
        return literal.startsWith("node:") ? literal.substring(5) : literal;
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
        if (t.type == TokenType.EOF || t.isOp(";") || t.isOp(",") || t.isOp(")") || t.isOp("}") || t.isOp("]")) {
            return true;
        }
        // Automatic semicolon insertion: a new line ends it unless the next token continues it.
        return t.line > at(k - 1).line && !(t.isOp("(") || t.isOp("[") || t.isOp(".") || t.isOp("?.")
            || t.type == TokenType.TEMPLATE);
    }

    @Override
    boolean isAssignment(Token t) {
        return t.isOp("=");
    }

    /** typeof eval, x instanceof Function and {eval: 1} are not uses. */
    @Override
    boolean attributeExcluded(int i) {
        Token prev = at(i - 1);
        if (prev.isName("typeof") || prev.isName("instanceof")) {
            return true;
        }
        return op(i + 1, ":") && (prev.isOp("{") || prev.isOp(","));
    }
}
