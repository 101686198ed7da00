"""Dense PyTorch CPU port of the sleep loop (sleep-algorithm.md §3), for comparison with
nrem's engines. Usage: torch_sleep.py W1.f32 W2.f32 W3.f32 X.f32 SIZES STEPS PARAMS_JSON
(sizes comma separated; X holds at least one row of n0 floats). Prints one JSON line.
Its input spikes come from torch's own generator: counts are comparable, not identical."""
import json
import sys
import time

import numpy as np
import torch


def main():
    w_files, x_file, sizes, steps, params = sys.argv[1:4], sys.argv[4], sys.argv[5], int(sys.argv[6]), json.loads(sys.argv[7])
    torch.set_num_threads(2)
    torch.manual_seed(params.get("seed", 1))
    sizes = [int(s) for s in sizes.split(",")]
    W = [torch.from_numpy(np.fromfile(f, dtype=np.float32).reshape(sizes[l + 1], sizes[l])) for l, f in enumerate(w_files)]
    X = torch.from_numpy(np.fromfile(x_file, dtype=np.float32).reshape(-1, sizes[0]))
    alpha, beta = params["alpha"], params["beta"]
    dt, rate, inc, dec, decay, thr = params["dt"], params["maxRate"], params["inc"], params["dec"], params["decay"], params["threshold"]
    v = [torch.zeros(n) for n in sizes[1:]]
    spikes = [0] * len(sizes)
    gate = lambda w: 2.0 * (1.0 - torch.sigmoid(w / 0.001))
    t0 = time.perf_counter()
    with torch.no_grad():
        for t in range(steps):
            x = X[t % X.shape[0]]
            s = (torch.rand(sizes[0]) < 2 * dt * rate * x).float()
            spikes[0] += int(s.sum())
            for l in range(len(W)):
                I = alpha[l] * (W[l] @ s)
                v[l] = decay * v[l] + I
                fired = v[l] >= thr * beta[l]
                if fired.any():
                    rows = fired.nonzero().squeeze(1)
                    Wr = W[l][rows]
                    pre = s.bool().unsqueeze(0)
                    W[l][rows] = torch.where(pre, Wr + inc * gate(Wr), Wr - dec * gate(Wr))
                    v[l][fired] = 0.0
                    spikes[l + 1] += int(fired.sum())
                s = fired.float()
    print(json.dumps({"seconds": time.perf_counter() - t0, "steps": steps, "spikes": spikes, "threads": torch.get_num_threads(), "blas": blas_library()}))


def blas_library():
    """The BLAS this torch has loaded (Debian's links the libblas.so.3 alternative: OpenBLAS when libopenblas0 is installed)."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({l.split()[-1].rsplit("/", 1)[-1] for l in f if "blas" in l.lower() and l.split()[-1].startswith("/")})
        return ", ".join(libs) or "none found"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
