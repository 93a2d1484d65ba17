"""Reference Python server for bench/server.sh: FastAPI + uvicorn + numpy, the same forward pass
from the same .safetensors file, answering POST /reconstruct like ae-server (single sample).

Usage: uvicorn --app-dir bench reference_server:app  (MODEL=path/to/model.safetensors)
"""
import json, os
import numpy as np
from fastapi import FastAPI, HTTPException, Request
from safetensors import safe_open

path = os.environ["MODEL"]
with safe_open(path, "np") as f:
    meta = f.metadata()
    arch = json.loads(meta["architecture"])
    layers = [(f.get_tensor(f"dense_{i}.kernel"), f.get_tensor(f"dense_{i}.bias"), a["activation"]) for i, a in enumerate(arch)]
names = json.loads(meta["feature_names"])
smin = np.array(json.loads(meta["scaler_min"]))
sscale = np.array(json.loads(meta["scaler_scale"]))
threshold = float(meta["threshold"])
slope = float(meta["leaky_relu_negative_slope"])
acts = {
    "leaky_relu": lambda z: np.where(z >= 0, z, slope * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "linear": lambda z: z,
}
app = FastAPI()


@app.get("/livez")
def livez():
    return {"status": "ok"}


@app.post("/reconstruct")
async def reconstruct(request: Request):
    body = await request.json()
    x = body.get("features") if isinstance(body, dict) else None
    if not isinstance(x, list) or len(x) != len(names):
        raise HTTPException(400, "expected features")
    raw = np.asarray(x, dtype=np.float64)
    h = (raw * sscale + smin).astype(np.float32)
    s = h
    for k, b, a in layers:
        h = acts[a](h @ k + b)
    err = (h - s) ** 2
    mse = float(err.mean())
    top = np.argsort(-err)[:5]
    recon = (h.astype(np.float64) - smin) / sscale
    return {"reconstruction": recon.astype(np.float32).tolist(), "mse": mse, "threshold": threshold,
            "anomaly": mse > threshold, "top_features": [{"name": names[i], "error": float(err[i])} for i in top]}
