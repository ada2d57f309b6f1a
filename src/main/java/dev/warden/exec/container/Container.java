package dev.warden.exec.container;

import java.nio.file.Path;

/** A started container waiting for its one request: bound to one session's workspace, of one language. */
record Container(String id, String name, Path workspace, String language, boolean warm, String runtime) {
}
