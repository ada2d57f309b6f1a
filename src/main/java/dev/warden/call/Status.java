package dev.warden.call;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The {@code status} of a result, exactly the values of CONTRACT.md. */
public enum Status {
    OK, FAILED, TIMEOUT, KILLED, BLOCKED, NEEDS_APPROVAL, DENIED, RATE_LIMITED, INVALID,
    /** A background run that goes on: get_execution reads it. */
    RUNNING,
    /** In a fleet: a run whose replica died while it ran (its outcome is unknown); get_execution of it elsewhere. */
    LOST;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
