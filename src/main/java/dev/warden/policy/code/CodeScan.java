package dev.warden.policy.code;

import java.util.List;

/**
 * The result of scanning one piece of code.
 *
 * @param hits     what was found, in source order (an import statement's hits before later calls)
 * @param lexError whether the tokenizer met something it could not make sense of: an unterminated
 *                 string, comment or template, unbalanced brackets, a character the language does
 *                 not allow. The hits found are still reported; a caller that wants to be strict
 *                 treats code that does not lex as suspicious in itself
 */
public record CodeScan(List<CodeHit> hits, boolean lexError) {

    public CodeScan {
        hits = List.copyOf(hits);
    }
}
