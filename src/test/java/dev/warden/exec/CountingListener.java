package dev.warden.exec;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/** A TCP listener on the host that counts the connections reaching it: what an escape test asserts none did. */
public final class CountingListener implements AutoCloseable {

    public final ServerSocket socket;
    public final AtomicInteger accepted = new AtomicInteger();

    /** Listening on {@code address} (a wildcard address listens on all of them), on a free port. */
    public CountingListener(InetAddress address) throws IOException {
        socket = new ServerSocket();
        socket.bind(new InetSocketAddress(address, 0));
        Thread t = new Thread(() -> {
            while (!socket.isClosed()) {
                try (Socket s = socket.accept()) {
                    accepted.incrementAndGet();
                }
                catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
