package dev.warden.exec.container;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Warden's seccomp profile for L3 containers, built into the jar as {@code seccomp.json} beside
 * this class: Docker 20.10.24's default profile (moby's profiles/seccomp/default.json, Apache-2.0)
 * with two changes. io_uring_setup, io_uring_enter and io_uring_register leave the allow list and
 * get an explicit EPERM: the operations a ring carries out are never seen by seccomp, and io_uring
 * has been a steady source of kernel privilege escalations (Docker 25 dropped it from its default
 * the same way). add_key, keyctl and request_key, which the default already leaves out (the kernel
 * keyring is not namespaced), get an explicit EPERM too, so that the profile says so.
 *
 * <p>The engine takes a profile as {@code seccomp=<the JSON itself>} in the container's security
 * options; it is sent with every create, so it is read once and sent without whitespace.
 */
final class Seccomp {

    static final String RESOURCE = "seccomp.json";

    /** The profile as one line of JSON. */
    static final String PROFILE = load(false);

    /**
     * The same under runsc, but for clone3: Docker's profile answers it with ENOSYS (glibc then
     * falls back to clone), but gVisor's own enforcement of the profile (runsc --oci-seccomp, of
     * Debian 12) does not return that errno, so glibc's pthread_create fails and node and java do not
     * start (measured). Allowed there, it reaches gVisor's kernel, which does not implement clone3
     * and answers ENOSYS itself; the host kernel never sees it.
     */
    static final String RUNSC_PROFILE = load(true);

    private Seccomp() {
    }

    /** The profile for the runtime the engine will start the container under. */
    static String forRuntime(String runtime) {
        return ContainerExecutor.RUNSC.equals(runtime) ? RUNSC_PROFILE : PROFILE;
    }

    private static String load(boolean forRunsc) {
        try (InputStream in = Seccomp.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                // a jar without it must not start containers with the engine's default instead
                throw new IllegalStateException("the L3 seccomp profile is missing from the jar: " + RESOURCE);
            }
            ObjectMapper json = new ObjectMapper();
            JsonNode profile = json.readTree(in);
            if (forRunsc) {
                com.fasterxml.jackson.databind.node.ArrayNode rules = (com.fasterxml.jackson.databind.node.ArrayNode) profile.get("syscalls");
                for (int i = rules.size() - 1; i >= 0; i--) {
                    JsonNode r = rules.get(i);
                    if (r.path("names").size() == 1 && r.path("names").get(0).asText().equals("clone3")
                            && r.path("action").asText().equals("SCMP_ACT_ERRNO")) {
                        rules.remove(i);
                    }
                }
                rules.addObject().put("action", "SCMP_ACT_ALLOW").putArray("names").add("clone3");
            }
            return json.writeValueAsString(profile);
        }
        catch (IOException e) {
            throw new UncheckedIOException("the L3 seccomp profile is unreadable", e);
        }
    }
}
