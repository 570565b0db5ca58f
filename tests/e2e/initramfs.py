"""Build the tiny initramfs used by the end-to-end tests.

Contents:
  /bin/busybox + one symlink per applet (busybox-static)
  /init         shell script: mounts proc/sys/devtmpfs, enables THP,
                reports a few facts on the console and runs /hello-mm
  /hello-mm     the static guest test program
  /bin/pagewalk optional static pagewalk binary (only when a path is given):
                /init runs it with --kcore once /hello-mm is ready, prints
                each run's output as "KCORE <tag> <line>" and its exit status
                gzipped and base64-encoded as "KCORE-GZ <tag> <line>", its
                stderr as "KCORE-ERR <tag> <line>", its exit status and
                start/end uptime as "KCORE-RC <tag> <status> <t0> <t1>",
                then "KCORE-DONE"
  /lib/modules  optional kernel modules and ORDER (only when a directory is
                given): /init insmods them in that order before /hello-mm
  /lib/pagewalk.ko, /bin/kmod-probe
                optional: the pagewalk module and its probe; /init prints the
                module's log form ("KMOD-LOG"), loads its device, runs the
                same pagewalk commands with --kmod (tags kmod_*), the probe's
                bad requests ("KMOD-BAD"), a stress run ("KMOD-STRESS") and
                the kernel log's warnings after it ("KMOD-DMESG")

The archive is written with `cpio -o -H newc` and compressed with gzip.
The Debian kernel has everything needed for an initramfs boot with the
console on ttyS0 built in; modules are only added for the vmcoreinfo cases
(qemu_fw_cfg, which hands the kernel's VMCOREINFO to QEMU).
"""

import gzip
import os
import shutil
import subprocess
import tempfile

# Arguments for /hello-mm are passed on the kernel command line as
# hellomm=arg1,arg2 and picked up by /init from /proc/cmdline.
INIT_SCRIPT = r"""#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
# Kernel messages printed on the console from here on would split our INFO
# lines (a late "tsc: Refined TSC clocksource calibration" did); keep only
# emergencies there. The ring buffer still holds everything for `dmesg`.
dmesg -n 1

# With little RAM the kernel may default THP to "madvise" or "never".
echo always > /sys/kernel/mm/transparent_hugepage/enabled
echo always > /sys/kernel/mm/transparent_hugepage/defrag

args=""
for w in $(cat /proc/cmdline); do
    case "$w" in
        hellomm=*) args="${w#hellomm=}" ;;
    esac
done
args=$(echo "$args" | tr ',' ' ')

echo "INFO kernel $(uname -r)"
echo "INFO thp $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "INFO meltdown $(cat /sys/devices/system/cpu/vulnerabilities/meltdown 2>/dev/null)"
if grep -qw la57 /proc/cpuinfo; then echo "INFO la57 yes"; else echo "INFO la57 no"; fi
if grep -qw pti /proc/cpuinfo; then echo "INFO pti yes"; else echo "INFO pti no"; fi
# Symbol addresses for the Linux-knowledge checks, from the kernel's own /proc/kallsyms.
awk '$3=="_text"||$3=="init_task"||$3=="init_top_pgt"||$3=="page_offset_base"||$3=="vmalloc_base"||$3=="vmemmap_base" {print "INFO ksym " $1 " " $3}' /proc/kallsyms
dmesg | grep -i -e 'page tables isolation' -e '5-level' -e 'KASLR' | sed 's/^/INFO dmesg /'

if [ -f /lib/modules/ORDER ]; then
    for m in $(cat /lib/modules/ORDER); do
        if insmod /lib/modules/$m; then echo "INFO module $m"; else echo "NOTE insmod $m failed"; fi
    done
fi
if [ -d /sys/firmware/qemu_fw_cfg ]; then echo "INFO fwcfg yes"; else echo "INFO fwcfg no"; fi
# With zram loaded: a swap device, so that hello-mm's "swap" page can go out to it.
if [ -e /sys/block/zram0/disksize ]; then
    if echo 16M > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0; then
        echo "INFO swapdev zram0"
    else
        echo "NOTE zram swap failed"
    fi
fi
# The loaded modules and their symbols as the kernel's /proc shows them (modules' oracle).
print_modules() {
    sed 's/^/INFO proc_module /' /proc/modules
    awk '$4 ~ /^\[/ {print "INFO modsym " $1 " " $2 " " $3 " " $4}' /proc/kallsyms
}
# The pagewalk module's own form (the articles'): insmod with kernel=1 va= prints the
# kernel's walk of _text to the kernel log, one line per level; collected as KMOD-LOG.
kmod_log() {
    n0=$(dmesg | grep -c 'pagewalk: ')
    insmod /lib/pagewalk.ko "$@" || echo "NOTE insmod pagewalk.ko $* failed"
    dmesg | grep 'pagewalk: ' | tail -n +$((n0 + 1)) | sed "s/^/KMOD-LOG $1 /"
}
if [ -f /lib/pagewalk.ko ]; then
    kmod_log kernel=1 va=0x$(awk '$3=="_text" {print $1}' /proc/kallsyms)
    rmmod pagewalk
else
    print_modules
fi

# The program's parent, state and thread count as the kernel's /proc shows them (ps's
# oracle), and its VMAs (maps' oracle), one INFO line each.
print_program_proc() {
    echo "INFO hello_status $(grep -E '^(State|PPid|Threads):' /proc/$1/status | tr -s '\t\n' '  ')"
    sed "s/^/INFO hello_maps /" /proc/$1/maps
}
# Without the guest's own pagewalk (the i386 cases): the program's /proc view and the
# kernel's vmalloc areas (the layout's oracle; kptr_restrict=1 lets root see real
# addresses in %pK fields), then the guest only spins.
if [ ! -x /bin/pagewalk ]; then
    /hello-mm $args &
    hpid=$!
    i=0
    while [ ! -s /tmp/hello-mm.vas ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    print_program_proc $hpid
    echo 1 >/proc/sys/kernel/kptr_restrict
    sed "s/^/INFO vmalloc /" /proc/vmallocinfo
    echo "ORACLES DONE"
    wait $hpid
    echo "HELLO-MM EXITED $?"
    poweroff -f
fi

# The guest's own pagewalk, through /proc/kcore, while /hello-mm spins.
/hello-mm $args &
hpid=$!
i=0
while [ ! -s /tmp/hello-mm.vas ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
# The module again, for the program's heap VA (the walk goes to the log) and with its device.
if [ -f /lib/pagewalk.ko ]; then
    kmod_log pid=$hpid va=$(head -n 1 /tmp/hello-mm.vas) device=1
    print_modules
fi
print_program_proc $hpid
# Each run's stdout goes out gzipped and base64-encoded ("KCORE-GZ <tag> <line>"): the
# kernel map is megabytes of JSON, and the serial console is slow. printk stays off the
# console meanwhile so that nothing lands inside those lines.
pw() {
    tag=$1; shift
    t0=$(cut -d' ' -f1 /proc/uptime)
    /bin/pagewalk "$@" >/tmp/pw.out 2>/tmp/pw.err
    rc=$?
    t1=$(cut -d' ' -f1 /proc/uptime)
    gzip -c /tmp/pw.out | base64 | sed "s/^/KCORE-GZ $tag /"
    sed "s/^/KCORE-ERR $tag /" /tmp/pw.err
    echo "KCORE-RC $tag $rc $t0 $t1"
}
echo 1 >/proc/sys/kernel/printk
# kptr_restrict=1: root (CAP_SYSLOG) sees real addresses in %pK fields such as
# /proc/vmallocinfo's, which 0 would hash (or print as ptrval before the RNG is seeded).
echo 1 >/proc/sys/kernel/kptr_restrict
# Kernel addresses: data and text symbols, the start of a few vmalloc areas backed by
# pages, and (when modules are loaded) a module's base.
awk '$3=="init_task"||$3=="init_top_pgt"||$3=="jiffies_64"||$3=="_text"||$3=="schedule" {print "0x" $1}' /proc/kallsyms >/tmp/kvas
grep 'pages=' /proc/vmallocinfo | head -n 4 | sed 's/-.*//' >>/tmp/kvas
awk '{print $6}' /proc/modules | head -n 2 >>/tmp/kvas
# The direct map and vmemmap: pfn 0x1000's __va and struct page, as kconv gives them (the
# addresses are only questions; QEMU's gva2gpa answers them); cpu_entry_area's first page.
/bin/pagewalk kconv --kcore --json --pfn 0x1000 >/tmp/kc.json 2>/dev/null
sed -n 's/.*"rows":\[{"va":"\(0x[0-9a-f]*\)".*/\1/p' /tmp/kc.json >>/tmp/kvas
sed -n 's/.*"page":"\(0x[0-9a-f]*\)".*/\1/p' /tmp/kc.json >>/tmp/kvas
echo 0xfffffe0000000000 >>/tmp/kvas
pw info info --kcore --json
pw ps ps --kcore --json
pw translate translate --kcore --pid $hpid --jsonl - </tmp/hello-mm.vas
pw map map --kcore --pid $hpid --jsonl --to 0x100000000000000
pw maps maps --kcore --pid $hpid --json
pw modules modules --kcore --symbols --json
pw read read --kcore --pid $hpid --string --json $(head -n 1 /tmp/hello-mm.vas)
pw ktranslate translate --kcore --kernel --jsonl - </tmp/kvas
pw kmap map --kcore --kernel --jsonl
# kptr_restrict=2 hides /proc/kallsyms' addresses even from root: pagewalk must say so and
# decode the kernel's own symbol tables from memory instead.
echo 2 >/proc/sys/kernel/kptr_restrict
pw pshidden ps --kcore --json
echo 1 >/proc/sys/kernel/kptr_restrict
if [ -e /dev/pagewalk ]; then
    # The same questions through the module (the kernel's walk beside pagewalk's for
    # translate), then what the module must refuse, then a stress run.
    pw kmod_info info --kmod --json
    pw kmod_ps ps --kmod --json
    pw kmod_translate translate --kmod --kmod-walk --pid $hpid --jsonl - </tmp/hello-mm.vas
    pw kmod_kwalk translate --kmod-walk --pid $hpid --jsonl - </tmp/hello-mm.vas
    pw kmod_map map --kmod --pid $hpid --jsonl --to 0x100000000000000
    pw kmod_maps maps --kmod --pid $hpid --json
    pw kmod_modules modules --kmod --symbols --json
    pw kmod_read read --kmod --pid $hpid --string --json $(head -n 1 /tmp/hello-mm.vas)
    pw kmod_ktranslate translate --kmod --kmod-walk --kernel --jsonl - </tmp/kvas
    pw kmod_kmap map --kmod --kernel --jsonl
    pw kmod_kconv kconv --kmod --json --virt $(head -n 1 /tmp/kvas) --phys 0x1000000
    pw kmod_kthread translate --kmod --pid 2 0x400000
    pw kmod_mmio read --kmod --phys -n 8 0xfee00000
    /bin/kmod-probe badinput
    /bin/kmod-probe eperm
    # Stress: a process maps, touches and unmaps a range in a loop and forks children that
    # exit with a page mapped, while the module is asked for walks of it and its children,
    # its roots and its PGD as fast as a process can, and pagewalk translates (both walks)
    # and maps it.
    /bin/kmod-probe churn 8 /tmp/churn.pid &
    cpid=$!
    i=0
    while [ ! -s /tmp/churn.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    /bin/kmod-probe hammer $cpid 0x7e0000000000 7 &
    hpid2=$!
    while kill -0 $hpid2 2>/dev/null; do
        /bin/pagewalk translate --kmod --kmod-walk --pid $cpid --brief 0x7e0000000000 0x7e0000020000 >/dev/null 2>/tmp/st.err
        echo "KMOD-STRESS-RC translate $? $(head -n 1 /tmp/st.err)"
        /bin/pagewalk map --kmod --pid $cpid --to 0x7f0000000000 >/dev/null 2>/tmp/st.err
        echo "KMOD-STRESS-RC map $? $(head -n 1 /tmp/st.err)"
    done
    wait $hpid2
    wait $cpid
    # Last, as it cannot be undone: lockdown (integrity) must close the module to everyone,
    # and pagewalk must say why in one line.
    mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
    /bin/kmod-probe lockdown
    pw kmod_lockdown info --kmod
    dmesg | grep -e 'WARNING:' -e 'BUG:' -e 'Oops' -e 'sleeping function called from invalid context' | sed 's/^/KMOD-DMESG /'
    echo "KMOD-DMESG-END"
fi
echo 7 >/proc/sys/kernel/printk
echo "KCORE-DONE"
wait $hpid
echo "HELLO-MM EXITED $?"
poweroff -f
"""


class InitramfsError(RuntimeError):
    pass


def _busybox_applets(busybox):
    out = subprocess.run([busybox, "--list-full"], check=False,
                         capture_output=True, text=True, timeout=30)
    if out.returncode == 0 and out.stdout.strip():
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    out = subprocess.run([busybox, "--list"], check=True,
                         capture_output=True, text=True, timeout=30)
    return ["bin/" + line.strip() for line in out.stdout.splitlines() if line.strip()]


def build_initramfs(out_path, hello_mm, busybox="/bin/busybox", pagewalk=None,
                    modules=None, kmod=None, kmod_probe=None, list_applets_with=None):
    """Write a gzip-compressed newc cpio archive to out_path. `list_applets_with`: a busybox
    of the same version that runs here, when `busybox` is built for another architecture."""
    for tool in ("cpio",):
        if shutil.which(tool) is None:
            raise InitramfsError(f"{tool} not found (apt-get install {tool})")
    if not os.path.isfile(busybox):
        raise InitramfsError(f"busybox not found at {busybox} "
                             "(apt-get install busybox-static)")
    if not os.path.isfile(hello_mm):
        raise InitramfsError(f"guest program not found: {hello_mm}")

    with tempfile.TemporaryDirectory(prefix="pagewalk-initramfs-") as root:
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev",
                  "tmp", "root"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2(busybox, os.path.join(root, "bin/busybox"))
        os.chmod(os.path.join(root, "bin/busybox"), 0o755)
        for applet in _busybox_applets(list_applets_with or busybox):
            applet = applet.lstrip("/")
            if os.path.basename(applet) == "busybox":
                continue
            link = os.path.join(root, applet)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if not os.path.lexists(link):
                os.symlink("/bin/busybox", link)
        if not os.path.lexists(os.path.join(root, "bin/sh")):
            os.symlink("/bin/busybox", os.path.join(root, "bin/sh"))

        init = os.path.join(root, "init")
        with open(init, "w") as f:
            f.write(INIT_SCRIPT)
        os.chmod(init, 0o755)

        shutil.copy2(hello_mm, os.path.join(root, "hello-mm"))
        os.chmod(os.path.join(root, "hello-mm"), 0o755)
        if pagewalk:
            if not os.path.isfile(pagewalk):
                raise InitramfsError(f"pagewalk binary not found: {pagewalk}")
            shutil.copy2(pagewalk, os.path.join(root, "bin/pagewalk"))
            os.chmod(os.path.join(root, "bin/pagewalk"), 0o755)

        for src, dest in ((kmod, "lib/pagewalk.ko"), (kmod_probe, "bin/kmod-probe")):
            if src:
                if not os.path.isfile(src):
                    raise InitramfsError(f"not found: {src}")
                os.makedirs(os.path.dirname(os.path.join(root, dest)), exist_ok=True)
                shutil.copy2(src, os.path.join(root, dest))
        if kmod_probe:
            os.chmod(os.path.join(root, "bin/kmod-probe"), 0o755)
        if modules:
            order = os.path.join(modules, "ORDER")
            if not os.path.isfile(order):
                raise InitramfsError(f"no module list at {order}")
            os.makedirs(os.path.join(root, "lib/modules"), exist_ok=True)
            shutil.copy2(order, os.path.join(root, "lib/modules/ORDER"))
            with open(order) as f:
                for name in f.read().split():
                    shutil.copy2(os.path.join(modules, name),
                                 os.path.join(root, "lib/modules", name))

        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = os.path.relpath(dirpath, root)
            if rel != ".":
                names.append(rel)
            for fn in sorted(filenames):
                names.append(os.path.normpath(os.path.join(rel, fn)))
        listing = ("\n".join(names) + "\n").encode()
        proc = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0",
                               "--quiet"],
                              input=listing, cwd=root, capture_output=True,
                              timeout=120)
        if proc.returncode != 0:
            raise InitramfsError("cpio failed: " + proc.stderr.decode(errors="replace"))
        tmp = out_path + ".tmp"
        with gzip.open(tmp, "wb", compresslevel=6) as gz:
            gz.write(proc.stdout)
        os.replace(tmp, out_path)
    return out_path


def build_guest_program(src, out_path, cc="gcc", include=None):
    """Compile a static guest program."""
    if shutil.which(cc) is None:
        raise InitramfsError(f"{cc} not found (apt-get install gcc libc6-dev)")
    proc = subprocess.run([cc, "-static", "-O1", "-Wall", "-Werror"] + (["-I", include] if include else [])
                          + ["-o", out_path, src],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise InitramfsError(f"compiling {src} failed:\n{proc.stderr}")
    return out_path
