package dev.warden.sanitize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The RE2 constructs gitleaks uses that Java reads differently, each translated and matching as in Go. */
class Re2SyntaxTest {

    private static boolean matches(String re2, String text) {
        return Pattern.compile(Re2Syntax.toJava(re2)).matcher(text).find();
    }

    @Test
    void namedGroupsBecomeNumberedOnes() {
        assertEquals("(a)(b_c)", Re2Syntax.toJava("(?P<first>a)(?P<key_ops>b_c)"));
        var m = Pattern.compile(Re2Syntax.toJava("x(?P<key_ops>y+)")).matcher("xyy");
        assertTrue(m.find());
        assertEquals("yy", m.group(1));
    }

    @Test
    void posixClassesInsideBrackets() {
        assertTrue(matches("^pat[[:alnum:]]{3}$", "patA1b"));
        assertFalse(matches("^pat[[:alnum:]]{3}$", "pat-1b"));
    }

    @Test
    void aBracketInsideAClassIsALiteral() {
        assertTrue(matches("^[a[]+$", "a[a"));
        assertTrue(matches("^[^]]+$", "abc"));
        assertTrue(matches("^[a&&b]+$", "a&b")); // RE2: a, & or b; Java would intersect
    }

    @Test
    void aBraceThatIsNoRepetitionIsALiteral() {
        assertTrue(matches("^\\{\\{[ \\w]+}}$", "{{ name }}"));
        assertTrue(matches("^\\$\\{?x{2}}?$", "${xx}"));
        assertTrue(matches("^{a}$", "{a}"));
        assertTrue(matches("^a{2,}$", "aaa"));
    }

    @Test
    void quotedTextIsCopied() {
        assertTrue(matches("\\Q[{(\\E", "x[{(y"));
    }
}
