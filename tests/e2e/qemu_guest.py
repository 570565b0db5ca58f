"""Boot a throw-away QEMU/TCG guest and talk to it over QMP.

Typical use:

    with QemuGuest(kernel, initrd, cpu="qemu64", workdir=tmp) as g:
        g.boot()                      # waits for READY on the serial console
        g.stop_in_user_mode()         # pauses the vCPU while hello-mm spins
        print(g.hmp("info registers"))
        g.dump(tmp + "/dump.elf")
    # QEMU is always killed on exit from the with-block.

Every wait is bounded; failures raise GuestError with the tail of the
serial console and of QEMU's stderr so that the suite fails loudly.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time


class GuestError(RuntimeError):
    pass


def free_tcp_port(host="127.0.0.1"):
    """Return a TCP port on host that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class QmpClient:
    """Minimal QMP client over a unix socket (one JSON object per line)."""

    def __init__(self, path, timeout=30.0):
        self.path = path
        self.sock = None
        self.buf = b""
        self.events = []
        self.next_id = 1
        self.timeout = timeout

    def connect(self, deadline, alive=lambda: True):
        last = None
        while time.monotonic() < deadline:
            if not alive():
                raise GuestError("QEMU exited before its QMP socket was ready")
            if os.path.exists(self.path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.path)
                    self.sock = s
                    break
                except OSError as e:
                    last = e
                    s.close()
            time.sleep(0.05)
        if self.sock is None:
            raise GuestError(f"cannot connect to QMP socket {self.path}: {last}")
        greeting = self._read_message(deadline)
        if "QMP" not in greeting:
            raise GuestError(f"unexpected QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _read_message(self, deadline):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                line = line.strip()
                if not line:
                    continue
                return json.loads(line)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GuestError("timed out waiting for QMP")
            self.sock.settimeout(min(remaining, 1.0))
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                raise GuestError("QMP connection closed by QEMU")
            self.buf += chunk

    def execute(self, command, arguments=None, timeout=None):
        if self.sock is None:
            raise GuestError("QMP not connected")
        msg_id = f"pw-{self.next_id}"
        self.next_id += 1
        msg = {"execute": command, "id": msg_id}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            resp = self._read_message(deadline)
            if "event" in resp:
                self.events.append(resp)
                continue
            if resp.get("id") != msg_id:
                continue
            if "error" in resp:
                err = resp["error"]
                raise GuestError(f"QMP {command} failed: {err.get('class')}: "
                                 f"{err.get('desc')}")
            return resp.get("return")


class QemuGuest:
    """One QEMU process running the e2e kernel + initramfs."""

    def __init__(self, kernel, initrd, workdir, cpu="qemu64", memory="512M",
                 machine="q35", append_extra="", vmcoreinfo=False,
                 qemu="qemu-system-x86_64", gdb=True, extra_args=None, console="ttyS0"):
        self.kernel = kernel
        self.initrd = initrd
        self.workdir = workdir
        self.cpu = cpu
        self.memory = memory
        self.machine = machine
        self.append_extra = append_extra
        self.vmcoreinfo = vmcoreinfo
        self.qemu = qemu
        self.gdb = gdb
        self.extra_args = list(extra_args or [])
        self.console = console
        self.proc = None
        self.qmp = None
        self.gdb_port = None
        self.serial_path = os.path.join(workdir, "serial.log")
        self.stderr_path = os.path.join(workdir, "qemu-stderr.log")
        self.qmp_path = os.path.join(workdir, "qmp.sock")
        self.serial_text = ""
        self.vas = []          # [(name, va, pfn, present)]
        self.notes = []        # NOTE lines from hello-mm
        self.info = {}         # INFO key -> text from /init
        self.pid = None
        self.boot_seconds = None

    # -- lifetime ---------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def command_line(self):
        append = f"console={self.console} panic=-1 " + self.append_extra
        cmd = [self.qemu,
               "-machine", self.machine,
               "-accel", "tcg",
               "-cpu", self.cpu,
               "-m", self.memory,
               "-smp", "1",
               "-nographic",
               "-monitor", "none",
               "-serial", f"file:{self.serial_path}",
               "-no-reboot",
               "-nic", "none",
               "-kernel", self.kernel,
               "-initrd", self.initrd,
               "-append", append.strip(),
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if self.gdb:
            cmd += ["-gdb", f"tcp:127.0.0.1:{self.gdb_port}"]
        if self.vmcoreinfo:
            cmd += ["-device", "vmcoreinfo"]
        return cmd + self.extra_args

    def start(self, timeout=30.0):
        if shutil.which(self.qemu) is None:
            raise GuestError(f"{self.qemu} not found (apt-get install qemu-system-x86)")
        for p in (self.kernel, self.initrd):
            if not os.path.isfile(p):
                raise GuestError(f"missing boot file: {p}")
        os.makedirs(self.workdir, exist_ok=True)
        for p in (self.serial_path, self.qmp_path):
            if os.path.exists(p):
                os.unlink(p)
        if self.gdb:
            self.gdb_port = free_tcp_port()
        cmd = self.command_line()
        with open(os.path.join(self.workdir, "qemu-cmdline.txt"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        self._stderr = open(self.stderr_path, "wb")
        self.t_start = time.monotonic()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=self._stderr,
                                         stderr=subprocess.STDOUT)
        except OSError as e:
            raise GuestError(f"cannot start {self.qemu}: {e}") from e
        self.qmp = QmpClient(self.qmp_path)
        try:
            self.qmp.connect(time.monotonic() + timeout,
                             alive=lambda: self.proc.poll() is None)
        except GuestError as e:
            raise GuestError(f"{e}\n{self.diagnostics()}") from e

    def kill(self):
        if self.qmp is not None:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.qmp.execute("quit", timeout=5)
                except (GuestError, OSError, ValueError):
                    pass
            self.qmp.close()
            self.qmp = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            self.proc = None
        if getattr(self, "_stderr", None) is not None:
            self._stderr.close()
            self._stderr = None

    quit = kill

    # -- console ------------------------------------------------------------

    def _read_serial(self):
        try:
            with open(self.serial_path, "rb") as f:
                self.serial_text = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            self.serial_text = ""
        return self.serial_text

    def diagnostics(self, lines=40):
        serial = self._read_serial().splitlines()[-lines:]
        try:
            with open(self.stderr_path, "rb") as f:
                err = f.read().decode(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            err = []
        rc = self.proc.poll() if self.proc else None
        return ("--- qemu exit status: %s\n--- serial console (tail):\n%s\n"
                "--- qemu stderr (tail):\n%s" %
                (rc, "\n".join(serial), "\n".join(err)))

    def wait_for_ready(self, timeout=180.0):
        deadline = time.monotonic() + timeout
        while True:
            text = self._read_serial()
            if re.search(r"^READY\r?$", text, re.M):
                break
            if "HELLO-MM EXITED" in text or "Kernel panic" in text:
                raise GuestError("guest failed before READY\n" + self.diagnostics())
            if self.proc.poll() is not None:
                raise GuestError("QEMU exited before READY\n" + self.diagnostics())
            if time.monotonic() > deadline:
                raise GuestError(f"no READY within {timeout:.0f}s\n" + self.diagnostics())
            time.sleep(0.2)
        self.boot_seconds = time.monotonic() - self.t_start
        self._parse_console(text)

    def _parse_console(self, text):
        self.vas, self.notes, self.info = [], [], {}
        for raw in text.splitlines():
            line = raw.strip()
            m = re.match(r"^VA (\S+) 0x([0-9a-f]+) PFN 0x([0-9a-f]+) PRESENT ([01])$", line)
            if m:
                self.vas.append((m.group(1), int(m.group(2), 16),
                                 int(m.group(3), 16), int(m.group(4))))
                continue
            m = re.match(r"^PID (\d+)$", line)
            if m:
                self.pid = int(m.group(1))
                continue
            if line.startswith("NOTE "):
                self.notes.append(line[5:])
            elif line.startswith("INFO "):
                key, _, val = line[5:].partition(" ")
                if key in self.info:
                    self.info[key] += "\n" + val
                else:
                    self.info[key] = val
        if not self.vas:
            raise GuestError("READY seen but no VA lines parsed\n" + self.diagnostics())

    def wait_for_line(self, line, timeout=300.0):
        """Wait until the console shows `line` on a line of its own."""
        deadline = time.monotonic() + timeout
        pattern = re.compile("^" + re.escape(line) + r"\r?$", re.M)
        while not pattern.search(self._read_serial()):
            if "HELLO-MM EXITED" in self.serial_text or "Kernel panic" in self.serial_text:
                raise GuestError(f"guest failed before {line}\n" + self.diagnostics())
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited before {line}\n" + self.diagnostics())
            if time.monotonic() > deadline:
                raise GuestError(f"no {line} within {timeout:.0f}s\n" + self.diagnostics())
            time.sleep(0.2)

    def boot(self, ready_timeout=180.0, settle=1.0):
        """Start QEMU, wait for READY, let the program spin a bit."""
        self.start()
        self.wait_for_ready(ready_timeout)
        time.sleep(settle)

    # -- monitor -----------------------------------------------------------

    def hmp(self, command, timeout=60.0):
        return self.qmp.execute("human-monitor-command",
                                {"command-line": command}, timeout=timeout)

    def stop(self):
        self.qmp.execute("stop")

    def cont(self):
        self.qmp.execute("cont")

    def status(self):
        return self.qmp.execute("query-status")

    def registers(self):
        """Parse `info registers` into a dict (CR0, CR3, CR4, EFER, CPL...)."""
        text = self.hmp("info registers")
        return parse_registers(text), text

    def stop_in_user_mode(self, attempts=40):
        """Pause the VM; retry until the vCPU is in ring 3 (hello-mm).

        Returns (parsed registers, raw `info registers` text).
        """
        import random
        rng = random.Random(1234)
        for _ in range(attempts):
            self.stop()
            regs, text = self.registers()
            if regs.get("CPL") == 3 or regs.get("EL") == 0:
                return regs, text
            self.cont()
            time.sleep(0.05 + rng.random() * 0.2)
        raise GuestError(f"vCPU not in user mode after {attempts} attempts")

    def gva2gpa(self, va):
        """Return the guest-physical address for va, or None if unmapped."""
        text = self.hmp(f"gva2gpa 0x{va:x}").strip()
        return parse_gva2gpa(text)

    def dump(self, path, fmt="elf", timeout=600.0):
        """dump-guest-memory (synchronous: detach=false)."""
        args = {"paging": False, "protocol": f"file:{os.path.abspath(path)}",
                "detach": False}
        if fmt != "elf":
            args["format"] = fmt
        self.qmp.execute("dump-guest-memory", args, timeout=timeout)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise GuestError(f"dump-guest-memory produced no file at {path}")
        return path


def parse_registers(text):
    regs = {}
    for name in ("CR0", "CR2", "CR3", "CR4", "EFER", "RIP", "RSP"):
        m = re.search(r"\b%s=([0-9a-fA-F]+)" % name, text)
        if m:
            regs[name] = int(m.group(1), 16)
    m = re.search(r"\bCPL=(\d)", text)
    if m:
        regs["CPL"] = int(m.group(1))
    # AArch64: "PSTATE=60001000 -ZC- EL0t".
    m = re.search(r"\bPSTATE=([0-9a-fA-F]+) \S+ EL(\d)", text)
    if m:
        regs["PSTATE"], regs["EL"] = int(m.group(1), 16), int(m.group(2))
    return regs


def parse_gva2gpa(text):
    m = re.search(r"gpa:\s*0x([0-9a-fA-F]+)", text)
    if m:
        return int(m.group(1), 16)
    if "Unmapped" in text or "unmapped" in text:
        return None
    raise GuestError(f"unexpected gva2gpa output: {text!r}")
