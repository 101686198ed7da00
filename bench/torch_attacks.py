#!/usr/bin/env python3
"""PyTorch CPU reference for bench/attacks.ts: the same attacks on the same weights.

Reads DIR/W1.f32 W2.f32 W3.f32 (out x in, row-major), DIR/x.f32 (n x 784), DIR/y.i32 and
DIR/meta.json {"sizes": [...], "hidden_scale": s}. Network: a_l = s*relu(W_l a_(l-1)) for
hidden layers, relu output, no biases (the paper's). Prints one JSON line of seconds.
  fgsm: CE gradient once for n_fgsm rows, then the 81-point eps sweep (forward + count)
  pgd:  PGD-40 L-inf (eps 0.3, step 0.01, random start, no early stop) on n_pgd rows
  deepfool: multi-class DeepFool (overshoot 0.02, <= 100 iterations) on n_df rows
  jsma: pixel-pair JSMA (theta 0.1, <= 7 changes/pixel, <= 500 iterations) on n_jsma rows
"""
import argparse, json, time
import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument('--dir', required=True)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--fgsm', type=int, default=10000)
p.add_argument('--pgd', type=int, default=1000)
p.add_argument('--deepfool', type=int, default=200)
p.add_argument('--jsma', type=int, default=20)
a = p.parse_args()
torch.set_num_threads(a.threads)
meta = json.load(open(f'{a.dir}/meta.json'))
sizes, s = meta['sizes'], meta['hidden_scale']
W = [torch.from_numpy(np.fromfile(f'{a.dir}/W{l+1}.f32', dtype=np.float32).reshape(sizes[l+1], sizes[l])) for l in range(len(sizes) - 1)]
X = torch.from_numpy(np.fromfile(f'{a.dir}/x.f32', dtype=np.float32).reshape(-1, sizes[0]))
Y = torch.from_numpy(np.fromfile(f'{a.dir}/y.i32', dtype=np.int32).astype(np.int64))

def logits(x):
    h = x
    for l, w in enumerate(W):
        h = h @ w.t()
        if l < len(W) - 1:
            h = torch.relu(h) * s
    return h

def predict(x):
    return torch.relu(logits(x)).argmax(1)

out = {}
# FGSM sweep
x, y = X[:a.fgsm], Y[:a.fgsm]
t = time.perf_counter()
with torch.enable_grad():
    xg = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(logits(xg), y, reduction='sum').backward()
    g = xg.grad.sign()
acc = []
with torch.no_grad():
    for e in np.arange(0, 0.4 + 1e-9, 0.005):
        acc.append(float((predict((x + float(e) * g).clamp(0, 1)) == y).float().mean()))
out['fgsm'] = time.perf_counter() - t
out['fgsm_acc_0.3'] = acc[60]

# PGD-40
x, y = X[:a.pgd], Y[:a.pgd]
t = time.perf_counter()
gen = torch.Generator().manual_seed(0)
eps, alpha = 0.3, 0.01
xa = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
for _ in range(40):
    xa.requires_grad_(True)
    torch.nn.functional.cross_entropy(logits(xa), y, reduction='sum').backward()
    with torch.no_grad():
        xa = torch.min(torch.max(xa + alpha * xa.grad.sign(), x - eps), x + eps).clamp(0, 1)
with torch.no_grad():
    out['pgd_success'] = float((predict(xa) != y).float().mean())
out['pgd'] = time.perf_counter() - t

# DeepFool (batched over rows, all classes)
x, y = X[:a.deepfool], Y[:a.deepfool]
t = time.perf_counter()
K = sizes[-1]
xa, rtot = x.clone(), torch.zeros_like(x)
active = torch.ones(len(x), dtype=torch.bool)
for it in range(100):
    idx = active.nonzero().flatten()
    if len(idx) == 0:
        break
    xi = xa[idx].clone().requires_grad_(True)
    z = logits(xi)
    still = torch.relu(z).argmax(1) == y[idx]
    if not still.any():
        active[idx] = False
        break
    J = torch.stack([torch.autograd.grad(z[:, k].sum(), xi, retain_graph=True)[0] for k in range(K)], 1)
    yi = y[idx]
    gy = J[torch.arange(len(idx)), yi]
    w = J - gy[:, None]
    f = (z - z[torch.arange(len(idx)), yi][:, None]).detach()
    nw = w.flatten(2).norm(dim=2)
    l = f.abs() / (nw + 1e-12)
    l[torch.arange(len(idx)), yi] = float('inf')
    k = l.argmin(1)
    wk, fk, nk = w[torch.arange(len(idx)), k], f[torch.arange(len(idx)), k], nw[torch.arange(len(idx)), k]
    r = ((fk.abs() + 1e-4) / nk ** 2)[:, None] * wk
    upd = idx[still]
    rtot[upd] += r[still]
    xa[upd] = (x[upd] + 1.02 * rtot[upd]).clamp(0, 1)
    active[idx[~still]] = False
out['deepfool'] = time.perf_counter() - t

# JSMA, pixel pairs, one image at a time (as common implementations)
x = X[:a.jsma]
t = time.perf_counter()
for i in range(len(x)):
    xi = x[i:i+1].clone()
    with torch.no_grad():
        z0 = logits(xi)[0]
    tgt = int(z0.argsort(descending=True)[1])
    ch = torch.zeros(sizes[0], dtype=torch.int32)
    for it in range(500):
        xv = xi.clone().requires_grad_(True)
        z = logits(xv)[0]
        if int(torch.relu(z).argmax()) == tgt:
            break
        al = torch.autograd.grad(z[tgt], xv, retain_graph=True)[0][0]
        be = torch.autograd.grad(z.sum() - z[tgt], xv)[0][0]
        dom = (xi[0] < 1) & (ch < 7)
        A = al[:, None] + al[None, :]
        B = be[:, None] + be[None, :]
        ok = (A > 0) & (B < 0) & dom[:, None] & dom[None, :]
        ok.fill_diagonal_(False)
        sc = torch.where(ok, -A * B, torch.zeros(()))
        m = int(sc.argmax())
        if sc.flatten()[m] <= 0:
            break
        p_, q_ = m // sizes[0], m % sizes[0]
        for pp in (p_, q_):
            xi[0, pp] = min(1.0, float(xi[0, pp]) + 0.1)
            ch[pp] += 1
out['jsma'] = time.perf_counter() - t
out['rows'] = {'fgsm': a.fgsm, 'pgd': a.pgd, 'deepfool': a.deepfool, 'jsma': a.jsma}
print(json.dumps(out))
