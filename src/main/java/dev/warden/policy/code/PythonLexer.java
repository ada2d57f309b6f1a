package dev.warden.policy.code;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Tokenizer for Python 3 source.
 *
 * <p>Understands comments, backslash line continuation, string literals with any prefix ({@code r},
 * {@code b}, {@code u}, {@code f}, {@code t} and their combinations) in single, double and triple
 * quotes, escape sequences (decoded into the token's value), and numbers. In f-strings (and t-strings)
 * each replacement field is lexed as code into the string token's {@link Token#embedded} list, so
 * {@code f"{os.system('x')}"} is seen while {@code "os.system('x')"} is not. Identifiers are NFKC
 * normalised as Python does, so full-width letters do not hide a name.
 *
 * <p>Emits a {@link TokenType#NEWLINE} at the end of each logical line; line breaks inside brackets
 * do not end a line. Indentation is ignored.
 */
final class PythonLexer extends LexerBase {

    private static final String[][] MULTI_OPS = indexOperators("**=", "//=", ">>=", "<<=", "...", "->", ":=", "==", "!=", "<=",
        ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>", "<>");
    private static final String SINGLE_OPS = "+-*/%@&|^~<>()[]{},:;.=!";
    private static final Set<String> STRING_PREFIXES = Set.of("r", "u", "b", "f", "t", "br", "rb", "fr", "rf", "tr",
        "rt");

    private PythonLexer(String src) {
        super(src);
    }

    /** Tokenizes the whole source. Written not to throw on any string (the fuzz tests check it). */
    static Lexed lex(String code) {
        PythonLexer lexer = new PythonLexer(code);
        List<Token> out = new ArrayList<>();
        lexer.lexCode(out, false, 0);
        return new Lexed(out, lexer.error);
    }

    @Override
    boolean isLineBreak(char c) {
        return c == '\n' || c == '\r';
    }

    /**
     * Lexes code into out. At top level this runs to the end of the source; in an f-string field it
     * stops, without consuming it, at a '}', ':' or conversion '!' outside brackets.
     */
    private void lexCode(List<Token> out, boolean field, int depth) {
        StringBuilder brackets = new StringBuilder();
        while (pos < len) {
            char c = src.charAt(pos);
            if (c == '\n' || c == '\r') {
                int at = line;
                consumeLineBreak();
                if (!field && brackets.length() == 0) {
                    endLogicalLine(out, at);
                }
            }
            else if (c == ' ' || c == '\t' || c == '\f') {
                pos++;
            }
            else if (c == '#') {
                skipToLineEnd();
            }
            else if (c == '\\') {
                pos++;
                if (pos < len && isLineBreak(src.charAt(pos))) {
                    consumeLineBreak();
                }
                else {
                    error = true;
                }
            }
            else if (field && brackets.length() == 0 && (c == '}' || c == ':' || (c == '!' && peek(1) != '='))) {
                return;
            }
            else if (c == '"' || c == '\'') {
                lexString(out, "", depth);
            }
            else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
                lexNumber(out, "jJ");
            }
            else if (isUnicodeIdStart(src.codePointAt(pos))) {
                lexNameOrPrefixedString(out, depth);
            }
            else if (c == '(' || c == '[' || c == '{') {
                openBracket(brackets, c);
                out.add(new Token(TokenType.OP, oneChar(c), line));
                pos++;
            }
            else if (c == ')' || c == ']' || c == '}') {
                if (closeBracket(brackets, c) == 0 && field && c == '}') {
                    return; // the field's own closing brace, with something left open inside it
                }
                out.add(new Token(TokenType.OP, oneChar(c), line));
                pos++;
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
        if (!field) {
            endLogicalLine(out, line);
        }
    }

    /** Ends a logical line unless nothing is on it. */
    private static void endLogicalLine(List<Token> out, int at) {
        if (!out.isEmpty() && out.get(out.size() - 1).type != TokenType.NEWLINE) {
            out.add(new Token(TokenType.NEWLINE, "", at));
        }
    }

    private void lexNameOrPrefixedString(List<Token> out, int depth) {
        int start = pos;
        boolean ascii = true;
        while (pos < len) {
            int cp = src.codePointAt(pos);
            if (!isUnicodeIdPart(cp)) {
                break;
            }
            ascii &= cp < 128;
            pos += Character.charCount(cp);
        }
        String name = src.substring(start, pos);
        if (pos < len && (src.charAt(pos) == '"' || src.charAt(pos) == '\'') && name.length() <= 2
                && STRING_PREFIXES.contains(name.toLowerCase(Locale.ROOT))) {
            lexString(out, name, depth);
            return;
        }
        if (!ascii) {
            name = Normalizer.normalize(name, Normalizer.Form.NFKC);
        }
        out.add(new Token(TokenType.NAME, name, line));
    }

    /** Lexes a string literal at pos (the opening quote), the prefix already consumed. */
    private void lexString(List<Token> out, String prefix, int depth) {
        String p = prefix.toLowerCase(Locale.ROOT);
        boolean raw = p.indexOf('r') >= 0;
        boolean bytes = p.indexOf('b') >= 0;
        boolean format = p.indexOf('f') >= 0 || p.indexOf('t') >= 0;
        int startLine = line;
        char quote = src.charAt(pos);
        boolean triple = peek(1) == quote && peek(2) == quote;
        pos += triple ? 3 : 1;
        StringBuilder value = new StringBuilder();
        List<Token> embedded = format ? new ArrayList<>() : List.of();
        boolean interpolated = false;
        boolean closed = false;
        while (pos < len) {
            char c = src.charAt(pos);
            if (c == quote && (!triple || (peek(1) == quote && peek(2) == quote))) {
                pos += triple ? 3 : 1;
                closed = true;
                break;
            }
            if (c == '\n' || c == '\r') {
                if (!triple) {
                    break; // unterminated; the line break is left to end the logical line
                }
                consumeLineBreak();
                value.append('\n');
            }
            else if (c == '\\') {
                if (raw) {
                    rawBackslash(value);
                }
                else {
                    escape(value, bytes);
                }
            }
            else if (format && c == '{') {
                if (peek(1) == '{') {
                    value.append('{');
                    pos += 2;
                }
                else {
                    pos++;
                    interpolated = true;
                    replacementField(embedded, quote, triple, depth);
                }
            }
            else if (format && c == '}') {
                if (peek(1) == '}') {
                    pos++;
                }
                else {
                    error = true; // a single '}' is not allowed in an f-string
                }
                value.append('}');
                pos++;
            }
            else {
                value.append(c);
                pos++;
            }
        }
        if (!closed) {
            error = true;
        }
        out.add(new Token(TokenType.STRING, value.toString(), startLine, interpolated, embedded));
    }

    /**
     * A backslash in a raw string stays, and keeps a following quote, backslash or line break from
     * ending the string; any other following character is left to the caller (so a raw f-string's
     * '{' still opens a field).
     */
    private void rawBackslash(StringBuilder value) {
        value.append('\\');
        pos++;
        if (pos >= len) {
            return;
        }
        char d = src.charAt(pos);
        if (isLineBreak(d)) {
            consumeLineBreak();
            value.append('\n');
        }
        else if (d == '\\' || d == '\'' || d == '"') {
            value.append(d);
            pos++;
        }
    }

    /**
     * Decodes one escape sequence at pos (the backslash). An unknown escape keeps its backslash and
     * leaves the next character to the caller, as Python does.
     */
    private void escape(StringBuilder value, boolean bytes) {
        pos++;
        if (pos >= len) {
            return;
        }
        char d = src.charAt(pos);
        switch (d) {
            case '\n', '\r' -> consumeLineBreak();
            case '\\', '\'', '"' -> simple(value, d);
            case 'a' -> simple(value, '\u0007');
            case 'b' -> simple(value, '\b');
            case 'f' -> simple(value, '\f');
            case 'n' -> simple(value, '\n');
            case 'r' -> simple(value, '\r');
            case 't' -> simple(value, '\t');
            case 'v' -> simple(value, '\u000B');
            case '0', '1', '2', '3', '4', '5', '6', '7' -> octal(value);
            case 'x' -> hexEscape(value, 2);
            case 'u' -> {
                if (bytes) {
                    value.append('\\');
                }
                else {
                    hexEscape(value, 4);
                }
            }
            case 'U' -> {
                if (bytes) {
                    value.append('\\');
                }
                else {
                    hexEscape(value, 8);
                }
            }
            case 'N' -> namedEscape(value, bytes);
            default -> value.append('\\');
        }
    }

    private void simple(StringBuilder value, char c) {
        value.append(c);
        pos++;
    }

    private void octal(StringBuilder value) {
        int v = 0;
        int k = 0;
        while (k < 3 && pos < len && src.charAt(pos) >= '0' && src.charAt(pos) <= '7') {
            v = v * 8 + (src.charAt(pos) - '0');
            pos++;
            k++;
        }
        value.append((char) v);
    }

    /** pos is at the escape letter; count hex digits follow. */
    private void hexEscape(StringBuilder value, int count) {
        int v = readHex(pos + 1, count);
        if (v < 0 || !Character.isValidCodePoint(v)) {
            error = true;
            value.append('\\');
            return;
        }
        value.appendCodePoint(v);
        pos += 1 + count;
    }

    /** {@code \N{NAME}}: consumed whole, even when the name is unknown, so its brace opens no field. */
    private void namedEscape(StringBuilder value, boolean bytes) {
        int close = bytes || peek(1) != '{' ? -1 : indexWithin('}', pos + 2, 100);
        if (close < 0) {
            value.append('\\');
            return;
        }
        String name = src.substring(pos + 2, close);
        try {
            value.appendCodePoint(Character.codePointOf(name));
        }
        catch (IllegalArgumentException e) {
            error = true;
            value.append("\\N{").append(name).append('}');
        }
        pos = close + 1;
    }

    /**
     * Lexes one f-string replacement field, pos just after its '{': the expression as code into
     * embedded, then an optional conversion and format spec (whose nested fields are code too), then
     * the closing '}'.
     */
    private void replacementField(List<Token> embedded, char quote, boolean triple, int depth) {
        if (depth >= MAX_NESTING) {
            error = true;
            skipField(quote, triple);
            return;
        }
        addSeparator(embedded, new Token(TokenType.NEWLINE, "", line));
        lexCode(embedded, true, depth + 1);
        if (pos < len && src.charAt(pos) == '!') {
            pos++;
            while (pos < len && isAsciiLetter(src.charAt(pos))) {
                pos++;
            }
        }
        if (pos < len && src.charAt(pos) == ':') {
            pos++;
            formatSpec(embedded, quote, triple, depth);
        }
        if (pos < len && src.charAt(pos) == '}') {
            pos++;
        }
        else {
            error = true;
        }
    }

    /** Skips a format spec up to its field's '}' (not consumed) or the string's end. */
    private void formatSpec(List<Token> embedded, char quote, boolean triple, int depth) {
        while (pos < len) {
            char c = src.charAt(pos);
            if (c == '}' || atStringEnd(quote, triple)) {
                return;
            }
            if (isLineBreak(c)) {
                if (!triple) {
                    return;
                }
                consumeLineBreak();
            }
            else if (c == '{') {
                pos++;
                replacementField(embedded, quote, triple, depth + 1);
            }
            else {
                pos++;
            }
        }
    }

    /** Error recovery past the nesting limit: skips to the field's '}' or the string's end. */
    private void skipField(char quote, boolean triple) {
        while (pos < len && !atStringEnd(quote, triple)) {
            char c = src.charAt(pos);
            if (isLineBreak(c)) {
                if (!triple) {
                    return;
                }
                consumeLineBreak();
                continue;
            }
            pos++;
            if (c == '}') {
                return;
            }
        }
    }

    private boolean atStringEnd(char quote, boolean triple) {
        return src.charAt(pos) == quote && (!triple || (peek(1) == quote && peek(2) == quote));
    }
}
