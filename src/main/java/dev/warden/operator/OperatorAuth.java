package dev.warden.operator;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Who may use the operator console: whoever holds the operator token (client tokens never open it).
 * The CLI sends it as a bearer token; a browser logs in with it once and then carries a cookie derived
 * from it (HttpOnly, SameSite=Strict), and every form it posts carries a CSRF token, also derived
 * from it, and must come from this origin. Every comparison is constant-time: both sides are hashed
 * first, so neither the content nor the length of a wrong guess shows in the time it takes.
 */
public final class OperatorAuth {

    static final String COOKIE = "warden_operator";

    private final byte[] token;
    private final String cookieValue;
    private final String csrf;

    public OperatorAuth(String operatorToken) {
        this.token = sha256(operatorToken);
        this.cookieValue = hmac(operatorToken, "warden-operator-cookie");
        this.csrf = hmac(operatorToken, "warden-operator-csrf");
    }

    /** The token typed into the login form (surrounding blanks ignored). */
    public boolean token(String given) {
        return given != null && same(token, sha256(given.strip()));
    }

    /** An {@code Authorization: Bearer TOKEN} header with the operator token. */
    public boolean bearer(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return token(header.substring(7));
    }

    /** The login cookie, among the request's cookies. */
    public boolean cookie(HttpServletRequest req) {
        String header = req.getHeader("Cookie");
        if (header == null) {
            return false;
        }
        boolean ok = false;
        for (String part : header.split(";")) {
            String p = part.strip();
            if (p.startsWith(COOKIE + "=")) {
                ok |= equal(cookieValue, p.substring(COOKIE.length() + 1));
            }
        }
        return ok;
    }

    /** The CSRF token a form of the page carries (in a hidden field). */
    public String csrf() {
        return csrf;
    }

    public boolean csrf(String given) {
        return given != null && equal(csrf, given);
    }

    public void logIn(HttpServletResponse res) {
        res.addHeader("Set-Cookie", COOKIE + "=" + cookieValue + "; Path=/operator; HttpOnly; SameSite=Strict");
    }

    public void logOut(HttpServletResponse res) {
        res.addHeader("Set-Cookie", COOKIE + "=; Path=/operator; HttpOnly; SameSite=Strict; Max-Age=0");
    }

    /**
     * A form post from a page of another origin is refused (with SameSite=Strict and the CSRF token, a
     * third lock). No Origin header: not a browser's cross-site form; the cookie and the CSRF token
     * still decide.
     */
    public static boolean sameOrigin(HttpServletRequest req) {
        String origin = req.getHeader("Origin");
        if (origin == null) {
            return true;
        }
        String host = req.getHeader("Host");
        return host != null && (origin.equals("http://" + host) || origin.equals("https://" + host));
    }

    /** The headers every operator answer carries: never cached, never framed, never sniffed. */
    static void hardened(HttpServletResponse res) {
        res.setHeader("Cache-Control", "no-store");
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.setHeader("X-Frame-Options", "DENY");
        // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on form posts
        res.setHeader("Referrer-Policy", "same-origin");
    }

    private static boolean equal(String expected, String given) {
        return same(sha256(expected), sha256(given));
    }

    private static boolean same(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        }
        catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hmac(String key, String what) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(what.getBytes(StandardCharsets.UTF_8)));
        }
        catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }
}
