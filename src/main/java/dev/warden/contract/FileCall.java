package dev.warden.contract;

/**
 * The arguments of read_file, write_file and list_files, already type-checked: the path (relative
 * to the workspace root; "" for the root), where a read starts and how much it takes at most (null:
 * to the limit), the encoding ({@code text} or {@code base64}; null: read chooses), what to write
 * and how ({@code create}, {@code overwrite}, {@code append}), and how deep and how long a listing is.
 */
public record FileCall(String path, long offset, Long length, String encoding, String content, String mode,
        boolean recursive, int maxEntries) {
}
