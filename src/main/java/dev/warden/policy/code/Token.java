package dev.warden.policy.code;

import java.util.List;

/**
 * One token.
 *
 * <p>A Python f-string or a JavaScript template literal with interpolations is one {@link
 * TokenType#STRING} or {@link TokenType#TEMPLATE} token whose {@link #interpolated} flag is set and
 * whose {@link #embedded} list holds the tokens of the interpolated expressions, separated by
 * statement separators, so the pattern layer can scan them as code.
 */
final class Token {

    /** Returned for any index past the end, so that look-ahead never needs a bounds check. */
    static final Token END = new Token(TokenType.EOF, "", 0, false, List.of());

    final TokenType type;
    /** NAME and OP: as written (escapes decoded); STRING and TEMPLATE: the literal value. */
    final String text;
    /** 1-based line of the token's first character. */
    final int line;
    /**
     * Whether a string or template contains interpolated expressions, so its value is not known; only
     * then is {@link #embedded} non-empty.
     */
    final boolean interpolated;
    /** Tokens of the interpolated expressions; empty for everything else. */
    final List<Token> embedded;

    Token(TokenType type, String text, int line, boolean interpolated, List<Token> embedded) {
        this.type = type;
        this.text = text;
        this.line = line;
        this.interpolated = interpolated;
        this.embedded = embedded;
    }

    Token(TokenType type, String text, int line) {
        this(type, text, line, false, List.of());
    }

    boolean isOp(String op) {
        return type == TokenType.OP && text.equals(op);
    }

    boolean isName(String name) {
        return type == TokenType.NAME && text.equals(name);
    }

    /** A string (or template) literal whose value is fully known. */
    boolean isPlainString() {
        return (type == TokenType.STRING || type == TokenType.TEMPLATE) && !interpolated;
    }

    @Override
    public String toString() {
        return type + "(" + text + ")@" + line;
    }
}
