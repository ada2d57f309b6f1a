#!/usr/bin/env bash
# Warden benchmark: stdio MCP round trips vs the same programs run bare. See bench/README.md.
# Usage: bench/run.sh [--policy-only] | [--startup [--rounds 10] [--rt] [--first-call] [--compare LABEL=JAR]] | [--egress [--downloads 5] [--n 60]] | [--background [--n 40]] | [--kernels [--n 200] [--starts 10]] | [--files [--n 20]] | [--artifacts [--n 20] [--sizes 10000,50000]] | [--environment [--n 15] [--starts 5] [--no-l3]] | [--warm-interpreters [--n 60] [--gap-ms 300] [--environment host|warden]] | [--project [files] [mb] [n]] | [--containers [warm-n] [cold-n] [runtimes]] | [--sanitizer [iterations]] | [--n 50] [--warmup 5] [--gap-ms 30] [--starts 5] [--idle-s 3] [--jar PATH]
#   --containers: only the L3 container figures (cold, warm p50/p99, 20 concurrent) under each OCI
#                 runtime (default runc,runsc; runsc when the engine has it); needs a Docker engine and
#                 the warden/python image (tools/install-docker.sh, tools/build-images.sh)
#   --sanitizer:  only the output sanitizer, ms per 100 KB, before the gitleaks ruleset and now
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
jar="$root/target/warden.jar"

# The jar may be missing for a moment while someone rebuilds it: wait a little before building.
for _ in $(seq 1 20); do
    [[ -f "$jar" ]] && break
    [[ -d "$root/target" ]] || break
    sleep 1
done
if [[ ! -f "$jar" ]]; then
    echo "bench: $jar missing, building it (mvn -q -DskipTests package)" >&2
    (cd "$root" && mvn -q -DskipTests package)
fi
[[ -f "$jar" ]] || { echo "bench: still no $jar after the build" >&2; exit 1; }
# the class-data sharing archive tools/start.sh uses, so its start-up is measured too
if [[ "$jar" == "$root/target/warden.jar" ]] && { [[ ! -f "$root/target/warden.jsa" ]] || [[ "$jar" -nt "$root/target/warden.jsa" ]]; }; then
    bash "$root/tools/cds-archive.sh" || true
fi

mkdir -p "$here/out"
# policy decision time (in-process, printed): the bench class lives with the tests
if [[ ! -f "$root/target/test-classes/dev/warden/bench/PolicyBench.class" ]]; then
    (cd "$root" && mvn -q test-compile)
fi
if [[ "${1:-}" == "--sanitizer" ]]; then
    [[ -f "$root/target/test-classes/dev/warden/bench/SanitizerBench.class" ]] || (cd "$root" && mvn -q test-compile)
    # secret redaction and escapes per 100 KB of output, the sanitizer before the gitleaks ruleset and now
    java -cp "$jar:$root/target/test-classes" dev.warden.bench.SanitizerBench "${2:-1000}" 2>/dev/null \
        | tee "$here/out/sanitizer.txt"
    exit "${PIPESTATUS[0]}"
fi
if [[ "${1:-}" == "--project" ]]; then
    [[ -f "$root/target/test-classes/dev/warden/bench/ProjectCheckpointBench.class" ]] || (cd "$root" && mvn -q test-compile)
    # project mode: an approved call's checkpoint plus restore (or keep) of a 1 GB, 50,000-file project, against a copy
    java -cp "$jar:$root/target/test-classes" dev.warden.bench.ProjectCheckpointBench "${2:-50000}" "${3:-1024}" "${4:-10}" \
        2>/dev/null | tee "$here/out/project.txt"
    exit "${PIPESTATUS[0]}"
fi
if [[ "${1:-}" == "--startup" ]]; then
    # spawn -> initialize answered: JDK 17, with the CDS archive, JDK 25, with its AOT cache (built here if missing),
    # the variants taking turns; extra arguments go to bench/startup.py (--rounds N, --compare LABEL=JAR, --rt, --first-call)
    shift
    java25=${WARDEN_JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
    if [[ -x "$java25" && "$jar" == "$root/target/warden.jar" ]] && { [[ ! -f "$root/target/warden.aot" ]] || [[ "$jar" -nt "$root/target/warden.aot" ]]; }; then
        bash "$root/tools/aot-cache.sh" "$java25" || true
    fi
    /usr/bin/python3 "$here/startup.py" --jar "$jar" --java25 "$java25" --out "$here/out/startup.json" "$@" | tee "$here/out/startup.txt"
    exit "${PIPESTATUS[0]}"
fi
if [[ "${1:-}" == "--egress" ]]; then
    # the proxy: a 50 MB download direct and through it, and its cost to calls that use no network
    shift
    exec /usr/bin/python3 "$here/egress.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--background" ]]; then
    # the session's shared network namespace against one per run, a background start, a line's way to get_execution
    shift
    exec /usr/bin/python3 "$here/background.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--environment" ]]; then
    # L2 on Warden's environment against the host's /usr (first call of a session, python start, imports), and L3
    shift
    exec /usr/bin/python3 "$here/environment.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--warm-interpreters" ]]; then
    # stateless execute_code python and javascript with warm interpreters and without
    # (sandbox.warm_interpreters: false), against the bare interpreters' start
    shift
    exec /usr/bin/python3 "$here/warm.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--kernels" ]]; then
    # kernel cells against the bare interpreter start and one-off calls; kernel start, memory, a 100-cell session
    shift
    exec /usr/bin/python3 "$here/kernels.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--files" ]]; then
    # read_file, write_file of 1 MiB and list_files of 10,000 entries against the same done bare
    shift
    exec /usr/bin/python3 "$here/files.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--artifacts" ]]; then
    # the walk for a run's changed files in workspaces of 10,000 and 50,000 files: execute_code bash true with
    # artifacts on and off, and the same find bare
    shift
    [[ -f "$root/target/test-classes/dev/warden/pipeline/ChangedFilesBench.class" ]] || (cd "$root" && mvn -q test-compile)
    java -cp "$jar:$root/target/test-classes" dev.warden.pipeline.ChangedFilesBench 30 2>/dev/null | tee "$here/out/walk.txt"
    exec /usr/bin/python3 "$here/artifacts.py" --jar "$jar" "$@"
fi
if [[ "${1:-}" == "--containers" ]]; then
    [[ -f "$root/target/test-classes/dev/warden/bench/ContainerBench.class" ]] || (cd "$root" && mvn -q test-compile)
    # its INFO lines go to stderr; the table to stdout and bench/out/containers.txt
    java -cp "$jar:$root/target/test-classes" dev.warden.bench.ContainerBench "${2:-100}" "${3:-20}" "${4:-runc,runsc}" \
        | tee "$here/out/containers.txt"
    exit "${PIPESTATUS[0]}"
fi
java -cp "$jar:$root/target/test-classes" dev.warden.bench.PolicyBench 2000 | tee "$here/out/policy.txt"
# what one audit line costs a call (the audit's writer thread against a write on the caller's thread)
java -cp "$jar:$root/target/test-classes" dev.warden.bench.AuditBench 5000 2>/dev/null | tee "$here/out/audit.txt"
[[ "${1:-}" == "--policy-only" ]] && exit 0
exec /usr/bin/python3 "$here/bench.py" --jar "$jar" "$@"
