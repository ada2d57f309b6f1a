package dev.warden.policy.code;

import static dev.warden.policy.code.Scans.assertCall;
import static dev.warden.policy.code.Scans.assertNothingNamed;
import static dev.warden.policy.code.Scans.attributes;
import static dev.warden.policy.code.Scans.calls;
import static dev.warden.policy.code.Scans.hit;
import static dev.warden.policy.code.Scans.imports;
import static dev.warden.policy.code.Scans.py;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PythonScannerTest {

    // ---- import statements ----

    @Test
    void importStatementsReportEachModule() {
        CodeScan s = py("import os\nimport os.path, sys as system_module\nimport subprocess as sp\n");
        assertEquals(List.of("os", "os.path", "sys", "subprocess"), imports(s));
        assertFalse(s.lexError());
        assertEquals(2, hit(s, CodeHit.IMPORT, "sys").line());
    }

    @Test
    void fromImportReportsTheModuleAndEachName() {
        CodeScan s = py("from os import system\n");
        assertEquals(List.of("os", "os.system"), imports(s));
    }

    @Test
    void fromImportWithParenthesesAliasesAndTrailingComma() {
        CodeScan s = py("from os.path import (\n    join as j,\n    exists,\n)\nj('a', 'b')\n");
        assertEquals(List.of("os.path", "os.path.join", "os.path.exists"), imports(s));
        assertEquals(3, hit(s, CodeHit.IMPORT, "os.path.exists").line());
        assertCall(s, "os.path.join", "a");
    }

    @Test
    void relativeAndStarImports() {
        CodeScan s = py("from . import sibling\nfrom ..pkg.mod import thing\nfrom os import *\n");
        assertEquals(List.of(".", ".sibling", "..pkg.mod", "..pkg.mod.thing", "os", "os.*"), imports(s));
    }

    @Test
    void fromThatIsNotAnImportIsIgnored() {
        CodeScan s = py("def g():\n    yield from items()\n    raise ValueError() from err\n");
        assertEquals(List.of(), imports(s));
        assertEquals(List.of("items", "ValueError"), calls(s));
    }

    @Test
    void importAfterSemicolonAndBackslashContinuation() {
        CodeScan s = py("x = 1; import subprocess\nfrom os import \\\n    system\n");
        assertEquals(List.of("subprocess", "os", "os.system"), imports(s));
        assertEquals(3, hit(s, CodeHit.IMPORT, "os.system").line());
    }

    // ---- calls and aliases ----

    @Test
    void moduleAliasIsResolved() {
        CodeScan s = py("import subprocess as sp\nsp.run('ls', shell=True)\n");
        assertCall(s, "subprocess.run", "ls");
        assertEquals(2, hit(s, CodeHit.CALL, "subprocess.run").line());
    }

    @Test
    void fromImportAliasIsResolved() {
        CodeScan s = py("from os import system as s\ns('id')\n");
        assertCall(s, "os.system", "id");
    }

    @Test
    void fromImportedNameIsResolvedWithoutAlias() {
        CodeScan s = py("from subprocess import Popen\nPopen(['rm', '-rf', '/'])\n");
        assertCall(s, "subprocess.Popen", null);
    }

    @Test
    void plainAndDottedCalls() {
        CodeScan s = py("import os\nos.system('rm -rf /')\nos.path.join('a')\nfoo.bar.baz(1)\nprint()\n");
        assertEquals(List.of("os.system", "os.path.join", "foo.bar.baz", "print"), calls(s));
        assertCall(s, "os.system", "rm -rf /");
    }

    @Test
    void builtinsAreCalls() {
        CodeScan s = py("eval('1+1')\nexec(code)\ncompile(src, 'f', 'exec')\nopen('/etc/passwd')\n");
        assertEquals(List.of("eval", "exec", "compile", "open"), calls(s));
        assertCall(s, "eval", "1+1");
        assertCall(s, "exec", null);
        assertCall(s, "open", "/etc/passwd");
    }

    @Test
    void builtinsModulePrefixIsDropped() {
        CodeScan s = py("import builtins\nbuiltins.exec('x')\n__builtins__.eval('y')\n");
        assertCall(s, "exec", "x");
        assertCall(s, "eval", "y");
    }

    @Test
    void aliasResolvesInCodeAboveTheImport() {
        CodeScan s = py("def later():\n    sp.check_output('id')\n\nimport subprocess as sp\n");
        assertCall(s, "subprocess.check_output", "id");
    }

    @Test
    void aliasRebindingFollowsSourceOrder() {
        CodeScan s = py("import os as x\nx.system('a')\nimport subprocess as x\nx.run('b')\n");
        assertEquals(List.of("os.system", "subprocess.run"), calls(s));
    }

    @Test
    void definitionsAndKeywordsAreNotCalls() {
        CodeScan s = py("def system(cmd):\n    pass\nclass eval(object):\n    pass\nif (x): pass\nwhile not(y): pass\n"
            + "async def f():\n    await g()\n    return (1)\n");
        assertEquals(List.of("g"), calls(s));
    }

    @Test
    void fullWidthIdentifierIsNormalisedLikePythonDoes() {
        assertCall(py("\uff45\uff56\uff41\uff4c('1')\n"), "eval", "1");
    }

    // ---- attributes ----

    @Test
    void attributeOfImportedModuleWithoutCall() {
        CodeScan s = py("import os\nf = os.system\nf('id')\n");
        assertEquals(List.of("os.system"), attributes(s));
        assertEquals(2, hit(s, CodeHit.ATTRIBUTE, "os.system").line());
        assertCall(s, "os.system", "id"); // the assignment made f an alias
    }

    @Test
    void attributeOfNameNotImportedIsNotReported() {
        assertEquals(List.of(), attributes(py("x = foo.bar\ny = self.system\n")));
    }

    @Test
    void fromImportedNamePassedAroundIsAnAttribute() {
        CodeScan s = py("from os import system\nrun_later(system)\n");
        assertEquals(List.of("os.system"), attributes(s));
    }

    @Test
    void moduleAliasedByAssignment() {
        CodeScan s = py("import subprocess\nm = subprocess\nm.Popen('x')\n");
        assertCall(s, "subprocess.Popen", "x");
    }

    @Test
    void getattrWithPlainArguments() {
        CodeScan s = py("import os as o\ngetattr(o, 'system')('id')\ngetattr(obj, name)\n");
        assertEquals(List.of("os.system"), attributes(s));
        assertCall(s, "getattr", null);
    }

    @Test
    void getattrOnImportCall() {
        CodeScan s = py("getattr(__import__('os'), 'popen')\n");
        assertEquals(List.of("os.popen"), attributes(s));
    }

    @Test
    void bareDangerousBuiltinIsAnAttribute() {
        CodeScan s = py("list(map(eval, xs))\ne = exec\ne('code')\n");
        assertEquals(List.of("eval", "exec"), attributes(s));
        assertCall(s, "exec", "code");
    }

    // ---- dynamic imports ----

    @Test
    void dunderImport() {
        CodeScan s = py("m = __import__('subprocess')\nm.run('ls')\n");
        assertEquals(List.of("subprocess"), imports(s));
        assertCall(s, "__import__", "subprocess");
        assertCall(s, "subprocess.run", "ls");
    }

    @Test
    void dunderImportChainedIntoACall() {
        CodeScan s = py("__import__('os').system('id')\n__import__(\"os\").environ\n");
        assertCall(s, "os.system", "id");
        assertEquals(List.of("os.environ"), attributes(s));
        assertEquals(List.of("os", "os"), imports(s));
    }

    @Test
    void importlibImportModule() {
        CodeScan s = py("import importlib\nimportlib.import_module('ctypes')\nfrom importlib import import_module as im\n"
            + "im('pty').spawn('/bin/sh')\n");
        assertEquals(List.of("importlib", "ctypes", "importlib", "importlib.import_module", "pty"), imports(s));
        assertCall(s, "importlib.import_module", "ctypes");
        assertCall(s, "pty.spawn", "/bin/sh");
    }

    @Test
    void dynamicImportOfComputedNameHasNoImportHit() {
        CodeScan s = py("__import__(name)\n__import__('o' + 's')\n");
        assertEquals(List.of(), imports(s));
        assertEquals(List.of("__import__", "__import__"), calls(s));
    }

    // ---- literals ----

    @Test
    void literalIsTheFirstArgumentWhenAPlainString() {
        CodeScan s = py("import os, subprocess\nos.system(\"rm -rf /\")\nsubprocess.run('ls', shell=True)\n"
            + "subprocess.call(['rm', '-rf', '/'])\nos.popen('a' + b)\nsubprocess.Popen(cmd, 'x')\n");
        assertCall(s, "os.system", "rm -rf /");
        assertCall(s, "subprocess.run", "ls");
        assertCall(s, "subprocess.call", null);
        assertCall(s, "os.popen", null);
        assertCall(s, "subprocess.Popen", null);
    }

    @Test
    void literalEscapesAreDecodedAndAdjacentLiteralsJoined() {
        CodeScan s = py("import os\nos.system('\\x72m -rf' \" /\")\nos.popen(r'\\x72m')\nos.execv(b'\\x41', [])\n");
        assertCall(s, "os.system", "rm -rf /");
        assertCall(s, "os.popen", "\\x72m");
        assertCall(s, "os.execv", "A");
    }

    @Test
    void fStringIsALiteralOnlyWithoutFields() {
        CodeScan s = py("import os\nos.system(f'ls {path}')\nos.popen(f'ls {{x}}')\n");
        assertCall(s, "os.system", null);
        assertCall(s, "os.popen", "ls {x}");
    }

    // ---- strings and comments ----

    @ParameterizedTest
    @ValueSource(strings = {
        "x = 'os.system(\"id\")'",
        "x = \"os.system('id')\"",
        "x = '''\nimport subprocess\nos.system('id')\n'''",
        "x = \"\"\"os.system(\"id\") \" '' \"\"\"",
        "x = r'os.system(\\'id\\')'",
        "x = rb\"os.system('id')\"",
        "x = Rb'os.system()'",
        "x = BR'os.system()' + U'os.system()' + Br'x'",
        "x = 'a \\' os.system() \\' b'",
        "x = r\"\\\" os.system() \"",
        "x = f'os.system() {{os.system()}}'",
        "# os.system('id')\n# import subprocess",
        "y = 1  # __import__('os').system('id')",
        "x = 'line \\\n os.system(1)'",
    })
    void namesInStringsAndCommentsAreNotReported(String code) {
        CodeScan s = py("import os\n" + code + "\n");
        assertNothingNamed(s, "system");
        assertNothingNamed(s, "subprocess");
        assertFalse(s.lexError(), code);
    }

    @Test
    void fStringFieldsAreScannedAsCode() {
        CodeScan s = py("import os\nprint(f\"{os.system('id')}\")\nx = f'{a:{eval(\"1\")}}'\ny = f'''\n{__import__('pty')}'''\n");
        assertCall(s, "os.system", "id");
        assertCall(s, "eval", "1");
        assertEquals(List.of("os", "pty"), imports(s));
        assertEquals(5, hit(s, CodeHit.IMPORT, "pty").line());
        assertFalse(s.lexError());
    }

    @Test
    void fStringFieldsWithNestedQuotesConversionsAndDebugSpecifiers() {
        CodeScan s = py("x = f\"{d['k']!r:>10} {y=} {a != b} {f'{eval(\"z\")}'} {'}'}\"\nos.system('after')\n");
        assertCall(s, "eval", "z");
        assertCall(s, "os.system", "after");
        assertFalse(s.lexError());
    }

    @Test
    void pep701SameQuotesInsideFields() {
        CodeScan s = py("x = f\"{d[\"key\"]} {\", \".join(['a'])}\"\nexec('after')\n");
        assertCall(s, ".join", null);
        assertCall(s, "exec", "after");
        assertFalse(s.lexError());
    }

    @Test
    void namedEscapeBraceIsNotAField() {
        CodeScan s = py("x = f'\\N{DIGIT ONE} os.system()'\neval('z')\n");
        assertNothingNamed(s, "system");
        assertCall(s, "eval", "z");
        assertFalse(s.lexError());
    }

    @Test
    void linesCountThroughMultiLineStringsAndContinuations() {
        CodeScan s = py("'''a\nb\nc'''\nx = 'p' \\\n  'q'\n(1,\n 2)\neval('x')\n");
        assertEquals(8, hit(s, CodeHit.CALL, "eval").line());
    }

    // ---- members of expressions ----

    @Test
    void methodOnAnExpressionStartsWithADot() {
        CodeScan s = py("', '.join(items)\nfoo().bar()\n().__class__.__bases__[0].__subclasses__()\n");
        assertEquals(List.of(".join", "foo", ".bar", ".__subclasses__"), calls(s));
        assertEquals(List.of(), attributes(s)); // members of expressions count only when called
    }

    // ---- lex errors ----

    @Test
    void unterminatedStringSetsLexErrorAndKeepsHits() {
        CodeScan s = py("import os\nos.system('id')\nx = 'never closed\neval('after')\n");
        assertTrue(s.lexError());
        assertCall(s, "os.system", "id");
        assertCall(s, "eval", "after"); // the single-quoted string ends at its line
    }

    @Test
    void unterminatedTripleQuoteSetsLexError() {
        CodeScan s = py("import os\nx = '''\nos.system('inside')\n");
        assertTrue(s.lexError());
        assertEquals(List.of("os"), imports(s));
        assertNothingNamed(s, "system");
    }

    @ParameterizedTest
    @ValueSource(strings = {"f(", "f)", "x = [1, 2", "x = (]", "a $ b", "x = f'{a'", "x = f'{'", "x = 'a\\", "x = `y`",
        "\\ x", "x = '\\N{NOT A REAL NAME}'", "x = '\\x4'"})
    void malformedInputSetsLexError(String code) {
        assertTrue(py(code).lexError(), code);
    }

    @Test
    void wellFormedCodeHasNoLexError() {
        assertFalse(py("def f(a, *b, **c) -> None:\n    return [x ** 2 for x in b if x >= 1]\n@dec\nclass C:\n"
            + "    y: int = 0x1F + 1_000 + 1e-5 + 3j\n    z = lambda q: q @ q\n").lexError());
    }
}
