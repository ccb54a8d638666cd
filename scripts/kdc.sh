#!/usr/bin/env bash
# RdpProbe lab KDC: a real MIT Kerberos KDC (Debian krb5-kdc) on 127.0.0.1 for the kerberos phase's tests.
#
#   scripts/kdc.sh start|stop|status [--base PORT]       (default 13389, or env RDPPROBE_LAB_BASE)
#
#   base+14  krb5kdc, realm RDPPROBE.TEST, UDP and TCP, real clock
#   base+15  krb5kdc on the same database under libfaketime with its clock 7 minutes ahead (only when the faketime
#            package is installed; otherwise it is left out)
#
# Principals (all in RDPPROBE.TEST):
#   probe                          password Passw0rd!, AES keys only (aes256/aes128-cts-hmac-sha1-96), preauth required
#   rc4only                        password Passw0rd!, only an rc4-hmac key (an account whose password was last set
#                                  before AES keys existed); the client policy below is AES-only -> ETYPE_NOSUPP
#   revoked                        password Passw0rd!, -allow_tix (a disabled account) -> KDC_ERR_CLIENT_REVOKED
#   expiredpw                      password Passw0rd!, password expired on 2020-01-01 -> KDC_ERR_KEY_EXPIRED
#   TERMSRV/app01.rdpprobe.test    the RDP service principal of app01 (random AES keys)
#   TERMSRV/app02.rdpprobe.test    deliberately NOT registered -> KDC_ERR_S_PRINCIPAL_UNKNOWN
#
# Files under .lab/<base>/kdc/:
#   krb5.conf         the CLIENT configuration to give probes and kinit (KRB5_CONFIG=...): default_realm
#                     RDPPROBE.TEST, kdc = 127.0.0.1:base+14, and an AES-only enctype policy (permitted_enctypes
#                     aes256/aes128) like Windows' "Network security: Configure encryption types allowed for Kerberos"
#                     set to AES only; dns_canonicalize_hostname = false so that TERMSRV/<name> is the name as given
#   krb5-skew.conf    the same, pointing at the skewed KDC on base+15
#   kdc.conf, krb5-server.conf, principal*, stash, *.log, *.pid: the KDCs' own state
#
# Names: app01/app02.rdpprobe.test are not added to /etc/hosts. A Kerberos client needs no address for the SPN (the
# SPN is only a name in the TGS-REQ); the probe takes the address and the name separately (rdpprobe 127.0.0.1:PORT
# --server-name app01.rdpprobe.test), the way a network engineer tests a server by name before DNS points at it.
#
# "start" is idempotent (a KDC this checkout started and that still answers is left alone) and waits, bounded, until
# each KDC answers an AS-REQ over TCP. "stop" stops only the KDCs whose pids this checkout recorded. The database is
# created once per state directory; delete .lab/<base>/kdc to start over.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REALM=RDPPROBE.TEST
readonly PASSWORD='Passw0rd!'
readonly START_TIMEOUT_S="${RDPPROBE_LAB_TIMEOUT:-30}"

usage() {
  echo "usage: scripts/kdc.sh start|stop|status [--base PORT]   (default base 13389 or \$RDPPROBE_LAB_BASE)" >&2
  exit 2
}

die() {
  echo "kdc.sh: $*" >&2
  exit 1
}

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
base="${RDPPROBE_LAB_BASE:-13389}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) [[ $# -ge 2 ]] || usage; base="$2"; shift 2 ;;
    --base=*) base="${1#--base=}"; shift ;;
    *) usage ;;
  esac
done
[[ "$base" =~ ^[0-9]+$ ]] && (( base >= 1 && base + 15 <= 65535 )) || die "--base must be a port number with room for base+15 (got '$base')"

readonly LAB_STATE="${RDPPROBE_LAB_STATE:-$ROOT/.lab/$base}"
readonly STATE="$LAB_STATE/kdc"
readonly PORT=$((base + 14))
readonly SKEW_PORT=$((base + 15))
FAKETIME_LIB="$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)"
readonly FAKETIME_LIB
NAMES=(kdc)
if [[ -n "$FAKETIME_LIB" ]]; then
  NAMES+=(kdc-skew)
fi
readonly NAMES

port_of() {
  case "$1" in
    kdc) echo "$PORT" ;;
    kdc-skew) echo "$SKEW_PORT" ;;
  esac
}

need_tools() {
  local missing=()
  for t in krb5kdc kdb5_util kadmin.local ss setsid flock; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing ${missing[*]}; install with: DEBIAN_FRONTEND=noninteractive apt-get install -y krb5-kdc krb5-admin-server krb5-user iproute2 util-linux"
  fi
}

listening_tcp() {
  [[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]
}

listening_udp() {
  [[ -n "$(ss -Hlun "( sport = :$1 )" 2>/dev/null)" ]]
}

cmdline_of() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
}

alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z ]]
}

# A pid file is trusted only while its process still runs krb5kdc (pids get reused).
recorded_pid() {
  local name="$1" pid
  [[ -f "$STATE/$name.pid" ]] || return 0
  pid="$(cat "$STATE/$name.pid")"
  if alive "$pid" && [[ "$(cmdline_of "$pid")" == *krb5kdc* ]]; then
    echo "$pid"
  fi
}

# The KDCs' own configuration: the realm's database under $STATE, listeners on 127.0.0.1 only. Both KDCs read
# the same database; lockout and last-success bookkeeping are off so neither writes to it while serving.
write_server_config() {
  local name="$1" port="$2"
  cat >"$STATE/$name.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$port
    kdc_tcp_listen = 127.0.0.1:$port

[realms]
    $REALM = {
        database_name = $STATE/principal
        key_stash_file = $STATE/stash
        acl_file = $STATE/kadm5.acl
        kdc_listen = 127.0.0.1:$port
        kdc_tcp_listen = 127.0.0.1:$port
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        master_key_type = aes256-cts-hmac-sha1-96
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal arcfour-hmac-md5:normal
    }

[dbmodules]
    $REALM = {
        disable_last_success = true
        disable_lockout = true
    }

[logging]
    kdc = FILE:$STATE/$name.log
EOF
}

# krb5.conf for the KDC processes and kadmin.local (no client enctype policy: the KDC must issue rc4 keys).
write_krb5_server_conf() {
  cat >"$STATE/krb5-server.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false

[realms]
    $REALM = {
        kdc = 127.0.0.1:$PORT
    }
EOF
}

# The client configuration handed to probes (KRB5_CONFIG): AES-only, as a Windows domain with RC4 disabled.
write_client_conf() {
  local file="$1" port="$2"
  cat >"$file" <<EOF
# Generated by scripts/kdc.sh for the RdpProbe lab (base $base). Client side: point KRB5_CONFIG here.
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1465
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
    default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
    default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96

[realms]
    $REALM = {
        kdc = 127.0.0.1:$port
    }

[domain_realm]
    .rdpprobe.test = $REALM
    rdpprobe.test = $REALM
EOF
}

kadmin_q() {
  KRB5_CONFIG="$STATE/krb5-server.conf" KRB5_KDC_PROFILE="$STATE/kdc.conf" kadmin.local -r "$REALM" -q "$1" >>"$STATE/setup.log" 2>&1 ||
    die "kadmin.local -q '$1' failed; see $STATE/setup.log"
}

create_database() {
  [[ -s "$STATE/principal" && -s "$STATE/stash" && -f "$STATE/principals.done" ]] && return 0
  rm -f "$STATE"/principal* "$STATE/stash" "$STATE/principals.done"
  : >"$STATE/setup.log"
  : >"$STATE/kadm5.acl"
  # The master password only protects the lab's throw-away database; -s stashes it for the KDC.
  KRB5_CONFIG="$STATE/krb5-server.conf" KRB5_KDC_PROFILE="$STATE/kdc.conf" \
    kdb5_util -r "$REALM" create -s -P "lab-master-$base" >>"$STATE/setup.log" 2>&1 ||
    die "kdb5_util create failed; see $STATE/setup.log"
  local aes='aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal'
  kadmin_q "addprinc -pw $PASSWORD -e $aes +requires_preauth probe"
  kadmin_q "addprinc -pw $PASSWORD -e arcfour-hmac-md5:normal +requires_preauth rc4only"
  kadmin_q "addprinc -pw $PASSWORD -e $aes +requires_preauth -allow_tix revoked"
  kadmin_q "addprinc -pw $PASSWORD -e $aes +requires_preauth -pwexpire 2020-01-01 expiredpw"
  kadmin_q "addprinc -randkey -e $aes TERMSRV/app01.rdpprobe.test"
  # TERMSRV/app02.rdpprobe.test is deliberately absent.
  touch "$STATE/principals.done"
}

# Does the KDC on PORT answer a TCP AS-REQ? kinit for an unknown principal needs no password and ends with the
# KDC's answer ("not found in Kerberos database"); "Cannot contact any KDC" means no answer.
answers() {
  local port="$1" out
  # No DNS of any kind: in a network namespace without a resolver every lookup waits out its timeout, longer than 5 s.
  printf '%s\n' "[libdefaults]" "default_realm = $REALM" "udp_preference_limit = 1" "dns_lookup_kdc = false" "dns_lookup_realm = false" \
    "dns_canonicalize_hostname = false" "rdns = false" "[realms]" "$REALM = {" "kdc = 127.0.0.1:$port" "}" >"$STATE/probe-$port.conf"
  out="$(KRB5_CONFIG="$STATE/probe-$port.conf" KRB5CCNAME="MEMORY:kdcsh" timeout 5 kinit -V "labcheck-nobody@$REALM" </dev/null 2>&1 || true)"
  [[ "$out" == *"not found in Kerberos database"* ]]
}

fail_with_log() {
  local name="$1" why="$2"
  {
    echo "kdc.sh: $name (base $base): $why. Last lines of $STATE/$name.log and $STATE/$name.out:"
    tail -n 10 "$STATE/$name.log" 2>/dev/null | sed 's/^/    /'
    tail -n 5 "$STATE/$name.out" 2>/dev/null | sed 's/^/    /'
  } >&2
  exit 1
}

start_kdc() {
  local name="$1" port
  port="$(port_of "$name")"
  if [[ -n "$(recorded_pid "$name")" ]]; then
    answers "$port" && return 0
    echo "kdc.sh: $name on $port does not answer an AS-REQ; restarting it"
    stop_pid "$name"
  fi
  if listening_tcp "$port" || listening_udp "$port"; then
    die "$name: port $port is taken by another program (pick another base with --base or RDPPROBE_LAB_BASE)"
  fi
  write_server_config "$name" "$port"
  local env=(env KRB5_CONFIG="$STATE/krb5-server.conf" KRB5_KDC_PROFILE="$STATE/$name.conf")
  if [[ "$name" == kdc-skew ]]; then
    # FAKETIME="+7m": the KDC's wall clock runs 7 minutes ahead (its KRB-ERROR stime, its skew check and the
    # tickets' times); monotonic clocks stay real.
    env+=(LD_PRELOAD="$FAKETIME_LIB" FAKETIME="+7m" FAKETIME_DONT_FAKE_MONOTONIC=1)
  fi
  # -n: stay in the foreground (no fork), so the recorded pid is the KDC's; -w is not used (one process).
  setsid "${env[@]}" krb5kdc -n -r "$REALM" </dev/null >"$STATE/$name.out" 2>&1 8>&- 9>&- &
  echo $! >"$STATE/$name.pid"
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT_S)) name port pending
  while :; do
    pending=()
    for name in "${NAMES[@]}"; do
      port="$(port_of "$name")"
      if ! alive "$(cat "$STATE/$name.pid" 2>/dev/null || true)"; then
        fail_with_log "$name" "exited at start"
      fi
      if ! listening_tcp "$port" || ! listening_udp "$port" || ! answers "$port"; then
        pending+=("$name")
      fi
    done
    [[ ${#pending[@]} -eq 0 ]] && return 0
    if ((SECONDS >= deadline)); then
      fail_with_log "${pending[0]}" "does not answer an AS-REQ on 127.0.0.1:$(port_of "${pending[0]}") after ${START_TIMEOUT_S}s"
    fi
    sleep 0.2
  done
}

stop_pid() {
  local name="$1" pid
  pid="$(recorded_pid "$name")"
  rm -f "$STATE/$name.pid"
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

lock() {
  exec 8>"/tmp/rdpprobe-kdc-$base.lock"
  flock -w 60 8 || die "another kdc.sh for base $base holds /tmp/rdpprobe-kdc-$base.lock"
}

do_start() {
  need_tools
  mkdir -p "$STATE"
  lock
  write_server_config kdc "$PORT"
  write_krb5_server_conf
  write_client_conf "$STATE/krb5.conf" "$PORT"
  write_client_conf "$STATE/krb5-skew.conf" "$SKEW_PORT"
  create_database
  local name
  for name in "${NAMES[@]}"; do
    start_kdc "$name"
  done
  wait_ready
  echo "kdc.sh: KDC for $REALM on base $base is up (client config: $STATE/krb5.conf)"
  do_status
}

do_stop() {
  [[ -d "$STATE" ]] || { echo "kdc.sh: nothing recorded for base $base"; return 0; }
  lock
  local name
  for name in kdc kdc-skew; do
    stop_pid "$name"
  done
  echo "kdc.sh: KDCs on base $base stopped"
}

do_status() {
  local name port rc=0 state
  for name in "${NAMES[@]}"; do
    port="$(port_of "$name")"
    if listening_tcp "$port" && listening_udp "$port"; then
      if [[ -n "$(recorded_pid "$name")" ]]; then state="up (pid $(recorded_pid "$name"))"; else state="up (not started from this checkout)"; fi
    else
      state="down"
      rc=1
    fi
    printf '%-12s 127.0.0.1:%-5s udp+tcp %s\n' "$name" "$port" "$state"
  done
  return $rc
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
