package dev.warden.policy.code;

/**
 * One thing found in code.
 *
 * @param kind    {@code "import"}, {@code "call"} or {@code "attribute"}
 * @param name    the dotted name as written after resolving simple aliases, e.g. {@code subprocess},
 *                {@code os.system}, {@code child_process.execSync}, {@code eval}. A name that starts
 *                with a dot is a member reached from an expression rather than from a name, e.g.
 *                {@code "".join(x)} gives {@code .join} and {@code [].constructor.constructor("x")}
 *                gives {@code .constructor.constructor}
 * @param line    1-based line of the first token of the name
 * @param literal for a call, its first argument when that argument is a plain string literal (no
 *                f-string or template interpolation, escapes decoded); otherwise null
 */
public record CodeHit(String kind, String name, int line, String literal) {

    /** Kind of a module load: an import statement, {@code require}, {@code __import__} and the like. */
    public static final String IMPORT = "import";
    /** Kind of a call of a name or dotted name. */
    public static final String CALL = "call";
    /** Kind of a reference to a member of an imported module, or to a dangerous builtin, without a call. */
    public static final String ATTRIBUTE = "attribute";
}
