#!/usr/bin/env bash
# RdpProbe test lab: real RDP servers on 127.0.0.1 for integration tests and hand checks.
#
#   scripts/lab.sh start|stop|status|display [--base PORT]     (default 13389, or env RDPPROBE_LAB_BASE)
#
#   base+0  xrdp 0.9.21, security_layer=negotiate (TLS + standard RDP security, no NLA)
#   base+1  FreeRDP shadow server, NLA only  (+auth /sec:nla, SAM user probe, domain LAB, password Passw0rd!)
#   base+2  FreeRDP shadow server, TLS only  (/sec:tls -auth)
#   base+3  FreeRDP shadow server, standard RDP security only (/sec:rdp -auth)
#   base+4  xrdp with an EXPIRED self-signed certificate (valid 2020-01-01 .. 2021-01-01, made with openssl ca)
#   base+5  xrdp that accepts only TLS 1.0 (ssl_protocols=TLSv1, tls_ciphers=DEFAULT@SECLEVEL=0 for OpenSSL 3)
#   base+6  xrdp whose certificate and key files are missing (security_layer=negotiate)
#   base+7  xrdp with security_layer=rdp (Standard RDP Security only)
#   base+8  FreeRDP shadow server, NLA only, under libfaketime with its clock 7 minutes ahead (only when the
#           faketime package is installed; otherwise it is left out)
#   base+9  nothing listens (closed port: the kernel answers a SYN with RST)
#   --- lane attrib (issue 11) ---
#   base+10 xrdp whose certificate and key do not belong together (security_layer=negotiate): the files exist, so
#           xrdp selects TLS, then cannot use the pair and sends a cleartext MCS Disconnect Provider Ultimatum where
#           the ServerHello should be (the "MachineKeys" case: a certificate whose private key is unusable)
#   --- end lane attrib ---
#   base+11 python3 -m http.server bound to 127.0.0.1 (a foreign service: HTTP waits for a whole request line)
#   base+12 openssl s_server -www with a self-signed certificate (a foreign service: plain TLS, HTTPS-style)
#   base+13 sshd on 127.0.0.1 with its own config and host key under the state dir (a foreign service: speaks first)
#           The three foreign services (issue 11) are not RDP: they are only checked to accept TCP, not to answer
#           an X.224 Connection Request. Their block is delimited below ("foreign services").
#   base+14 MIT Kerberos KDC for realm RDPPROBE.TEST (UDP+TCP), and base+15 the same KDC 7 minutes ahead under
#           libfaketime: started and stopped by scripts/kdc.sh (principals and files: see its header); left out
#           with a notice when krb5-kdc is not installed
#
# State (pids, logs, generated configs, the Xvfb display) lives in .lab/<base>/ at the repository root.
# "start" is idempotent: a server already listening on its port is left alone, also when another checkout
# of the repository started it (the servers are recognised by their command line). It waits, bounded, until
# every port accepts a TCP connection and answers an X.224 Connection Request, and fails naming the server (with
# the end of its log) that did not come up; a server it started that stopped answering is restarted.
# "stop" stops only the processes whose pids this checkout recorded. "display" prints the base's Xvfb DISPLAY
# (e.g. :5) for xfreerdp, starting that Xvfb if needed.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly START_TIMEOUT_S="${RDPPROBE_LAB_TIMEOUT:-30}"
readonly SAM_LINE='probe:LAB:00000000000000000000000000000000:fc525c9683e8fe067095ba2ddc971889:::'

usage() {
  echo "usage: scripts/lab.sh start|stop|status|display [--base PORT]   (default base 13389 or \$RDPPROBE_LAB_BASE)" >&2
  exit 2
}

die() {
  echo "lab.sh: $*" >&2
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

# RDPPROBE_LAB_STATE overrides the state directory, for a second lab on the same base in another network namespace.
readonly STATE="${RDPPROBE_LAB_STATE:-$ROOT/.lab/$base}"
# libfaketime's preload library (Debian package faketime); the skewed NLA server needs it.
FAKETIME_LIB="$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)"
readonly FAKETIME_LIB
NAMES=(xrdp shadow-nla shadow-tls shadow-rdp xrdp-expired xrdp-tls10 xrdp-nocert xrdp-rdponly)
# lane attrib (issue 11): base+10
NAMES+=(xrdp-badkey)
if [[ -n "$FAKETIME_LIB" ]]; then
  NAMES+=(shadow-skew)
fi
readonly NAMES
port_of() {
  case "$1" in
    xrdp) echo $((base + 0)) ;;
    shadow-nla) echo $((base + 1)) ;;
    shadow-tls) echo $((base + 2)) ;;
    shadow-rdp) echo $((base + 3)) ;;
    xrdp-expired) echo $((base + 4)) ;;
    xrdp-tls10) echo $((base + 5)) ;;
    xrdp-nocert) echo $((base + 6)) ;;
    xrdp-rdponly) echo $((base + 7)) ;;
    shadow-skew) echo $((base + 8)) ;;
    closed) echo $((base + 9)) ;;
    xrdp-badkey) echo $((base + 10)) ;; # lane attrib (issue 11)
  esac
}

# True when something listens on 127.0.0.1:PORT (or on all addresses).
listening() {
  [[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]
}

# Pid of the process listening on PORT, empty when none (or when ss cannot tell).
listener_pid() {
  ss -Hltnp "( sport = :$1 )" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
}

cmdline_of() {
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null || true
}

# Running and not a zombie waiting to be reaped.
alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z ]]
}

# A pid file is trusted only while its process still runs the program it was started as (pids get reused).
recorded_pid() {
  local name="$1" pid
  [[ -f "$STATE/$name.pid" ]] || return 0
  pid="$(cat "$STATE/$name.pid")"
  if alive "$pid" && [[ "$(cmdline_of "$pid")" == *"$(expected_program "$name")"* ]]; then
    echo "$pid"
  fi
}

expected_program() {
  case "$1" in
    xvfb) echo "Xvfb" ;;
    xrdp | xrdp-*) echo "xrdp" ;;
    shadow-*) echo "freerdp-shadow-cli" ;;
  esac
}

# Does the process listening on the server's port look like that server (e.g. started by another checkout)?
foreign_server_matches() {
  local name="$1" port pid line
  port="$(port_of "$name")"
  pid="$(listener_pid "$port")"
  [[ -n "$pid" ]] || return 1
  line="$(cmdline_of "$pid")"
  case "$name" in
    xrdp) [[ "$line" == *xrdp* && "$line" != *"/xrdp-"*.ini* ]] ;;
    # The variants run from their own generated config, named after the server.
    xrdp-*) [[ "$line" == *xrdp* && "$line" == *"/$name.ini"* ]] ;;
    shadow-skew) [[ "$line" == *freerdp-shadow-cli* && "$line" == *"/port:$port"* && "$line" == *"/sec:nla"* ]] ;;
    shadow-nla) [[ "$line" == *freerdp-shadow-cli* && "$line" == *"/port:$port"* && "$line" == *"/sec:nla"* ]] ;;
    shadow-tls) [[ "$line" == *freerdp-shadow-cli* && "$line" == *"/port:$port"* && "$line" == *"/sec:tls"* ]] ;;
    shadow-rdp) [[ "$line" == *freerdp-shadow-cli* && "$line" == *"/port:$port"* && "$line" == *"/sec:rdp"* ]] ;;
  esac
}

need_tools() {
  local missing=()
  for t in xrdp freerdp-shadow-cli Xvfb ss setsid flock openssl; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing ${missing[*]}; install with: DEBIAN_FRONTEND=noninteractive apt-get install -y xrdp freerdp2-shadow-x11 xvfb iproute2 util-linux openssl"
  fi
}

# Starts a server detached from the caller (own session, no inherited stdio) so that a test runner waiting
# on lab.sh's output is never kept waiting by the long-lived servers.
spawn() {
  local name="$1"
  shift
  # stdbuf: FreeRDP logs to stdout, which is block-buffered into a file; line buffering keeps the log current.
  setsid "$@" </dev/null >"$STATE/$name.log" 2>&1 9>&- &
  echo $! >"$STATE/$name.pid"
}

# ---- foreign services (issue 11): base+11 http, base+12 tls-server, base+13 sshd ---------------------------------
# Real non-RDP services on the lab's ports, for "something else answers on the RDP port". Each runs in its own
# session (setsid) from files under $STATE/foreign; only TCP readiness is checked (they do not speak RDP).
FOREIGN_NAMES=(http tls-server sshd)
foreign_port_of() {
  case "$1" in
    http) echo $((base + 11)) ;;
    tls-server) echo $((base + 12)) ;;
    sshd) echo $((base + 13)) ;;
  esac
}
# A word of the command line that identifies the service (pid files are trusted only while it matches).
foreign_program() {
  case "$1" in
    http) echo "http.server" ;;
    tls-server) echo "s_server" ;;
    sshd) echo "sshd" ;;
  esac
}
foreign_recorded_pid() {
  local name="$1" pid
  [[ -f "$STATE/$name.pid" ]] || return 0
  pid="$(cat "$STATE/$name.pid")"
  if alive "$pid" && [[ "$(cmdline_of "$pid")" == *"$(foreign_program "$name")"* ]]; then
    echo "$pid"
  fi
}
start_foreign() {
  local name="$1" port dir
  port="$(foreign_port_of "$name")"
  dir="$STATE/foreign"
  mkdir -p "$dir"
  [[ -n "$(foreign_recorded_pid "$name")" ]] && return 0
  if listening "$port"; then
    local line
    line="$(cmdline_of "$(listener_pid "$port")")"
    if [[ "$line" == *"$(foreign_program "$name")"* && "$line" == *"$port"* ]]; then
      echo "lab.sh: $name on $port is already running (started elsewhere); reusing it"
      return 0
    fi
    die "$name: port $port is taken by another program: $line(pick another base with --base or RDPPROBE_LAB_BASE)"
  fi
  case "$name" in
    http)
      mkdir -p "$dir/www"
      echo "rdpprobe lab: not an RDP server" >"$dir/www/index.html"
      spawn "$name" python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir/www"
      ;;
    tls-server)
      if [[ ! -s "$dir/tls-cert.pem" || ! -s "$dir/tls-key.pem" ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=tls.rdpprobe.test" \
          -keyout "$dir/tls-key.pem" -out "$dir/tls-cert.pem" >"$dir/openssl.log" 2>&1 ||
          die "openssl req failed: $(tail -n 3 "$dir/openssl.log")"
      fi
      # -www: answers a GET over TLS with a status page and never reads stdin (which is /dev/null here).
      spawn "$name" openssl s_server -accept "127.0.0.1:$port" -cert "$dir/tls-cert.pem" -key "$dir/tls-key.pem" -www
      ;;
    sshd)
      command -v /usr/sbin/sshd >/dev/null 2>&1 || die "sshd missing; install with: apt-get install -y openssh-server"
      [[ -s "$dir/ssh_host_ed25519_key" ]] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key" >/dev/null ||
        die "ssh-keygen failed"
      # Nobody logs in: no password, no keys. sshd needs its privilege separation directory.
      mkdir -p /run/sshd
      printf '%s\n' "Port $port" "ListenAddress 127.0.0.1" "HostKey $dir/ssh_host_ed25519_key" "PidFile none" \
        "UsePAM no" "StrictModes no" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
        "PubkeyAuthentication no" "PermitRootLogin no" "AuthorizedKeysFile none" "MaxStartups 50" >"$dir/sshd_config"
      # sshd re-executes itself and so must be started by its absolute path.
      spawn "$name" /usr/sbin/sshd -D -e -f "$dir/sshd_config"
      ;;
  esac
}
foreign_wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT_S)) name port pid pending
  while :; do
    pending=()
    for name in "${FOREIGN_NAMES[@]}"; do
      port="$(foreign_port_of "$name")"
      if ! listening "$port"; then
        pid="$(cat "$STATE/$name.pid" 2>/dev/null || true)"
        [[ -n "$pid" ]] && ! alive "$pid" && fail_with_log "$name" "exited before listening on 127.0.0.1:$port"
        pending+=("$name")
      fi
    done
    [[ ${#pending[@]} -eq 0 ]] && break
    ((SECONDS < deadline)) || fail_with_log "${pending[0]}" "not listening on 127.0.0.1:$(foreign_port_of "${pending[0]}") after ${START_TIMEOUT_S}s"
    sleep 0.2
  done
  for name in "${FOREIGN_NAMES[@]}"; do
    accepts "$(foreign_port_of "$name")" || fail_with_log "$name" "listens but a TCP connect to 127.0.0.1:$(foreign_port_of "$name") failed"
  done
}
foreign_start_all() {
  local name
  for name in "${FOREIGN_NAMES[@]}"; do
    start_foreign "$name"
  done
  foreign_wait_ready
}
foreign_stop_all() {
  local name pid
  for name in "${FOREIGN_NAMES[@]}"; do
    pid="$(foreign_recorded_pid "$name")"
    rm -f "$STATE/$name.pid"
    [[ -n "$pid" ]] || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    # An if, not `alive && …`: as the loop's last command a false `alive` made the function return 1, and set -e
    # ended `lab.sh stop` right here, silently, before the KDCs were stopped (seen in every CI cleanup).
    if alive "$pid"; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
foreign_status() {
  local name port
  for name in "${FOREIGN_NAMES[@]}"; do
    port="$(foreign_port_of "$name")"
    if listening "$port"; then
      printf '%-12s 127.0.0.1:%-5s %s\n' "$name" "$port" "up (pid $(listener_pid "$port"), not RDP)"
    else
      printf '%-12s 127.0.0.1:%-5s %s\n' "$name" "$port" "down"
      return 1
    fi
  done
}
# ---- end of foreign services -------------------------------------------------------------------------------------

start_xvfb() {
  local pid display
  pid="$(recorded_pid xvfb)"
  if [[ -n "$pid" && -s "$STATE/display" ]]; then
    return 0
  fi
  rm -f "$STATE/display"
  # -displayfd makes Xvfb pick a free display number itself and write it once it listens. -noreset: by default an
  # X server resets when its last client leaves, and a shadow server connecting during that reset fails with
  # "failed to open display". -nolisten unix: clients (same network namespace) use the abstract socket; a
  # /tmp/.X11-unix/X<n> file would be shared with labs in other namespaces using the same number and deleted by
  # whichever Xvfb exits first.
  setsid Xvfb -displayfd 3 -noreset -screen 0 1024x768x24 -nolisten tcp -nolisten unix 3>"$STATE/display.tmp" </dev/null >"$STATE/xvfb.log" 2>&1 9>&- &
  echo $! >"$STATE/xvfb.pid"
  for ((i = 0; i < 100; i++)); do
    display="$(tr -dc '0-9' 2>/dev/null <"$STATE/display.tmp" || true)"
    if [[ -n "$display" ]]; then
      rm -f "$STATE/display.tmp"
      # Ready means a client can open it (xdpyinfo from x11-utils when present; otherwise a short pause).
      if command -v xdpyinfo >/dev/null 2>&1; then
        for ((j = 0; j < 50; j++)); do
          DISPLAY=":$display" timeout 2 xdpyinfo >/dev/null 2>&1 && break
          sleep 0.1
        done
      else
        sleep 0.5
      fi
      echo ":$display" >"$STATE/display"
      return 0
    fi
    alive "$(cat "$STATE/xvfb.pid")" || break
    sleep 0.1
  done
  fail_with_log xvfb "Xvfb did not report a display"
}

fail_with_log() {
  local name="$1" why="$2"
  {
    echo "lab.sh: $name (base $base): $why. Last lines of $STATE/$name.log:"
    tail -n 15 "$STATE/$name.log" 2>/dev/null | sed 's/^/    /'
  } >&2
  exit 1
}

write_xrdp_ini() {
  local port="$1" name="$2"
  shift 2
  # A private copy of the packaged xrdp.ini: our port bound to 127.0.0.1 only, our own log file, no syslog.
  # With --nodaemon xrdp writes no pid file, so several instances (one per base) can run side by side.
  # Only the first port= line is the listener ([Globals]); the later ones belong to the session modules.
  # Further arguments are KEY=VALUE settings of [Globals] replacing the packaged ones (the lab's variants).
  local edits=(-e "0,/^port=/s|^port=.*|port=tcp://127.0.0.1:$port|"
    -e "s|^LogFile=.*|LogFile=$STATE/$name.log|"
    -e "s|^EnableSyslog=.*|EnableSyslog=false|")
  local setting key
  for setting in "$@"; do
    key="${setting%%=*}"
    # The first line of that key, commented out or not: in the packaged file that is the [Globals] one.
    edits+=(-e "0,/^#\?$key=/s|^#\?$key=.*|$setting|")
  done
  sed "${edits[@]}" /etc/xrdp/xrdp.ini >"$STATE/$name.ini"
  grep -q "^port=tcp://127.0.0.1:$port\$" "$STATE/$name.ini" || die "could not set the port in $STATE/$name.ini (is /etc/xrdp/xrdp.ini the packaged one?)"
  for setting in "$@"; do
    grep -qxF "$setting" "$STATE/$name.ini" || die "could not set $setting in $STATE/$name.ini (is /etc/xrdp/xrdp.ini the packaged one?)"
  done
}

# A self-signed certificate that expired long ago (valid 2020-01-01 .. 2021-01-01): "openssl ca" takes explicit
# -startdate/-enddate, so no clock tricks are needed. RSA 2048 and SHA-256, so that only the dates are wrong.
make_expired_certificate() {
  local dir="$STATE/expired-ca"
  if [[ -s "$STATE/expired-cert.pem" && -s "$STATE/expired-key.pem" ]]; then
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir/newcerts"
  : >"$dir/index.txt"
  echo 01 >"$dir/serial"
  printf '%s\n' '[ca]' 'default_ca = lab' '[lab]' "database = $dir/index.txt" "new_certs_dir = $dir/newcerts" \
    "serial = $dir/serial" 'default_md = sha256' 'policy = any' 'email_in_dn = no' 'unique_subject = no' \
    '[any]' 'commonName = supplied' >"$dir/ca.cnf"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$STATE/expired-key.pem" -subj "/CN=expired.rdpprobe.test" \
    -out "$dir/req.csr" >"$dir/openssl.log" 2>&1 || die "openssl req failed: $(tail -n 3 "$dir/openssl.log")"
  openssl ca -batch -config "$dir/ca.cnf" -selfsign -keyfile "$STATE/expired-key.pem" -in "$dir/req.csr" \
    -startdate 20200101000000Z -enddate 20210101000000Z -notext -out "$STATE/expired-cert.pem" >>"$dir/openssl.log" 2>&1 ||
    die "openssl ca failed: $(tail -n 3 "$dir/openssl.log")"
}

# ---- lane attrib (issue 11): a certificate with a private key that is not its own (base+10, xrdp-badkey).
# Two independent RSA 2048 keys: the certificate is self-signed with the first, xrdp is given the second. Both files
# exist and parse, so xrdp selects TLS in the Connection Confirm; OpenSSL's key check then fails when the TLS
# context is built, which is what a Windows server with an unreadable MachineKeys private key resembles.
make_mismatched_key() {
  if [[ -s "$STATE/badkey-cert.pem" && -s "$STATE/badkey-key.pem" ]]; then
    return 0
  fi
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$STATE/badkey-certkey.pem" -subj "/CN=badkey.rdpprobe.test" \
    -days 3650 -out "$STATE/badkey-cert.pem" >"$STATE/badkey-openssl.log" 2>&1 || die "openssl req failed: $(tail -n 3 "$STATE/badkey-openssl.log")"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$STATE/badkey-key.pem" >>"$STATE/badkey-openssl.log" 2>&1 ||
    die "openssl genpkey failed: $(tail -n 3 "$STATE/badkey-openssl.log")"
  rm -f "$STATE/badkey-certkey.pem"
}
# ---- end lane attrib

start_xrdp() {
  local name="$1" port="$2"
  shift 2
  # xrdp keeps its runtime sockets in /run/xrdp (gone after a reboot on tmpfs).
  mkdir -p /run/xrdp/sockdir
  chmod 3777 /run/xrdp/sockdir
  write_xrdp_ini "$port" "$name" "$@"
  : >"$STATE/$name.log"
  setsid xrdp --nodaemon --config "$STATE/$name.ini" </dev/null >"$STATE/$name.stdout" 2>&1 9>&- &
  echo $! >"$STATE/$name.pid"
}

start_server() {
  local name="$1" port display
  port="$(port_of "$name")"
  if [[ -n "$(recorded_pid "$name")" ]]; then
    if ! listening "$port" || answers "$port"; then
      return 0
    fi
    echo "lab.sh: $name on $port accepts TCP but no longer answers an X.224 Connection Request; restarting it"
    restarted=1
    stop_pid "$name"
  fi
  if listening "$port"; then
    if foreign_server_matches "$name"; then
      answers "$port" || die "$name on $port (pid $(listener_pid "$port"), started elsewhere) accepts TCP but does not answer an X.224 Connection Request; restart it from the checkout that started it (scripts/lab.sh stop; scripts/lab.sh start)"
      echo "lab.sh: $name on $port is already running (pid $(listener_pid "$port"), started elsewhere); reusing it"
      rm -f "$STATE/$name.pid"
      return 0
    fi
    die "$name: port $port is taken by another program: $(cmdline_of "$(listener_pid "$port")")(pick another base with --base or RDPPROBE_LAB_BASE)"
  fi
  case "$name" in
    shadow-*)
      # The X display is needed only by the shadow servers, and only when one of them has to be started here.
      start_xvfb
      display="$(cat "$STATE/display")"
      ;;
  esac
  case "$name" in
    xrdp)
      start_xrdp xrdp "$port"
      ;;
    xrdp-expired)
      make_expired_certificate
      start_xrdp "$name" "$port" "certificate=$STATE/expired-cert.pem" "key_file=$STATE/expired-key.pem"
      ;;
    xrdp-tls10)
      # OpenSSL 3 refuses TLS 1.0 at security level 1 and above (its MD5+SHA-1 handshake hash counts as less than
      # 80 bits), so the server has to lower the level for TLS 1.0 to work at all.
      start_xrdp "$name" "$port" "ssl_protocols=TLSv1" "tls_ciphers=DEFAULT@SECLEVEL=0"
      ;;
    xrdp-nocert)
      start_xrdp "$name" "$port" "certificate=$STATE/missing/cert.pem" "key_file=$STATE/missing/key.pem"
      ;;
    xrdp-rdponly)
      start_xrdp "$name" "$port" "security_layer=rdp"
      ;;
    xrdp-badkey) # lane attrib (issue 11)
      make_mismatched_key
      start_xrdp "$name" "$port" "security_layer=negotiate" "certificate=$STATE/badkey-cert.pem" "key_file=$STATE/badkey-key.pem"
      ;;
    shadow-skew)
      # FAKETIME="+7m": every wall-clock read of the server runs 7 minutes ahead, the NTLM CHALLENGE's timestamp
      # included (MS-NLMP 2.2.2.1 MsvAvTimestamp); monotonic clocks stay real so its timers keep working.
      spawn "$name" env DISPLAY="$display" LD_PRELOAD="$FAKETIME_LIB" FAKETIME="+7m" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        stdbuf -oL -eL freerdp-shadow-cli "/port:$port" /bind-address:127.0.0.1 +auth /sec:nla "/sam-file:$STATE/sam"
      ;;
    shadow-nla)
      spawn "$name" env DISPLAY="$display" stdbuf -oL -eL freerdp-shadow-cli "/port:$port" /bind-address:127.0.0.1 +auth /sec:nla "/sam-file:$STATE/sam"
      ;;
    shadow-tls)
      spawn "$name" env DISPLAY="$display" stdbuf -oL -eL freerdp-shadow-cli "/port:$port" /bind-address:127.0.0.1 -auth /sec:tls
      ;;
    shadow-rdp)
      spawn "$name" env DISPLAY="$display" stdbuf -oL -eL freerdp-shadow-cli "/port:$port" /bind-address:127.0.0.1 -auth /sec:rdp
      ;;
  esac
}

accepts() {
  # A real connect, not just a LISTEN entry: the port must complete a TCP handshake.
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Does the server answer an X.224 Connection Request (RDP_NEG_REQ asking TLS|HYBRID) with a Connection Confirm?
# Every lab server does (a selection or an RDP_NEG_FAILURE). A FreeRDP shadow server can accept TCP yet never
# answer: one client thread stuck in a blocking read (a peer that vanished without a RST reaching the server)
# stalls every later connection.
answers() {
  local reply
  reply="$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00" >&3 && head -c 6 <&3' "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n' || true)"
  [[ "$reply" =~ ^0300[0-9a-f]{6}d0$ ]]
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT_S)) pending name port pid
  declare -A retries=()
  while :; do
    pending=()
    for name in "${NAMES[@]}"; do
      port="$(port_of "$name")"
      if ! listening "$port"; then
        pid="$(cat "$STATE/$name.pid" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && ! alive "$pid"; then
          # Xvfb reports its display number a moment before it takes clients; a shadow server started in that
          # moment exits with "failed to open display". Start it again (twice at most) before giving up.
          if [[ "$name" == shadow-* ]] && ((${retries[$name]:-0} < 2)); then
            retries[$name]=$((${retries[$name]:-0} + 1))
            echo "lab.sh: $name exited at start ($(grep -m1 -o 'failed to open display.*' "$STATE/$name.log" || echo "see $STATE/$name.log")); starting it again"
            sleep 0.5
            start_server "$name"
            pending+=("$name")
            continue
          fi
          fail_with_log "$name" "exited before listening on 127.0.0.1:$port"
        fi
        pending+=("$name")
      fi
    done
    [[ ${#pending[@]} -eq 0 ]] && break
    if ((SECONDS >= deadline)); then
      name="${pending[0]}"
      fail_with_log "$name" "not listening on 127.0.0.1:$(port_of "$name") after ${START_TIMEOUT_S}s (waiting for: ${pending[*]})"
    fi
    sleep 0.2
  done
  for name in "${NAMES[@]}"; do
    port="$(port_of "$name")"
    accepts "$port" || fail_with_log "$name" "listens on $port but a TCP connect to 127.0.0.1:$port failed"
    answers "$port" || fail_with_log "$name" "accepts TCP on $port but sends no X.224 Connection Confirm within 5 s"
  done
  port="$(port_of closed)"
  if listening "$port"; then
    die "closed port $port (base+9) must have no listener, but $(cmdline_of "$(listener_pid "$port")")listens there; pick another base"
  fi
}

do_start() {
  need_tools
  mkdir -p "$STATE"
  # One start at a time per base across every checkout on this machine.
  exec 9>"/tmp/rdpprobe-lab-$base.lock"
  flock -w 60 9 || die "another lab.sh start for base $base holds /tmp/rdpprobe-lab-$base.lock"
  printf '%s\n' "$SAM_LINE" >"$STATE/sam"
  local all_up=1 name
  restarted=0
  for name in "${NAMES[@]}"; do
    listening "$(port_of "$name")" || all_up=0
  done
  for name in "${NAMES[@]}"; do
    start_server "$name"
  done
  wait_ready
  foreign_start_all
  if ((all_up && !restarted)); then
    echo "lab.sh: lab on base $base already running"
  else
    echo "lab.sh: lab on base $base is up"
  fi
  do_status
  # --- lane krbkdc: the lab KDC (base+14, base+15) -----------------------------------------------------------
  if [[ "${RDPPROBE_LAB_KDC:-1}" == "0" ]]; then
    echo "lab.sh: RDPPROBE_LAB_KDC=0: the lab KDC (base+14/15) is left out"
  elif command -v krb5kdc >/dev/null 2>&1; then
    "$ROOT/scripts/kdc.sh" start --base "$base" 9>&-
  else
    echo "lab.sh: krb5-kdc is not installed; the lab KDC (base+14/15) is left out (scripts/install-deps.sh installs it)"
  fi
  # --- end lane krbkdc ------------------------------------------------------------------------------------------
}

stop_pid() {
  local name="$1" pid
  pid="$(recorded_pid "$name")"
  rm -f "$STATE/$name.pid"
  [[ -n "$pid" ]] || return 0
  # Each server leads its own process group (setsid), which also holds xrdp's per-connection children.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  kill -CONT -- "-$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

do_stop() {
  [[ -d "$STATE" ]] || { echo "lab.sh: nothing recorded for base $base"; return 0; }
  exec 9>"/tmp/rdpprobe-lab-$base.lock"
  flock -w 60 9 || die "another lab.sh holds /tmp/rdpprobe-lab-$base.lock"
  local name
  for name in "${NAMES[@]}" xvfb; do
    stop_pid "$name"
  done
  foreign_stop_all
  rm -f "$STATE/display"
  # --- lane krbkdc: the lab KDC ---------------------------------------------------------------------------------
  "$ROOT/scripts/kdc.sh" stop --base "$base" 9>&- || true
  # --- end lane krbkdc ------------------------------------------------------------------------------------------
  echo "lab.sh: lab on base $base stopped (processes started from this checkout)"
}

do_status() {
  local name port pid state rc=0
  for name in "${NAMES[@]}" closed; do
    port="$(port_of "$name")"
    if [[ "$name" == closed ]]; then
      if listening "$port"; then state="NOT CLOSED: $(cmdline_of "$(listener_pid "$port")")"; rc=1; else state="closed (as intended)"; fi
    elif listening "$port"; then
      pid="$(listener_pid "$port")"
      if [[ -n "$(recorded_pid "$name")" ]]; then state="up (pid ${pid:-?})"; else state="up (pid ${pid:-?}, not started from this checkout)"; fi
    else
      state="down"
      rc=1
    fi
    printf '%-12s 127.0.0.1:%-5s %s\n' "$name" "$port" "$state"
  done
  foreign_status || rc=1
  if [[ -s "$STATE/display" ]]; then
    echo "display     $(cat "$STATE/display")"
  fi
  return $rc
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  display)
    # The base's Xvfb (started if this checkout has none, e.g. when every server was started elsewhere).
    need_tools
    mkdir -p "$STATE"
    exec 9>"/tmp/rdpprobe-lab-$base.lock"
    flock -w 60 9 || die "another lab.sh holds /tmp/rdpprobe-lab-$base.lock"
    start_xvfb
    cat "$STATE/display"
    ;;
  *) usage ;;
esac
