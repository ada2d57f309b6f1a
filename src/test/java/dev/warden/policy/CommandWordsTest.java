package dev.warden.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class CommandWordsTest {

    @Test
    void plainWordsSplitOnBlanks() {
        assertEquals(List.of("ls", "-la", "src"), CommandWords.split("  ls\t-la   src ").words());
    }

    @Test
    void quotesAndEscapesMakeOneWord() {
        assertEquals(List.of("grep", "foo bar", "it's", "a\"b", "x y"),
                CommandWords.split("grep 'foo bar' \"it's\" \"a\\\"b\" x\\ y").words());
    }

    @Test
    void metacharactersInsideSingleQuotesAreLiteral() {
        CommandWords.Split s = CommandWords.split("echo '; | && $(rm -rf /) `x` > f'");
        assertNull(s.shellSyntax());
        assertEquals(List.of("echo", "; | && $(rm -rf /) `x` > f"), s.words());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ls; rm -rf /", "ls && id", "ls || id", "cat x | sh", "sleep 1 &", "echo x > /etc/passwd",
        "cat < /etc/shadow", "echo $(id)", "echo `id`", "echo $HOME", "echo \"$(id)\"", "echo \"`id`\"",
        "ls\nrm -rf /", "ls\rrm", "ls *.py", "cat ?", "ls [ab]", "cd ~", "ls # comment", "FOO=bar env",
        "diff <(ls) <(ls)", "echo 'unterminated", "echo \"unterminated", "echo trailing\\", "(id)", "echo \"a\\\nb\""})
    void shellSyntaxIsReportedNotInterpreted(String line) {
        CommandWords.Split s = CommandWords.split(line);
        assertNotNull(s.shellSyntax(), line);
        assertEquals(List.of(), s.words());
    }

    @Test
    void tildeAndHashInsideAWordAreLiteral() {
        assertEquals(List.of("echo", "a~b", "c#d", "x=y"), CommandWords.split("echo a~b c#d x=y").words());
    }
}
