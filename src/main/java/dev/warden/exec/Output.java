package dev.warden.exec;

/** Raw bytes of one stream, already cut at the output limit. */
public record Output(byte[] bytes, boolean truncated) {

    public static final Output EMPTY = new Output(new byte[0], false);
}
