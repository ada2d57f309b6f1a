/**
 * Lexer-level scanners that find imports and calls in untrusted Python and JavaScript source, for
 * policy rules in front of the sandbox. Each language has a real tokenizer (strings, comments,
 * f-strings, template literals, regex literals) so that names inside strings and comments are not
 * reported, and a small pattern layer over the token stream that resolves simple aliases. This is
 * defense in depth, never the boundary: dynamic code can always hide from a static scan.
 * {@link dev.warden.policy.code.CodeScanners} is the entry point; nothing here depends on the rest
 * of Warden.
 */
package dev.warden.policy.code;
