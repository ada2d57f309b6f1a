package dev.warden.exec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The /etc/hosts every run sees, in L2 and in L3 alike: {@code localhost} and the sandbox's own
 * host name ({@code sandbox}) on the loopback, nothing else. L3 needs its own copy bound in: with
 * networking disabled, Docker gives a container an empty /etc/hosts, where {@code localhost} does
 * not resolve.
 */
public final class SandboxHosts {

    public static final String CONTENT = "127.0.0.1 localhost sandbox\n::1 localhost\n";

    private SandboxHosts() {
    }

    /** Writes {@code dir/hosts} (mode 0644, read by the runs' uids) and returns its path. */
    public static Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, CONTENT);
        Files.setPosixFilePermissions(hosts, PosixFilePermissions.fromString("rw-r--r--"));
        return hosts;
    }
}
