"""Reference for bench/oip.sh: an MLServer custom runtime doing the same forward pass as ae-server
from the same .safetensors file (numpy, as bench/reference_server.py), answering OIP v2 inference
with the same four outputs: latent, reconstruction, mse, anomaly. Never shipped."""
import json

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from safetensors import safe_open


class AutoencoderRuntime(MLModel):
    async def load(self) -> bool:
        with safe_open(self.settings.parameters.uri, "np") as f:
            meta = f.metadata()
            arch = json.loads(meta["architecture"])
            self.layers = [(f.get_tensor(f"dense_{i}.kernel"), f.get_tensor(f"dense_{i}.bias"), a["activation"])
                           for i, a in enumerate(arch)]
        self.latent_layer = int(meta["latent_layer"])
        self.smin = np.array(json.loads(meta["scaler_min"]))
        self.sscale = np.array(json.loads(meta["scaler_scale"]))
        self.threshold = float(meta["threshold"])
        slope = float(meta["leaky_relu_negative_slope"])
        self.acts = {
            "leaky_relu": lambda z: np.where(z >= 0, z, slope * z),
            "tanh": np.tanh,
            "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
            "linear": lambda z: z,
        }
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).reshape(-1, len(self.smin))
        s = (x.astype(np.float64) * self.sscale + self.smin).astype(np.float32)
        h, latent = s, None
        for i, (k, b, a) in enumerate(self.layers):
            h = self.acts[a](h @ k + b)
            if i == self.latent_layer:
                latent = h
        mse = ((h - s) ** 2).mean(axis=1).astype(np.float32)
        recon = ((h.astype(np.float64) - self.smin) / self.sscale).astype(np.float32)
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=[
            NumpyCodec.encode_output("latent", latent), NumpyCodec.encode_output("reconstruction", recon),
            NumpyCodec.encode_output("mse", mse), NumpyCodec.encode_output("anomaly", mse > self.threshold)])
