package dev.warden.policy;

import dev.warden.call.Tier;
import java.util.Locale;

/** What a rule does with a call, from least to most restrictive: the strictest matching rule wins. */
public enum Action {
    L1, L2, L3, APPROVE, BLOCK;

    static Action parse(String s) {
        if (s == null) {
            return null;
        }
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        }
        catch (IllegalArgumentException e) {
            return null;
        }
    }

    Tier tier() {
        return switch (this) {
            case L1 -> Tier.L1;
            case L2 -> Tier.L2;
            case L3 -> Tier.L3;
            case APPROVE, BLOCK -> Tier.L4;
        };
    }

    static Action max(Action a, Action b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    String wire() {
        return this == APPROVE || this == BLOCK ? name().toLowerCase(Locale.ROOT) : name();
    }
}
