# Warden's python kernel: one live interpreter that runs cells sent by the server. It is started by
# kernel/start.sh inside an L2 sandbox, with fd 3 the requests, fd 4 the replies, fd 5 and 6 the files
# that fds 1 and 2 append to (see Kernel.java for the protocol). Everything a cell can reach here is
# its own sandbox's: the server trusts nothing this program says beyond its own result.
import ast, importlib.abc, importlib.util, io, linecache, os, signal, stat, sys, time, traceback, types

def _warden_kernel():
    ctl_in = os.fdopen(3, "rb", buffering=0)
    ctl_out = os.fdopen(4, "wb", buffering=0)
    for fd in (3, 4, 5, 6, 7, 8):
        os.set_inheritable(fd, False)
    figures = []

    def capture_figures():
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        try:
            for num in plt.get_fignums():
                buf = io.BytesIO()
                plt.figure(num).savefig(buf, format="png", bbox_inches="tight")
                figures.append(buf.getvalue())
            plt.close("all")
        except Exception:
            traceback.print_exc()

    # matplotlib's backend for this kernel: Agg drawing, and show() hands the open figures back. It is
    # made when matplotlib asks for it, so a cell that never plots never imports matplotlib.
    class InlineBackend(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name == "warden_inline" else None
        def create_module(self, spec):
            return None
        def exec_module(self, module):
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.backend_bases import FigureManagerBase
            module.FigureCanvas = FigureCanvasAgg
            module.FigureManager = FigureManagerBase
            module.show = lambda *a, **k: capture_figures()
    sys.meta_path.append(InlineBackend())
    os.environ["MPLBACKEND"] = "module://warden_inline"
    os.environ.pop("SHLVL", None)  # start.sh's bash put it there; a one-off run has none

    main = types.ModuleType("__main__")
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    ns = main.__dict__
    block = {signal.SIGINT}

    def readline():
        line = b""
        while not line.endswith(b"\n"):
            c = ctl_in.read(1)
            if not c:
                os._exit(0)
            line += c
            if len(line) > 256:
                os._exit(2)
        return line.decode("ascii").split()

    def readn(n):
        parts = []
        while n > 0:
            b = ctl_in.read(min(n, 1 << 20))
            if not b:
                os._exit(0)
            parts.append(b)
            n -= len(b)
        return b"".join(parts)

    def head(fd, cap):
        size = os.fstat(fd).st_size
        return os.pread(fd, min(size, cap), 0), size

    skipped = {".git", "node_modules", "__pycache__", ".npm", ".cache", ".local"}  # ChangedFiles.SKIPPED

    def changed(since_ns, walk_ms):
        # the regular files of the workspace whose ctime is after the cell's start, as find -P -xdev would
        # list them (SIZE TAB PATH NUL; at most 101; no symlink followed, nothing opened but directories)
        root = "/workspace"
        deadline = time.monotonic() + walk_ms / 1000.0
        found, dirs = [], [""]
        try:
            dev = os.lstat(root).st_dev
        except OSError:
            return b"", False
        while dirs:
            rel = dirs.pop()
            try:
                entries = os.scandir(root + "/" + rel if rel else root)
            except OSError:
                continue
            with entries:
                for e in entries:
                    if time.monotonic() > deadline:
                        return b"".join(found), True
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    path = rel + "/" + e.name if rel else e.name
                    if stat.S_ISDIR(st.st_mode):
                        if e.name not in skipped and st.st_dev == dev:
                            dirs.append(path)
                    elif stat.S_ISREG(st.st_mode) and st.st_ctime_ns > since_ns:
                        found.append(b"%d\t%s\0" % (st.st_size, os.fsencode(path)))
                        if len(found) > 100:
                            return b"".join(found), True
        return b"".join(found), False

    signal.pthread_sigmask(signal.SIG_BLOCK, block)
    ctl_out.write(('{"hello":"warden-kernel","language":"python","pid":%d}\n' % os.getpid()).encode())
    count = 0
    while True:
        nonce, code_len, stdin_len, cap, max_images, max_image_bytes, walk_ms, since_ns = readline()
        code = readn(int(code_len)).decode("utf-8", "replace")
        data = readn(int(stdin_len))
        cap, max_images, max_image_bytes = int(cap), int(max_images), int(max_image_bytes)
        count += 1
        os.ftruncate(5, 0)
        os.ftruncate(6, 0)
        with open("/tmp/.warden-kernel/stdin", "wb") as f:
            f.write(data)
        fd = os.open("/tmp/.warden-kernel/stdin", os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="surrogateescape")
        figures.clear()
        status, exit_code = "ok", 0
        name = "<cell-%d>" % count
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        # a SIGINT still pending from the end of the last cell is not this cell's
        while signal.SIGINT in signal.sigpending():
            signal.sigtimedwait(block, 0)
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, block)
            try:
                tree = ast.parse(code, name, "exec")
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, name, "exec"), ns)
                if last is not None:
                    exec(compile(ast.Interactive([last]), name, "single"), ns)
            finally:
                signal.pthread_sigmask(signal.SIG_BLOCK, block)
        except KeyboardInterrupt:
            status, exit_code = "interrupted", 130
            traceback.print_exc(limit=-1)
        except SystemExit as e:
            code_ = e.code
            exit_code = code_ if isinstance(code_, int) else (0 if code_ is None else 1)
            if not isinstance(code_, int) and code_ is not None:
                print(code_, file=sys.stderr)
            status = "exit"
        except BaseException as e:
            status, exit_code = "error", 1
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb if tb is not None else e.__traceback__)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        capture_figures()
        out, out_size = head(7, cap)
        err, err_size = head(8, cap)
        images = [f for f in figures[:max_images] if len(f) <= max_image_bytes]
        files, cut = changed(int(since_ns), int(walk_ms)) if int(walk_ms) > 0 else (None, False)
        reply = ('{"nonce":"%s","status":"%s","exit_code":%d,"out":%d,"err":%d,"out_size":%d,"err_size":%d,'
                 '"images":[%s],"images_dropped":%d%s}\n') % (
            nonce, status, exit_code, len(out), len(err), out_size, err_size,
            ",".join(str(len(i)) for i in images), len(figures) - len(images),
            "" if files is None else ',"changed":%d,"changed_truncated":%s' % (len(files), "true" if cut else "false"))
        ctl_out.write(reply.encode() + out + err + b"".join(images) + (files or b""))
        figures.clear()

_warden_kernel()
