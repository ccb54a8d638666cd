#!/usr/bin/env bash
# Network-path lab: three network namespaces, client — router — server, for path diagnostics tests and benchmarks.
#
#   scripts/netns.sh up   [--id N] [--mtu N] [--icmp block|allow] [--udp drop|closed|open] [--udp-port P]
#   scripts/netns.sh set  [--id N] [--mtu N] [--icmp block|allow] [--udp drop|closed|open] [--udp-port P]
#       (changes only the router's part of a running lab; endpoints and servers stay up)
#   scripts/netns.sh down [--id N]
#   scripts/netns.sh status [--id N]
#   scripts/netns.sh exec [--id N] client|router|server CMD ARGS...
#   scripts/netns.sh relay start|stop [--id N] [--tcp PORT]... [--udp PORT]... [--delay MS] [--jitter MS]
#       bench/RdpProbe.Relay in the router namespace on 10.213.<10N+1>.1:PORT → server:PORT with added one-way delay
#       and jitter each way (the round trip grows by ~2×delay). Clients use the router address as the target.
#   scripts/netns.sh delay start|stop [--id N] [--delay MS] [--jitter MS]
#       a delayed *packet* path: VXLAN client 10.215.<N>.1 ↔ server 10.215.<N>.2 whose UDP crosses the relay; unlike
#       the TCP relay above, the TCP handshake itself sees the delay (the bench measures RTT from it).
#   scripts/netns.sh lab start|stop|status [--id N] [--base PORT]
#       scripts/lab.sh inside the server namespace; base+0..3 answer on every non-loopback address of the server
#       namespace (veth, VXLAN, WireGuard), DNAT to the 127.0.0.1 listeners.
#       Use a base no other lab uses (e.g. 15389): lab.sh keeps its state per base in .lab/<base>/.
#
# Layout for id N (0..9; default 0, env RDPP_NETNS_ID):
#   rdpp[N-]client  veth rp<N>c0  10.213.<10N+1>.2/24  default via .1
#   rdpp[N-]router  veth rp<N>r1  10.213.<10N+1>.1/24, veth rp<N>r2 10.213.<10N+2>.1/24, forwarding on
#   rdpp[N-]server  veth rp<N>s0  10.213.<10N+2>.2/24  default via .1
# (id 0 gives rdpp-client / rdpp-router / rdpp-server.)
#
# --mtu N: a narrow link *inside* the path. The endpoints keep 1500-byte interfaces, so both announce MSS 1460 and
#   send full-size DF segments; the router's routes towards each side carry "mtu lock N". A forwarded packet larger
#   than N then needs ICMP fragmentation-needed (type 3 code 4, next-hop MTU N) from the router, exactly like a VPN or
#   PPPoE hop. (A small MTU on a veth interface instead would make the endpoints announce a small MSS, and a veth
#   silently drops received frames above its own MTU — neither is what a real path does.)
# --icmp block: the router drops the fragmentation-needed messages it generates and forwards → PMTUD black hole.
# --icmp allow (default): they reach the sender and PMTUD works.
# --udp drop: the router drops UDP to the server's --udp-port (default 3389) → silence.
# --udp closed (default) / open: no rule; the server namespace answers ICMP port unreachable unless something
#   listens on the port (a test starts its own responder there for "open").
#
# Everything lives inside the namespaces: `down` deletes them, and every veth, route and iptables rule goes with them.
# Needs root, iproute2 and iptables.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

die() { echo "netns.sh: $*" >&2; exit 2; }

id="${RDPP_NETNS_ID:-0}"
mtu=""
icmp="allow"
udp="closed"
udp_port=3389
base=""

cmd="${1:-}"
[[ -n "$cmd" ]] || die "usage: netns.sh up|down|status|exec|lab ... (see the header of this script)"
shift

sub=""
delay=0
jitter=0
relay_tcp=()
relay_udp=()
relay_udp_maps=()
relay_vxlan=0
sub_delay=""
if [[ "$cmd" == "delay" ]]; then
    sub_delay="${1:-}"
    [[ "$sub_delay" == "start" || "$sub_delay" == "stop" ]] || die "usage: netns.sh delay start|stop [--id N] [--delay MS] [--jitter MS]"
    shift
fi
if [[ "$cmd" == "relay" ]]; then
    sub="${1:-}"
    [[ "$sub" == "start" || "$sub" == "stop" ]] || die "usage: netns.sh relay start|stop [--id N] [--tcp PORT]... [--udp PORT]... [--delay MS] [--jitter MS]"
    shift
fi
if [[ "$cmd" == "lab" ]]; then
    sub="${1:-}"
    [[ "$sub" == "start" || "$sub" == "stop" || "$sub" == "status" ]] || die "usage: netns.sh lab start|stop|status [--id N] [--base PORT]"
    shift
fi

role=""
exec_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --id) id="${2:?--id needs a value}"; shift 2 ;;
        --mtu) mtu="${2:?--mtu needs a value}"; shift 2 ;;
        --icmp) icmp="${2:?--icmp needs a value}"; shift 2 ;;
        --udp) if [[ "$cmd" == "relay" ]]; then relay_udp+=("${2:?--udp needs a port}"); else udp="${2:?--udp needs a value}"; fi; shift 2 ;;
        --udp-port) udp_port="${2:?--udp-port needs a value}"; shift 2 ;;
        --base) base="${2:?--base needs a value}"; shift 2 ;;
        --delay) delay="${2:?--delay needs a value}"; shift 2 ;;
        --jitter) jitter="${2:?--jitter needs a value}"; shift 2 ;;
        --tcp) relay_tcp+=("${2:?--tcp needs a port}"); shift 2 ;;
        *)
            if [[ "$cmd" == "exec" ]]; then
                role="$1"; shift; exec_args=("$@"); break
            fi
            die "unknown option: $1" ;;
    esac
done

[[ "$id" =~ ^[0-9]$ ]] || die "--id must be 0..9"
[[ -z "$mtu" || ( "$mtu" =~ ^[0-9]+$ && "$mtu" -ge 576 && "$mtu" -le 1500 ) ]] || die "--mtu must be 576..1500"
[[ "$icmp" == "block" || "$icmp" == "allow" ]] || die "--icmp must be block or allow"
[[ "$udp" == "drop" || "$udp" == "closed" || "$udp" == "open" ]] || die "--udp must be drop, closed or open"
[[ "$udp_port" =~ ^[0-9]+$ && "$udp_port" -ge 1 && "$udp_port" -le 65535 ]] || die "--udp-port must be 1..65535"

if [[ "$id" == "0" ]]; then prefix="rdpp-"; else prefix="rdpp${id}-"; fi
ns_client="${prefix}client"
ns_router="${prefix}router"
ns_server="${prefix}server"
net_c="10.213.$((10 * id + 1))"
net_s="10.213.$((10 * id + 2))"
client_addr="${net_c}.2"
server_addr="${net_s}.2"
if_c="rp${id}c0"; if_r1="rp${id}r1"; if_r2="rp${id}r2"; if_s="rp${id}s0"

nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

labfile() { echo "/tmp/rdpp-netns-${id}.labbases"; }

down() {
    if exists "$ns_router"; then sub=stop; relay; fi
    # Processes started inside keep a namespace's network alive after `ip netns del`: stop the lab we started there,
    # then whatever else a test started inside our own namespaces (never anything outside them).
    if [[ -f "$(labfile)" ]] && exists "$ns_server"; then
        while read -r b; do
            [[ -n "$b" ]] && nsx "$ns_server" "$here/lab.sh" stop --base "$b" >/dev/null 2>&1 || true
        done <"$(labfile)"
    fi
    rm -f "$(labfile)"
    for ns in "$ns_client" "$ns_router" "$ns_server"; do
        if exists "$ns"; then
            local pids
            pids="$(ip netns pids "$ns" 2>/dev/null || true)"
            if [[ -n "$pids" ]]; then
                kill -TERM $pids 2>/dev/null || true
                sleep 0.3
                pids="$(ip netns pids "$ns" 2>/dev/null || true)"
                [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
            fi
            ip netns del "$ns" || true
        fi
    done
    # veth ends left in the root namespace by an interrupted `up`.
    for dev in "$if_c" "$if_r1" "$if_r2" "$if_s"; do
        ip link del "$dev" 2>/dev/null || true
    done
}

# The router's part of the scenario: routed MTU, ICMP frag-needed filtering, UDP drop. Idempotent: it first puts the
# router back to a plain 1500-byte forwarder with no rules, and makes both endpoints forget learned path MTUs.
apply_path() {
    nsx "$ns_router" iptables -w -F FORWARD
    nsx "$ns_router" iptables -w -F OUTPUT
    local m="${mtu:-1500}"
    # Route MTU is what forwarding honours (ip_dst_mtu_maybe_forward); "lock" keeps it from being raised.
    nsx "$ns_router" ip route replace "${net_c}.0/24" dev "$if_r1" proto kernel scope link src "${net_c}.1" mtu lock "$m"
    nsx "$ns_router" ip route replace "${net_s}.0/24" dev "$if_r2" proto kernel scope link src "${net_s}.1" mtu lock "$m"

    if [[ "$icmp" == "block" ]]; then
        # The router's own frag-needed messages leave through OUTPUT; FORWARD covers any from further away.
        nsx "$ns_router" iptables -w -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
        nsx "$ns_router" iptables -w -A FORWARD -p icmp --icmp-type fragmentation-needed -j DROP
    fi

    if [[ "$udp" == "drop" ]]; then
        nsx "$ns_router" iptables -w -A FORWARD -p udp -d "$server_addr" --dport "$udp_port" -j DROP
    fi

    # A path MTU learned in an earlier scenario would hide a black hole in this one.
    for ns in "$ns_client" "$ns_server"; do
        nsx "$ns" ip -4 route flush cache 2>/dev/null || true
    done
}

up() {
    down
    trap 'down' ERR
    ip netns add "$ns_client"
    ip netns add "$ns_router"
    ip netns add "$ns_server"

    ip link add "$if_c" type veth peer name "$if_r1"
    ip link add "$if_s" type veth peer name "$if_r2"
    ip link set "$if_c" netns "$ns_client"
    ip link set "$if_r1" netns "$ns_router"
    ip link set "$if_r2" netns "$ns_router"
    ip link set "$if_s" netns "$ns_server"

    for ns in "$ns_client" "$ns_router" "$ns_server"; do nsx "$ns" ip link set lo up; done

    nsx "$ns_client" ip addr add "${client_addr}/24" dev "$if_c"
    nsx "$ns_client" ip link set "$if_c" up
    nsx "$ns_client" ip route add default via "${net_c}.1"

    nsx "$ns_server" ip addr add "${server_addr}/24" dev "$if_s"
    nsx "$ns_server" ip link set "$if_s" up
    nsx "$ns_server" ip route add default via "${net_s}.1"

    nsx "$ns_router" ip addr add "${net_c}.1/24" dev "$if_r1"
    nsx "$ns_router" ip addr add "${net_s}.1/24" dev "$if_r2"
    nsx "$ns_router" ip link set "$if_r1" up
    nsx "$ns_router" ip link set "$if_r2" up
    nsx "$ns_router" sysctl -qw net.ipv4.ip_forward=1

    apply_path

    trap - ERR
    # Both endpoints must see each other before a test starts.
    # (TCP to the discard port: "connection refused" proves the round trip without needing ping on the machine.)
    local out
    out="$(nsx "$ns_client" timeout 3 bash -c "exec 3<>/dev/tcp/${server_addr}/9" 2>&1 || true)"
    if [[ "$out" != *refused* ]]; then down; die "path check failed: client cannot reach $server_addr ($out)"; fi
    echo "netns id=$id client=$ns_client/$client_addr server=$ns_server/$server_addr router=$ns_router mtu=${mtu:-1500} icmp=$icmp udp=$udp/$udp_port"
}

status() {
    for ns in "$ns_client" "$ns_router" "$ns_server"; do
        if exists "$ns"; then echo "$ns: up"; else echo "$ns: absent"; fi
    done
    if exists "$ns_router"; then
        nsx "$ns_router" ip route show
        nsx "$ns_router" iptables -w -S
    fi
}

relay_pidfile() { echo "/tmp/rdpp-netns-${id}.relay.pid"; }

# The user-space delay relay (bench/RdpProbe.Relay) inside the router namespace: it listens on the router's client-side
# address and forwards to the server, adding delay/jitter per direction (kernel netem is not available).
relay() {
    exists "$ns_router" || die "namespaces are not up (run: netns.sh up --id $id)"
    local pidfile; pidfile="$(relay_pidfile)"
    if [[ -f "$pidfile" ]]; then
        local old; old="$(cat "$pidfile")"
        # Only a relay this script started, still running the relay program.
        if kill -0 "$old" 2>/dev/null && tr '\0' ' ' <"/proc/$old/cmdline" | grep -q rdpprobe-relay; then
            kill -TERM "$old" 2>/dev/null || true
            for _ in $(seq 1 30); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$pidfile"
    fi
    [[ "$sub" == "start" ]] || return 0
    [[ ${#relay_tcp[@]} -gt 0 || ${#relay_udp[@]} -gt 0 || ${#relay_udp_maps[@]} -gt 0 ]] || die "relay start needs --tcp PORT or --udp PORT"
    local root; root="$(cd "$here/.." && pwd)"
    local dll="$root/bench/RdpProbe.Relay/bin/Release/net10.0/rdpprobe-relay.dll"
    # Incremental: quick when up to date, and never runs a relay older than its source.
    dotnet build "$root/bench/RdpProbe.Relay/RdpProbe.Relay.csproj" -c Release -v q -nologo >/dev/null || die "could not build bench/RdpProbe.Relay"
    [[ -f "$dll" ]] || die "relay build produced no $dll"
    local args=()
    for p in "${relay_tcp[@]}"; do args+=(--tcp "${net_c}.1:$p=${server_addr}:$p"); done
    for p in "${relay_udp[@]}"; do args+=(--udp "${net_c}.1:$p=${server_addr}:$p"); done
    for m in "${relay_udp_maps[@]}"; do args+=(--udp "$m"); done
    args+=(--delay "$delay" --jitter "$jitter")
    [[ "$relay_vxlan" == 1 ]] && args+=(--vxlan)
    local log="/tmp/rdpp-netns-${id}.relay.log"
    setsid ip netns exec "$ns_router" dotnet "$dll" "${args[@]}" </dev/null >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
        grep -q "relay ready" "$log" 2>/dev/null && { cat "$log"; return 0; }
        kill -0 "$(cat "$pidfile")" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    die "relay did not start"
}

# A delayed packet path for TCP (no proxy: the TCP handshake itself sees the delay): a VXLAN link between client and
# server (10.215.<N>.1 ↔ 10.215.<N>.2) whose UDP packets cross the router through the delay relay, one relay mapping
# per direction (VXLAN sends to its configured remote, so each side's remote is the relay on its own side of the router).
# The veths get MTU 1550 so the VXLAN link itself keeps 1500 bytes: this path differs from "direct" only by the delay.
delay_path() {
    exists "$ns_router" || die "namespaces are not up (run: netns.sh up --id $id)"
    local vx_c="vxc${id}" vx_s="vxs${id}" vni=$((4200 + id))
    nsx "$ns_client" ip link del "$vx_c" 2>/dev/null || true
    nsx "$ns_server" ip link del "$vx_s" 2>/dev/null || true
    sub=stop relay
    local link_mtu=1500
    [[ "$sub_delay" == "start" ]] && link_mtu=1550
    for pair in "$ns_client:$if_c" "$ns_router:$if_r1" "$ns_router:$if_r2" "$ns_server:$if_s"; do
        nsx "${pair%%:*}" ip link set "${pair#*:}" mtu "$link_mtu"
    done
    [[ "$sub_delay" == "start" ]] || return 0
    nsx "$ns_client" ip link add "$vx_c" type vxlan id "$vni" dstport 4789 local "$client_addr" remote "${net_c}.1" dev "$if_c"
    nsx "$ns_server" ip link add "$vx_s" type vxlan id "$vni" dstport 4789 local "$server_addr" remote "${net_s}.1" dev "$if_s"
    nsx "$ns_client" ip addr add "10.215.${id}.1/24" dev "$vx_c"
    nsx "$ns_server" ip addr add "10.215.${id}.2/24" dev "$vx_s"
    nsx "$ns_client" ip link set "$vx_c" mtu 1500 up
    nsx "$ns_server" ip link set "$vx_s" mtu 1500 up
    relay_udp_maps=("${net_c}.1:4789=${server_addr}:4789" "${net_s}.1:4789=${client_addr}:4789")
    relay_vxlan=1
    sub=start relay
    echo "delay path id=$id: client 10.215.${id}.1 ↔ server 10.215.${id}.2 over VXLAN through the relay, ${delay} ms ± ${jitter} ms each way"
}

lab() {
    exists "$ns_server" || die "namespaces are not up (run: netns.sh up --id $id)"
    [[ -x "$here/lab.sh" ]] || die "scripts/lab.sh is missing"
    local b="${base:-${RDPPROBE_LAB_BASE:-13389}}"
    # The lab binds its servers to 127.0.0.1; inside the server namespace that loopback is private, so DNAT the
    # namespace's own addresses to it (route_localnet lets the kernel route 127/8 after DNAT). Rules live in the
    # namespace and vanish with it.
    if [[ "$sub" == "start" ]]; then
        nsx "$ns_server" sysctl -qw net.ipv4.conf.all.route_localnet=1
        for off in 0 1 2 3; do
            local p=$((b + off))
            # Any non-loopback interface: the veth address and a VPN tunnel address (scripts/vpn.sh) both reach the lab.
            if ! nsx "$ns_server" iptables -w -t nat -C PREROUTING ! -i lo -p tcp --dport "$p" -j DNAT --to-destination "127.0.0.1:$p" 2>/dev/null; then
                nsx "$ns_server" iptables -w -t nat -A PREROUTING ! -i lo -p tcp --dport "$p" -j DNAT --to-destination "127.0.0.1:$p"
            fi
        done
        grep -qx "$b" "$(labfile)" 2>/dev/null || echo "$b" >>"$(labfile)"
    fi
    if [[ "$sub" == "start" ]]; then
        # A FreeRDP shadow server sometimes fails to open a display Xvfb has only just announced; one more try.
        # The path tests need no KDC (the Kerberos tests use the loopback lab's).
        nsx "$ns_server" env RDPPROBE_LAB_KDC=0 "$here/lab.sh" start --base "$b" || { sleep 1; nsx "$ns_server" env RDPPROBE_LAB_KDC=0 "$here/lab.sh" start --base "$b"; }
    else
        nsx "$ns_server" "$here/lab.sh" "$sub" --base "$b"
    fi
}

case "$cmd" in
    up) up ;;
    set)
        exists "$ns_router" || die "namespaces are not up (run: netns.sh up --id $id)"
        apply_path
        echo "netns id=$id path: mtu=${mtu:-1500} icmp=$icmp udp=$udp/$udp_port" ;;
    down) down ;;
    status) status ;;
    exec)
        [[ -n "$role" ]] || die "usage: netns.sh exec [--id N] client|router|server CMD ARGS..."
        case "$role" in client) ns="$ns_client" ;; router) ns="$ns_router" ;; server) ns="$ns_server" ;; *) die "role must be client, router or server" ;; esac
        [[ ${#exec_args[@]} -gt 0 ]] || die "exec needs a command"
        exec ip netns exec "$ns" "${exec_args[@]}" ;;
    lab) lab ;;
    relay) relay ;;
    delay) delay_path ;;
    *) die "unknown command: $cmd" ;;
esac
