package dev.warden.approval;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What an approval covers: this one call, or every later call of the session held by the same rules. */
public enum Scope {
    ONCE, SESSION;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
