#!/usr/bin/env python3
"""Load generator for `rdpprobe serve`: N workers, each on its own keep-alive HTTP connection, scrape
/probe?target=T&module=M round-robin over the targets for a fixed time, while the exporter's resident memory is
sampled from /proc. Prints one JSON object (probes/s, latency percentiles, status counts, memory samples)."""
import argparse, http.client, json, os, threading, time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """utime + stime of the process (/proc/PID/stat fields 14 and 15), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True, help="host:port of rdpprobe serve")
    parser.add_argument("--pid", type=int, required=True, help="the exporter's process id (memory samples)")
    parser.add_argument("--targets", required=True, help="comma-separated host:port list")
    parser.add_argument("--module", default="rdp_quick")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--scrape-timeout", type=float, default=10)
    args = parser.parse_args()

    host, port = args.exporter.rsplit(":", 1)
    targets = args.targets.split(",")
    lock = threading.Lock()
    latencies, statuses, successes = [], {}, [0]
    stop_at = time.monotonic() + args.seconds

    def worker(index):
        connection = http.client.HTTPConnection(host, int(port), timeout=args.scrape_timeout + 5)
        n = index
        while time.monotonic() < stop_at:
            target = targets[n % len(targets)]
            n += 1
            started = time.monotonic()
            try:
                connection.request("GET", f"/probe?target={target}&module={args.module}",
                                   headers={"X-Prometheus-Scrape-Timeout-Seconds": str(args.scrape_timeout)})
                response = connection.getresponse()
                body = response.read().decode()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=args.scrape_timeout + 5)
                status, body = "error", ""
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if "\nrdp_probe_success 1\n" in body:
                    successes[0] += 1

    memory = []
    cpu_before = cpu_seconds(args.pid)
    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    while time.monotonic() < stop_at:
        memory.append({"t": round(time.monotonic() - started, 1), "rss_mib": round(rss_kib(args.pid) / 1024, 1)})
        time.sleep(min(args.sample_every, max(0.05, stop_at - time.monotonic())))
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    memory.append({"t": round(wall, 1), "rss_mib": round(rss_kib(args.pid) / 1024, 1)})
    cpu = cpu_seconds(args.pid) - cpu_before

    latencies.sort()
    pct = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None
    print(json.dumps({
        "module": args.module, "workers": args.workers, "targets": targets, "seconds": round(wall, 1),
        "requests": len(latencies), "probes_per_second": round(statuses.get("200", 0) / wall, 1),
        "success": successes[0], "statuses": statuses,
        "exporter_cpu_seconds": round(cpu, 2),
        "exporter_cpu_ms_per_probe": round(cpu * 1000 / max(1, statuses.get("200", 0)), 1),
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
        "memory": memory,
    }))


if __name__ == "__main__":
    main()
