# Starts one of Warden's kernels ($1: python, javascript or bash; $2: its program). The requests come
# on stdin and the replies go to stdout: they move to fds 3 and 4, and the program's own stdout and
# stderr append to two files that fds 5 and 6 keep open (7 and 8 read them), which the kernel cuts and reads for each cell.
umask 0002
mkdir -p /tmp/.warden-kernel || exit 1
: > /tmp/.warden-kernel/out && : > /tmp/.warden-kernel/err || exit 1
unset PWD OLDPWD # bash's own, not the run's environment (the kernels drop the SHLVL exec puts back)
exec 3<&0 4>&1 5>>/tmp/.warden-kernel/out 6>>/tmp/.warden-kernel/err 7</tmp/.warden-kernel/out 8</tmp/.warden-kernel/err </dev/null >&5 2>&6
case "$1" in
  python) exec /usr/bin/python3 -u -c "$2" ;;
  javascript) exec /usr/bin/node -e "$2" ;;
  bash) exec /bin/bash -c "$2" warden-kernel ;;
esac
exit 1
