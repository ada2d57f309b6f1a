# Warden's bash kernel: one live shell that sources each cell, so variables, functions, options and the
# directory persist. Started by kernel/start.sh inside an L2 sandbox: fd 3 the requests, fd 4 the replies,
# fds 5 and 6 the files that stdout and stderr append to, 7 and 8 reading them (see Kernel.java). Only
# builtins between cells: a process started per cell would cost more than the cell. (Requests hold no
# NUL: Warden refuses one in any string. A NUL byte in a cell's output is dropped.)
__warden_kernel_dir=/tmp/.warden-kernel
__warden_kernel_read() { # $1: variable, $2: bytes, from fd 3
  local LC_ALL=C
  if (( $2 > 0 )); then IFS= read -r -d '' -N "$2" -u 3 "$1"; else printf -v "$1" ''; fi
}
__warden_kernel_head() { # $1: variable, $2: fd of the output file, $3: most bytes; sets ${1}_len and ${1}_size
  local LC_ALL=C
  IFS= read -r -d '' -N "$(( $3 + 1 ))" "$1" < "/proc/$$/fd/$2"
  local -n __warden_kernel_v=$1
  printf -v "${1}_size" '%d' "${#__warden_kernel_v}"
  __warden_kernel_v=${__warden_kernel_v:0:$3}
  printf -v "${1}_len" '%d' "${#__warden_kernel_v}"
}
__warden_kernel_reply() {
  local LC_ALL=C
  builtin printf '{"nonce":"%s","status":"%s","exit_code":%d,"out":%d,"err":%d,"out_size":%d,"err_size":%d,"images":[],"images_dropped":0}\n%s%s' \
    "$__warden_kernel_nonce" "$__warden_kernel_status" "$__warden_kernel_exit" \
    "$__warden_kernel_out_len" "$__warden_kernel_err_len" "$__warden_kernel_out_size" "$__warden_kernel_err_size" \
    "$__warden_kernel_out" "$__warden_kernel_err" >&4
}
builtin printf '{"hello":"warden-kernel","language":"bash","pid":%d}\n' "$$" >&4
while :; do
  trap '' INT
  IFS=' ' read -r __warden_kernel_nonce __warden_kernel_clen __warden_kernel_slen __warden_kernel_cap __warden_kernel_rest <&3 || exit 0
  __warden_kernel_read __warden_kernel_code "$__warden_kernel_clen"
  __warden_kernel_read __warden_kernel_input "$__warden_kernel_slen"
  builtin printf '%s' "$__warden_kernel_code" > "$__warden_kernel_dir/cell"
  builtin printf '%s' "$__warden_kernel_input" > "$__warden_kernel_dir/stdin"
  unset __warden_kernel_code __warden_kernel_input
  : > "/proc/$$/fd/5"
  : > "/proc/$$/fd/6"
  __warden_kernel_status=ok
  # an interrupt ends the sourced cell (a return in a trap returns from the file being sourced)
  trap '__warden_kernel_status=interrupted; return 130' INT
  source "$__warden_kernel_dir/cell" < "$__warden_kernel_dir/stdin"
  __warden_kernel_exit=$?
  trap '' INT
  if [[ $__warden_kernel_status == ok && $__warden_kernel_exit != 0 ]]; then __warden_kernel_status=error; fi
  __warden_kernel_head __warden_kernel_out 7 "$__warden_kernel_cap"
  __warden_kernel_head __warden_kernel_err 8 "$__warden_kernel_cap"
  __warden_kernel_reply
  unset __warden_kernel_out __warden_kernel_err
done
