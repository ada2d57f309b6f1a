package dev.warden.policy.code;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class JsLexerTest {

    private static List<Token> tokens(String code) {
        Lexed lexed = JsLexer.lex(code);
        assertFalse(lexed.error(), () -> "lex error in " + code);
        return lexed.tokens();
    }

    /** Tokens as N:name, #:number, S:string, T:template, R:regex, O:operator, for compact comparisons. */
    private static String render(List<Token> tokens) {
        return tokens.stream().map(t -> (t.type == TokenType.NUMBER ? "#" : t.type.name().substring(0, 1)) + ":" + t.text).collect(Collectors.joining(" "));
    }

    private static Token single(String code) {
        List<Token> t = tokens(code);
        assertEquals(1, t.size(), () -> render(t));
        return t.get(0);
    }

    @Test
    void punctuatorsAreMatchedLongestFirst() {
        assertEquals("N:a O:>>>= N:b O:=== N:c O:?. N:d O:?? N:e O:=> O:... N:f",
            render(tokens("a >>>= b === c?.d ?? e => ...f")));
        assertEquals("N:x O:? #:.5 O:: #:1", render(tokens("x?.5:1")));
    }

    @Test
    void numbers() {
        assertEquals("#:0x1F #:1_000n #:1e-5 #:.5 #:1. O:. N:toString",
            render(tokens("0x1F 1_000n 1e-5 .5 1..toString")));
    }

    @Test
    void stringValuesAreDecoded() {
        assertEquals("a\nb\t'\"\\", single("'a\\nb\\t\\'\\\"\\\\'").text);
        assertEquals("AAA\ud83d\ude00\0\u0007", single("\"\\x41\\u0041\\101\\u{1F600}\\0\\7\"").text);
        assertEquals("ab", single("'a\\\nb'").text);
        assertEquals("q", single("'\\q'").text);
    }

    @Test
    void templateWithoutExpressionsIsPlain() {
        Token t = single("`a\nb \\${x} $ {y}`");
        assertEquals(TokenType.TEMPLATE, t.type);
        assertFalse(t.interpolated);
        assertEquals("a\nb ${x} $ {y}", t.text);
    }

    @Test
    void templateExpressionsAreEmbeddedTokens() {
        Token t = single("`a ${f({b: 1})} c ${`d ${e}`}`");
        assertTrue(t.interpolated);
        assertEquals("a  c ", t.text);
        assertEquals("N:f O:( O:{ N:b O:: #:1 O:} O:) O:; T:d ", render(t.embedded));
        assertEquals("N:e", render(t.embedded.get(t.embedded.size() - 1).embedded));
    }

    @Test
    void regexOrDivisionFromThePreviousToken() {
        assertEquals("N:a O:/ N:b O:/ N:c", render(tokens("a / b / c")));
        assertEquals("O:( N:x O:) O:/ #:2", render(tokens("(x) / 2")));
        assertEquals("N:x O:= R:/a\\/b[/]/gi O:;", render(tokens("x = /a\\/b[/]/gi;")));
        assertEquals("N:return R:/x/", render(tokens("return /x/")));
        assertEquals("N:f O:( R:/=/ O:)", render(tokens("f(/=/)")));
        assertEquals("N:x O:/= #:2", render(tokens("x /= 2")));
    }

    @Test
    void whatABracketClosedDecidesRegexOrDivision() {
        assertEquals("N:if O:( N:x O:) R:/a/", render(tokens("if (x) /a/")));
        assertEquals("N:f O:( N:x O:) O:/ N:a O:/", render(tokens("f(x) /a/")));
        assertEquals("N:if O:( N:x O:) O:{ O:} R:/a/", render(tokens("if (x) {} /a/")));
        assertEquals("N:x O:= O:{ O:} O:/ N:a O:/", render(tokens("x = {} /a/")));
        assertEquals("N:x O:= N:function O:( O:) O:{ O:} O:/ N:a O:/", render(tokens("x = function() {} /a/")));
        assertEquals("N:function N:f O:( O:) O:{ O:} R:/a/", render(tokens("function f() {} /a/")));
    }

    @Test
    void aRegexThatDoesNotEndOnItsLineIsADivision() {
        assertEquals("N:in O:/ #:2 N:x", render(tokens("in / 2\nx")));
    }

    @Test
    void commentsAndHashbangAreDropped() {
        assertEquals("N:a N:b N:c", render(tokens("#!/usr/bin/env node\na // x\n/* y\n */ b /**/ c")));
    }

    @Test
    void identifierEscapesAreDecoded() {
        assertEquals("N:eval N:eval N:$x N:_y", render(tokens("\\u0065val e\\u{76}al $x _y")));
    }

    @Test
    void lineNumbers() {
        List<Token> t = tokens("a\r\nb\rc\u2028d /* \n */ e `\n` f");
        assertEquals(List.of(1, 2, 3, 4, 5, 5, 6), t.stream().map(k -> k.line).collect(Collectors.toList()));
    }

    @Test
    void unterminatedConstructsAreErrors() {
        for (String code : List.of("'abc", "\"abc\n", "`abc", "`${a", "/* abc", "a)", "(a", "{a]")) {
            assertTrue(JsLexer.lex(code).error(), code);
        }
    }

    @Test
    void nestingBeyondTheLimitIsAnErrorNotACrash() {
        String deep = "`${".repeat(200) + "x" + "}`".repeat(200);
        assertTrue(JsLexer.lex(deep).error());
    }
}
