package dev.warden.mcp.compat;

import io.modelcontextprotocol.util.McpUriTemplateManager;
import io.modelcontextprotocol.util.McpUriTemplateManagerFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resource templates whose {@code {+var}} (RFC 6570 reserved expansion, section 3.2.3) matches a value
 * with slashes, as a workspace path has.
 *
 * <p><b>What the SDK does (2.1.0).</b> {@code McpAsyncServer}'s resources/read finds the template of a
 * URI with {@code DefaultMcpUriTemplateManager.matches}, which turns every {@code {...}} into
 * {@code ([^/]+?)} and treats the {@code +} as part of the name: {@code warden://workspace/{id}/{+path}}
 * matches {@code .../ID/out.csv} but not {@code .../ID/plots/a.png}, which is answered "resource not
 * found" before Warden's handler sees it.
 *
 * <p><b>Why that breaks Warden.</b> The artifacts of a run are files anywhere in its workspace; their
 * URIs must be readable whatever directory they are in.
 *
 * <p><b>Here.</b> {@code {var}} matches one segment as before, {@code {+var}} any non-empty rest
 * (slashes included). Only matching and extraction are offered; Warden's handler parses the URI
 * itself ({@code contract.WorkspaceUri}) and refuses what is not a workspace path.
 *
 * <p><b>Upstream.</b> No issue found for the Java SDK; the TypeScript SDK matches {@code {+path}} so
 * (typescript-sdk#650, answered with it). Remove this, and its use in {@code McpServers}, when
 * {@code ReservedExpansionTemplatesTest.theSdkStillMatchesOneSegmentOnly} fails.
 */
public final class ReservedExpansionTemplates implements McpUriTemplateManagerFactory {

    private static final Pattern VARIABLE = Pattern.compile("\\{(\\+?)([A-Za-z0-9_]+)\\}");

    @Override
    public McpUriTemplateManager create(String uriTemplate) {
        return new Template(uriTemplate);
    }

    private static final class Template implements McpUriTemplateManager {

        private final String template;
        private final Pattern regex;
        private final List<String> names = new ArrayList<>();

        Template(String template) {
            this.template = template;
            StringBuilder b = new StringBuilder("^");
            Matcher m = VARIABLE.matcher(template);
            int at = 0;
            while (m.find()) {
                b.append(Pattern.quote(template.substring(at, m.start())));
                b.append(m.group(1).isEmpty() ? "([^/]+)" : "(.+)");
                names.add(m.group(2));
                at = m.end();
            }
            b.append(Pattern.quote(template.substring(at))).append('$');
            this.regex = Pattern.compile(b.toString(), Pattern.DOTALL);
        }

        @Override
        public List<String> getVariableNames() {
            return List.copyOf(names);
        }

        @Override
        public Map<String, String> extractVariableValues(String uri) {
            Map<String, String> values = new LinkedHashMap<>();
            Matcher m = uri == null ? null : regex.matcher(uri);
            if (m != null && m.matches()) {
                for (int i = 0; i < names.size(); i++) {
                    values.put(names.get(i), m.group(i + 1));
                }
            }
            return values;
        }

        @Override
        public boolean matches(String uri) {
            return uri != null && (names.isEmpty() ? uri.equals(template) : regex.matcher(uri).matches());
        }

        @Override
        public boolean isUriTemplate(String uri) {
            return uri != null && VARIABLE.matcher(uri).find();
        }
    }
}
