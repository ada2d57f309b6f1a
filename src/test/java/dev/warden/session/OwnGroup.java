package dev.warden.session;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The group a workspace gets in unit tests: this process's own, so creating one needs no root (a
 * change of group to the sandbox's needs root; the ITs and the server do that).
 */
public final class OwnGroup {

    private OwnGroup() {
    }

    public static int gid() {
        try {
            Path probe = Files.createTempFile("warden-gid-", "");
            try {
                return (Integer) Files.getAttribute(probe, "unix:gid");
            }
            finally {
                Files.delete(probe);
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
