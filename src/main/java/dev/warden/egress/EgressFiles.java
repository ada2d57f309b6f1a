package dev.warden.egress;

import java.nio.file.Path;

/** The files a port's directory holds beside the socket (placeholder until the relay branch lands). */
final class EgressFiles {

    private EgressFiles() {
    }

    static void populate(Path dir) {
        // the Node preload is written here (see dev.warden.exec, relay branch)
    }
}
