# Warden's warm python loader (python3 -c THIS): waits for "<length>\n" and that many bytes of code on
# fd 0, read with os.read and never more, so the call's stdin follows untouched for sys.stdin; then runs
# the code as `python3 -c CODE` would: in __main__, file "<string>", with nothing of this loader left.
def _warden_warm():
    import os, sys
    def read(n):
        got = b""
        while len(got) < n:
            b = os.read(0, n - len(got))
            if not b:
                os._exit(125)  # Warden went away before sending code: nothing was asked to run
            got += b
        return got
    head = b""
    while not head.endswith(b"\n"):
        head += read(1)
    src = read(int(head)).decode("utf-8", "surrogateescape")
    main = sys.modules["__main__"].__dict__
    del main["_warden_warm"]
    if len(sys.orig_argv) >= 2 and sys.orig_argv[-2] == "-c":
        sys.orig_argv[-1] = src
    try:
        exec(compile(src, "<string>", "exec", dont_inherit=True), main)
    except (SystemExit, KeyboardInterrupt):
        raise  # exit status as python's own (a KeyboardInterrupt's traceback keeps this frame)
    except BaseException as e:
        # printed as python prints an uncaught exception, without this loader's frame
        tb = e.__traceback__.tb_next
        sys.last_type, sys.last_value, sys.last_traceback = type(e), e, tb
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        del e, tb
        raise SystemExit(1)
_warden_warm()
