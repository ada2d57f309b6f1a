package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.modelcontextprotocol.spec.McpSchema.ClientCapabilities.Elicitation;
import org.junit.jupiter.api.Test;

/** When a held call asks with URL mode: only to a client that declared it, only with a live page to send it to. */
class ElicitationModeTest {

    private static final String BASE = "https://warden.example.org/operator";
    private static final Elicitation LEGACY = new Elicitation(null, null); // elicitation: {} is form only
    private static final Elicitation FORM = new Elicitation(new Elicitation.Form(), null);
    private static final Elicitation URL = new Elicitation(null, new Elicitation.Url());
    private static final Elicitation BOTH = new Elicitation(new Elicitation.Form(), new Elicitation.Url());

    @Test
    void formNeverSendsALink() {
        ElicitationMode m = new ElicitationMode("form", () -> BASE);
        for (Elicitation e : new Elicitation[] {LEGACY, FORM, URL, BOTH}) {
            assertNull(m.urlBase(e));
        }
    }

    @Test
    void urlSendsTheLinkToEveryClientThatDeclaredUrlMode() {
        ElicitationMode m = new ElicitationMode("url", () -> BASE);
        assertNull(m.urlBase(LEGACY));
        assertNull(m.urlBase(FORM));
        assertEquals(BASE, m.urlBase(URL));
        assertEquals(BASE, m.urlBase(BOTH));
    }

    @Test
    void autoSendsItOnlyWhereTheFormIsNotDeclared() {
        ElicitationMode m = new ElicitationMode("auto", () -> BASE);
        assertNull(m.urlBase(BOTH));
        assertNull(m.urlBase(LEGACY));
        assertEquals(BASE, m.urlBase(URL));
    }

    @Test
    void withoutALivePageEveryClientGetsTheForm() {
        assertNull(new ElicitationMode("url", () -> null).urlBase(BOTH));
        assertNull(new ElicitationMode("auto", () -> null).urlBase(URL));
        assertNull(new ElicitationMode("url", () -> BASE).urlBase(null));
    }
}
