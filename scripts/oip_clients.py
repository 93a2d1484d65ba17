"""The Open Inference Protocol v2 routes driven by the clients platform teams use: tritonclient's
HTTP client (binary tensors, its default, and JSON) and the KServe SDK's REST client, against a
live ae-server serving a directory of models. Also the fleet behaviours with a real client: three
models by name; files added, changed and removed while requests run, with no failure for the
model not touched; a corrupt file leaves its old version serving.

    python scripts/oip_clients.py --server .build/dist/ae-server --ae .build/dist/ae \
        --model M1.safetensors --other M2.safetensors --csv rows.csv --work DIR

Expected values: latent vectors from `ae encode` on the same rows; mse, anomaly and
reconstruction from the server's /v1/models/{name}/reconstruct (which the Swift tests tie to the
offline evaluator). Exits non-zero, saying what differed, on any mismatch."""
import argparse
import asyncio
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import tritonclient.http as httpclient

# kserve reads sys.argv when imported (its model server's flags, by prefix): import it bare.
_argv, sys.argv = sys.argv, sys.argv[:1]
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig  # noqa: E402
sys.argv = _argv

OUTPUTS = ["latent", "reconstruction", "mse", "anomaly"]


def fail(message):
    print("FAIL:", message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def start_server(binary, models, log_path):
    log = open(log_path, "w")
    p = subprocess.Popen([binary, "--models", models, "--default-model", "a", "--host", "127.0.0.1", "--port", "0",
                          "--threads", "2"], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"address=127\.0\.0\.1:(\d+)", open(log_path).read())
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    fail("ae-server did not start: " + open(log_path).read())


def wait_for(condition, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--ae", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--other", required=True, help="a second model file (a changed version)")
    ap.add_argument("--csv", required=True, help="rows with the model's 115 features")
    ap.add_argument("--work", required=True)
    ap.add_argument("--rows", type=int, default=20)
    args = ap.parse_args()

    work = args.work
    models = os.path.join(work, "oip-models")
    shutil.rmtree(models, ignore_errors=True)
    os.makedirs(models)
    for name in ("a", "b", "c"):
        shutil.copy(args.model, os.path.join(models, f"{name}.safetensors"))

    # The rows, and ae encode's latent vectors for them.
    with open(args.csv) as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for _, r in zip(range(args.rows), reader)]
    subset = os.path.join(work, "oip-rows.csv")
    with open(subset, "w", newline="") as f:
        csv.writer(f).writerows([header] + rows)
    latent_csv = subprocess.run([args.ae, "encode", "--model", args.model, "--input", subset], check=True,
                                capture_output=True, text=True).stdout.splitlines()
    expected_latent = np.array([[float(v) for v in line.split(",")] for line in latent_csv[1:]], dtype=np.float64)
    x = np.array([[float(v) for v in r[:115]] for r in rows], dtype=np.float32)

    server, port = start_server(args.server, models, os.path.join(work, "oip-server.log"))
    base = f"http://127.0.0.1:{port}"
    try:
        reference = post_json(f"{base}/v1/models/a/reconstruct", {"instances": x.astype(np.float64).tolist()})["results"]
        expected = {
            "latent": expected_latent,
            "reconstruction": np.array([r["reconstruction"] for r in reference], dtype=np.float64),
            "mse": np.array([r["mse"] for r in reference], dtype=np.float64),
            "anomaly": np.array([r["anomaly"] for r in reference]),
        }

        def compare(outputs, who):
            for name in OUTPUTS:
                got = outputs(name)
                check(got is not None, f"{who}: no output {name}")
                want = expected[name]
                check(got.shape == want.shape, f"{who}: {name} has shape {got.shape}, expected {want.shape}")
                if name == "anomaly":
                    check(got.dtype == np.bool_ and (got == want).all(), f"{who}: anomaly differs")
                else:
                    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
                    check(diff <= 1e-6 * max(1.0, float(np.max(np.abs(want)))) if name == "reconstruction" else diff <= 1e-6,
                          f"{who}: {name} differs by {diff}")
            print(f"{who}: latent, reconstruction, mse and anomaly match ({len(x)} rows)")

        # tritonclient: health, metadata, binary in and out (its defaults), then JSON.
        client = httpclient.InferenceServerClient(f"127.0.0.1:{port}")
        check(client.is_server_live() and client.is_server_ready(), "tritonclient: server not live or not ready")
        check(client.is_model_ready("a") and not client.is_model_ready("zz"), "tritonclient: model readiness")
        meta = client.get_model_metadata("a")
        check(meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 115]}], f"tritonclient metadata: {meta}")
        check([o["name"] for o in meta["outputs"]] == OUTPUTS, f"tritonclient metadata outputs: {meta}")
        check("binary_tensor_data" in client.get_server_metadata()["extensions"], "binary_tensor_data not advertised")
        for binary in (True, False):
            inp = httpclient.InferInput("features", list(x.shape), "FP32")
            inp.set_data_from_numpy(x, binary_data=binary)
            outs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in OUTPUTS]
            res = client.infer("a", [inp], outputs=outs, request_id="r-1")
            check(res.get_response()["id"] == "r-1", "tritonclient: id not echoed")
            compare(res.as_numpy, f"tritonclient, binary_data={binary}")
        inp = httpclient.InferInput("features", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        res = client.infer("a", [inp])   # no outputs named: all of them
        compare(res.as_numpy, "tritonclient, outputs not named")
        try:
            client.infer("zz", [inp])
            fail("tritonclient: an unknown model answered")
        except httpclient.InferenceServerException as e:
            check("zz" in str(e), f"tritonclient: unexpected error {e}")

        # The KServe SDK's REST client, JSON and binary.
        async def kserve_infer(binary):
            rest = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=10))
            inp = InferInput(name="features", shape=list(x.shape), datatype="FP32")
            inp.set_data_from_numpy(x, binary_data=binary)
            res = await rest.infer(base, InferRequest(model_name="a", infer_inputs=[inp], request_id="k-1"), model_name="a")
            by_name = {o.name: o for o in res.outputs}
            return res, (lambda n: by_name[n].as_numpy() if n in by_name else None)

        for binary in (False, True):
            res, outputs = asyncio.run(kserve_infer(binary))
            check(res.model_name == "a" and res.id == "k-1", f"kserve: model_name {res.model_name}, id {res.id}")
            compare(outputs, f"kserve InferenceRESTClient, binary_data={binary}")

        # Fleet: three models by name.
        for name in ("a", "b", "c"):
            r = client.infer(name, [inp], outputs=[httpclient.InferRequestedOutput("mse")])
            check(r.get_response()["model_name"] == name, f"model {name} answered as {r.get_response()['model_name']}")
        print("fleet: a, b and c answer by name")

        # Add, change and remove files while a client hammers 'a': no failure for 'a'.
        stop = threading.Event()
        counts = {"ok": 0, "failed": 0}

        def hammer():
            c = httpclient.InferenceServerClient(f"127.0.0.1:{port}")
            i = httpclient.InferInput("features", [1, 115], "FP32")
            i.set_data_from_numpy(x[:1])
            for _ in range(20000):
                if stop.is_set():
                    break
                try:
                    c.infer("a", [i], outputs=[httpclient.InferRequestedOutput("mse")])
                    counts["ok"] += 1
                except Exception as e:  # counted, reported below
                    counts["failed"] += 1
                    counts["last"] = str(e)

        t = threading.Thread(target=hammer)
        t.start()
        version_b = client.get_model_metadata("b")["versions"][0]
        shutil.copy(args.other, os.path.join(models, "d.safetensors.tmp"))
        os.rename(os.path.join(models, "d.safetensors.tmp"), os.path.join(models, "d.safetensors"))
        shutil.copy(args.other, os.path.join(models, "b.safetensors.tmp"))
        os.rename(os.path.join(models, "b.safetensors.tmp"), os.path.join(models, "b.safetensors"))
        os.remove(os.path.join(models, "c.safetensors"))
        server.send_signal(signal.SIGHUP)
        check(wait_for(lambda: client.is_model_ready("d") and not client.is_model_ready("c")
                       and client.get_model_metadata("b")["versions"][0] != version_b), "the changes were not applied")
        new_b = client.get_model_metadata("b")["versions"][0]
        # A corrupt file: the old version keeps serving.
        with open(os.path.join(models, "b.safetensors"), "wb") as f:
            f.write(b"not a model")
        server.send_signal(signal.SIGHUP)
        check(wait_for(lambda: any(m["name"] == "b" and "error" in m for m in get_json(f"{base}/v1/models")["models"])),
              "the corrupt file was not noticed")
        check(client.get_model_metadata("b")["versions"][0] == new_b, "a corrupt file replaced the served version")
        r = client.infer("b", [inp], outputs=[httpclient.InferRequestedOutput("mse")])
        check(r.get_response()["model_version"] == new_b, "b does not answer with its previous version")
        time.sleep(0.2)   # a little more traffic after the last change
        stop.set()
        t.join(30)
        check(counts["failed"] == 0 and counts["ok"] > 0, f"requests to 'a' during the changes: {counts}")
        print(f"fleet: added d, changed b, removed c, corrupted b under load: {counts['ok']} requests to a, 0 failed;"
              " b kept its previous version")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    check(server.returncode == 0, f"ae-server exited {server.returncode}")
    print("OIP v2 clients: OK")


if __name__ == "__main__":
    main()
