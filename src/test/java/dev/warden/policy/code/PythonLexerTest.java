package dev.warden.policy.code;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PythonLexerTest {

    private static List<Token> tokens(String code) {
        Lexed lexed = PythonLexer.lex(code);
        assertFalse(lexed.error(), () -> "lex error in " + code);
        return lexed.tokens();
    }

    /** Tokens as N:name, #:number, S:string, O:operator, NEWLINE as ";", for compact comparisons. */
    private static String render(List<Token> tokens) {
        return tokens.stream()
            .map(t -> t.type == TokenType.NEWLINE ? ";" : (t.type == TokenType.NUMBER ? "#" : t.type.name().substring(0, 1)) + ":" + t.text)
            .collect(Collectors.joining(" "));
    }

    private static Token single(String code) {
        List<Token> t = tokens(code);
        assertEquals(2, t.size(), () -> render(t)); // the token and the final NEWLINE
        return t.get(0);
    }

    @Test
    void namesOperatorsNumbersAndLogicalLines() {
        assertEquals("N:x O:= N:a O:. N:b O:( N:c O:, N:d O:** N:e O:) ; N:y O::= N:z O:!= N:w ;",
            render(tokens("x = a.b(c, d ** e)\ny := z != w\n")));
        assertEquals("N:n O:= #:0x1F O:+ #:1_000 O:+ #:1e-5 O:+ #:3.5j O:+ #:.5 ;",
            render(tokens("n = 0x1F + 1_000 + 1e-5 + 3.5j + .5")));
    }

    @Test
    void lineBreaksInsideBracketsAndAfterBackslashDoNotEndTheLine() {
        assertEquals("N:f O:( N:a O:, N:b O:) ; N:x O:= N:y O:+ N:z ;",
            render(tokens("f(a,\n  b)\n\n\nx = y + \\\n  z\n")));
    }

    @Test
    void commentsAreDropped() {
        assertEquals("N:a ; N:b ;", render(tokens("a  # os.system('x')\n# whole line\nb")));
    }

    @Test
    void stringValuesAreDecoded() {
        assertEquals("a\nb\t'\"\\", single("'a\\nb\\t\\'\\\"\\\\'").text);
        assertEquals("AAA\u00e9\ud83d\ude00", single("'\\x41\\101\\u0041\\N{LATIN SMALL LETTER E WITH ACUTE}\\U0001F600'").text);
        assertEquals("\\d \\{", single("'\\d \\{'").text); // unknown escapes keep their backslash
        assertEquals("ab", single("'a\\\nb'").text);
    }

    @Test
    void rawStringsKeepBackslashesAndEscapedQuotes() {
        assertEquals("\\n\\'x", single("r'\\n\\'x'").text);
        assertEquals("a\\\\", single("R\"a\\\\\"").text);
    }

    @Test
    void bytesDoNotDecodeUnicodeEscapes() {
        assertEquals("A\\u0041", single("b'\\x41\\u0041'").text);
        assertEquals("\\x41", single("rb'\\x41'").text);
        assertEquals("\\x41", single("BR'\\x41'").text);
    }

    @Test
    void everyPrefixCombinationIsAString() {
        for (String prefix : List.of("r", "u", "b", "f", "t", "br", "rb", "fr", "rf", "Rb", "bR", "FR", "U", "tr")) {
            Token t = single(prefix + "'x'");
            assertEquals(TokenType.STRING, t.type, prefix);
            assertEquals("x", t.text, prefix);
        }
        assertEquals("N:ur S:x ;", render(tokens("ur'x'"))); // not a Python 3 prefix
    }

    @Test
    void tripleQuotedStringsSpanLinesAndHoldLoneQuotes() {
        List<Token> t = tokens("x = '''a\n'b'' \"c\"\n'''\ny = \"\"\"\"\"\"\nz");
        assertEquals("a\n'b'' \"c\"\n", t.get(2).text);
        assertEquals("", t.get(6).text);
        assertEquals(4, t.get(4).line); // y
        assertEquals(5, t.get(8).line); // z
    }

    @Test
    void fStringFieldsAreEmbeddedTokens() {
        Token t = single("f'a {x.y(1)!r:>{w}} {{b}} {z}'");
        assertTrue(t.interpolated);
        assertEquals("a  {b} ", t.text); // the fields and their format specs are not part of the value
        assertEquals("N:x O:. N:y O:( #:1 O:) ; N:w ; N:z", render(t.embedded));
    }

    @Test
    void fStringWithoutFieldsIsPlain() {
        Token t = single("f'{{literal}}'");
        assertFalse(t.interpolated);
        assertEquals("{literal}", t.text);
    }

    @Test
    void rawFStringBraceStillOpensAField() {
        Token t = single("rf'\\d{x}'");
        assertTrue(t.interpolated);
        assertEquals("N:x", render(t.embedded));
    }

    @Test
    void nonAsciiIdentifiersAreNfkcNormalised() {
        assertEquals("N:eval N:\u00e9t\u00e9 ;", render(tokens("\uff45\uff56\uff41\uff4c \u00e9t\u00e9")));
    }

    @Test
    void unterminatedSingleQuotedStringEndsAtItsLine() {
        Lexed lexed = PythonLexer.lex("x = 'abc\ny");
        assertTrue(lexed.error());
        assertEquals("N:x O:= S:abc ; N:y ;", render(lexed.tokens()));
    }

    @Test
    void nestingBeyondTheLimitIsAnErrorNotACrash() {
        String deep = "f'{".repeat(200) + "x" + "}'".repeat(200);
        assertTrue(PythonLexer.lex(deep).error());
    }
}
