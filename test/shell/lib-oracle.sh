# Shared by the kernel-oracle tests (sourced after lib.sh): the real Linux
# md driver, booted under qemu by the project's own tools/kernel-oracle,
# over image files mdfs wrote. Everything it needs comes with
# tools/install-deps, so anything missing fails the test.
ORACLE=${ORACLE:-$ROOT/tools/kernel-oracle/oracle}
requires python3 qemu-system-x86_64 mdadm sha256sum modprobe busybox
[ -x "$ORACLE" ] || { echo "FAIL: no kernel oracle at $ORACLE"; exit 1; }
ls /boot/vmlinuz-* >/dev/null 2>&1 || { echo "FAIL: no kernel in /boot (linux-image-amd64)"; exit 1; }
# Copies of the members and the boot's scratch live in this test's folder
# and go with it; the initramfs is cached per kernel (ORACLE_CACHE, else
# ~/.cache/mdfs/kernel-oracle).
export ORACLE_TMP=$T

# run_oracle [--finish] IMAGE...: one boot of the kernel over copies of all
# the images (`oracle assemble`; --finish: what it resumes runs to its end
# before the arrays are read), its report in $T/oracle.txt, its exit status in
# $ORACLE_RC (0: assembled, every check 0; 1: nothing; 3: a mismatch; 4: the
# oracle could not boot). The oracle retries a boot that never ran its script.
run_oracle() {
  local start=$SECONDS
  "$ORACLE" assemble "$@" >"$T/oracle.txt" 2>"$T/oracle.err"
  ORACLE_RC=$?
  echo "oracle: exit $ORACLE_RC in $((SECONDS - start)) s; $(head -1 "$T/oracle.txt")"
  [ "$ORACLE_RC" -ne 4 ] || { cat "$T/oracle.err"; fail "the kernel oracle could not run"; }
}

# oracle_section TITLE: the lines of the report's "# TITLE..." section.
oracle_section() { awk -v t="# $1" 'index($0, "# ") == 1 { on = (index($0, t) == 1); next } on && NF' "$T/oracle.txt"; }

# oracle_arrays: the arrays section of the last run, by name (KSTATE,
# KSYNC, idle for none, KMISMATCH, KRESUMED: the pass the kernel took up at
# assembly, resync, recovery or reshape, else its sync_action) and by
# sha256 (KSHA: the name).
oracle_arrays() {
  declare -gA KSHA=() KSTATE=() KSYNC=() KMISMATCH=() KRESUMED=()
  local k size sha state sync mismatch resumed
  while read -r k size sha state sync _ _ mismatch resumed; do
    KSHA[$sha]=$k KSTATE[$k]=$state KSYNC[$k]=${sync:-none} KMISMATCH[$k]=$mismatch KRESUMED[$k]=${resumed:-none}
  done < <(oracle_section arrays)
}

# oracle_match NAME SHA: the array of the last run with mdfs's sha256 SHA,
# its kernel name in $K (a pass), or a fail and status 1.
oracle_match() {
  K=${KSHA[$2]:-}
  [ -n "$K" ] || { fail "$1: no array the kernel assembled has mdfs's sha256"; return 1; }
  pass "$1: the kernel assembled it ($K) with mdfs's data"
}

# run_readd readd N IMAGE... | run_readd add N IMAGE... | run_readd resume
# IMAGE...: `oracle readd` (assemble without image N, mdadm --re-add it, or
# --add it after zeroing) or `oracle resume` (assemble all, let the kernel
# finish what it resumes), then a check, on copies in one boot; the report
# in $T/oracle.txt, the exit status in $ORACLE_RC. `result KEY` reads its
# summary line (RESULT action=... rc=... mismatch_cnt=... size=... sha256=...).
run_readd() {
  local start=$SECONDS action=$1
  shift
  case $action in
    readd) "$ORACLE" readd "$@" ;;
    add) "$ORACLE" readd --add "$@" ;;
    resume) "$ORACLE" resume "$@" ;;
    *) fail "run_readd: no action $action"; return ;;
  esac >"$T/oracle.txt" 2>"$T/oracle.err"
  ORACLE_RC=$?
  echo "oracle: $action: exit $ORACLE_RC in $((SECONDS - start)) s; $(grep '^RESULT' "$T/oracle.txt")"
  [ "$ORACLE_RC" -ne 4 ] || { cat "$T/oracle.err"; fail "the kernel oracle could not run"; }
}
result() { sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" "$T/oracle.txt"; }
