package dev.warden.egress;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The files a port's directory holds beside the socket, for the run inside: the Node preload and the CA
 * certificates runs trust (the host's bundle, which on a machine behind an intercepting proxy holds
 * its CA, plus the policy's {@code network.ca_certificates}).
 */
final class EgressFiles {

    static final Path HOST_BUNDLE = Path.of("/etc/ssl/certs/ca-certificates.crt");

    private final byte[] bundle;

    private EgressFiles(byte[] bundle) {
        this.bundle = bundle;
    }

    /** The host's bundle and the operator's certificates, read once at start. */
    static EgressFiles of(Path hostBundle, List<Path> extra) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        if (Files.isReadable(hostBundle)) {
            all.write(Files.readAllBytes(hostBundle));
        }
        for (Path p : extra) {
            all.write('\n');
            all.write(Files.readAllBytes(p));
        }
        return new EgressFiles(all.toByteArray());
    }

    /** The preload and the bundle, into a port's directory. */
    void populate(Path dir) throws IOException {
        dev.warden.exec.EgressPort.populate(dir, bundle);
    }
}
