"""Turns a bench .jsonl into the markdown table BENCHMARKS.md records (medians, ratios)."""
import json, statistics, sys, datetime

kind, path, machine = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(l) for l in open(path) if l.strip()]
med = lambda xs: statistics.median(xs) if xs else float("nan")
print(f"Machine: {machine}; date {datetime.date.today()}; {len(rows)} measurements\n")
if kind == "train":
    ae = [r for r in rows if r["impl"] == "ae"]; ke = [r for r in rows if r["impl"] == "keras"]
    print("| implementation | runs | fit median (s) | final loss (median) | final val_loss (median) | peak RSS (MB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| ae train (Swift, 1 thread) | {len(ae)} | {med([r['fit_s'] for r in ae]):.2f} | {med([r['loss'] for r in ae]):.6f} | {med([r['val_loss'] for r in ae]):.6f} | {med([r['maxrss_mb'] for r in ae]):.0f} |")
    print(f"| Keras 3 / TensorFlow CPU (seed code) | {len(ke)} | {med([r['fit_s'] for r in ke]):.2f} | {med([r['loss'] for r in ke]):.6f} | {med([r['val_loss'] for r in ke]):.6f} | |")
    print(f"\nSpeed-up (Keras fit / ae fit, medians): **{med([r['fit_s'] for r in ke]) / med([r['fit_s'] for r in ae]):.1f}×**; "
          f"val_loss ae / Keras: {med([r['val_loss'] for r in ae]) / med([r['val_loss'] for r in ke]):.3f}")
elif kind == "server":
    by = {r["label"]: r for r in rows if "label" in r}
    print("| target | requests | req/s | p50 (µs) | p99 (µs) | p99.9 (µs) | errors (incl. status ≥ 400) "
          "| server CPU (µs/req) | wrk CPU (µs/req) | server context switches per req |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    per = lambda r, k, scale, fmt: format(r[k] * scale / r["requests"], fmt) if k in r and r["requests"] else ""
    for r in rows:
        if "rps" in r:
            print(f"| {r['label']} | {r['requests']} | {r['rps']:.0f} | {r['p50_us']} | {r['p99_us']} | {r['p999_us']} | {r['errors']} "
                  f"| {per(r, 'server_cpu_s', 1e6, '.1f')} | {per(r, 'wrk_cpu_s', 1e6, '.1f')} | {per(r, 'server_switches', 1, '.2f')} |")
    def best(prefix):
        xs = [r["rps"] for r in rows if r.get("label", "").startswith(prefix) and "rps" in r]
        return med(xs)
    live, rec = best("ae-server GET /livez"), best("ae-server POST /reconstruct")
    prec = best("python POST /reconstruct")
    # One decimal: the targets are 50% and 20×, and a rounded 49.6% or 19.6× would read as met.
    print(f"\n/reconstruct vs /livez (same server, same run, medians): **{rec / live:.1%}**; "
          f"ae-server vs Python reference on /reconstruct: **{rec / prec:.1f}×**")
    lives = [r["rps"] for r in rows if r.get("label", "").startswith("ae-server GET /livez") and "rps" in r]
    recs = [r["rps"] for r in rows if r.get("label", "").startswith("ae-server POST /reconstruct") and "rps" in r]
    if len(lives) == len(recs) > 1:
        print("Each pair (/reconstruct ÷ the /livez run before it): " + ", ".join(f"{r / l:.1%}" for l, r in zip(lives, recs)))
    for r in rows:
        if r.get("bench") == "route":
            print(f"\nWithout the network (`ae-bench route`, one core): {r['path']} {r['ns_per_request'] / 1000:.2f} µs per request "
                  f"({r['request_bytes']} B in, {r['response_bytes']} B out)", end="")
    print()
    w = by.get("ae-server RSS after warm-up", {}); m = by.get("ae-server RSS after requests", {})
    if w and m:
        print(f"\nRSS: {w['rss_mb']} MB after warm-up (~10k requests), {m['rss_mb']} MB after {m['requests_total']} requests "
              f"({(m['rss_mb'] / w['rss_mb'] - 1) * 100:+.1f}%)")
elif kind == "oip":
    print("| target | requests | req/s | p50 (µs) | p99 (µs) | p99.9 (µs) | errors (incl. status ≥ 400) | server CPU (µs/req) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "rps" in r:
            cpu = format(r["server_cpu_s"] * 1e6 / r["requests"], ".1f") if "server_cpu_s" in r and r["requests"] else ""
            print(f"| {r['label']} | {r['requests']} | {r['rps']:.0f} | {r['p50_us']} | {r['p99_us']} | {r['p999_us']} | {r['errors']} | {cpu} |")
        elif "rss_mb" in r:
            print(f"| {r['label']} | | | | | | | {'%.3f s, ' % r['seconds'] if 'seconds' in r else ''}RSS {r['rss_mb']} MB |")
    def rate(prefix):
        return med([r["rps"] for r in rows if r.get("label", "").startswith(prefix) and "rps" in r])
    live = rate("ae-server GET /livez")
    print(f"\nMedians of three, same run: /v2 infer JSON {rate('ae-server POST /v2/models/{name}/infer JSON') / live:.1%} of /livez "
          f"(target 50%), binary {rate('ae-server POST /v2/models/{name}/infer binary') / live:.1%} (target 65%); "
          f"/v1 reconstruct {rate('ae-server POST /v1/models/{name}/reconstruct') / live:.1%}.")
    ml = rate("MLServer")
    print(f"/v2 infer JSON vs MLServer 1.7.1, same run: **{rate('ae-server POST /v2/models/{name}/infer JSON') / ml:.1f}×** (target 30×).")
    print(f"100 models, requests spread over all vs one model's, same server: "
          f"**{rate('ae-server, 100 models: requests spread') / rate('ae-server, 100 models: one model'):.1%}** (target 90%).")
else:
    for r in rows: print(json.dumps(r))
