package dev.warden.policy.code;

import java.util.Arrays;
import java.util.List;

/**
 * What the Python and JavaScript lexers share: the cursor over the source, line counting, the error
 * flag, bracket matching with recovery, operator matching and character classes.
 *
 * <p>Every lexer loop advances {@link #pos} by at least one character per iteration and every
 * recursion (into f-string fields and template expressions) is bounded by {@link #MAX_NESTING}, so
 * lexing is linear in the input and terminates on any input.
 */
abstract class LexerBase {

    /** How deep f-string fields and template expressions may nest before the rest is skipped. */
    static final int MAX_NESTING = 32;

    /** How far below the innermost open bracket a mismatched closer may find its opener. */
    private static final int RECOVERY_LOOKBACK = 8;

    private static final String[] ONE_CHAR = new String[128];

    static {
        for (int c = 0; c < ONE_CHAR.length; c++) {
            ONE_CHAR[c] = String.valueOf((char) c).intern();
        }
    }

    final String src;
    final int len;
    int pos;
    int line = 1;
    boolean error;

    LexerBase(String src) {
        this.src = src;
        this.len = src.length();
    }

    /** Whether c ends a line in this language. */
    abstract boolean isLineBreak(char c);

    /** The character k places ahead, or -1 past the end. */
    final int peek(int k) {
        int p = pos + k;
        return p < len ? src.charAt(p) : -1;
    }

    /** Consumes one line break at pos (CR LF counts once) and counts the line. */
    final void consumeLineBreak() {
        if (src.charAt(pos) == '\r' && peek(1) == '\n') {
            pos++;
        }
        pos++;
        line++;
    }

    /** Moves pos to the next line break (not consumed) or the end. */
    final void skipToLineEnd() {
        while (pos < len && !isLineBreak(src.charAt(pos))) {
            pos++;
        }
    }

    /** Remembers the closer that an opening bracket expects. */
    static void openBracket(StringBuilder stack, char opener) {
        stack.append(opener == '(' ? ')' : opener == '[' ? ']' : '}');
    }

    /**
     * The closing bracket that a mark on the bracket stack stands for. The stack holds the expected
     * closer itself unless a lexer keeps richer marks (JavaScript remembers what a bracket opened).
     */
    char closerOf(char mark) {
        return mark;
    }

    /**
     * Closes a bracket. A closer that matches the innermost open bracket pops it; one that matches a
     * bracket a few levels further out pops down to it; otherwise nothing is popped. Anything but the
     * first case flags an error. Returns the mark popped, or 0 if no opener was found.
     */
    final char closeBracket(StringBuilder stack, char closer) {
        int n = stack.length();
        for (int k = n - 1; k >= 0 && k >= n - RECOVERY_LOOKBACK; k--) {
            char mark = stack.charAt(k);
            if (closerOf(mark) == closer) {
                error |= k != n - 1;
                stack.setLength(k);
                return mark;
            }
        }
        error = true;
        return 0;
    }

    /**
     * Multi-character operators indexed by their first character, longest first, so that matching
     * one costs a few comparisons rather than one per operator of the language.
     */
    static String[][] indexOperators(String... multi) {
        String[][] byFirst = new String[128][];
        for (String op : multi) {
            char c = op.charAt(0);
            String[] old = byFirst[c] == null ? new String[0] : byFirst[c];
            String[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = op;
            Arrays.sort(grown, (a, b) -> b.length() - a.length());
            byFirst[c] = grown;
        }
        return byFirst;
    }

    /**
     * Matches the longest operator at pos from the candidates (multi-character ones from {@link
     * #indexOperators}, one-character ones as a string of characters), advances past it and returns
     * it, or returns null.
     */
    final String matchOperator(String[][] multi, String single) {
        char c = src.charAt(pos);
        if (c >= 128) {
            return null;
        }
        String[] candidates = multi[c];
        if (candidates != null) {
            for (String op : candidates) {
                if (src.startsWith(op, pos)) {
                    pos += op.length();
                    return op;
                }
            }
        }
        if (single.indexOf(c) >= 0) {
            pos++;
            return ONE_CHAR[c];
        }
        return null;
    }

    /** The string for a one-character ASCII operator, without allocating. */
    static String oneChar(char c) {
        return c < 128 ? ONE_CHAR[c] : String.valueOf(c);
    }

    /** Flags the error and skips one code point the language does not allow here. */
    final void skipBadChar() {
        error = true;
        pos += Character.charCount(src.codePointAt(pos));
    }

    /** Adds a separator between interpolated expressions: nothing before the first one. */
    static void addSeparator(List<Token> out, Token separator) {
        if (!out.isEmpty()) {
            out.add(separator);
        }
    }

    /** The value of count hex digits at index at, or -1 if they are not all there. */
    final int readHex(int at, int count) {
        if (at + count > len) {
            return -1;
        }
        int v = 0;
        for (int k = 0; k < count; k++) {
            int d = Character.digit(src.charAt(at + k), 16);
            if (d < 0) {
                return -1;
            }
            v = v * 16 + d;
        }
        return v;
    }

    /** Index of c between from and from + max (exclusive), or -1: a bounded indexOf. */
    final int indexWithin(char c, int from, int max) {
        int end = Math.min(len, from + max);
        for (int k = from; k < end; k++) {
            if (src.charAt(k) == c) {
                return k;
            }
        }
        return -1;
    }

    /**
     * A number literal: 0x/0o/0b forms, digits with underscores, a fraction, an exponent, then one
     * optional suffix character from {@code suffixes} (JavaScript's BigInt n, Python's imaginary j).
     */
    final void lexNumber(List<Token> out, String suffixes) {
        int start = pos;
        int x = peek(1);
        if (src.charAt(pos) == '0' && (x == 'x' || x == 'X' || x == 'o' || x == 'O' || x == 'b' || x == 'B')) {
            pos += 2;
            while (pos < len && (isAsciiLetter(src.charAt(pos)) || isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
        }
        else {
            skipDigits();
            if (pos < len && src.charAt(pos) == '.') {
                pos++;
                skipDigits();
            }
            int e = peek(0);
            if ((e == 'e' || e == 'E')
                    && (isDigit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && isDigit(peek(2))))) {
                pos += 2;
                skipDigits();
            }
            if (peek(0) >= 0 && suffixes.indexOf(peek(0)) >= 0) {
                pos++;
            }
        }
        out.add(new Token(TokenType.NUMBER, src.substring(start, pos), line));
    }

    private void skipDigits() {
        while (pos < len && (isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
    }

    static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    static boolean isAsciiLetter(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** Unicode identifier start as Python and JavaScript define it, plus '_'. */
    static boolean isUnicodeIdStart(int cp) {
        if (cp < 128) {
            return isAsciiLetter(cp) || cp == '_';
        }
        return Character.isUnicodeIdentifierStart(cp);
    }

    /** Unicode identifier continuation, without the format and control characters Java also allows. */
    static boolean isUnicodeIdPart(int cp) {
        if (cp < 128) {
            return isAsciiLetter(cp) || isDigit(cp) || cp == '_';
        }
        return Character.isUnicodeIdentifierPart(cp) && !Character.isIdentifierIgnorable(cp);
    }
}
