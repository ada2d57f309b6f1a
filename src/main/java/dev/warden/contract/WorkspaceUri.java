package dev.warden.contract;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A workspace file as a resource: {@code warden://workspace/<workspace_id>/<path>}, the path
 * relative to the workspace root, each segment percent-encoded (RFC 3986) so that any file name is
 * a valid URI. Parsing is strict, and refuses before anything touches a file: no empty segment (so
 * no absolute path), no {@code .} or {@code ..}, no {@code /} or NUL hidden in an encoded segment, no
 * query or fragment, no broken percent-encoding or UTF-8. Whether the path then stays inside the
 * workspace (symlinks) is for the workspace and the sandbox to check, as for read_file.
 */
public record WorkspaceUri(String workspaceId, String path) {

    public static final String PREFIX = "warden://workspace/";
    /** The resource template clients see in resources/templates/list (RFC 6570: {+path} may hold slashes). */
    public static final String TEMPLATE = PREFIX + "{workspace_id}/{+path}";
    /** Workspace ids: session workspaces are hex, durable ones may use letters, digits, - and _. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final int MAX_PATH_BYTES = 4096;
    private static final String UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

    /** A URI that cannot name a workspace file; the message says why, in words for the model. */
    public static final class Malformed extends IllegalArgumentException {

        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    public WorkspaceUri {
        if (workspaceId == null || !ID.matcher(workspaceId).matches()) {
            throw new Malformed("the workspace id is not one Warden gives out");
        }
        checkPath(path);
    }

    /** The URI of a workspace-relative path (as Warden itself found it). */
    public static String of(String workspaceId, String path) {
        return new WorkspaceUri(workspaceId, path).toString();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(PREFIX).append(workspaceId).append('/');
        String[] segments = path.split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            if (i > 0) {
                b.append('/');
            }
            for (byte x : segments[i].getBytes(StandardCharsets.UTF_8)) {
                char ch = (char) (x & 0xff);
                if (x >= 0 && UNRESERVED.indexOf(ch) >= 0) {
                    b.append(ch);
                }
                else {
                    b.append('%').append(Character.toUpperCase(Character.forDigit((x >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(x & 0xf, 16)));
                }
            }
        }
        return b.toString();
    }

    /** Reads a URI; throws {@link Malformed} with the reason if it does not name a workspace file. */
    public static WorkspaceUri parse(String uri) {
        if (uri == null || !uri.startsWith(PREFIX)) {
            throw new Malformed("a workspace file's URI starts with " + PREFIX);
        }
        String rest = uri.substring(PREFIX.length());
        if (rest.indexOf('?') >= 0 || rest.indexOf('#') >= 0) {
            throw new Malformed("a workspace file's URI has no query or fragment");
        }
        int slash = rest.indexOf('/');
        if (slash < 0) {
            throw new Malformed("the URI names no file: " + PREFIX + "<workspace_id>/<path>");
        }
        String id = rest.substring(0, slash);
        String[] encoded = rest.substring(slash + 1).split("/", -1);
        List<String> segments = new ArrayList<>();
        for (String e : encoded) {
            if (e.isEmpty()) {
                throw new Malformed("the path has an empty segment (an absolute path, or //); give it relative to "
                        + "the workspace root");
            }
            segments.add(decode(e));
        }
        return new WorkspaceUri(id, String.join("/", segments));
    }

    private static void checkPath(String path) {
        if (path == null || path.isEmpty()) {
            throw new Malformed("the URI names no file");
        }
        if (path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw new Malformed("the path is longer than " + MAX_PATH_BYTES + " bytes");
        }
        if (path.indexOf('\0') >= 0) {
            throw new Malformed("the path holds a NUL character");
        }
        for (String s : path.split("/", -1)) {
            if (s.isEmpty()) {
                throw new Malformed("the path has an empty segment (an absolute path, or //); give it relative to "
                        + "the workspace root");
            }
            if (s.equals(".") || s.equals("..")) {
                throw new Malformed("the path holds \"" + s + "\"; paths name files inside the workspace, without . "
                        + "or ..");
            }
        }
    }

    /** One segment, percent-decoded as UTF-8; an encoded / (%2F) would smuggle a separator, so it is refused. */
    private static String decode(String segment) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(segment.length());
        for (int i = 0; i < segment.length();) {
            int cp = segment.codePointAt(i);
            if (cp == '%') {
                int hi = i + 1 < segment.length() ? Character.digit(segment.charAt(i + 1), 16) : -1;
                int lo = i + 2 < segment.length() ? Character.digit(segment.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    throw new Malformed("the URI has a broken percent-encoding");
                }
                int b = hi * 16 + lo;
                if (b == '/') {
                    throw new Malformed("the path holds an encoded / (%2F); separate segments with / itself");
                }
                out.write(b);
                i += 3;
                continue;
            }
            if (cp < 0x20 || cp == 0x7f) {
                throw new Malformed("the URI holds a control character");
            }
            out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
            i += Character.charCount(cp);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(out.toByteArray())).toString();
        }
        catch (CharacterCodingException e) {
            throw new Malformed("the URI's path is not UTF-8 once decoded");
        }
    }
}
