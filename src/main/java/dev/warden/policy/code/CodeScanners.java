package dev.warden.policy.code;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Entry point: scans Python or JavaScript source for imports, calls and attribute references.
 *
 * <p>Each scan lexes the source once and walks the tokens twice (the first walk only collects
 * aliases, see {@link ScanState}); both are linear in the input. A scan never throws: input it
 * cannot make sense of sets {@link CodeScan#lexError()} and keeps the hits found. Thread-safe: no
 * state is shared between scans.
 */
public final class CodeScanners {

    private CodeScanners() {
    }

    /**
     * Scans code.
     *
     * @param language {@code "python"} or {@code "javascript"} (case-insensitive; {@code "python3"},
     *                 {@code "py"}, {@code "js"}, {@code "node"} and {@code "nodejs"} are accepted too)
     * @param code     the source; null is treated as empty
     * @return the scan, or null for a language there is no scanner for
     */
    public static CodeScan scan(String language, String code) {
        Language lang = Language.of(language);
        if (lang == null) {
            return null;
        }
        ScanState state = lang.newState();
        try {
            return scan(lang, code, state);
        }
        catch (RuntimeException | StackOverflowError e) {
            // Last resort, not expected: both layers are written not to throw, which the fuzz tests
            // check through scanUnguarded. Keep the hits found so far and flag the input.
            return new CodeScan(state.hits(), true);
        }
    }

    /** The same scan without the last-resort guard, so that tests can show the guard is never needed. */
    static CodeScan scanUnguarded(String language, String code) {
        Language lang = Language.of(language);
        return lang == null ? null : scan(lang, code, lang.newState());
    }

    private static CodeScan scan(Language lang, String code, ScanState state) {
        Lexed lexed = lang.lex(code == null ? "" : code);
        lang.scanner(lexed.tokens(), state).run();
        state.startReporting();
        lang.scanner(lexed.tokens(), state).run();
        return new CodeScan(state.hits(), lexed.error());
    }

    /** The languages there is a scanner for, and the names they go by. */
    private enum Language {
        PYTHON(Set.of("python", "python3", "py")),
        JAVASCRIPT(Set.of("javascript", "js", "node", "nodejs"));

        private final Set<String> names;

        Language(Set<String> names) {
            this.names = names;
        }

        static Language of(String name) {
            if (name == null) {
                return null;
            }
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (Language l : values()) {
                if (l.names.contains(n)) {
                    return l;
                }
            }
            return null;
        }

        ScanState newState() {
            return new ScanState(this == PYTHON ? PythonPatterns.GLOBAL_ROOTS : JsPatterns.GLOBAL_ROOTS);
        }

        Lexed lex(String code) {
            return this == PYTHON ? PythonLexer.lex(code) : JsLexer.lex(code);
        }

        PatternScanner scanner(List<Token> tokens, ScanState state) {
            return this == PYTHON ? new PythonPatterns(tokens, state) : new JsPatterns(tokens, state);
        }
    }
}
