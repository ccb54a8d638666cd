#!/usr/bin/env bash
# Network faults on loopback for RdpProbe tests, made with iptables (no netem on this kernel; see docs LAB.md).
#
#   scripts/faults.sh add|del reset-at-clienthello PORT    client segments >= 200 bytes to PORT are answered with a
#                                                          TCP RST (a middlebox killing the TLS ClientHello)
#   scripts/faults.sh add|del blackhole PORT [MINLEN]      server segments >= MINLEN (default 1000) bytes from PORT
#                                                          are dropped silently (MTU black hole)
#   scripts/faults.sh add|del udp-drop PORT                UDP datagrams to PORT are dropped (no reply, no ICMP)
#   scripts/faults.sh list                                 rules this script added (and that are still there)
#   scripts/faults.sh clear                                removes every rule carrying the rdpprobe-test marker
#
# Every rule carries "-m comment --comment rdpprobe-test", so "clear" removes whatever a crashed test left behind.
# "del" removes exactly one copy of the rule "add" inserted (iptables -D with the same arguments); it is not an
# error when the rule is already gone. These rules act on every connection to PORT on this machine, including
# those of other people's tests against the same lab base.
set -euo pipefail

readonly MARK=rdpprobe-test

usage() {
  cat >&2 <<'EOF'
usage: scripts/faults.sh add|del reset-at-clienthello PORT
       scripts/faults.sh add|del blackhole PORT [MINLEN]
       scripts/faults.sh add|del udp-drop PORT
       scripts/faults.sh list|clear
EOF
  exit 2
}

die() {
  echo "faults.sh: $*" >&2
  exit 1
}

command -v iptables >/dev/null 2>&1 || die "iptables is missing; install with: apt-get install -y iptables"
# -w: wait for the xtables lock instead of failing when another test changes rules at the same moment.
ipt() {
  iptables -w 10 "$@"
}

port_arg() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )) || die "PORT must be 1..65535 (got '${1:-}')"
  echo "$1"
}

# Prints "CHAIN rule-spec..." for a fault, without the -I/-D verb.
rule_for() {
  local fault="$1" port min
  port="$(port_arg "${2:-}")"
  case "$fault" in
    reset-at-clienthello)
      [[ $# -eq 2 ]] || usage
      echo "INPUT -i lo -p tcp --dport $port -m length --length 200:65535 -m comment --comment $MARK -j REJECT --reject-with tcp-reset"
      ;;
    blackhole)
      [[ $# -le 3 ]] || usage
      min="${3:-1000}"
      [[ "$min" =~ ^[0-9]+$ ]] && (( min >= 1 && min <= 65535 )) || die "MINLEN must be 1..65535 (got '$min')"
      echo "OUTPUT -o lo -p tcp --sport $port -m length --length $min:65535 -m comment --comment $MARK -j DROP"
      ;;
    udp-drop)
      [[ $# -eq 2 ]] || usage
      echo "INPUT -i lo -p udp --dport $port -m comment --comment $MARK -j DROP"
      ;;
    *) usage ;;
  esac
}

# The reset fault sends its RST to the client only, so the server's end of the connection stays ESTABLISHED with
# no peer. A FreeRDP shadow server then blocks in that connection's read and stops serving everyone else. Once the
# rule is gone, destroy exactly those orphans: server-side sockets on PORT whose client-side socket no longer exists.
kill_orphans() {
  local port="$1" local_addr peer n=0
  command -v ss >/dev/null 2>&1 || return 0
  declare -A clients=()
  while read -r _ _ local_addr _; do
    [[ -n "$local_addr" ]] && clients["$local_addr"]=1
  done < <(ss -Htn state established "( dport = :$port )" 2>/dev/null)
  while read -r _ _ _ peer; do
    [[ -n "$peer" && -z "${clients[$peer]:-}" ]] || continue
    ss -K state established "( sport = :$port and dst ${peer%:*} and dport = :${peer##*:} )" >/dev/null 2>&1 || true
    n=$((n + 1))
  done < <(ss -Htn state established "( sport = :$port )" 2>/dev/null)
  if ((n > 0)); then
    echo "faults.sh: closed $n server-side connection(s) on port $port left without a client by the reset fault"
  fi
}

do_clear() {
  local chain line n=0
  for chain in INPUT OUTPUT; do
    # iptables -S prints rules as "-A CHAIN spec"; the same spec after -D deletes that rule.
    while IFS= read -r line; do
      [[ -n "$line" ]] || continue
      read -r -a spec <<<"${line#-A }"
      ipt -D "${spec[@]}" && n=$((n + 1))
      if [[ "$line" == *tcp-reset* && "$line" =~ --dport\ ([0-9]+) ]]; then
        kill_orphans "${BASH_REMATCH[1]}"
      fi
    done < <(ipt -S "$chain" | grep -- "--comment \"\\?$MARK\"\\?" || true)
  done
  echo "faults.sh: removed $n rdpprobe-test rule(s)"
}

cmd="${1:-}"
case "$cmd" in
  add | del)
    [[ $# -ge 3 ]] || usage
    read -r -a rule <<<"$(rule_for "${@:2}")"
    if [[ "$cmd" == add ]]; then
      ipt -I "${rule[@]}"
    else
      ipt -D "${rule[@]}" 2>/dev/null || echo "faults.sh: rule already absent: ${rule[*]}" >&2
      if [[ "$2" == reset-at-clienthello ]]; then
        kill_orphans "$3"
      fi
    fi
    ;;
  list)
    ipt -S INPUT | grep -- "$MARK" || true
    ipt -S OUTPUT | grep -- "$MARK" || true
    ;;
  clear) do_clear ;;
  *) usage ;;
esac
