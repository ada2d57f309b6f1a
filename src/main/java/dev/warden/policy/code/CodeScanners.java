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
        String src = code == null ? "" : code;
        ScanState state = new ScanState(lang == Language.PYTHON ? PythonPatterns.GLOBAL_ROOTS : JsPatterns.GLOBAL_ROOTS);
        boolean error = true;
        try {
            Lexed lexed = lang == Language.PYTHON ? PythonLexer.lex(src) : JsLexer.lex(src);
            error = lexed.error();
            lang.scanner(lexed.tokens(), state).run();
            state.startReporting();
            lang.scanner(lexed.tokens(), state).run();
        }
        catch (RuntimeException | StackOverflowError e) {
            // Not expected: both layers are written not to throw. Keep the hits found so far.
            error = true;
        }
        return new CodeScan(state.hits(), error);
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

        PatternScanner scanner(List<Token> tokens, ScanState state) {
            return this == PYTHON ? new PythonPatterns(tokens, state) : new JsPatterns(tokens, state);
        }
    }
}
