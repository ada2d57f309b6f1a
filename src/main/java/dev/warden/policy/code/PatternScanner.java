package dev.warden.policy.code;

import java.util.BitSet;
import java.util.List;

/**
 * The pattern layer over one token list: finds references (a name with member accesses), calls,
 * import-like calls and assignments that create aliases. Subclasses add each language's statements
 * and syntax for members and calls.
 *
 * <p>One walk is linear: every visit returns an index past the token visited, and every look-ahead
 * that is not over a fixed number of tokens is capped at {@link #MAX_LOOKAHEAD}. Tokens embedded in
 * f-strings and template literals are walked by a nested scanner over the same {@link ScanState}.
 */
abstract class PatternScanner {

    /** How far a search for a closing bracket or the end of a pattern may look. */
    static final int MAX_LOOKAHEAD = 512;

    /** A dotted name: the text of its first token, the rest as ".a.b" (maybe empty), the index after it. */
    record Chain(String root, String rest, int end) {
    }

    /** Member accesses as ".a.b" (maybe empty) and the index after them. */
    record Members(String rest, int end) {
    }

    /**
     * A reference expression as the right side of an assignment or an argument: its resolved name, the
     * index after it, and whether it names something worth an alias (an imported module, a member of
     * one, a dangerous global).
     */
    record Ref(String name, int end, boolean known) {
    }

    final List<Token> tokens;
    final ScanState state;
    /** Name tokens a statement parser has accounted for, not to be visited as references. */
    final BitSet handled = new BitSet();
    /**
     * By token index: the module that a member access right after an import call applies to.
     * Allocated on the first import call.
     */
    private String[] receivers;

    PatternScanner(List<Token> tokens, ScanState state) {
        this.tokens = tokens;
        this.state = state;
    }

    /** Walks the token list (and, nested, every embedded one). */
    final void run() {
        int resume = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.interpolated) {
                nested(t.embedded).run();
            }
            if (i >= resume) {
                resume = Math.max(i + 1, visit(i));
            }
        }
    }

    /** A scanner of the same language over the tokens of an interpolated expression. */
    abstract PatternScanner nested(List<Token> embedded);

    /** Looks at the token at i; returns the index of the next token worth a visit (more than i). */
    abstract int visit(int i);

    /** Member accesses starting at k (the '.' or equivalent). */
    abstract Members members(int k);

    /** If a call's arguments start at k, the index of their '(' (or a tagged template); else -1. */
    abstract int callOpen(int k);

    /** Whether calling this resolved name loads the module named by its first argument. */
    abstract boolean isImporter(String name);

    /** The module name a literal argument of an import call stands for. */
    abstract String moduleName(String literal);

    /** A global worth tracking through assignments even though nothing imported it. */
    abstract boolean isKnownGlobal(String name);

    /** A global whose mere mention, without a call, is reported as an attribute (e.g. eval). */
    abstract boolean isSensitive(String name);

    /** Whether an expression ends before the token at k (so what came before is all of it). */
    abstract boolean endsExpression(int k);

    /** Whether t assigns to the name before it. */
    abstract boolean isAssignment(Token t);

    /** Whether a bare reference at i is in a place where it is not a use (a property key, say). */
    boolean attributeExcluded(int i) {
        return false;
    }

    final Token at(int i) {
        return i >= 0 && i < tokens.size() ? tokens.get(i) : Token.END;
    }

    final boolean op(int i, String op) {
        return at(i).isOp(op);
    }

    /** A token after which a member access applies to a value: a literal or a closing bracket. */
    static boolean isValueEnd(Token t) {
        return switch (t.type) {
            case STRING, NUMBER, TEMPLATE, REGEX -> true;
            case OP -> t.text.equals(")") || t.text.equals("]") || t.text.equals("}");
            default -> false;
        };
    }

    /** The dotted name starting with the name at i. */
    final Chain chain(int i) {
        Members m = members(i + 1);
        return new Chain(at(i).text, m.rest(), m.end());
    }

    /**
     * Visits a name that starts a reference: binds an alias if it is assigned a known reference,
     * reports a call, or reports an attribute when it reaches into an imported module or is a
     * dangerous global. Returns the index after the reference.
     */
    final int reference(int i) {
        if (!state.reporting() && !isAssignment(at(i + 1))) {
            return i + 1; // the alias-only walk needs nothing but assignments
        }
        Chain c = chain(i);
        if (c.rest().isEmpty() && isAssignment(at(c.end()))) {
            Ref r = parseRef(c.end() + 1);
            if (r != null && r.known() && endsExpression(r.end())) {
                state.bind(c.root(), r.name());
            }
            return c.end();
        }
        if (state.reporting()) {
            String name = state.resolve(c.root(), c.rest());
            boolean intoModule = state.isBound(c.root()) && name.indexOf('.') >= 0;
            report(name, at(i).line, c.end(), i, intoModule || isSensitive(name));
        }
        return c.end();
    }

    /**
     * Visits member accesses at i that follow a value: after an import call they belong to the module
     * (so {@code __import__("os").system(} is {@code os.system}); otherwise a call on them is reported
     * with a name starting with '.'.
     */
    final int memberReference(int i) {
        if (!state.reporting()) {
            return i + 1;
        }
        Members m = members(i);
        if (m.rest().isEmpty()) {
            return i + 1;
        }
        String module = receivers == null ? null : receivers[i];
        if (module != null) {
            report(state.normalize(module + m.rest()), at(i).line, m.end(), i, true);
        }
        else {
            report(m.rest(), at(i).line, m.end(), i, false);
        }
        return m.end();
    }

    /** Reports a call if one starts at end, else an attribute if worth it. */
    private void report(String name, int line, int end, int at, boolean attributeWorthy) {
        int open = callOpen(end);
        if (open >= 0) {
            String literal = callLiteral(open);
            state.hit(CodeHit.CALL, name, line, literal);
            specialCall(name, open, line, literal);
        }
        else if (attributeWorthy && !attributeExcluded(at)) {
            state.hit(CodeHit.ATTRIBUTE, name, line, null);
        }
    }

    /**
     * Called for every call. An import call with a literal reports the import and makes member
     * accesses right after the call resolve against the module.
     */
    void specialCall(String name, int open, int line, String literal) {
        if (!isImporter(name) || literal == null) {
            return;
        }
        String module = moduleName(literal);
        state.hit(CodeHit.IMPORT, module, line, null);
        if (!name.equals("import")) { // a dynamic import() gives a promise, not the module
            int close = closeOf(open);
            if (close >= 0 && close + 1 < tokens.size()) {
                if (receivers == null) {
                    receivers = new String[tokens.size()];
                }
                receivers[close + 1] = module;
            }
        }
    }

    /**
     * Parses a reference expression at k: a dotted name, or an import call with a literal followed by
     * member accesses. Returns null if there is no name at k.
     */
    final Ref parseRef(int k) {
        if (at(k).type != TokenType.NAME) {
            return null;
        }
        Chain c = chain(k);
        String name = state.resolve(c.root(), c.rest());
        int open = callOpen(c.end());
        if (open >= 0 && isImporter(name)) {
            String literal = callLiteral(open);
            int close = literal == null ? -1 : closeOf(open);
            if (close < 0) {
                return new Ref(name, c.end(), false);
            }
            Members m = members(close + 1);
            return new Ref(state.normalize(moduleName(literal) + m.rest()), m.end(), true);
        }
        boolean known = state.isBound(c.root()) || isKnownGlobal(c.root()) || isKnownGlobal(firstSegment(name));
        return new Ref(name, c.end(), known);
    }

    static String firstSegment(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? name : name.substring(0, dot);
    }

    /**
     * The first argument of the call whose arguments open at open, when it is a plain string literal
     * (adjacent literals concatenated, as in Python); else null.
     */
    final String callLiteral(int open) {
        Token t = at(open);
        if (t.type == TokenType.TEMPLATE) {
            return t.interpolated ? null : t.text;
        }
        int k = open + 1;
        while (at(k).type == TokenType.STRING || at(k).type == TokenType.TEMPLATE) {
            if (at(k).interpolated) {
                return null;
            }
            k++;
        }
        if (k == open + 1 || !(op(k, ",") || op(k, ")"))) {
            return null;
        }
        if (k == open + 2) {
            return at(open + 1).text;
        }
        StringBuilder value = new StringBuilder();
        for (int j = open + 1; j < k; j++) {
            value.append(at(j).text);
        }
        return value.toString();
    }

    /** The index that closes the call opened at open: the ')' (or the tagged template itself); -1 if not found. */
    final int closeOf(int open) {
        if (at(open).type == TokenType.TEMPLATE) {
            return open;
        }
        int depth = 0;
        int limit = Math.min(tokens.size(), open + MAX_LOOKAHEAD);
        for (int k = open; k < limit; k++) {
            Token t = tokens.get(k);
            if (t.type != TokenType.OP) {
                continue;
            }
            switch (t.text) {
                case "(", "[", "{" -> depth++;
                case ")", "]", "}" -> {
                    depth--;
                    if (depth == 0) {
                        return t.text.equals(")") ? k : -1;
                    }
                }
                default -> {
                }
            }
        }
        return -1;
    }
}
