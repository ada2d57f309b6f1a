package dev.warden.contract;

/**
 * An image a run wrote (PNG, JPEG, GIF, SVG, WebP), whole, to go back as MCP image content beside
 * the structured result; never part of the structured result itself.
 *
 * @param data the file's bytes, base64
 */
public record Image(String path, String mime, String data) {
}
