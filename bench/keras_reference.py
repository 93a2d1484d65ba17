"""The seed tutorial's code, verbatim in what it computes, timed. Prints one JSON line.

Usage: keras_reference.py TRAIN_CSV [--epochs 50] [--seed N]
"""
import argparse, json, os, sys, time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import pandas as pd
from sklearn.preprocessing import MinMaxScaler
import keras
from keras.models import Model
from keras.layers import Input, Dense, LeakyReLU

p = argparse.ArgumentParser()
p.add_argument("train")
p.add_argument("--epochs", type=int, default=50)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
keras.utils.set_random_seed(a.seed)

t0 = time.perf_counter()
df = pd.read_csv(a.train)
df_features = df.loc[:, df.columns != "target"]
scaler = MinMaxScaler()
df_features = scaler.fit_transform(df_features)
load_s = time.perf_counter() - t0

input = Input(shape=df_features.shape[1:])
enc = Dense(64)(input)
enc = LeakyReLU()(enc)
enc = Dense(32)(enc)
enc = LeakyReLU()(enc)
latent_space = Dense(16, activation="tanh")(enc)
dec = Dense(32)(latent_space)
dec = LeakyReLU()(dec)
dec = Dense(64)(dec)
dec = LeakyReLU()(dec)
dec = Dense(units=df_features.shape[1], activation="sigmoid")(dec)
autoencoder = Model(input, dec)
autoencoder.compile(optimizer="adam", metrics=["mse"], loss="mse")
t1 = time.perf_counter()
h = autoencoder.fit(df_features, df_features, epochs=a.epochs, batch_size=32, validation_split=0.25, verbose=0)
fit_s = time.perf_counter() - t1
print(json.dumps({"impl": "keras", "seed": a.seed, "rows": int(df_features.shape[0]), "epochs": a.epochs,
                  "fit_s": fit_s, "load_s": load_s, "loss": float(h.history["loss"][-1]),
                  "val_loss": float(h.history["val_loss"][-1])}))
