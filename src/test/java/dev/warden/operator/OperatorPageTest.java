package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.approval.AgentText;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class OperatorPageTest {

    private static final OperatorPage PAGE = new OperatorPage();
    private static final String NONCE = "00112233445566778899aabb";
    private static final String HOSTILE = "echo '</pre><script>alert(1)</script>' \"<img src=x onerror=alert(2)>\" && <b>x</b> & done";

    /** One pending call as OperatorConsole.state() shows it. */
    private static Map<String, Object> held(String id, String subject, String client, String session, long leftMs) {
        AgentText t = AgentText.of(subject);
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("execution_id", id);
        p.put("kind", "run_command");
        p.put("subject", t.exact());
        p.put("subject_display", t.display());
        p.put("subject_notes", t.notes());
        p.put("language", null);
        p.put("cwd", "/workspace");
        p.put("tier", "L2");
        p.put("reason", "held by request.long_timeout");
        p.put("findings", List.of(Map.of("rule", "request.long_timeout", "severity", "high", "detail",
                "<i>a detail</i>")));
        p.put("client", client);
        p.put("expires", "2026-12-02T22:50:01.123456789Z");
        p.put("expires_at", "2026-12-02T22:50:01.123Z");
        p.put("expires_in_ms", leftMs);
        p.put("session", session);
        p.put("client_label", client + " · session " + session);
        return p;
    }

    private static Map<String, Object> state(List<Map<String, Object>> pending) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("pending", pending);
        s.put("recent", List.of());
        s.put("running", List.of());
        s.put("queued", 0);
        s.put("kill_switch", Map.of("on", false));
        return s;
    }

    private static String render(Map<String, Object> state) {
        return PAGE.console(state, null, "c5rf", NONCE, "1a2b");
    }

    /** The page's text as a browser shows it, roughly: tags out, the five entities back. */
    private static String text(String html) {
        return html.replaceAll("(?s)<script.*?</script>", "").replaceAll("<[^>]*>", "").replace("&lt;", "<")
            .replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&");
    }

    @Test
    void hostileCommandIsTextNeverMarkup() {
        String html = render(state(List.of(held("ex_0123456789abcdef0123", HOSTILE, "<svg onload=alert(3)>/1",
                "3f2a9c1b", 252_000))));
        // the only script is the page's own, with its nonce; nothing of the agent's became a tag
        Matcher scripts = Pattern.compile("<script").matcher(html);
        int n = 0;
        while (scripts.find()) {
            n++;
        }
        assertEquals(1, n, html);
        assertTrue(html.contains("<script nonce=\"" + NONCE + "\">"));
        assertFalse(html.contains("<img"), html);
        assertFalse(html.contains("<svg"), html);
        assertFalse(html.contains("<b>x"), html);
        assertFalse(html.contains("<i>a detail"), html);
        assertTrue(html.contains("echo &#39;&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39; "
                + "&quot;&lt;img src=x onerror=alert(2)&gt;&quot; &amp;&amp; &lt;b&gt;x&lt;/b&gt; &amp; done"), html);
        // and it reads back exactly, in its own <pre>
        Matcher pre = Pattern.compile("<pre class='agent subject'>([^<]*)</pre>").matcher(html);
        assertTrue(pre.find(), html);
        assertEquals(HOSTILE, text(pre.group(1)));
        assertTrue(text(html).contains("<svg onload=alert(3)>/1 · session 3f2a9c1b"));
    }

    @Test
    void anIdCannotLeaveItsAttribute() {
        String html = render(state(List.of(held("x' onmouseover='alert(1)\" y=\"", "ls", "c/1", "s1", 10_000))));
        assertFalse(html.contains("' onmouseover='"), html);
        assertFalse(html.contains("\" y=\""), html);
        assertTrue(html.contains("data-id=\"x&#39; onmouseover=&#39;alert(1)&quot; y=&quot;\""), html);
    }

    @Test
    void invisibleCharactersShowAsEscapes() {
        String html = render(state(List.of(held("ex_0123456789abcdef0123", "echo \u202Etxt.exe \u200Bz", "c/1", "s", 5_000))));
        assertFalse(html.contains("\u202E"));
        assertFalse(html.contains("\u200B"));
        assertTrue(html.contains("echo \\u202Etxt.exe \\u200Bz"), html);
    }

    @Test
    void expiryReadsAsTimeLeftNeverAsARawInstant() {
        String html = render(state(List.of(held("ex_0123456789abcdef0123", "ls", "c/1", "s", 252_400))));
        assertTrue(html.contains(">expires in 4 min 12 s</time>"), html);
        assertTrue(html.contains("data-left-ms=\"252400\""), html);
        assertTrue(html.contains("datetime=\"2026-12-02T22:50:01.123Z\""), html);
        assertTrue(html.contains("expires at 2026-12-02 22:50:01 UTC"), html);
        assertFalse(html.contains(".123456789Z"), "no instant to the nanosecond: " + html);
        String soon = render(state(List.of(held("ex_0123456789abcdef0123", "ls", "c/1", "s", 42_000))));
        assertTrue(soon.contains("class=\"left soon\""), soon);
        assertTrue(soon.contains(">expires in 42 s</time>"), soon);
    }

    @Test
    void twoSessionsOfOneClientAreToldApart() {
        List<Map<String, Object>> two = new ArrayList<>();
        two.add(held("ex_000000000000000000a1", "ls", "claude-code/1.2", "3f2a9c1b", 60_000));
        two.add(held("ex_000000000000000000a2", "ls", "claude-code/1.2", "77d0e4aa", 60_000));
        String t = text(render(state(two)));
        assertTrue(t.contains("claude-code/1.2 · session 3f2a9c1b"), t);
        assertTrue(t.contains("claude-code/1.2 · session 77d0e4aa"), t);
    }

    @Test
    void commandsAreFullWidthMonospaceThatScrollsRatherThanBreaksWords() {
        String html = render(state(List.of(held("ex_0123456789abcdef0123", "ls", "c/1", "s", 5_000))));
        Matcher css = Pattern.compile("pre\\.agent \\{([^}]*)\\}").matcher(html);
        assertTrue(css.find(), html);
        String rule = css.group(1);
        assertTrue(rule.contains("white-space: pre;"), rule);
        assertTrue(rule.contains("overflow-x: auto"), rule);
        assertTrue(rule.contains("width: 100%"), rule);
        assertFalse(rule.contains("break-all"), rule);
        assertTrue(html.contains("pre, .mono { font-family: ui-monospace"), html);
    }

    @Test
    void theLoginPageShowsNoStateAndEscapesItsMessage() {
        String html = PAGE.login("<script>alert(1)</script>");
        assertTrue(html.contains("id=\"token\""));
        assertFalse(html.contains("id=\"pending\""));
        assertFalse(html.contains("<script"), html);
        assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    @Test
    void aFleetShowsItsReplicasAndWhereEachCallIs() {
        Map<String, Object> h = held("ex_0123456789abcdef0123", "ls", "c/1", "s1", 10_000);
        h.put("replica", "r2");
        Map<String, Object> s = state(List.of(h));
        s.put("replicas", List.of(
                Map.of("id", "r1", "url", "http://10.0.0.1:8765", "state", "live", "heartbeat_age_ms", 300L, "running", 2,
                        "pending", 0, "sessions", 5, "self", true),
                Map.of("id", "<r2>", "url", "http://10.0.0.2:8765", "state", "dead", "heartbeat_age_ms", 9000L, "running", 1,
                        "pending", 1, "sessions", 3, "self", false)));
        String html = render(s);
        assertTrue(html.contains("<h2>Replicas</h2>"), html);
        assertTrue(html.contains("<code>r1</code> (this one)"), html);
        assertTrue(html.contains("<tr class=\"replica-row dead\" data-id=\"&lt;r2&gt;\">"), html);
        assertTrue(html.contains(">on r2</span>"), html);
        assertFalse(render(state(List.of())).contains("Replicas"), "a single server has no such section");
    }

    @Test
    void emptyStateSaysSo() {
        String html = render(state(List.of()));
        assertTrue(html.contains("Nothing waits for approval."));
        assertTrue(html.contains("Nothing is running."));
        assertTrue(html.contains("id=\"kill-on\""));
        assertFalse(html.contains("id=\"kill-off\""));
    }

    @Test
    void runningAndRecentAndTheKillSwitch() {
        Map<String, Object> s = state(List.of());
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("execution_id", "ex_11111111111111111111");
        run.put("tool", "execute_code");
        run.put("subject_display", "sleep 30 # <b>");
        run.put("tier", "L2");
        run.put("client", "a/1");
        run.put("client_label", "a/1 · session 0badf00d");
        run.put("started", "2026-12-02T22:40:00.5Z");
        run.put("running_for_ms", 65_000L);
        s.put("running", List.of(run));
        Map<String, Object> done = held("ex_22222222222222222222", "rm -rf <x>", "b/2", "cafe0001", 0);
        done.put("decision", "approved");
        done.put("scope", "once");
        done.put("approver", null);
        done.put("channel", "policy");
        done.put("decided_at", "2026-12-02T22:41:00Z");
        s.put("recent", List.of(done));
        s.put("kill_switch", Map.of("on", true, "by", "<alice>", "since", "2026-12-02T22:42:00Z"));
        String html = render(s);
        assertTrue(html.contains(">running for 1 min 5 s</time>"), html);
        assertTrue(html.contains("sleep 30 # &lt;b&gt;"), html);
        assertTrue(html.contains("id=\"stop-ex_11111111111111111111\""), html);
        assertTrue(html.contains("approved (once) by Warden via policy"), html);
        assertTrue(html.contains("rm -rf &lt;x&gt;"), html);
        assertTrue(html.contains("id=\"kill-off\""), html);
        assertTrue(html.contains("(&lt;alice&gt;): nothing runs."), html);
        assertTrue(html.contains("2026-12-02 22:42:00 UTC"), html);
    }

    /** One kernel as OperatorConsole.state() shows it. */
    private static Map<String, Object> kernel(String id, String client, boolean busy, boolean running, Object memoryKb) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("kernel_id", id);
        k.put("name", "main");
        k.put("language", "python");
        k.put("client", client);
        k.put("session", "3f2a9c1b");
        k.put("client_label", client + " · session 3f2a9c1b");
        k.put("execution_count", 12);
        k.put("running", running);
        k.put("busy", busy);
        k.put("created_at", "2026-12-02T22:40:00Z");
        k.put("idle_s", 75L);
        k.put("memory_kb", memoryKb);
        return k;
    }

    @Test
    void kernelsAreATableWithTheirMemoryAndAnEndButton() {
        Map<String, Object> s = state(List.of());
        s.put("kernels", List.of(kernel("k-1a2b3c4d", "<svg onload=alert(1)>/1", false, true, 52_480L),
                kernel("k-5", "c/1", true, true, 1024L), kernel("k-6", "c/1", false, false, null)));
        String html = render(s);
        assertFalse(html.contains("No session holds a kernel."), html);
        assertFalse(html.contains("<svg"), html);
        Matcher row = Pattern.compile("(?s)<tr data-id=\"k-1a2b3c4d\">(.*?)</tr>").matcher(html);
        assertTrue(row.find(), html);
        String t = text(row.group(1)).replaceAll("\\s+", " ").trim();
        assertEquals("k-1a2b3c4d 3f2a9c1b <svg onload=alert(1)>/1 main python 12 51.3 MB 1 min 15 s no End", t);
        assertTrue(row.group(1).contains("data-idle-ms=\"75000\""), row.group(1));
        assertTrue(row.group(1).contains("<form method=\"post\" action=\"/operator/end-kernel\"><input type=\"hidden\" "
                + "name=\"csrf\" value=\"c5rf\"><input type=\"hidden\" name=\"id\" value=\"k-1a2b3c4d\">"), row.group(1));
        assertTrue(html.contains("id=\"end-kernel-k-1a2b3c4d\""), html);
        Matcher busy = Pattern.compile("(?s)<tr data-id=\"k-5\">(.*?)</tr>").matcher(html);
        assertTrue(busy.find(), html);
        assertEquals("k-5 3f2a9c1b c/1 main python 12 1.0 MB – yes End", text(busy.group(1)).replace("&ndash;", "–")
            .replaceAll("\\s+", " ").trim(), "no idle time while a cell runs");
        Matcher ended = Pattern.compile("(?s)<tr data-id=\"k-6\">(.*?)</tr>").matcher(html);
        assertTrue(ended.find(), html);
        assertTrue(text(ended.group(1)).contains("not running"), ended.group(1));
        assertTrue(render(state(List.of())).contains("No session holds a kernel."));
    }

    @Test
    void escapeCoversTheFiveCharacters() {
        assertEquals("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;", OperatorPage.escape("<a href=\"x\" title='y'>&</a>"));
        assertEquals("plain = text `ok`", OperatorPage.escape("plain = text `ok`"));
        assertEquals("", OperatorPage.escape(null));
        assertNotEquals("<", OperatorPage.escape("<"));
    }

    @Test
    void anActionShowsTheAgentsWordsAndItsReasonEachInItsOwnBlock() {
        Map<String, Object> p = held("ex_0123456789abcdef0123", "deploy <b>prod</b>", "c/1", "s", 30_000);
        AgentText reason = AgentText.of("because </pre><script>alert(1)</script>");
        p.put("kind", "action");
        p.put("cwd", null);
        p.put("reason", reason.exact());
        p.put("reason_display", reason.display());
        p.put("reason_notes", reason.notes());
        String html = render(state(List.of(p)));
        assertTrue(html.contains("the action, in the agent&#39;s words"), html);
        assertTrue(html.contains("<pre class='agent subject'>deploy &lt;b&gt;prod&lt;/b&gt;</pre>"), html);
        assertTrue(html.contains("<pre class='agent reason'>because &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;</pre>"),
                html);
        assertFalse(html.contains("held: "), "an action's reason is the agent's, not Warden's: " + html);
    }
}
