package dev.warden.policy.code;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.stream.Collectors;

/** Helpers for asserting on scans. */
final class Scans {

    private Scans() {
    }

    static CodeScan py(String code) {
        CodeScan scan = CodeScanners.scan("python", code);
        assertNotNull(scan);
        return scan;
    }

    static CodeScan js(String code) {
        CodeScan scan = CodeScanners.scan("javascript", code);
        assertNotNull(scan);
        return scan;
    }

    /** The names of all hits of a kind, in order. */
    static List<String> names(CodeScan scan, String kind) {
        return scan.hits().stream().filter(h -> h.kind().equals(kind)).map(CodeHit::name).collect(Collectors.toList());
    }

    static List<String> imports(CodeScan scan) {
        return names(scan, CodeHit.IMPORT);
    }

    static List<String> calls(CodeScan scan) {
        return names(scan, CodeHit.CALL);
    }

    static List<String> attributes(CodeScan scan) {
        return names(scan, CodeHit.ATTRIBUTE);
    }

    /** The first hit of that kind and name; fails listing all hits if there is none. */
    static CodeHit hit(CodeScan scan, String kind, String name) {
        return scan.hits().stream()
            .filter(h -> h.kind().equals(kind) && h.name().equals(name))
            .findFirst()
            .orElseGet(() -> fail("no " + kind + " " + name + " in " + scan.hits()));
    }

    /** Asserts a call hit with that name and first-argument literal (null for none). */
    static void assertCall(CodeScan scan, String name, String literal) {
        assertEquals(literal, hit(scan, CodeHit.CALL, name).literal(), () -> "literal of " + name + " in " + scan.hits());
    }

    /** Asserts that no hit of any kind has a name containing the fragment. */
    static void assertNothingNamed(CodeScan scan, String fragment) {
        for (CodeHit h : scan.hits()) {
            if (h.name().contains(fragment)) {
                fail("unexpected " + h + " in " + scan.hits());
            }
        }
    }
}
