package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.util.DefaultMcpUriTemplateManagerFactory;
import io.modelcontextprotocol.util.McpUriTemplateManager;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {+path} matches a path with slashes: the SDK's own matcher does not (yet), ours does. */
class ReservedExpansionTemplatesTest {

    private static final String TEMPLATE = "warden://workspace/{workspace_id}/{+path}";

    @Test
    void theSdkStillMatchesOneSegmentOnly() {
        McpUriTemplateManager sdk = new DefaultMcpUriTemplateManagerFactory().create(TEMPLATE);
        assertFalse(sdk.matches("warden://workspace/ab12/plots/a.png"),
                "the SDK now matches {+path} across slashes: remove ReservedExpansionTemplates and its use in McpServers");
    }

    @Test
    void reservedExpansionSpansSegmentsAndSimpleOnesDoNot() {
        McpUriTemplateManager t = new ReservedExpansionTemplates().create(TEMPLATE);
        assertTrue(t.matches("warden://workspace/ab12/out.csv"));
        assertTrue(t.matches("warden://workspace/ab12/plots/deep/a.png"));
        assertEquals(Map.of("workspace_id", "ab12", "path", "plots/deep/a.png"),
                t.extractVariableValues("warden://workspace/ab12/plots/deep/a.png"));
        assertFalse(t.matches("warden://workspace/ab12"));
        assertFalse(t.matches("warden://workspace//x"), "the id is one non-empty segment");
        assertFalse(t.matches("warden://other/ab12/x"));
        McpUriTemplateManager plain = new ReservedExpansionTemplates().create("x://{a}/{b}");
        assertTrue(plain.matches("x://1/2"));
        assertFalse(plain.matches("x://1/2/3"));
        assertTrue(new ReservedExpansionTemplates().create("x://fixed").matches("x://fixed"));
    }
}
