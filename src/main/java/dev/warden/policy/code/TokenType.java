package dev.warden.policy.code;

/** The kinds of token both lexers produce; the pattern layer needs no finer distinction. */
enum TokenType {
    /** An identifier or keyword, escapes decoded and (Python) NFKC-normalised. */
    NAME,
    /** A numeric literal, as written. */
    NUMBER,
    /** A string literal of any quoting (Python: also f-strings and bytes); the text is its value. */
    STRING,
    /** A JavaScript template literal; the text is its cooked value. */
    TEMPLATE,
    /** A JavaScript regular expression literal, as written. */
    REGEX,
    /** An operator or bracket. */
    OP,
    /** Python only: the end of a logical line (never inside brackets). */
    NEWLINE,
    /** The sentinel past the last token; never stored in a token list. */
    EOF
}
