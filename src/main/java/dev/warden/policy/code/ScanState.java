package dev.warden.policy.code;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one scan of one source accumulates: the alias table and the hits.
 *
 * <p>A source is walked twice. The first walk only binds aliases and never replaces a binding, so
 * that a name used before the import that binds it (a function body above the import, say) still
 * resolves. The second walk, after {@link #startReporting()}, rebinds in source order and records
 * the hits.
 */
final class ScanState {

    private final Map<String, String> aliases = new HashMap<>();
    private final String[] globalRoots;
    private final List<CodeHit> hits = new ArrayList<>();
    private boolean reporting;

    /**
     * @param globalRoots names of the global object ({@code globalThis}, {@code builtins} ...) that are
     *                    dropped from the front of a longer name, so {@code globalThis.eval} is
     *                    {@code eval}
     */
    ScanState(Set<String> globalRoots) {
        this.globalRoots = globalRoots.toArray(new String[0]);
    }

    /** Ends the binding-only walk: from now on bindings replace and hits are recorded. */
    void startReporting() {
        reporting = true;
    }

    /** Binds a local name to the dotted name it stands for. */
    void bind(String local, String target) {
        if (reporting) {
            aliases.put(local, target);
        }
        else {
            aliases.putIfAbsent(local, target);
        }
    }

    boolean isBound(String local) {
        return aliases.containsKey(local);
    }

    /** The dotted name for a root name followed by members (".a.b", possibly empty). */
    String resolve(String root, String rest) {
        String base = aliases.get(root);
        if (base == null && rest.isEmpty()) {
            return root;
        }
        return normalize((base != null ? base : root) + rest);
    }

    /** Whether hits are recorded (the second walk), so work that only produces hits can be skipped. */
    boolean reporting() {
        return reporting;
    }

    /** Drops global-object names from the front of a dotted name that has more after them. */
    String normalize(String name) {
        int start = 0;
        boolean again = name.indexOf('.') > 0;
        while (again) {
            again = false;
            for (String root : globalRoots) {
                int n = root.length();
                if (name.length() > start + n + 1 && name.charAt(start + n) == '.' && name.startsWith(root, start)) {
                    start += n + 1;
                    again = true;
                    break;
                }
            }
        }
        return start == 0 ? name : name.substring(start);
    }

    void hit(String kind, String name, int line, String literal) {
        if (reporting) {
            hits.add(new CodeHit(kind, name, line, literal));
        }
    }

    List<CodeHit> hits() {
        return hits;
    }
}
