package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.servlet.http.HttpServletRequest;
import java.lang.reflect.Proxy;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OperatorAuthTest {

    private final OperatorAuth auth = new OperatorAuth("operator-token-0123456789abcdef");

    @Test
    void theTokenOpensAndNothingElse() {
        assertTrue(auth.token("operator-token-0123456789abcdef"));
        assertTrue(auth.token("  operator-token-0123456789abcdef\n"));
        assertFalse(auth.token("operator-token-0123456789abcde"));
        assertFalse(auth.token("operator-token-0123456789abcdefX"));
        assertFalse(auth.token(""));
        assertFalse(auth.token(null));
    }

    @Test
    void bearer() {
        assertTrue(auth.bearer("Bearer operator-token-0123456789abcdef"));
        assertTrue(auth.bearer("bearer operator-token-0123456789abcdef"));
        assertFalse(auth.bearer("Basic operator-token-0123456789abcdef"));
        assertFalse(auth.bearer("Bearer client-token"));
        assertFalse(auth.bearer("Bearer"));
        assertFalse(auth.bearer(null));
    }

    @Test
    void csrfIsDerivedFromTheTokenAndChecked() {
        assertEquals(64, auth.csrf().length());
        assertTrue(auth.csrf(auth.csrf()));
        assertFalse(auth.csrf(auth.csrf().substring(1)));
        assertFalse(auth.csrf(null));
        assertNotEquals(auth.csrf(), new OperatorAuth("another-operator-token-000000000").csrf());
    }

    /** A request with only these headers. */
    private static HttpServletRequest request(Map<String, String> headers) {
        return (HttpServletRequest) Proxy.newProxyInstance(OperatorAuthTest.class.getClassLoader(),
                new Class<?>[] {HttpServletRequest.class}, (proxy, method, args) -> method.getName().equals("getHeader")
                        ? headers.get((String) args[0]) : null);
    }

    @Test
    void theLoginCookieAmongOthers() {
        String value = new OperatorAuthCookie(auth).value();
        assertTrue(auth.cookie(request(Map.of("Cookie", "a=b; " + OperatorAuth.COOKIE + "=" + value + "; c=d"))));
        assertFalse(auth.cookie(request(Map.of("Cookie", OperatorAuth.COOKIE + "=" + value.substring(1)))));
        assertFalse(auth.cookie(request(Map.of("Cookie", "other=" + value))));
        assertFalse(auth.cookie(request(Map.of())));
    }

    @Test
    void formsFromAnotherOriginAreRefused() {
        assertTrue(OperatorAuth.sameOrigin(request(Map.of("Host", "127.0.0.1:8080"))));
        assertTrue(OperatorAuth.sameOrigin(request(Map.of("Host", "127.0.0.1:8080", "Origin", "http://127.0.0.1:8080"))));
        assertFalse(OperatorAuth.sameOrigin(request(Map.of("Host", "127.0.0.1:8080", "Origin", "http://evil.example"))));
        assertFalse(OperatorAuth.sameOrigin(request(Map.of("Host", "127.0.0.1:8080", "Origin", "null"))));
        assertFalse(OperatorAuth.sameOrigin(request(Map.of("Origin", "http://127.0.0.1:8080"))));
    }

    /** The cookie's value as logIn sets it. */
    private record OperatorAuthCookie(OperatorAuth auth) {

        String value() {
            String[] set = new String[1];
            jakarta.servlet.http.HttpServletResponse res = (jakarta.servlet.http.HttpServletResponse) Proxy.newProxyInstance(
                    OperatorAuthTest.class.getClassLoader(), new Class<?>[] {jakarta.servlet.http.HttpServletResponse.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("addHeader") && "Set-Cookie".equals(args[0])) {
                            set[0] = (String) args[1];
                        }
                        return null;
                    });
            auth.logIn(res);
            assertTrue(set[0].contains("HttpOnly") && set[0].contains("SameSite=Strict"), set[0]);
            return set[0].substring(OperatorAuth.COOKIE.length() + 1, set[0].indexOf(';'));
        }
    }
}
