package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
