package dev.warden.policy.code;

import java.util.List;

/** A lexer's output: the tokens it produced and whether it met anything it could not make sense of. */
record Lexed(List<Token> tokens, boolean error) {
}
