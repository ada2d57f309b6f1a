# Warden's bash kernel: one live shell that sources each cell, so variables, functions, options and the
# directory persist. Started by kernel/start.sh inside an L2 sandbox: fd 3 the requests, fd 4 the replies,
# fds 5 and 6 the files that stdout and stderr append to, 7 and 8 reading them (see Kernel.java).
__warden_kernel_dir=/tmp/.warden-kernel
printf '{"hello":"warden-kernel","language":"bash","pid":%d}\n' "$$" >&4
while :; do
  trap '' INT
  IFS=' ' read -r __warden_kernel_nonce __warden_kernel_clen __warden_kernel_slen __warden_kernel_cap __warden_kernel_rest <&3 || exit 0
  command head -c "$__warden_kernel_clen" <&3 > "$__warden_kernel_dir/cell"
  command head -c "$__warden_kernel_slen" <&3 > "$__warden_kernel_dir/stdin"
  : > "/proc/$$/fd/5"
  : > "/proc/$$/fd/6"
  __warden_kernel_status=ok
  # an interrupt ends the sourced cell (a return in a trap returns from the file being sourced)
  trap '__warden_kernel_status=interrupted; return 130' INT
  source "$__warden_kernel_dir/cell" < "$__warden_kernel_dir/stdin"
  __warden_kernel_exit=$?
  trap '' INT
  if [[ $__warden_kernel_status == ok && $__warden_kernel_exit != 0 ]]; then __warden_kernel_status=error; fi
  command head -c "$__warden_kernel_cap" "/proc/$$/fd/7" > "$__warden_kernel_dir/out.snap"
  command head -c "$__warden_kernel_cap" "/proc/$$/fd/8" > "$__warden_kernel_dir/err.snap"
  builtin printf '{"nonce":"%s","status":"%s","exit_code":%d,"out":%d,"err":%d,"out_size":%d,"err_size":%d,"images":[],"images_dropped":0}\n' \
    "$__warden_kernel_nonce" "$__warden_kernel_status" "$__warden_kernel_exit" \
    "$(command stat -c %s "$__warden_kernel_dir/out.snap")" "$(command stat -c %s "$__warden_kernel_dir/err.snap")" \
    "$(command stat -L -c %s "/proc/$$/fd/7")" "$(command stat -L -c %s "/proc/$$/fd/8")" >&4
  command cat "$__warden_kernel_dir/out.snap" "$__warden_kernel_dir/err.snap" >&4
done
