package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Where Warden looks for the engine: a configured socket as it is; with the default, the user's
 * DOCKER_HOST (a local socket only), then the default socket, then Docker Desktop's per-user one
 * or a rootless engine's.
 */
class EngineAddressTest {

    private static final String DEFAULT = ContainerRuntime.DEFAULT_HOST;

    @Test
    void aConfiguredSocketIsUsedAsItIs() {
        assertEquals("unix:///srv/docker.sock", ContainerRuntime.engineAddress("unix:///srv/docker.sock",
                "unix:///elsewhere.sock", Path.of("/nonexistent"), null));
    }

    @Test
    void docker_hostOfTheUserWinsOverTheDefaultButOnlyALocalSocket() {
        assertEquals("unix:///run/user/1000/docker.sock", ContainerRuntime.engineAddress(DEFAULT,
                "unix:///run/user/1000/docker.sock", Path.of("/nonexistent"), null));
        String tcp = ContainerRuntime.engineAddress(DEFAULT, "tcp://10.0.0.1:2376", Path.of("/nonexistent"), null);
        assertEquals(DEFAULT, tcp, "an engine over TCP sees none of Warden's files: the default socket, as configured");
    }

    @Test
    void withoutTheDefaultSocketDockerDesktopsPerUserSocketIsFound() throws Exception {
        if (Files.exists(Path.of(DEFAULT.substring("unix://".length())))) {
            // the default socket is there, and is what the default means
            assertEquals(DEFAULT, ContainerRuntime.engineAddress(DEFAULT, null, Path.of("/nonexistent"), null));
            return;
        }
        Path home = Files.createTempDirectory("warden-home-");
        try {
            Files.createDirectories(home.resolve(".docker/run"));
            Files.createFile(home.resolve(".docker/run/docker.sock"));
            assertEquals("unix://" + home.resolve(".docker/run/docker.sock"),
                    ContainerRuntime.engineAddress(DEFAULT, null, home, null));
        }
        finally {
            Files.delete(home.resolve(".docker/run/docker.sock"));
            Files.delete(home.resolve(".docker/run"));
            Files.delete(home.resolve(".docker"));
            Files.delete(home);
        }
    }
}
