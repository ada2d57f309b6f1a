package dev.warden.policy;

import dev.warden.session.OwnGroup;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The regression corpus (src/test/resources/policy-corpus.tsv): every bypass family and the seeds'
 * pattern tables with the decision each must get, and benign commands that must stay allowed. Then
 * property tests: random re-quotings and re-spacings of every blocked command stay blocked.
 */
class PolicyCorpusTest {

    record Case(String expected, String command) {
    }

    static Workspaces workspaces;
    static Workspace ws;
    static final Policy policy = new Policy(new PolicyLoader().load(null, null));

    @BeforeAll
    static void setUp() throws IOException {
        workspaces = new Workspaces(Files.createTempDirectory("warden-corpus-"), true, OwnGroup.gid(), p -> { }, p -> { });
        ws = workspaces.forSession("corpus");
        for (String f : List.of("README.md", "a.txt", "b.txt", "notes.txt")) {
            Files.writeString(ws.root().resolve(f), "x\n");
        }
    }

    @AfterAll
    static void tearDown() {
        workspaces.close();
    }

    static List<Case> corpus() throws IOException {
        List<Case> cases = new ArrayList<>();
        try (InputStream in = PolicyCorpusTest.class.getResourceAsStream("/policy-corpus.tsv")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1)) {
                if (line.startsWith("\t")) {
                    Case last = cases.remove(cases.size() - 1);
                    cases.add(new Case(last.expected(), last.command() + "\n" + line.substring(1)));
                }
                else if (!line.isBlank() && !line.startsWith("#")) {
                    int tab = line.indexOf('\t');
                    cases.add(new Case(line.substring(0, tab), line.substring(tab + 1)));
                }
            }
        }
        return cases;
    }

    static String decision(String command) {
        Decision d = policy.decideCommand(command, ws, "", false);
        return d.blocked() ? "block" : d.held() ? "approve" : d.tier().name();
    }

    @TestFactory
    Stream<DynamicTest> everyCorpusLineGetsItsDecision() throws IOException {
        return corpus().stream().map(c -> DynamicTest.dynamicTest(c.expected() + ": " + c.command().replace("\n", "\\n"),
                () -> {
                    Decision d = policy.decideCommand(c.command(), ws, "", false);
                    assertEquals(c.expected(), decision(c.command()), c.command() + " -> " + d.findings() + " " + d.reason());
                }));
    }

    @Test
    void theCorpusCoversEveryDecision() throws IOException {
        List<Case> all = corpus();
        for (String kind : List.of("block", "approve", "L1", "L2")) {
            assertTrue(all.stream().filter(c -> c.expected().equals(kind)).count() >= 9, kind);
        }
    }

    static final java.util.Set<String> RESERVED = java.util.Set.of("if", "then", "else", "elif", "fi", "do", "done",
            "case", "esac", "while", "until", "for", "in", "function", "select");

    /** Re-spellings a shell reads the same way: quotes around words or letters, escapes, spacing, newlines. */
    static String respell(String command, Random r) {
        // split on spaces outside quotes: what is inside a quoted string stays exactly as it is
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        char quote = 0;
        for (char ch : command.toCharArray()) {
            if (quote == 0 && ch == ' ') {
                words.add(cur.toString());
                cur.setLength(0);
                continue;
            }
            if (quote == 0 && (ch == '\'' || ch == '"')) {
                quote = ch;
            }
            else if (ch == quote) {
                quote = 0;
            }
            cur.append(ch);
        }
        words.add(cur.toString());
        StringBuilder sb = new StringBuilder();
        for (String w : words) {
            if (sb.length() > 0) {
                sb.append(switch (r.nextInt(4)) {
                    case 0 -> "  ";
                    case 1 -> "\t";
                    case 2 -> " \\\n ";
                    default -> " ";
                });
            }
            boolean plain = w.chars().allMatch(ch -> Character.isLetterOrDigit(ch) || "-_./".indexOf(ch) >= 0);
            // a quoted keyword is an ordinary word to a shell (`"if"` runs a program named if): leave keywords be
            if (!plain || w.isEmpty() || RESERVED.contains(w)) {
                sb.append(w);
                continue;
            }
            switch (r.nextInt(6)) {
                case 0 -> sb.append('\'').append(w).append('\'');
                case 1 -> sb.append('"').append(w).append('"');
                case 2 -> {
                    int cut = r.nextInt(w.length() + 1);
                    sb.append(w, 0, cut).append("''").append(w.substring(cut));
                }
                case 3 -> {
                    for (char ch : w.toCharArray()) {
                        sb.append(r.nextBoolean() && ch != '/' ? "\\" + ch : String.valueOf(ch));
                    }
                }
                case 4 -> sb.append("$'").append(w).append('\'');
                default -> sb.append(w);
            }
        }
        String body = sb.toString();
        return switch (r.nextInt(5)) {
            case 0 -> "true; " + body;
            case 1 -> "true\n" + body;
            case 2 -> "  " + body + "  ";
            case 3 -> "echo x && " + body;
            default -> body;
        };
    }

    @Test
    void randomRespellingsOfBlockedCommandsStayBlocked() throws IOException {
        Random r = new Random(20261123);
        List<String> blocked = corpus().stream().filter(c -> c.expected().equals("block") && !c.command().contains("\n")
                && !c.command().contains("unterminated") && decision(c.command()).equals("block")).map(Case::command).toList();
        assertTrue(blocked.size() > 80, "blocked corpus lines: " + blocked.size());
        int checked = 0;
        for (String cmd : blocked) {
            for (int k = 0; k < 40; k++) {
                String variant = respell(cmd, r);
                assertEquals("block", decision(variant), "variant of `" + cmd + "`: `" + variant + "`");
                checked++;
            }
        }
        assertTrue(checked > 3000);
    }

    @Test
    void randomRespellingsOfBenignCommandsStayAllowed() throws IOException {
        Random r = new Random(7);
        for (Case c : corpus()) {
            if (!c.expected().startsWith("L") || c.command().contains("\n")) {
                continue;
            }
            for (int k = 0; k < 10; k++) {
                String variant = respell(c.command(), r);
                String got = decision(variant);
                assertTrue(got.equals("L1") || got.equals("L2"), "variant of `" + c.command() + "`: `" + variant + "` -> " + got);
            }
        }
    }
}
