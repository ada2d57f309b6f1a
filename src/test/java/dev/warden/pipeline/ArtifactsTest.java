package dev.warden.pipeline;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** An image goes back as image content only if its bytes are what its name says. */
class ArtifactsTest {

    private static final byte[] PNG = Base64.getDecoder().decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    @Test
    void imagesAreCheckedByTheirSignature() {
        assertTrue(Artifacts.looksLike("image/png", PNG));
        assertFalse(Artifacts.looksLike("image/png", "not a png".getBytes(StandardCharsets.UTF_8)));
        assertFalse(Artifacts.looksLike("image/jpeg", PNG));
        assertTrue(Artifacts.looksLike("image/jpeg", new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe0}));
        assertTrue(Artifacts.looksLike("image/gif", "GIF89a....".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(Artifacts.looksLike("image/webp", "RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.US_ASCII)));
        assertFalse(Artifacts.looksLike("image/webp", "RIFF\0\0\0\0WAVEfmt ".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(Artifacts.looksLike("image/svg+xml", "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
                .getBytes(StandardCharsets.UTF_8)));
        assertFalse(Artifacts.looksLike("image/svg+xml", new byte[] {0, '<', 's', 'v', 'g'}));
        assertFalse(Artifacts.looksLike("text/csv", "a,b".getBytes(StandardCharsets.UTF_8)));
        assertFalse(Artifacts.looksLike("image/png", new byte[0]));
    }
}
