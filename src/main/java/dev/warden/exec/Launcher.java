package dev.warden.exec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** The native launcher (warden-spawn), unpacked from the jar into Warden's state directory. */
public final class Launcher {

    private final Path binary;

    private Launcher(Path binary) {
        this.binary = binary;
    }

    public static Launcher unpack(Path stateDir) throws IOException {
        Path bin = stateDir.resolve("bin");
        Files.createDirectories(bin);
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path target = bin.resolve("warden-spawn");
        try (InputStream in = Launcher.class.getResourceAsStream("/native/warden-spawn")) {
            if (in == null) {
                throw new IOException("the sandbox launcher is missing from the jar (was it built with a C compiler?)");
            }
            Path tmp = Files.createTempFile(bin, "warden-spawn", ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return new Launcher(target);
    }

    public Path path() {
        return binary;
    }
}
