package dev.warden.policy.code;

import static dev.warden.policy.code.Scans.assertCall;
import static dev.warden.policy.code.Scans.assertNothingNamed;
import static dev.warden.policy.code.Scans.attributes;
import static dev.warden.policy.code.Scans.calls;
import static dev.warden.policy.code.Scans.hit;
import static dev.warden.policy.code.Scans.imports;
import static dev.warden.policy.code.Scans.js;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JavaScriptScannerTest {

    // ---- require and imports ----

    @Test
    void requireWithEachKindOfPlainLiteral() {
        CodeScan s = js("require(\"a\");\nrequire('b');\nrequire(`c`);\n");
        assertEquals(List.of("a", "b", "c"), imports(s));
        assertEquals(List.of("require", "require", "require"), calls(s));
        assertEquals(3, hit(s, CodeHit.IMPORT, "c").line());
        assertCall(s, "require", "a");
    }

    @Test
    void nodeSchemeIsStrippedFromTheModuleNotTheLiteral() {
        CodeScan s = js("const fs = require('node:fs');\nimport cp from 'node:child_process';\n");
        assertEquals(List.of("fs", "child_process"), imports(s));
        assertCall(s, "require", "node:fs");
    }

    @Test
    void requireOfComputedOrInterpolatedNameHasNoImport() {
        CodeScan s = js("require(name);\nrequire(`child_${x}`);\nrequire('child' + '_process');\n");
        assertEquals(List.of(), imports(s));
        assertEquals(List.of("require", "require", "require"), calls(s));
        assertCall(s, "require", null);
    }

    @Test
    void staticImportForms() {
        CodeScan s = js("import \"side\";\nimport d from 'a';\nimport * as ns from 'b';\nimport {x, y as z} from 'c';\n"
            + "import e, {f} from 'd';\nimport g, * as h from 'e';\n");
        assertEquals(List.of("side", "a", "b", "c", "d", "e"), imports(s));
        assertEquals(List.of(), calls(s));
    }

    @Test
    void multiLineImportReportsTheLineOfTheModule() {
        CodeScan s = js("import {\n  execSync,\n  spawn,\n} from 'child_process';\n");
        assertEquals(4, hit(s, CodeHit.IMPORT, "child_process").line());
    }

    @Test
    void dynamicImport() {
        CodeScan s = js("await import('fs');\nimport(`net`).then(m => m);\nimport(name);\nconst u = import.meta.url;\n");
        assertEquals(List.of("fs", "net"), imports(s));
        assertEquals(List.of("import", "import", ".then", "import"), calls(s));
    }

    @Test
    void reExportsLoadTheModule() {
        CodeScan s = js("export * from 'a';\nexport * as b from 'b';\nexport { x, y as z } from 'c';\nexport const q = 1;\n");
        assertEquals(List.of("a", "b", "c"), imports(s));
    }

    @Test
    void processBindingIsAnImport() {
        CodeScan s = js("process.binding('spawn_sync');\nglobal.process._linkedBinding(\"fs\");\n");
        assertEquals(List.of("spawn_sync", "fs"), imports(s));
        assertCall(s, "process.binding", "spawn_sync");
        assertCall(s, "process._linkedBinding", "fs");
    }

    @Test
    void otherWaysToRequire() {
        CodeScan s = js("process.mainModule.require('child_process');\nmodule.require('vm');\n"
            + "module.constructor._load('net');\n");
        assertEquals(List.of("child_process", "vm", "net"), imports(s));
    }

    // ---- aliases ----

    @Test
    void requireAssignedToAName() {
        CodeScan s = js("const cp = require(\"child_process\");\ncp.execSync('id');\n");
        assertCall(s, "child_process.execSync", "id");
        assertEquals(2, hit(s, CodeHit.CALL, "child_process.execSync").line());
    }

    @Test
    void destructuredRequire() {
        CodeScan s = js("const {execSync} = require(\"child_process\");\nconst {exec: run, spawn = null, ...rest} = "
            + "require('child_process');\nexecSync('a');\nrun('b');\nrest.fork('c');\n");
        assertCall(s, "child_process.execSync", "a");
        assertCall(s, "child_process.exec", "b");
        assertCall(s, "child_process.fork", "c");
        assertEquals(List.of(), attributes(s)); // the pattern's names are bindings, not uses
    }

    @Test
    void destructuringFromAnAlias() {
        CodeScan s = js("const cp = require('child_process');\nlet { execFileSync: ef } = cp;\nef('ls');\n");
        assertCall(s, "child_process.execFileSync", "ls");
    }

    @Test
    void importBindings() {
        CodeScan s = js("import * as cp from \"child_process\";\nimport {execSync as e} from \"child_process\";\n"
            + "import def from \"child_process\";\nimport {spawn} from 'child_process';\n"
            + "cp.execSync('1'); e('2'); def.exec('3'); spawn('4');\n");
        assertCall(s, "child_process.execSync", "1");
        assertEquals(List.of("child_process.execSync", "child_process.execSync", "child_process.exec",
            "child_process.spawn"), calls(s));
    }

    @Test
    void aliasViaAssignmentAndVar() {
        CodeScan s = js("var cp; cp = require('child_process');\nlet e = cp.exec\ne('x')\nconst r = require; r('net');\n");
        assertCall(s, "child_process.exec", "x");
        assertEquals(List.of("child_process", "net"), imports(s));
        assertEquals(List.of("child_process.exec", "require"), attributes(s));
    }

    @Test
    void aliasResolvesInCodeAboveTheRequire() {
        CodeScan s = js("function later() { return cp.spawnSync('sh'); }\nconst cp = require('child_process');\n");
        assertCall(s, "child_process.spawnSync", "sh");
    }

    @Test
    void requireChainedIntoACall() {
        CodeScan s = js("require('child_process').execSync('whoami');\nrequire('child_process')['exec']('id');\n");
        assertCall(s, "child_process.execSync", "whoami");
        assertCall(s, "child_process.exec", "id");
    }

    @Test
    void membersInBracketsAndOptionalChains() {
        CodeScan s = js("const cp = require('child_process');\ncp[\"execSync\"]('a');\ncp?.spawn('b');\ncp?.['fork']('c');\n"
            + "cp.exec?.('d');\n");
        assertCall(s, "child_process.execSync", "a");
        assertCall(s, "child_process.spawn", "b");
        assertCall(s, "child_process.fork", "c");
        assertCall(s, "child_process.exec", "d");
    }

    @Test
    void globalObjectPrefixIsDropped() {
        CodeScan s = js("globalThis.eval('a');\nglobal.process.binding('fs');\nwindow.Function('b');\nconst g = globalThis;\n"
            + "g.eval('c');\n");
        assertEquals(List.of("eval", "process.binding", "Function", "eval"), calls(s));
        assertEquals(List.of("fs"), imports(s));
    }

    // ---- calls ----

    @Test
    void evalFunctionAndTimers() {
        CodeScan s = js("eval('1+1');\nFunction('return 1')();\nnew Function('a', 'return a');\n"
            + "setTimeout(\"alert(1)\", 10);\nsetInterval(fn, 5);\n");
        assertEquals(List.of("eval", "Function", "Function", "setTimeout", "setInterval"), calls(s));
        assertCall(s, "eval", "1+1");
        assertCall(s, "setTimeout", "alert(1)");
        assertCall(s, "setInterval", null);
        assertEquals(3, s.hits().stream().filter(h -> h.name().equals("Function")).skip(1).findFirst().get().line());
    }

    @Test
    void optionalCallAndTaggedTemplateAreCalls() {
        CodeScan s = js("eval?.('x');\nFunction`alert\\x281\\x29```;\n");
        assertCall(s, "eval", "x");
        assertCall(s, "Function", "alert(1)");
    }

    @Test
    void unicodeEscapesInIdentifiersAreDecoded() {
        CodeScan s = js("\\u0065val('x');\n\\u{65}v\\u0061l('y');\n");
        assertEquals(List.of("eval", "eval"), calls(s));
    }

    @Test
    void indirectEvalIsAnAttribute() {
        CodeScan s = js("(0, eval)('x');\n[eval][0]('y');\n");
        assertEquals(List.of("eval", "eval"), attributes(s));
    }

    @Test
    void typeofAndPropertyKeysAreNotUses() {
        CodeScan s = js("if (typeof require === 'function') {}\nconst o = { eval: 1, Function: 2 };\nx instanceof Function;\n");
        assertEquals(List.of(), attributes(s));
    }

    @Test
    void constructorChainFromAnExpression() {
        CodeScan s = js("[].constructor.constructor('return process')();\n''.sub.call(x);\n");
        assertCall(s, ".constructor.constructor", "return process");
        assertCall(s, ".sub.call", null);
    }

    @Test
    void declarationsAndKeywordsAreNotCalls() {
        CodeScan s = js("function exec(cmd) { return (cmd); }\nfunction* gen() {}\nasync function run() {}\nclass eval2 {}\n"
            + "if (a) {} else if (b) {}\nwhile (c) {}\nfor (;;) {}\nswitch (d) {}\ntry {} catch (e) {}\n"
            + "typeof (x); void (0); new Foo(1); super(); this.go();\n");
        assertEquals(List.of("Foo", "this.go"), calls(s));
    }

    @Test
    void literalRules() {
        CodeScan s = js("const cp = require('child_process');\ncp.exec('ls -la', cb);\ncp.execSync(`plain`);\n"
            + "cp.spawn(`rm ${dir}`);\ncp.fork('a' + b);\ncp.execFile(['x']);\n");
        assertCall(s, "child_process.exec", "ls -la");
        assertCall(s, "child_process.execSync", "plain");
        assertCall(s, "child_process.spawn", null);
        assertCall(s, "child_process.fork", null);
        assertCall(s, "child_process.execFile", null);
    }

    @Test
    void literalEscapesAreDecoded() {
        CodeScan s = js("eval('\\x61\\u0062\\u{63}\\n\\0');\neval(\"line\\\ncontinued\");\n");
        assertEquals("abc\n\0", s.hits().get(0).literal());
        assertEquals("linecontinued", s.hits().get(1).literal());
    }

    // ---- strings, comments, templates, regexes ----

    @ParameterizedTest
    @ValueSource(strings = {
        "const s = 'require(\"child_process\")';",
        "const s = \"require('child_process').execSync('id')\";",
        "const s = `require(\"child_process\")`;",
        "const s = `multi\nline require('child_process')\n`;",
        "// require(\"child_process\")",
        "/* require(\"child_process\")\n   eval('x') */",
        "const re = /require\\(\"child_process\"\\)/g;",
        "const re = /[/\"']eval('x')/;",
        "const s = 'it\\'s require(\"child_process\")';",
        "const s = `\\${require('child_process')}`;",
        "#!/usr/bin/env node require('child_process')",
    })
    void namesInStringsCommentsAndRegexesAreNotReported(String code) {
        CodeScan s = js(code + "\nconst after = 1;\n");
        assertNothingNamed(s, "child_process");
        assertNothingNamed(s, "eval");
        assertFalse(s.lexError(), code);
    }

    @Test
    void templateExpressionsAreScannedAsCode() {
        CodeScan s = js("const cp = require('child_process');\nconst x = `a ${cp.execSync('id')} b ${eval(`y`)}`;\n"
            + "const y = `${`${require('net')}`}`;\n");
        assertCall(s, "child_process.execSync", "id");
        assertCall(s, "eval", "y");
        assertEquals(List.of("child_process", "net"), imports(s));
        assertFalse(s.lexError());
    }

    @Test
    void templateExpressionWithBracesAndStrings() {
        CodeScan s = js("const x = `${ {a: '}'}.a } ${ (() => { return eval('z'); })() }`;\nrequire('after');\n");
        assertCall(s, "eval", "z");
        assertEquals(List.of("after"), imports(s));
        assertFalse(s.lexError());
    }

    @Test
    void divisionIsNotARegex() {
        CodeScan s = js("const r = a / b; require('x'); const q = c / 2;\nconst t = (d) / e / require('y');\n"
            + "const u = arr[0] / 2; eval('z') / 3;\n");
        assertEquals(List.of("x", "y"), imports(s));
        assertCall(s, "eval", "z");
        assertFalse(s.lexError());
    }

    @Test
    void regexWithQuotesDoesNotSwallowCode() {
        CodeScan s = js("const re = /\"/; require('fs'); const q = \"x\";\nif (/'/.test(s)) eval('y');\n"
            + "function f() { return /[/]/.test(z); }\nrequire('net');\n");
        assertEquals(List.of("fs", "net"), imports(s));
        assertCall(s, "eval", "y");
        assertFalse(s.lexError());
    }

    /** Each line hides require('m') behind a quote that is inside a regex or after a division. */
    @ParameterizedTest
    @ValueSource(strings = {
        "if (x) /'/.test(s); require('m'); //'/",
        "while (a) /\"/.exec(b); require('m'); //\"",
        "for (const k of [1]) /'/.test(k); require('m'); //'",
        "if (x) {} /'/; require('m'); //'",
        "function f() {} /'/; require('m'); //'",
        "const arrow = () => {}\n/'/.test(s); require('m'); //'",
        "x = {} / 1; require('m'); y = '1' / 1; //'",
        "x = function () {} / 1; require('m'); y = '1' / 1; //'",
        "const g = async function* gen() {} / 2; require('m'); z = '1' / 1; //'",
        "q = a[0] / 2; require('m'); w = '2' / 2; //'",
    })
    void regexOrDivisionAfterClosingBrackets(String code) {
        CodeScan s = js(code + "\n");
        assertEquals(List.of("m"), imports(s), code);
        assertFalse(s.lexError(), code);
    }

    @Test
    void wrongRegexGuessCostsAtMostTheRestOfTheLine() {
        // After the property name "in" a regex is guessed; none ends on the line, so it is a division.
        CodeScan s = js("const q = obj.in / 2; require('fs');\n");
        assertEquals(List.of("fs"), imports(s));
    }

    @Test
    void lineSeparatorEndsALineComment() {
        CodeScan s = js("// comment\u2028require('fs');\n");
        assertEquals(List.of("fs"), imports(s));
        assertEquals(2, hit(s, CodeHit.IMPORT, "fs").line());
    }

    @Test
    void linesCountThroughTemplatesAndBlockComments() {
        CodeScan s = js("/* a\nb */ const t = `x\ny\r\nz`;\r\neval('q');\n");
        assertEquals(5, hit(s, CodeHit.CALL, "eval").line());
    }

    // ---- lex errors ----

    @Test
    void unterminatedStringSetsLexErrorAndKeepsHits() {
        CodeScan s = js("require('fs');\nconst s = 'never closed\neval('after');\n");
        assertTrue(s.lexError());
        assertEquals(List.of("fs"), imports(s));
        assertCall(s, "eval", "after");
    }

    @ParameterizedTest
    @ValueSource(strings = {"f(", "f)", "[1, 2", "a = (]", "x = `abc", "x = `${a", "/* open", "a \u0001 b", "\\x",
        "'\\u{110000}'", "'\\xZZ'"})
    void malformedInputSetsLexError(String code) {
        assertTrue(js(code).lexError(), code);
    }

    @Test
    void wellFormedCodeHasNoLexError() {
        assertFalse(js("#!/usr/bin/env node\nconst a = {b: [1, 2n, 0x1F, 1e-5, .5, 1_000]};\nlet c = a?.b ?? 0;\n"
            + "const d = x?.5:1;\nclass K { #p = 1; get q() { return this.#p >>> 1; } }\nc **= 2; c >>>= 1;\n"
            + "label: for (const k of [1]) { break label; }\nconst r = /a\\/b[/\\]]+/giu;\n").lexError());
    }
}
