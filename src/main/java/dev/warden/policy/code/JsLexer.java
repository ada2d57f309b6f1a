package dev.warden.policy.code;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Tokenizer for JavaScript (Node) source.
 *
 * <p>Understands line and block comments, a leading hashbang, single- and double-quoted strings,
 * template literals, regular expression literals, numbers, identifiers with Unicode escapes (so
 * <code>&#92;u0065val</code> is {@code eval}) and all punctuators. String and template values have their
 * escapes decoded. The expressions inside a template's {@code ${ }} are lexed as code, recursively,
 * into the template token's {@link Token#embedded} list.
 *
 * <p>Whether a '/' starts a regular expression or is a division is decided from the previous token,
 * as a parser would in nearly all real code: after a value (a name, a literal, ']', the ')' of a
 * call or grouping, the '}' of an object literal or function expression) it is a division; anywhere
 * else, including after the ')' of an {@code if}/{@code while}/{@code for} head and the '}' of a
 * block, it is a regex. That keeps {@code if (x) /'/.test(s); require("child_process") //'} from
 * hiding the call in a mistaken string. A supposed regex that does not end on its line is taken back
 * as a division, so a wrong guess cannot swallow more than the rest of one line.
 */
final class JsLexer extends LexerBase {

    private static final String[][] MULTI_OPS = indexOperators(">>>=", "===", "!==", "**=", "<<=", ">>=", ">>>", "...", "&&=", "||=",
        "??=", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
        "^=", "**", "<<", ">>");
    private static final String SINGLE_OPS = "{}()[];,<>+-*/%&|^!~?:=.@#";

    /** Keywords after which a '/' starts a regular expression rather than a division. */
    private static final Set<String> REGEX_AFTER = Set.of("return", "typeof", "instanceof", "in", "of", "new",
        "delete", "void", "throw", "case", "do", "else", "yield", "await", "extends");

    /** Keywords after which an expression, not a statement, follows: a '{' there opens an object. */
    private static final Set<String> EXPRESSION_AFTER = Set.of("return", "typeof", "instanceof", "in", "of", "new",
        "delete", "void", "throw", "case", "yield", "await");

    /** Keywords whose parenthesized head ends where a statement, so possibly a regex, begins. */
    private static final Set<String> CONTROL_HEADS = Set.of("if", "while", "for", "with");

    // Marks on the bracket stack: what an open bracket will have been once it closes.
    /** The head of if/while/for/with: a '/' after its ')' starts a regex. */
    private static final char CONTROL_PAREN = 'c';
    /** The parameters of a function expression: its body's '}' ends a value. */
    private static final char FUNCTION_PAREN = 'f';
    /** A block: a '/' after its '}' starts a regex (an object literal's '}' ends a value). */
    private static final char BLOCK_BRACE = 'b';

    /** A regex attempt from before this index already failed to end on its line. */
    private int regexFailedUpTo = -1;

    private JsLexer(String src) {
        super(src);
    }

    /** Tokenizes the whole source. Written not to throw on any string (the fuzz tests check it). */
    static Lexed lex(String code) {
        JsLexer lexer = new JsLexer(code);
        List<Token> out = new ArrayList<>();
        lexer.lexCode(out, false, 0);
        return new Lexed(out, lexer.error);
    }

    @Override
    char closerOf(char mark) {
        return switch (mark) {
            case CONTROL_PAREN, FUNCTION_PAREN -> ')';
            case BLOCK_BRACE -> '}';
            default -> mark;
        };
    }

    @Override
    boolean isLineBreak(char c) {
        return c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029';
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\u000B' || c == '\f' || c == '\u00A0' || c == '\uFEFF'
            || (c > 127 && Character.getType(c) == Character.SPACE_SEPARATOR);
    }

    private static boolean isIdStart(int cp) {
        return cp == '$' || isUnicodeIdStart(cp);
    }

    private static boolean isIdPart(int cp) {
        return cp == '$' || cp == '\u200C' || cp == '\u200D' || isUnicodeIdPart(cp);
    }

    /**
     * Lexes code into out. At top level this runs to the end of the source; in a template
     * expression it stops, without consuming it, at the '}' that closes the expression.
     */
    private void lexCode(List<Token> out, boolean field, int depth) {
        StringBuilder brackets = new StringBuilder();
        int regexAfter = -1; // index in out of a ')' or '}' after which a '/' starts a regex
        int functionParamsEnd = -1; // index in out of the ')' ending a function expression's parameters
        if (!field && src.startsWith("#!")) {
            skipToLineEnd();
        }
        while (pos < len) {
            char c = src.charAt(pos);
            if (isLineBreak(c)) {
                consumeLineBreak();
            }
            else if (isSpace(c)) {
                pos++;
            }
            else if (c == '/' && peek(1) == '/') {
                skipToLineEnd();
            }
            else if (c == '/' && peek(1) == '*') {
                blockComment();
            }
            else if (c == '/' && regexAllowed(out, regexAfter) && lexRegex(out)) {
                continue;
            }
            else if (c == '"' || c == '\'') {
                lexString(out);
            }
            else if (c == '`') {
                lexTemplate(out, depth);
            }
            else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
                lexNumber(out, "n");
            }
            else if (c == '\\' || isIdStart(src.codePointAt(pos))) {
                lexName(out);
            }
            else if (c == '(' || c == '[' || c == '{') {
                brackets.append(openingMark(out, c, functionParamsEnd));
                out.add(new Token(TokenType.OP, oneChar(c), line));
                pos++;
            }
            else if (c == ')' || c == ']' || c == '}') {
                boolean ownBrace = field && c == '}' && brackets.length() == 0;
                char mark = ownBrace ? 0 : closeBracket(brackets, c);
                if (ownBrace || (mark == 0 && field && c == '}')) {
                    return; // the expression's closing brace (after an error if something inside is left open)
                }
                out.add(new Token(TokenType.OP, oneChar(c), line));
                pos++;
                if (mark == CONTROL_PAREN || mark == BLOCK_BRACE) {
                    regexAfter = out.size() - 1;
                }
                else if (mark == FUNCTION_PAREN) {
                    functionParamsEnd = out.size() - 1;
                }
            }
            else if (c == '?' && peek(1) == '.' && !isDigit(peek(2))) {
                out.add(new Token(TokenType.OP, "?.", line));
                pos += 2;
            }
            else {
                int at = line;
                String op = matchOperator(MULTI_OPS, SINGLE_OPS);
                if (op != null) {
                    out.add(new Token(TokenType.OP, op, at));
                }
                else {
                    skipBadChar();
                }
            }
        }
        if (brackets.length() > 0) {
            error = true;
        }
    }

    private void blockComment() {
        int end = src.indexOf("*/", pos + 2);
        int stop = end < 0 ? len : end + 2;
        for (int k = pos; k < stop; k++) {
            char c = src.charAt(k);
            if ((c == '\n' || c == '\u2028' || c == '\u2029') || (c == '\r' && (k + 1 >= len || src.charAt(k + 1) != '\n'))) {
                line++;
            }
        }
        if (end < 0) {
            error = true;
        }
        pos = stop;
    }

    /**
     * The mark for an opening bracket: what it will have been when it closes, judged from the tokens
     * before it. Decides whether a '/' after the closer is a regex or a division.
     */
    private static char openingMark(List<Token> out, char opener, int functionParamsEnd) {
        Token prev = out.isEmpty() ? null : out.get(out.size() - 1);
        if (opener == '[') {
            return ']';
        }
        if (opener == '(') {
            if (prev != null && prev.type == TokenType.NAME && CONTROL_HEADS.contains(prev.text)) {
                return CONTROL_PAREN;
            }
            return isFunctionExpressionHead(out) ? FUNCTION_PAREN : ')';
        }
        if (prev == null) {
            return BLOCK_BRACE;
        }
        if (prev.isOp(")") && out.size() - 1 == functionParamsEnd) {
            return '}'; // a function expression's body: the function is a value
        }
        return switch (prev.type) {
            case OP -> prev.text.equals(")") || prev.text.equals(";") || prev.text.equals("{") || prev.text.equals("}")
                || prev.text.equals("=>") ? BLOCK_BRACE : '}';
            case NAME -> EXPRESSION_AFTER.contains(prev.text) ? '}' : BLOCK_BRACE;
            default -> BLOCK_BRACE;
        };
    }

    /**
     * Whether out ends with {@code function}, {@code function name}, {@code function*} or
     * {@code function* name} (optionally after {@code async}) where an expression is expected, so the
     * function is a value rather than a declaration.
     */
    private static boolean isFunctionExpressionHead(List<Token> out) {
        int k = out.size() - 1;
        if (k >= 0 && out.get(k).type == TokenType.NAME && !out.get(k).isName("function")) {
            k--; // the function's name
        }
        if (k >= 0 && out.get(k).isOp("*")) {
            k--;
        }
        if (k < 0 || !out.get(k).isName("function")) {
            return false;
        }
        k--;
        if (k >= 0 && out.get(k).isName("async")) {
            k--;
        }
        if (k < 0) {
            return false;
        }
        Token before = out.get(k);
        return switch (before.type) {
            case OP -> !(before.text.equals(")") || before.text.equals("]") || before.text.equals("}")
                || before.text.equals(";") || before.text.equals("{"));
            case NAME -> EXPRESSION_AFTER.contains(before.text);
            default -> false;
        };
    }

    /**
     * Whether a '/' here starts a regular expression, judged from the token before it: after a value
     * it is a division, except after the ')' of a control statement's head or the '}' of a block.
     */
    private static boolean regexAllowed(List<Token> out, int regexAfter) {
        if (out.isEmpty() || out.size() - 1 == regexAfter) {
            return true;
        }
        Token last = out.get(out.size() - 1);
        return switch (last.type) {
            case NAME -> REGEX_AFTER.contains(last.text);
            case NUMBER, STRING, TEMPLATE, REGEX -> false;
            case OP -> !(last.text.equals(")") || last.text.equals("]") || last.text.equals("}")
                || last.text.equals("++") || last.text.equals("--"));
            default -> true;
        };
    }

    /** Lexes a regex literal at pos; returns false, consuming nothing, if none ends on this line. */
    private boolean lexRegex(List<Token> out) {
        if (pos < regexFailedUpTo) {
            return false;
        }
        boolean inClass = false;
        int p = pos + 1;
        while (p < len) {
            char c = src.charAt(p);
            if (isLineBreak(c)) {
                break;
            }
            if (c == '\\') {
                if (p + 1 >= len || isLineBreak(src.charAt(p + 1))) {
                    break;
                }
                p += 2;
                continue;
            }
            if (c == '[') {
                inClass = true;
            }
            else if (c == ']') {
                inClass = false;
            }
            else if (c == '/' && !inClass) {
                int end = p + 1;
                while (end < len && isIdPart(src.charAt(end))) {
                    end++;
                }
                out.add(new Token(TokenType.REGEX, src.substring(pos, end), line));
                pos = end;
                return true;
            }
            p++;
        }
        regexFailedUpTo = p;
        return false;
    }

    /** Lexes an identifier, decoding <code>&#92;u</code> escapes; a backslash that starts none is an error. */
    private void lexName(List<Token> out) {
        int start = pos;
        StringBuilder decoded = null;
        while (pos < len) {
            int cp = src.codePointAt(pos);
            boolean first = pos == start;
            if (cp == '\\') {
                int at = pos;
                int esc = identifierEscape();
                if (esc < 0 || !(first ? isIdStart(esc) : isIdPart(esc))) {
                    pos = at;
                    break;
                }
                if (decoded == null) {
                    decoded = new StringBuilder().append(src, start, at);
                }
                decoded.appendCodePoint(esc);
                continue;
            }
            if (!(first ? isIdStart(cp) : isIdPart(cp))) {
                break;
            }
            if (decoded != null) {
                decoded.appendCodePoint(cp);
            }
            pos += Character.charCount(cp);
        }
        if (pos == start) {
            skipBadChar();
            return;
        }
        String name = decoded != null ? decoded.toString() : src.substring(start, pos);
        out.add(new Token(TokenType.NAME, name, line));
    }

    /** Reads <code>&#92;uXXXX</code> or <code>&#92;u{X...}</code> at pos and returns the code point, or -1. */
    private int identifierEscape() {
        if (peek(1) != 'u') {
            return -1;
        }
        if (peek(2) == '{') {
            int close = indexWithin('}', pos + 3, 7);
            if (close < 0 || close - pos - 3 < 1) {
                return -1;
            }
            int v = readHex(pos + 3, close - pos - 3);
            if (v < 0 || !Character.isValidCodePoint(v)) {
                return -1;
            }
            pos = close + 1;
            return v;
        }
        int v = readHex(pos + 2, 4);
        if (v >= 0) {
            pos += 6;
        }
        return v;
    }

    private void lexString(List<Token> out) {
        int startLine = line;
        char quote = src.charAt(pos++);
        StringBuilder value = new StringBuilder();
        boolean closed = false;
        while (pos < len) {
            char c = src.charAt(pos);
            if (c == quote) {
                pos++;
                closed = true;
                break;
            }
            if (c == '\n' || c == '\r') {
                break; // unterminated; U+2028 and U+2029 are allowed in strings
            }
            if (c == '\\') {
                escape(value);
            }
            else if (isLineBreak(c)) {
                value.append(c);
                consumeLineBreak();
            }
            else {
                value.append(c);
                pos++;
            }
        }
        if (!closed) {
            error = true;
        }
        out.add(new Token(TokenType.STRING, value.toString(), startLine));
    }

    /** Decodes one escape sequence at pos (the backslash); an escaped line break continues the line. */
    private void escape(StringBuilder value) {
        pos++;
        if (pos >= len) {
            return;
        }
        char d = src.charAt(pos);
        if (isLineBreak(d)) {
            consumeLineBreak();
            return;
        }
        switch (d) {
            case 'n' -> simple(value, '\n');
            case 't' -> simple(value, '\t');
            case 'r' -> simple(value, '\r');
            case 'b' -> simple(value, '\b');
            case 'f' -> simple(value, '\f');
            case 'v' -> simple(value, '\u000B');
            case '0', '1', '2', '3', '4', '5', '6', '7' -> octal(value);
            case 'x' -> hexEscape(value, readHex(pos + 1, 2), 3);
            case 'u' -> unicodeEscape(value);
            default -> simple(value, d);
        }
    }

    private void simple(StringBuilder value, char c) {
        value.append(c);
        pos++;
    }

    /** Legacy octal escapes of sloppy mode: up to three digits, at most \377. */
    private void octal(StringBuilder value) {
        int max = src.charAt(pos) <= '3' ? 3 : 2;
        int v = 0;
        int k = 0;
        while (k < max && pos < len && src.charAt(pos) >= '0' && src.charAt(pos) <= '7') {
            v = v * 8 + (src.charAt(pos) - '0');
            pos++;
            k++;
        }
        value.append((char) v);
    }

    /** Appends code point v and skips the escape's length after the backslash; an invalid one stays. */
    private void hexEscape(StringBuilder value, int v, int length) {
        if (v < 0 || !Character.isValidCodePoint(v)) {
            error = true;
            simple(value, src.charAt(pos));
            return;
        }
        value.appendCodePoint(v);
        pos += length;
    }

    private void unicodeEscape(StringBuilder value) {
        if (peek(1) == '{') {
            int close = indexWithin('}', pos + 2, 7);
            int digits = close - pos - 2;
            if (close < 0 || digits < 1) {
                hexEscape(value, -1, 0);
                return;
            }
            hexEscape(value, readHex(pos + 2, digits), digits + 3);
            return;
        }
        hexEscape(value, readHex(pos + 1, 4), 5);
    }

    /** Lexes a template literal at pos (the backquote); each {@code ${ }} expression is lexed as code. */
    private void lexTemplate(List<Token> out, int depth) {
        int startLine = line;
        pos++;
        StringBuilder value = new StringBuilder();
        List<Token> embedded = new ArrayList<>();
        boolean interpolated = false;
        boolean closed = false;
        while (pos < len) {
            char c = src.charAt(pos);
            if (c == '`') {
                pos++;
                closed = true;
                break;
            }
            if (c == '\\') {
                escape(value);
            }
            else if (c == '$' && peek(1) == '{') {
                pos += 2;
                interpolated = true;
                expression(embedded, depth);
            }
            else if (isLineBreak(c)) {
                consumeLineBreak();
                value.append('\n');
            }
            else {
                value.append(c);
                pos++;
            }
        }
        if (!closed) {
            error = true;
        }
        out.add(new Token(TokenType.TEMPLATE, value.toString(), startLine, interpolated,
            embedded.isEmpty() ? List.of() : embedded));
    }

    /** Lexes one template expression, pos just after its {@code ${}, through its closing '}'. */
    private void expression(List<Token> embedded, int depth) {
        if (depth >= MAX_NESTING) {
            error = true;
            skipExpression();
            return;
        }
        addSeparator(embedded, new Token(TokenType.OP, ";", line));
        lexCode(embedded, true, depth + 1);
        if (pos < len && src.charAt(pos) == '}') {
            pos++;
        }
        else {
            error = true;
        }
    }

    /** Error recovery past the nesting limit: skips to the expression's '}' or the template's end. */
    private void skipExpression() {
        while (pos < len && src.charAt(pos) != '`') {
            char c = src.charAt(pos);
            if (isLineBreak(c)) {
                consumeLineBreak();
                continue;
            }
            pos++;
            if (c == '}') {
                return;
            }
        }
    }
}
