package dev.warden.policy.code;

import static dev.warden.policy.code.Scans.imports;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CodeScannersTest {

    private static final String PYTHON_SAMPLE = String.join("\n",
        "import os, sys as s2",
        "from subprocess import (run as r,",
        "    Popen)",
        "x = f\"{os.system('id')!r:>{w}} {{no}}\" + rb'\\'' + '''",
        "os.system('no')''' # os.system('no')",
        "r('ls', shell=True); __import__('pty').spawn('/bin/sh')",
        "getattr(os, 'popen')(u'\\N{DIGIT ONE}\\x41' \"b\")",
        "def f(a, *b, **c):",
        "    return [eval(q) for q in b if q != '\\\\']",
        "");

    private static final String JS_SAMPLE = String.join("\n",
        "#!/usr/bin/env node",
        "const cp = require(\"child_process\"), {execSync: e, ...rest} = require('node:child_process');",
        "import * as ns from 'fs'; import d, {a as b} from \"net\"; export * from 'vm';",
        "const t = `x ${cp.exec(`y ${eval('z')}`)} \\${no}`; // require('no')",
        "/* require('no') */ const re = /[/\"'`]require\\(/g, q = a / b / c;",
        "e?.('id'); rest['fork'](\"f\"); new Function('return 1')`tag`; \\u0065val('u');",
        "process.binding('spawn_sync'); require('child_process').execSync('w');",
        "");

    // ---- API ----

    @Test
    void unknownLanguageHasNoScanner() {
        assertNull(CodeScanners.scan("ruby", "system('id')"));
        assertNull(CodeScanners.scan(null, "x"));
        assertNull(CodeScanners.scan("", "x"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"python", "Python", " PYTHON ", "python3", "py", "javascript", "JavaScript", "js", "node",
        "nodejs"})
    void languageNamesAreAccepted(String language) {
        assertNotNull(CodeScanners.scan(language, ""));
    }

    @Test
    void nullAndEmptyCodeScanClean() {
        for (String lang : List.of("python", "javascript")) {
            for (String code : new String[] {null, "", "\n\n", "   "}) {
                CodeScan s = CodeScanners.scan(lang, code);
                assertEquals(List.of(), s.hits());
                assertFalse(s.lexError());
            }
        }
    }

    @Test
    void hitsAreImmutable() {
        CodeScan s = CodeScanners.scan("python", "import os\n");
        assertThrows(UnsupportedOperationException.class, () -> s.hits().clear());
    }

    @Test
    void samplesScanWithoutErrors() {
        CodeScan py = CodeScanners.scan("python", PYTHON_SAMPLE);
        assertFalse(py.lexError(), py.toString());
        assertEquals(List.of("os", "sys", "subprocess", "subprocess.run", "subprocess.Popen", "pty"), imports(py));
        CodeScan js = CodeScanners.scan("javascript", JS_SAMPLE);
        assertFalse(js.lexError(), js.toString());
        assertEquals(List.of("child_process", "child_process", "fs", "net", "vm", "spawn_sync", "child_process"),
            imports(js));
    }

    // ---- never throws, never hangs ----

    @Test
    void randomStringsNeverThrow() {
        long seed = 20240607L;
        Random random = new Random(seed);
        String alphabet = "'\"`\\/{}()[]$#*\n\r\t .,:;=!?<>+-_fbrutxNu0123456789abcdefosimport";
        for (int n = 0; n < 2000; n++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(300);
            for (int k = 0; k < length; k++) {
                int pick = random.nextInt(20);
                if (pick == 0) {
                    sb.append((char) random.nextInt(0x10000)); // anything, lone surrogates included
                }
                else if (pick == 1) {
                    sb.append(List.of("\u2028", "${", "f'{", "\\u{", "\\N{", "'''", "/*", "*/", "require(", "import ")
                        .get(random.nextInt(10)));
                }
                else {
                    sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
                }
            }
            String code = sb.toString();
            checkSane("python", code, "seed " + seed + " #" + n);
            checkSane("javascript", code, "seed " + seed + " #" + n);
        }
    }

    @Test
    void everyPrefixOfTheSamplesScans() {
        for (int end = 0; end <= PYTHON_SAMPLE.length(); end++) {
            checkSane("python", PYTHON_SAMPLE.substring(0, end), "prefix " + end);
        }
        for (int end = 0; end <= JS_SAMPLE.length(); end++) {
            checkSane("javascript", JS_SAMPLE.substring(0, end), "prefix " + end);
        }
    }

    @Test
    void mutatedSamplesScan() {
        Random random = new Random(7);
        String noise = "'\"`\\/{}()[]$#\n";
        for (int n = 0; n < 500; n++) {
            for (String lang : List.of("python", "javascript")) {
                StringBuilder sb = new StringBuilder(lang.equals("python") ? PYTHON_SAMPLE : JS_SAMPLE);
                for (int m = 0; m < 3; m++) {
                    int at = random.nextInt(sb.length());
                    if (random.nextBoolean()) {
                        sb.deleteCharAt(at);
                    }
                    else {
                        sb.insert(at, noise.charAt(random.nextInt(noise.length())));
                    }
                }
                checkSane(lang, sb.toString(), "mutation " + n);
            }
        }
    }

    @Test
    void pathologicalInputsFinishAndReportErrors() {
        List<String[]> cases = List.of(
            new String[] {"python", "(".repeat(50_000) + "]".repeat(50_000)},
            new String[] {"javascript", "(".repeat(50_000) + "]".repeat(50_000)},
            new String[] {"javascript", "(/[".repeat(33_000)},
            new String[] {"javascript", "`${".repeat(33_000)},
            new String[] {"python", "f'{".repeat(33_000)},
            new String[] {"python", "f'''{".repeat(20_000)},
            new String[] {"python", "\"\\N{".repeat(25_000)},
            new String[] {"javascript", "'\\u{".repeat(25_000)},
            new String[] {"javascript", "const {a,b,".repeat(10_000)},
            new String[] {"python", "__import__('a')(".repeat(6_000)},
            new String[] {"javascript", "require(\"a\").require(\"b\")".repeat(4_000)},
            new String[] {"javascript", "globalThis.".repeat(9_000) + "eval(1)"},
            new String[] {"python", "f(" + "'a' ".repeat(25_000) + ")"},
            new String[] {"python", "from " + ". ".repeat(30_000)},
            new String[] {"javascript", "/*".repeat(50_000)});
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (String[] c : cases) {
                assertNotNull(CodeScanners.scanUnguarded(c[0], c[1]));
            }
        });
        assertTrue(CodeScanners.scan("javascript", "`${".repeat(33_000)).lexError());
        assertTrue(CodeScanners.scan("python", "(".repeat(50_000)).lexError());
    }

    /**
     * Scans without the last-resort guard and without throwing, and every hit is well formed with a
     * line inside the source.
     */
    private static void checkSane(String language, String code, String what) {
        CodeScan s;
        try {
            s = CodeScanners.scanUnguarded(language, code);
        }
        catch (Throwable t) {
            throw new AssertionError(language + " threw on " + what + ": " + escape(code), t);
        }
        assertNotNull(s, what);
        long lines = code.chars().filter(c -> c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029').count() + 1;
        for (CodeHit h : s.hits()) {
            if (!Set.of(CodeHit.IMPORT, CodeHit.CALL, CodeHit.ATTRIBUTE).contains(h.kind()) || h.name() == null
                    || h.line() < 1 || h.line() > lines) {
                fail(language + " bad hit " + h + " on " + what + ": " + escape(code));
            }
        }
    }

    private static String escape(String code) {
        return code.chars().mapToObj(c -> c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\u%04x", c))
            .collect(Collectors.joining());
    }

    // ---- a 100 KB program ----

    @Test
    void largePythonProgramFindsEveryPlantedHit() {
        StringBuilder code = new StringBuilder("import subprocess as sp\nfrom os import system\n");
        List<String> expected = new ArrayList<>();
        int line = 3;
        for (int n = 0; code.length() < 100_000; n++) {
            code.append("def handler_").append(n).append("(req, limit=10):\n");
            code.append("    '''Docstring mentioning os.system('no') and import ctypes.'''\n");
            code.append("    total = sum(x * 2 for x in range(limit))  # sp.run('no')\n");
            code.append("    msg = f\"{req.path!r}: {total:>8} {{sp.run('no')}}\"\n");
            line += 4;
            if (n % 50 == 7) {
                code.append("    sp.run('planted-").append(n).append("', shell=True)\n");
                expected.add("subprocess.run@" + line + "=planted-" + n);
                line++;
            }
            if (n % 70 == 3) {
                code.append("    system(f'echo {req}')\n");
                expected.add("os.system@" + line + "=null");
                line++;
            }
            code.append("    return msg\n\n");
            line += 2;
        }
        code.append("__import__('ctypes')\n");
        CodeScan s = CodeScanners.scan("python", code.toString());
        assertFalse(s.lexError());
        assertTrue(code.length() >= 100_000);
        assertEquals(expected, planted(s, Set.of("subprocess.run", "os.system")));
        assertEquals(List.of("subprocess", "os", "os.system", "ctypes"), imports(s));
    }

    @Test
    void largeJavaScriptProgramFindsEveryPlantedHit() {
        StringBuilder code = new StringBuilder("'use strict';\nconst { execSync } = require('child_process');\n");
        List<String> expected = new ArrayList<>();
        int line = 3;
        for (int n = 0; code.length() < 100_000; n++) {
            code.append("function handler").append(n).append("(req, res) {\n");
            code.append("  // execSync('no'); require('fs')\n");
            code.append("  const ratio = req.size / 2 / (req.count || 1), re = /[/'\"]execSync\\(/g;\n");
            code.append("  const msg = `path ${req.path} said \"execSync('no')\" ${ratio}`;\n");
            line += 4;
            if (n % 50 == 7) {
                code.append("  execSync('planted-").append(n).append("');\n");
                expected.add("child_process.execSync@" + line + "=planted-" + n);
                line++;
            }
            if (n % 70 == 3) {
                code.append("  const out = `${eval(req.body)}`;\n");
                expected.add("eval@" + line + "=null");
                line++;
            }
            code.append("  return res.send(msg);\n}\n");
            line += 2;
        }
        CodeScan s = CodeScanners.scan("javascript", code.toString());
        assertFalse(s.lexError());
        assertTrue(code.length() >= 100_000);
        assertEquals(expected, planted(s, Set.of("child_process.execSync", "eval")));
        assertEquals(List.of("child_process"), imports(s));
        assertEquals(new TreeSet<>(List.of("require", "res.send", "child_process.execSync", "eval")),
            new TreeSet<>(Scans.calls(s)));
    }

    /** The calls of those names as name@line=literal, in order. */
    private static List<String> planted(CodeScan s, Set<String> names) {
        return s.hits().stream()
            .filter(h -> h.kind().equals(CodeHit.CALL) && names.contains(h.name()))
            .map(h -> h.name() + "@" + h.line() + "=" + h.literal())
            .collect(Collectors.toList());
    }
}
