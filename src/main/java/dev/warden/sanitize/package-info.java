/** Output and error sanitizing: valid UTF-8, no terminal escapes, secrets redacted, host paths scrubbed. Pure; depends on nothing else in Warden. */
package dev.warden.sanitize;
