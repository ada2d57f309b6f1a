package dev.warden.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Append-only JSON lines. Each record is one write(2) on an O_APPEND file before the caller returns
 * its result, so a killed server has already handed every answered call to the kernel; with fsync
 * on, to the disk as well. A failed write is logged with the record's id and reported to the caller.
 *
 * <p>When the file passes {@code maxBytes} it is rotated ({@code audit.jsonl} becomes
 * {@code audit.jsonl.1}, and so on, {@code keep} files at most) under the same lock as the writes,
 * so no line is split or lost across a rotation. Incidents (blocked calls, critical findings, kills,
 * the kill switch) are also written to a second file, the incident stream, which an alerting tool
 * can tail on its own.
 */
public final class AuditLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

    private final Path file;
    private final Path incidents;
    private final boolean fsync;
    private final long maxBytes;
    private final int keep;
    private final ObjectMapper json;
    private FileChannel channel;
    private FileChannel incidentChannel;

    public AuditLog(Path file, boolean fsync, ObjectMapper json) throws IOException {
        this(file, null, fsync, 0, 0, json);
    }

    /**
     * @param incidents the incident stream, or null for none
     * @param maxBytes rotate past this size (0: never)
     * @param keep rotated files kept
     */
    public AuditLog(Path file, Path incidents, boolean fsync, long maxBytes, int keep, ObjectMapper json)
            throws IOException {
        this.file = file;
        this.incidents = incidents;
        this.fsync = fsync;
        this.maxBytes = maxBytes;
        this.keep = Math.max(1, keep);
        this.json = json;
        this.channel = open(file);
        this.incidentChannel = incidents == null ? null : open(incidents);
    }

    private static FileChannel open(Path f) throws IOException {
        Path dir = f.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        FileChannel c = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return c;
    }

    /** @return true if the record reached the file */
    public boolean append(Map<String, Object> record) {
        return write(record, false);
    }

    /** An incident: written to the audit file and to the incident stream. */
    public boolean incident(Map<String, Object> record) {
        return write(record, true);
    }

    private boolean write(Map<String, Object> record, boolean incident) {
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
                rotateIfFull();
                boolean ok = writeFully(channel, buf.duplicate());
                if (incident && incidentChannel != null) {
                    ok &= writeFully(incidentChannel, buf.duplicate());
                }
                return ok;
            }
            catch (IOException e) {
                log.error("audit record {} could not be written to {}: {}", record.get("execution_id"), file,
                        e.getMessage());
                return false;
            }
        }
    }

    private boolean writeFully(FileChannel c, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            c.write(buf);
        }
        if (fsync) {
            c.force(false);
        }
        return true;
    }

    private void rotateIfFull() throws IOException {
        if (maxBytes <= 0 || channel.size() < maxBytes) {
            return;
        }
        channel.force(false);
        channel.close();
        Files.deleteIfExists(rotated(keep));
        for (int i = keep - 1; i >= 1; i--) {
            if (Files.exists(rotated(i))) {
                Files.move(rotated(i), rotated(i + 1), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(file, rotated(1), StandardCopyOption.ATOMIC_MOVE);
        channel = open(file);
        log.info("audit log rotated: {} -> {}", file, rotated(1));
    }

    private Path rotated(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }

    public Path file() {
        return file;
    }

    /** The audit file and its rotated predecessors, newest first. */
    public List<Path> files() {
        java.util.List<Path> all = new java.util.ArrayList<>(List.of(file));
        for (int i = 1; i <= keep; i++) {
            if (Files.exists(rotated(i))) {
                all.add(rotated(i));
            }
        }
        return all;
    }

    public Path incidentFile() {
        return incidents;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
        if (incidentChannel != null) {
            incidentChannel.close();
        }
    }
}
