package dev.warden.approval;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The {@code decision} of request_approval, exactly the values of CONTRACT.md. */
public enum Verdict {
    APPROVED, DENIED, EXPIRED;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
