/**
 * Output and error sanitizing: valid UTF-8, no terminal escapes, secrets redacted, host paths scrubbed.
 * Secrets are found by gitleaks' default ruleset (resources secrets/gitleaks.toml, read once, RE2 patterns
 * translated by Re2Syntax) plus Warden's own rules, all behind one keyword automaton. Pure; depends on
 * nothing else in Warden.
 */
package dev.warden.sanitize;
