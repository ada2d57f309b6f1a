package dev.warden.exec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sandbox's only way out: a host directory, bound read-only into the sandbox at {@link #MOUNT},
 * that holds the unix socket of Warden's egress proxy ({@link #SOCKET}). Inside, the stub's relay
 * listens on the sandbox's own loopback at {@link #RELAY_PORT} and carries each connection to that
 * socket; the sandbox has no other route. One port per sandbox (an L2 slot, an L3 container), so
 * the proxy knows by the socket alone which sandbox, and so which call ({@link CallEgress}), a
 * connection comes from.
 */
public interface EgressPort extends AutoCloseable {

    /** Where the port's directory appears inside the sandbox. */
    String MOUNT = "/.warden/net";
    /** The proxy's socket in that directory. */
    String SOCKET = "proxy.sock";
    /** The relay's port on the sandbox's loopback. */
    int RELAY_PORT = 3128;
    /** The relay argument of the stub: {@code PORT:PATH}. */
    String RELAY = RELAY_PORT + ":" + MOUNT + "/" + SOCKET;
    /** The preload that makes Node's fetch use the proxy variables (Node's own http ignores them). */
    String NODE_PRELOAD = MOUNT + "/node-proxy.cjs";
    /**
     * The CA bundle runs trust, in the port's directory: the host's bundle (which on a machine behind
     * an intercepting proxy holds its CA) and the policy's {@code network.ca_certificates}.
     */
    String CA_FILE = "ca.pem";
    String CA_BUNDLE = MOUNT + "/" + CA_FILE;
    /** The preload's name, in the port's directory and among the jar's resources (under egress/). */
    String NODE_PRELOAD_FILE = "node-proxy.cjs";

    /** The host directory bound at {@link #MOUNT}. */
    Path dir();

    /** Stops listening and removes the directory. */
    @Override
    void close();

    /**
     * The variables every run with a port gets, so pip, npm, git, curl, wget, Python's urllib and
     * Node's fetch use the proxy with no setup in the agent's code; and packages a run installs land in
     * the workspace (pip's user base /workspace/.local, npm's cache /workspace/.npm and node_modules beside the
     * call's directory), never refused as an "externally managed environment".
     *
     */
    static Map<String, String> env() {
        return env(RELAY_PORT);
    }

    /** As above, with the relay at {@code relayPort} of the sandbox's loopback. */
    static Map<String, String> env(int relayPort) {
        String caBundle = CA_BUNDLE;
        String url = "http://127.0.0.1:" + relayPort;
        Map<String, String> env = new LinkedHashMap<>();
        for (String k : new String[] {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"}) {
            env.put(k, url);
        }
        env.put("NO_PROXY", "localhost,127.0.0.1");
        env.put("no_proxy", "localhost,127.0.0.1");
        env.put("PIP_USER", "1");
        // the user base in the workspace whatever HOME is (L3 runs have HOME=/tmp): what a call installs
        // is there for the session's next calls
        env.put("PYTHONUSERBASE", "/workspace/.local");
        env.put("npm_config_cache", "/workspace/.npm");
        env.put("PIP_BREAK_SYSTEM_PACKAGES", "1");
        env.put("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        env.put("PIP_NO_WARN_SCRIPT_LOCATION", "1");
        env.put("SSL_CERT_FILE", caBundle);
        env.put("REQUESTS_CA_BUNDLE", caBundle);
        env.put("PIP_CERT", caBundle);
        env.put("CURL_CA_BUNDLE", caBundle);
        env.put("GIT_SSL_CAINFO", caBundle);
        env.put("npm_config_cafile", caBundle);
        env.put("npm_config_update_notifier", "false");
        env.put("npm_config_fund", "false");
        env.put("npm_config_audit", "false");
        env.put("NODE_OPTIONS", "--require " + NODE_PRELOAD);
        return env;
    }

    /**
     * Puts into a port's directory, before the port is used, the files runs read from it: the Node
     * preload that {@link #env} names in NODE_OPTIONS (a missing one would stop every node from
     * starting) and the CA bundle. Readable by all (runs are other uids), writable by none of them.
     *
     * @param dir the port's host directory
     * @param caBundle the certificates runs trust (PEM)
     */
    static void populate(Path dir, byte[] caBundle) throws IOException {
        Path ca = dir.resolve(CA_FILE);
        Files.write(ca, caBundle);
        Files.setPosixFilePermissions(ca, PosixFilePermissions.fromString("rw-r--r--"));
        Path target = dir.resolve(NODE_PRELOAD_FILE);
        try (InputStream in = EgressPort.class.getResourceAsStream("/egress/" + NODE_PRELOAD_FILE)) {
            if (in == null) {
                throw new IOException("the jar has no egress/" + NODE_PRELOAD_FILE);
            }
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /**
     * Adds {@link #env} to a run's environment: the proxy's values replace the call's (there is no
     * other way out anyway), except that a NODE_OPTIONS of the call is kept after the preload.
     */
    static void addEnv(Map<String, String> runEnv) {
        addEnv(runEnv, RELAY_PORT);
    }

    /** As above, with the relay at {@code relayPort}. */
    static void addEnv(Map<String, String> runEnv, int relayPort) {
        String nodeOptions = runEnv.get("NODE_OPTIONS");
        runEnv.putAll(env(relayPort));
        if (nodeOptions != null && !nodeOptions.isBlank()) {
            runEnv.put("NODE_OPTIONS", runEnv.get("NODE_OPTIONS") + " " + nodeOptions);
        }
    }
}
