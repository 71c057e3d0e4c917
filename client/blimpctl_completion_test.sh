#!/usr/bin/env bash
# Sources client/blimpctl.bash-completion and checks COMPREPLY for some
# lines, with the real blimpctl behind a wrapper that answers `vm list`
# itself (no blimpd) and notes the flags it was given.
set -uo pipefail

real=$(cd "$(dirname "$0")" && pwd)/blimpctl
script=$(dirname "$0")/blimpctl.bash-completion
[ -x "$real" ] || real=$TEST_SRCDIR/$TEST_WORKSPACE/client/blimpctl
[ -f "$script" ] || script=$TEST_SRCDIR/$TEST_WORKSPACE/client/blimpctl.bash-completion
tmp=${TEST_TMPDIR:-$(mktemp -d)}
cat > "$tmp/blimpctl" <<WRAPPER
#!/usr/bin/env bash
if [ "\$1 \$2" = "vm list" ] && [[ " \$* " != *" --help "* ]]; then
  echo "\$*" > "$tmp/vm-list-args"
  printf 'ID      STATE    VCPUS\nweb     running  1\nworker  running  2\ndb      stopped  1\n'
  exit 0
fi
exec "$real" "\$@"
WRAPPER
chmod +x "$tmp/blimpctl"
touch "$tmp/kernel.elf"

# shellcheck source=/dev/null
source "$script"
complete -p blimpctl | grep -q -- '-F _blimpctl' || { echo "FAIL: not registered"; exit 1; }

failed=0
# check "WANTED REPLIES (sorted, space-separated)" WORD...: the line is the
# words joined by spaces (a trailing "" completes a new word).
check() {
  local want=$1
  shift
  COMP_WORDS=("$tmp/blimpctl" "${@:2}")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$tmp/blimpctl ${*:2}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _blimpctl
  local got
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
  if [ "$got" = "$want" ]; then
    echo "ok: '${*:2}' -> '$got'"
  else
    echo "FAIL: '${*:2}': wanted '$want', got '$got'"
    failed=1
  fi
}

check "balloon top vm" - ""
check "start stop" - vm st
check "console create delete get list migrate pause restore resume snapshot start stop" - vm ""
check "start status stop" - balloon hinting s
check "web worker" - vm start w
check "db web worker" - --server unix:/x vm get ""
grep -q -- "--server unix:/x" "$tmp/vm-list-args" || { echo "FAIL: vm list without --server"; failed=1; }
check "db web worker" - balloon set --amount-mib 64 ""
check "" - balloon set web ""
check "" - balloon set web --amount-mib ""
check "--amount-mib" - balloon set web --am
check "--once" - top --on
check "json table" - vm list --output ""
check "avail balloon free id mem rss" - top --sort ""
check "" - vm create ""
check "$tmp/kernel.elf" - vm create x --kernel "$tmp/ker"
check "--help --server" - --

[ $failed -eq 0 ] && echo "completion: all passed"
exit $failed
