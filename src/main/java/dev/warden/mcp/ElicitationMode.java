package dev.warden.mcp;

import io.modelcontextprotocol.spec.McpSchema;
import java.util.function.Supplier;

/**
 * How a held call asks a client that declared elicitation ({@code approvals.elicitation}): {@code form}
 * (the decision in the client), {@code url} (URL mode to every client that declares it: the person is
 * sent to the approval's entry on the operator page and decides there, with the operator token) or
 * {@code auto} (URL mode only to a client that declares URL mode and not form mode). URL mode needs
 * the operator page's public address and a console that serves now ({@code pageBase}, null otherwise);
 * without them every client is asked with the form, as before. The link carries no secret: the token
 * stays the operator's, and a client that follows it finds a login form.
 *
 * @param pageBase {@code operator.public_url} while the console serves, else null
 */
public record ElicitationMode(String mode, Supplier<String> pageBase) {

    public static final ElicitationMode FORM = new ElicitationMode("form", () -> null);

    /**
     * The operator page's base for this client's URL-mode elicitation, or null: ask with the form. In
     * 2025-11-25 an empty {@code elicitation: {}} means form only.
     */
    String urlBase(McpSchema.ClientCapabilities.Elicitation declared) {
        if (declared == null || declared.url() == null || "form".equals(mode)) {
            return null;
        }
        boolean form = declared.form() != null;
        if ("auto".equals(mode) && form) {
            return null;
        }
        return pageBase.get();
    }
}
