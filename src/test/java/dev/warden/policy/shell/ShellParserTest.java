package dev.warden.policy.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShellParserTest {

    /** Every simple command's words, in tree order, substitutions first. */
    static List<List<String>> commands(String src) throws ShellSyntaxException {
        List<List<String>> out = new ArrayList<>();
        collect(ShellParser.parse(src), out);
        return out;
    }

    static void collect(Node n, List<List<String>> out) {
        if (n instanceof Node.Sequence s) {
            s.items().forEach(i -> collect(i, out));
        }
        else if (n instanceof Node.Pipeline p) {
            p.stages().forEach(i -> collect(i, out));
        }
        else if (n instanceof Node.Simple s) {
            for (Word w : s.assignments()) {
                w.substitutions().forEach(x -> collect(x, out));
            }
            for (Word w : s.words()) {
                w.substitutions().forEach(x -> collect(x, out));
            }
            for (Node.Redirect r : s.redirects()) {
                r.target().substitutions().forEach(x -> collect(x, out));
            }
            if (!s.words().isEmpty()) {
                out.add(s.words().stream().map(Word::text).toList());
            }
        }
        else if (n instanceof Node.Group g) {
            collect(g.body(), out);
        }
        else if (n instanceof Node.Function f) {
            collect(f.body(), out);
        }
        else if (n instanceof Node.Compound c) {
            c.words().forEach(w -> w.substitutions().forEach(x -> collect(x, out)));
            c.bodies().forEach(b -> collect(b, out));
        }
    }

    @Test
    void quotingAndEscapesAreRemovedLikeAShellDoes() throws Exception {
        assertEquals(List.of(List.of("grep", "foo bar", "it's", "a\"b", "x y", "rm")),
                commands("grep 'foo bar' \"it's\" \"a\\\"b\" x\\ y r''m"));
        assertEquals(List.of(List.of("rm", "-rf", "/")), commands("$'\\x72\\x6d' $'-\\162f' $'/'"));
        assertEquals(List.of(List.of("echo", "ab")), commands("echo a\\\nb"));
    }

    @Test
    void operatorsSplitCommands() throws Exception {
        assertEquals(List.of(List.of("a"), List.of("b"), List.of("c"), List.of("d"), List.of("e"), List.of("f")),
                commands("a; b && c || d | e & f"));
        assertEquals(List.of(List.of("a"), List.of("b")), commands("a\nb\n"));
        assertEquals(List.of(List.of("a"), List.of("b")), commands("a |& b"));
    }

    @Test
    void substitutionsAreParsedAsCommands() throws Exception {
        assertEquals(List.of(List.of("id"), List.of("echo", "$(id)")), commands("echo $(id)"));
        assertEquals(List.of(List.of("id"), List.of("echo", "`id`")), commands("echo `id`"));
        assertEquals(List.of(List.of("id"), List.of("cat", "<(id)")), commands("cat <(id)"));
        assertEquals(List.of(List.of("id"), List.of("echo", "x${a:-$(id)}")), commands("echo x${a:-$(id)}"));
        assertEquals(List.of(List.of("id"), List.of("echo", "$((1+$(id)))")), commands("echo $((1+$(id)))"));
        assertEquals(List.of(List.of("id")), commands("x=$(id)"));
        assertEquals(2, commands("echo \"$(echo `id`)\"").size() + 0 - 1);
    }

    @Test
    void wordsKnowWhatIsOnlyKnownAtRunTime() throws Exception {
        Node.Simple s = (Node.Simple) ShellParser.parse("$CMD *.txt '*' ~ a[1] [ {a,b} {}");
        List<Word> w = s.words();
        assertTrue(w.get(0).dynamic());
        assertTrue(w.get(1).glob());
        assertTrue(w.get(2).literal());
        assertTrue(w.get(3).glob());
        assertTrue(w.get(4).glob());
        assertTrue(w.get(5).literal(), "a lone [ is the test program");
        assertTrue(w.get(6).glob());
        assertTrue(w.get(7).literal());
    }

    @Test
    void hereDocumentsAndRedirections() throws Exception {
        Node.Simple s = (Node.Simple) ((Node.Sequence) ShellParser.parse("cat <<EOF >out 2>&1\nhello $(id)\nEOF\nls")).items().get(0);
        assertEquals("<<", s.redirects().get(0).op());
        assertEquals("hello $(id)\n", s.redirects().get(0).target().text());
        assertEquals(1, s.redirects().get(0).target().substitutions().size());
        assertEquals(">", s.redirects().get(1).op());
        assertEquals(">&", s.redirects().get(2).op());
        assertEquals(List.of(List.of("id"), List.of("cat"), List.of("ls")), commands("cat <<EOF\n$(id)\nEOF\nls"));
        assertEquals(List.of(List.of("cat"), List.of("ls")), commands("cat <<'EOF'\n$(id)\nEOF\nls"));
        assertEquals(List.of(List.of("cat"), List.of("cat"), List.of("ls")), commands("cat <<A; cat <<-B\nx\nA\n\ty\n\tB\nls"));
    }

    @Test
    void compoundCommandsAndFunctions() throws Exception {
        assertEquals(List.of(List.of("a"), List.of("b"), List.of("c"), List.of("d")),
                commands("if a; then b; elif c; then d; fi"));
        assertEquals(List.of(List.of("b")), commands("for x in 1 2; do b; done"));
        assertEquals(List.of(List.of("b")), commands("for ((i=0;i<3;i++)); do b; done"));
        assertEquals(List.of(List.of("a"), List.of("b")), commands("case $x in a|b) a;; *) b;; esac"));
        assertEquals(List.of(List.of("a"), List.of("b")), commands("while a; do b; done"));
        assertInstanceOf(Node.Function.class, ((Node.Sequence) ShellParser.parse(":(){ :|:& };:")).items().get(0));
        assertEquals(List.of(List.of(":"), List.of(":"), List.of(":")), commands(":(){ :|:& };:"));
        assertEquals(List.of(List.of("x")), commands("function f { x; }"));
        assertEquals(List.of(List.of("a"), List.of("b")), commands("(a; b) > f"));
        assertEquals(List.of(List.of("echo")), commands("[[ -f $(echo) && x < y ]]"));
        assertEquals(List.of(List.of("a")), commands("arr=(1 \"2 3\" $(a))"));
    }

    @Test
    void malformedInputIsASyntaxErrorNeverAGuess() {
        for (String bad : List.of("echo 'x", "echo \"x", "echo $(x", "echo `x", "if a; then b", "a |", "a &&", ")",
                "a )", "cat <<EOF\nx", "for x in 1; do", "case x in", "{ a", "echo ${x", "< ", "a > ", "((1", "fi")) {
            assertThrows(ShellSyntaxException.class, () -> ShellParser.parse(bad), bad);
        }
    }

    @Test
    void randomInputNeverCrashesOrHangs() {
        Random r = new Random(1);
        String alphabet = "ab $`'\"\\()<>|&;{}[]*?~#=\n\t!-";
        for (int k = 0; k < 20_000; k++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(40);
            for (int j = 0; j < n; j++) {
                sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            try {
                ShellParser.parse(sb.toString());
            }
            catch (ShellSyntaxException expected) {
                assertFalse(expected.getMessage().isBlank());
            }
        }
        String deep = "$(".repeat(5000) + "x" + ")".repeat(5000);
        assertThrows(ShellSyntaxException.class, () -> ShellParser.parse(deep));
    }
}
