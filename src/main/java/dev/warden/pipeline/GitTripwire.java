package dev.warden.pipeline;

import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Project mode's check after every run that could write the project: git metadata that would make
 * the user's own git run a program on the host, set aside before the user can meet it.
 *
 * <p>The guard ({@code server.project_read_only}) keeps the project's {@code .git/config} and
 * {@code .git/hooks} read-only, but git reads more than those: a repository nested in the working
 * tree (a {@code .git} directory, or a {@code .git} file naming one) that the index records as a
 * submodule is entered by the user's {@code git status}, which reads its config, so a
 * {@code core.fsmonitor} there runs as the user (measured here with git 2.39); so are the gitdirs of
 * {@code .git/modules} and {@code .git/worktrees}, and a {@code commondir} file redirects a
 * repository's whole config. A run can create all of these. After each run this check, a fixed
 * program run as the project's owner ({@code setpriv}, no new privileges: never root, so a path a run
 * swaps for a symlink leads it only where the owner may write anyway; Warden never opens a file of the
 * project itself) on the session's view of the project, finds every such gitdir the way the owner's git
 * would resolve it on the host, and sets aside (renames to {@code NAME.warden-quarantined})
 * a config with any key outside a short list git needs to work with a clone or a submodule, every hook
 * that is not a {@code .sample}, every {@code commondir}, a {@code .git} symlink, and a {@code .git}
 * file whose gitdir is outside the project. Git works without them. The project's own
 * {@code .git/config} and hooks are left alone while the guard holds them (they are the user's), and
 * when the operator left them out of the guard; where the guard is configured for them but does not
 * hold them (they were missing when the session started, so a run made them), they are checked too.
 * Each set-aside file is a critical finding of the call, so its audit line is an incident.
 *
 * <p>It is a check after the fact, not a boundary: a kernel or a background run that writes such a
 * file between two runs' checks leaves it there until the next check of the session.
 */
final class GitTripwire {

    private static final Logger log = LoggerFactory.getLogger(GitTripwire.class);

    static final String RULE = "project.git_exec";
    static final String SUFFIX = ".warden-quarantined";
    private static final int MAX_OUTPUT = 256 * 1024;
    private static final long TIMEOUT_S = 30;
    /** At most this many set-aside paths named in the finding (all are counted). */
    private static final int NAMED = 10;

    /**
     * $1, $2: 1 when the guard is configured for .git/config, .git/hooks; $3 the session's view of the
     * project (where the guard's read-only mounts are, so a guard-held path is not writable there); $4 the
     * suffix a set-aside file gets ({@link #SUFFIX}). One line per file set aside,
     * "quarantined\tPATH", or that could not be, "failed\tPATH".
     */
    static final String SCRIPT = """
            set -u
            cd / || exit 3 # git reads its working directory even for --file: Warden's own may not be the owner's to read
            export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=/nonexistent LC_ALL=C
            unset GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_CONFIG GIT_CONFIG_PARAMETERS
            guard_config=$1
            guard_hooks=$2
            top=$3
            q=$4
            allowed='^(core\\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks|worktree)'
            allowed="$allowed|remote\\..*\\.(url|pushurl|fetch)|branch\\..*\\.(remote|merge|rebase)|submodule\\..*\\.(url|active)"
            allowed="$allowed"'|extensions\\.objectformat|user\\.(name|email)|init\\.defaultbranch)$'
            aside() {
              chmod u+w -- "$(dirname -- "$1")" 2>/dev/null
              if mv -f -T -- "$1" "$1$q" 2>/dev/null; then printf 'quarantined\\t%s\\n' "${1#$top/}"
              else printf 'failed\\t%s\\n' "${1#$top/}"; fi
            }
            check_config() {
              local f=$1 keys
              [ -e "$f" ] || [ -L "$f" ] || return 0
              if [ -L "$f" ] || [ ! -f "$f" ] || ! keys=$(git config --file "$f" --name-only --list 2>/dev/null); then
                aside "$f"; return
              fi
              if [ -n "$keys" ] && printf '%s\\n' "$keys" | grep -Eivq "$allowed"; then aside "$f"; fi
            }
            check_hooks() {
              local d=$1 h
              if [ -L "$d" ]; then aside "$d"; return; fi
              [ -d "$d" ] || return 0
              for h in "$d"/* "$d"/.[!.]*; do
                [ -e "$h" ] || [ -L "$h" ] || continue
                case "$h" in *.sample|*"$q") continue ;; esac
                aside "$h"
              done
            }
            gitdirs_below() {
              local d
              [ -d "$1" ] && [ ! -L "$1" ] || return 0
              while IFS= read -r -d '' d; do check_gitdir "$d"; done < <(find -P "$1" -xdev -name HEAD -type f -printf '%h\\0' 2>/dev/null)
            }
            check_gitdir() {
              local g=$1
              check_config "$g/config"
              check_config "$g/config.worktree"
              if [ -e "$g/commondir" ] || [ -L "$g/commondir" ]; then aside "$g/commondir"; fi
              check_hooks "$g/hooks"
            }
            # the project's own repository: its commondir always; its config and hooks only where the guard is
            # configured for them yet does not hold them (they were missing when the session started: a run made them)
            if [ -d "$top/.git" ] && [ ! -L "$top/.git" ]; then
              g=$top/.git
              if [ -e "$g/commondir" ] || [ -L "$g/commondir" ]; then aside "$g/commondir"; fi
              if [ "$guard_config" = 1 ] && { [ -w "$g/config" ] || [ -L "$g/config" ]; }; then check_config "$g/config"; fi
              if [ "$guard_hooks" = 1 ] && { [ -w "$g/hooks" ] || [ -L "$g/hooks" ]; }; then check_hooks "$g/hooks"; fi
              check_config "$g/config.worktree"
              gitdirs_below "$g/modules"
              gitdirs_below "$g/worktrees"
            fi
            # repositories nested in the working tree
            while IFS= read -r -d '' e; do
              if [ -L "$e" ]; then aside "$e"; continue; fi
              if [ -d "$e" ]; then
                check_gitdir "$e"
                gitdirs_below "$e/modules"
                gitdirs_below "$e/worktrees"
                continue
              fi
              [ -f "$e" ] || continue
              line=$(head -c 4096 -- "$e" | head -n 1)
              t=${line#gitdir: }
              if [ "$t" = "$line" ] || [ -z "$t" ]; then aside "$e"; continue; fi
              case "$t" in /*) ;; *) t=$(dirname -- "$e")/$t ;; esac
              r=$(realpath -e -- "$t" 2>/dev/null) || { aside "$e"; continue; }
              # the project's own gitdir and its modules are checked above (the user's own config and hooks left alone)
              case "$r/" in "$top"/.git/*) ;; "$top"/*) check_gitdir "$r" ;; *) aside "$e" ;; esac
            done < <(find -P "$top" -xdev \\( -path "$top/.git" -prune \\) -o \\( -name .git -print0 \\) 2>/dev/null)
            exit 0
            """;

    private final Supplier<Workspaces.Project> project;
    private final Supplier<List<String>> guarded;

    /**
     * @param project the project and its owner (null without project mode)
     * @param guarded the project's read-only paths ({@code server.project_read_only})
     */
    GitTripwire(Supplier<Workspaces.Project> project, Supplier<List<String>> guarded) {
        this.project = project;
        this.guarded = guarded;
    }

    /** The findings of the check after a run of {@code c} in the project: none when nothing was set aside. */
    List<Finding> check(CallContext c, Workspace ws) {
        Workspaces.Project p = project.get();
        if (p == null) {
            return List.of();
        }
        List<String> ro = guarded.get();
        List<String> cmd = List.of("setpriv", "--reuid", Integer.toString(p.uid()), "--regid", Integer.toString(p.gid()),
                "--clear-groups", "--no-new-privs", "--", "/bin/bash", "-c", SCRIPT, "git-tripwire",
                ro.contains(".git/config") ? "1" : "0", ro.contains(".git/hooks") ? "1" : "0", view(ws), SUFFIX);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(new java.io.File("/"))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process proc;
        try {
            proc = pb.start();
        }
        catch (IOException e) {
            log.warn("call {}: the project's git check could not start: {}", c.id, e.getMessage());
            return List.of(notRun(e.getMessage()));
        }
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = proc.getInputStream()) {
                return in.readNBytes(MAX_OUTPUT);
            }
            catch (IOException e) {
                return new byte[0];
            }
        });
        try {
            if (!proc.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                proc.descendants().forEach(ProcessHandle::destroyForcibly);
                proc.destroyForcibly();
                log.warn("call {}: the project's git check took over {} s; stopped", c.id, TIMEOUT_S);
                return List.of(notRun("it took over " + TIMEOUT_S + " s"));
            }
            if (proc.exitValue() != 0) {
                return List.of(notRun("it exited with " + proc.exitValue()));
            }
            return findings(new String(out.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            proc.descendants().forEach(ProcessHandle::destroyForcibly);
            proc.destroyForcibly();
            return List.of(notRun("interrupted"));
        }
        catch (ExecutionException | TimeoutException e) {
            return List.of(notRun(e.toString()));
        }
    }

    /** The session's view of the project, resolved (the script compares the gitdirs it finds against it). */
    private static String view(Workspace ws) {
        try {
            return ws.root().toRealPath().toString();
        }
        catch (IOException e) {
            return ws.root().toAbsolutePath().toString();
        }
    }

    /** The check's lines as findings: one for what was set aside, one for what could not be. */
    static List<Finding> findings(String out) {
        List<String> aside = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (String line : out.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab < 0) {
                continue;
            }
            String path = dev.warden.approval.AgentText.visibleLine(line.substring(tab + 1));
            (line.startsWith("quarantined") ? aside : failed).add(path);
        }
        List<Finding> f = new ArrayList<>();
        if (!aside.isEmpty()) {
            f.add(new Finding(RULE, Severity.CRITICAL, "git metadata that would run a program on the host when the "
                    + "project's owner runs git (a hook, a commondir, or a repository config with keys beyond the basic "
                    + "ones) was set aside as NAME" + SUFFIX + ": " + named(aside)));
        }
        if (!failed.isEmpty()) {
            f.add(new Finding(RULE, Severity.CRITICAL, "git metadata that would run a program on the host when the "
                    + "project's owner runs git could NOT be set aside; do not run git in the project before removing "
                    + "it: " + named(failed)));
        }
        return f;
    }

    private static String named(List<String> paths) {
        String shown = String.join(", ", paths.subList(0, Math.min(NAMED, paths.size())));
        return paths.size() > NAMED ? shown + " and " + (paths.size() - NAMED) + " more" : shown;
    }

    private static Finding notRun(String why) {
        return new Finding(RULE, Severity.HIGH, "the check of the project's git metadata after this run could not run ("
                + why + "): hooks or repository configs it wrote were not looked at");
    }
}
