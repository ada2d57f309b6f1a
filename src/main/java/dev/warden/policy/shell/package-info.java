/**
 * Warden's own parser for the shell command language ({@link dev.warden.policy.shell.ShellParser}): POSIX
 * plus the bash extensions agents write, into a tree of what would run ({@link dev.warden.policy.shell.Node}),
 * expanding and evaluating nothing; what it cannot read is an error, never a guess. The policy judges
 * that tree. Nothing here depends on the rest of Warden.
 */
package dev.warden.policy.shell;
