package dev.warden.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Append-only JSON lines. Each record is one write(2) on an O_APPEND file before the caller returns
 * its result, so a killed server has already handed every answered call to the kernel; with fsync
 * on, to the disk as well. A failed write is logged with the record's id and reported to the caller.
 */
public final class AuditLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

    private final Path file;
    private final boolean fsync;
    private final ObjectMapper json;
    private final FileChannel channel;

    public AuditLog(Path file, boolean fsync, ObjectMapper json) throws IOException {
        this.file = file;
        this.fsync = fsync;
        this.json = json;
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    /** @return true if the record reached the file */
    public boolean append(Map<String, Object> record) {
        byte[] line;
        try {
            line = json.writeValueAsBytes(record);
        }
        catch (IOException e) {
            log.error("audit record {} could not be serialised: {}", record.get("execution_id"), e.getMessage());
            return false;
        }
        ByteBuffer buf = ByteBuffer.allocate(line.length + 1).put(line).put((byte) '\n').flip();
        synchronized (this) {
            try {
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
                if (fsync) {
                    channel.force(false);
                }
                return true;
            }
            catch (IOException e) {
                log.error("audit record {} could not be written to {}: {}", record.get("execution_id"), file,
                        e.getMessage());
                return false;
            }
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
