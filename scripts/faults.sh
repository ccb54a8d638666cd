#!/usr/bin/env bash
# Network faults on loopback for RdpProbe tests, made with iptables (no netem on this kernel; see docs LAB.md).
#
#   scripts/faults.sh add|del reset-at-clienthello PORT    client segments >= 200 bytes to PORT are answered with a
#                                                          TCP RST (a middlebox killing the TLS ClientHello)
#   scripts/faults.sh add|del blackhole PORT [MINLEN]      server segments >= MINLEN (default 1000) bytes from PORT
#                                                          are dropped silently (MTU black hole)
#   scripts/faults.sh add|del udp-drop PORT                UDP datagrams to PORT are dropped (no reply, no ICMP)
#   --- lane attrib (issue 11) ---
#   scripts/faults.sh add|del reset-after-bytes PORT N     once the client has sent N bytes (IP packets counted whole,
#                                                          connbytes) on a connection to PORT, its next segment is
#                                                          answered with a TCP RST that the server never sees: a
#                                                          middlebox resetting mid-handshake (after NTLM AUTHENTICATE,
#                                                          on the MCS Connect Initial, ... depending on N)
#   scripts/faults.sh add|del mss-clamp PORT MSS           the client's SYN to PORT announces MSS instead of 65495, so
#                                                          the server splits its flights into MSS-sized segments on
#                                                          the wire; on lo, TSO hands iptables the unsplit flight, so
#                                                          with "blackhole" the whole flight is dropped, tail included
#                                                          (measured: MSS 1200 on the shadow TLS server); the tail-only
#                                                          black hole needs scripts/netns.sh
#   scripts/faults.sh add|del sigstop PORT                 the process listening on PORT is stopped (SIGSTOP; "del"
#                                                          continues it): the kernel still accepts connections, nothing
#                                                          answers them. The pid is kept in /tmp/rdpprobe-sigstop-PORT.
#   --- end lane attrib ---
#   scripts/faults.sh add|del kdc-drop PORT                UDP datagrams AND TCP segments to PORT are dropped (a
#                                                          firewall or VPN policy blocking Kerberos port 88; two rules)
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
       scripts/faults.sh add|del reset-after-bytes PORT N
       scripts/faults.sh add|del mss-clamp PORT MSS
       scripts/faults.sh add|del sigstop PORT
       scripts/faults.sh add|del kdc-drop PORT
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
    # ---- lane attrib (issue 11)
    reset-after-bytes)
      [[ $# -eq 3 && "$3" =~ ^[0-9]+$ ]] || usage
      echo "INPUT -i lo -p tcp --dport $port -m connbytes --connbytes $3: --connbytes-dir original --connbytes-mode bytes -m comment --comment $MARK -j REJECT --reject-with tcp-reset"
      ;;
    mss-clamp)
      [[ $# -eq 3 && "$3" =~ ^[0-9]+$ ]] && (( $3 >= 536 && $3 <= 65495 )) || die "MSS must be 536..65495"
      echo "OUTPUT -o lo -p tcp --dport $port --tcp-flags SYN,RST SYN -m comment --comment $MARK -j TCPMSS --set-mss $3"
      ;;
    # ---- end lane attrib
    # kdc-drop is two rules; rules_for prints both.
    tcp-drop)
      [[ $# -eq 2 ]] || usage
      echo "INPUT -i lo -p tcp --dport $port -m comment --comment $MARK -j DROP"
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

# ---- lane attrib (issue 11): SIGSTOP / SIGCONT of the listener on PORT (no iptables rule).
sigstop() {
  local verb="$1" port pid file
  port="$(port_arg "${2:-}")"
  file="/tmp/rdpprobe-sigstop-$port"
  if [[ "$verb" == add ]]; then
    pid="$(ss -Hltnp "( sport = :$port )" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1)"
    [[ -n "$pid" ]] || die "nothing listens on port $port"
    echo "$pid" >"$file"
    kill -STOP "$pid"
  else
    [[ -f "$file" ]] || { echo "faults.sh: no stopped process recorded for port $port" >&2; return 0; }
    pid="$(cat "$file")"
    kill -CONT "$pid" 2>/dev/null || true
    rm -f "$file"
  fi
}
# ---- end lane attrib
# Every rule (one line each) of a fault.
rules_for() {
  if [[ "${1:-}" == kdc-drop ]]; then
    [[ $# -eq 2 ]] || usage
    rule_for udp-drop "$2"
    rule_for tcp-drop "$2"
  else
    rule_for "$@"
  fi
}

cmd="${1:-}"
case "$cmd" in
  add | del)
    [[ $# -ge 3 ]] || usage
    if [[ "$2" == sigstop ]]; then
      [[ $# -eq 3 ]] || usage
      sigstop "$cmd" "$3"
      exit 0
    fi
    lines="$(rules_for "${@:2}")"
    while IFS= read -r line; do
      read -r -a rule <<<"$line"
      if [[ "$cmd" == add ]]; then
        ipt -I "${rule[@]}"
      else
        ipt -D "${rule[@]}" 2>/dev/null || echo "faults.sh: rule already absent: ${rule[*]}" >&2
      fi
    done <<<"$lines"
    if [[ "$cmd" == del && ( "$2" == reset-at-clienthello || "$2" == reset-after-bytes ) ]]; then
      kill_orphans "$3"
    fi
    ;;
  list)
    ipt -S INPUT | grep -- "$MARK" || true
    ipt -S OUTPUT | grep -- "$MARK" || true
    ;;
  clear) do_clear ;;
  *) usage ;;
esac
