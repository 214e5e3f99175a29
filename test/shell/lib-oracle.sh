# Shared by the kernel-oracle tests (sourced after lib.sh): the checks that
# skip without qemu and a kernel, the oracle's scratch, and one boot of the
# real Linux md driver over image files (../shared/kernel-oracle).
ORACLE=${ORACLE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/kernel-oracle}
requires mdadm python3 sha256sum qemu-system-x86_64 cpio gzip modprobe
[ -f "$ORACLE/assemble.py" ] || { echo "SKIP: no $ORACLE/assemble.py"; exit 77; }
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort | tail -1)
[ -r "$kernel" ] || { echo "SKIP: needs a readable kernel image (linux-image-amd64)"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: needs /bin/busybox (busybox-static)"; exit 77; }
# The oracle's scratch (copies of the members, a failed boot's console)
# goes to a folder of this test's own, removed with it; the initramfs it
# builds once per kernel is shared through the usual cache.
SHARED_CACHE=${ORACLE_CACHE:-${TMPDIR:-/tmp}/kernel-oracle-cache}
export ORACLE_CACHE=$T/oracle
mkdir -p "$ORACLE_CACHE"
cp "$SHARED_CACHE"/initrd-*.cpio.gz "$ORACLE_CACHE"/ 2>/dev/null

# run_oracle IMAGE...: one boot of the kernel for all the images, its report
# in $T/oracle.txt; a second boot when the guest never ran its script (an
# overloaded host can make the emulated kernel panic at boot: "IO-APIC +
# timer doesn't work"). assemble.py's exit status is not used: it reads its
# results after removing them, so it exits 1 even when arrays assembled;
# the "# arrays" section tells instead.
run_oracle() { run_oracle_script assemble.py "$@"; }

# run_readd ACTION [N] IMAGE...: readd.py (re-add member N, add it, or
# resume) in one boot, its report in $T/oracle.txt; `result KEY` reads its
# summary line (RESULT action=... rc=... mismatch_cnt=... sha256=...).
run_readd() { run_oracle_script readd.py "$@"; }
result() { sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" "$T/oracle.txt"; }

run_oracle_script() {
  local script=$1 attempt start console f
  shift
  for attempt in 1 2; do
    start=$(date +%s)
    timeout "${ORACLE_TIMEOUT:-240}" python3 "$ORACLE/$script" "$@" >"$T/oracle.txt" 2>"$T/oracle.err"
    echo "oracle: $script attempt $attempt, exit $? in $(($(date +%s) - start)) s"
    console=$(find "$ORACLE_CACHE" -name boot-console.txt | head -1)
    [ -n "$console" ] || break
    echo "oracle: the guest did not run its script; its console ends:"
    tail -5 "$console"
    # Only a quick failure is retried: run-tests gives a test 300 s.
    [ $(($(date +%s) - start)) -lt 60 ] || break
    find "$ORACLE_CACHE" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  done
  if [ -d "$SHARED_CACHE" ] || mkdir -p "$SHARED_CACHE" 2>/dev/null; then
    for f in "$ORACLE_CACHE"/initrd-*.cpio.gz; do
      [ -e "$f" ] && [ ! -e "$SHARED_CACHE/${f##*/}" ] &&
        cp "$f" "$SHARED_CACHE/${f##*/}.$$" && mv "$SHARED_CACHE/${f##*/}.$$" "$SHARED_CACHE/${f##*/}"
    done
  fi
}

# oracle_section TITLE: the lines of the report's "# TITLE..." section.
oracle_section() { awk -v t="# $1" 'index($0, "# ") == 1 { on = (index($0, t) == 1); next } on && NF' "$T/oracle.txt"; }
