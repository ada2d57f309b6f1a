package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DockerEngineTest {

    @Test
    void aRemovalThatRacesTheContainersExitIsTriedAgain() {
        AtomicInteger tries = new AtomicInteger();
        DockerEngine.removeRetrying(() -> {
            if (tries.incrementAndGet() < 3) {
                throw new ConflictException("Could not kill running container x, cannot remove - Container x is not running");
            }
        }, 5, 1);
        assertEquals(3, tries.get());
    }

    @Test
    void aConflictThatStaysIsThrownAfterTheLastAttempt() {
        AtomicInteger tries = new AtomicInteger();
        assertThrows(ConflictException.class, () -> DockerEngine.removeRetrying(() -> {
            tries.incrementAndGet();
            throw new ConflictException("removal of container x is already in progress");
        }, 4, 1));
        assertEquals(4, tries.get());
    }

    @Test
    void anythingElseIsThrownAtOnce() {
        AtomicInteger tries = new AtomicInteger();
        assertThrows(NotFoundException.class, () -> DockerEngine.removeRetrying(() -> {
            tries.incrementAndGet();
            throw new NotFoundException("No such container: x");
        }, 4, 1));
        assertEquals(1, tries.get());
    }
}
