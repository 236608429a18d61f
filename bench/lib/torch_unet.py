"""The library's UNet (src/nn/unet.ts) rebuilt layer for layer in PyTorch, for bench/torch.ts.

Reads the architecture and our parameters (names are the library's) from the files bench/torch.ts
writes, checks its parameter count and forward output against ours, then times a training step
(forward + MSE + backward + Adam) and inference (no grad) at the batch sizes and thread counts asked.
Prints one JSON object on stdout. Written for this benchmark from the library's own layer definitions.
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    def __init__(self, cin, cout, E, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, cin), cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(E, cout)
        self.norm2 = nn.GroupNorm(min(groups, cout), cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = None if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class Attention(nn.Module):
    def __init__(self, C, groups):
        super().__init__()
        self.norm = nn.GroupNorm(min(groups, C), C, eps=1e-5)
        self.q = nn.Conv2d(C, C, 1)
        self.k = nn.Conv2d(C, C, 1)
        self.v = nn.Conv2d(C, C, 1)
        self.proj = nn.Conv2d(C, C, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        hn = self.norm(x)
        q = self.q(hn).reshape(B, C, H * W)
        k = self.k(hn).reshape(B, C, H * W)
        v = self.v(hn).reshape(B, C, H * W)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(C), dim=-1)  # [B, N, N]
        out = torch.bmm(v, attn.transpose(1, 2))  # [B, C, N]
        return x + self.proj(out.reshape(B, C, H, W))


class Level(nn.Module):
    def __init__(self, count, cin_of, cout, E, groups, attention):
        super().__init__()
        self.res = nn.ModuleList([ResBlock(cin_of(i), cout, E, groups) for i in range(count)])
        self.attn = nn.ModuleList([Attention(cout, groups) for _ in range(count)]) if attention else None


class UNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        ch0 = c["channels"][0]
        E = 4 * ch0
        self.noise = nn.Module()
        self.noise.lin1 = nn.Linear(c["embDim"], E)
        self.noise.lin2 = nn.Linear(E, E)
        self.label = nn.Embedding(c["numClasses"] + 1, E) if c["numClasses"] > 0 else None
        self.stem = nn.Conv2d(c["inChannels"], ch0, 3, padding=1)
        L = len(c["channels"])
        skip_ch = [ch0]
        ch = ch0
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for l in range(L):
            out = c["channels"][l]
            prev = ch
            self.down.append(Level(c["resBlocks"], lambda i, p=prev, o=out: p if i == 0 else o, out, E, c["groups"], l in c["attentionLevels"]))
            skip_ch += [out] * c["resBlocks"]
            ch = out
            if l < L - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skip_ch.append(ch)
        self.mid = nn.Module()
        self.mid.res1 = ResBlock(ch, ch, E, c["groups"])
        self.mid.attn = Attention(ch, c["groups"])
        self.mid.res2 = ResBlock(ch, ch, E, c["groups"])
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for l in range(L - 1, -1, -1):
            out = c["channels"][l]
            ins = []
            for i in range(c["resBlocks"] + 1):
                ins.append((ch if i == 0 else out) + skip_ch.pop())
            self.up.append(Level(c["resBlocks"] + 1, lambda i, ins=ins: ins[i], out, E, c["groups"], l in c["attentionLevels"]))
            ch = out
            if l > 0:
                self.upsample.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.out = nn.Module()
        self.out.norm = nn.GroupNorm(min(c["groups"], ch), ch, eps=1e-5)
        self.out.conv = nn.Conv2d(ch, c["inChannels"], 3, padding=1)

    def named_library_parameters(self):
        """Our parameter names for this module's tensors (the module tree mirrors ours except list indices)."""
        out = {}
        L = len(self.c["channels"])
        for name, p in self.named_parameters():
            n = name
            n = n.replace("mid.", "mid.", 1)
            if n.startswith("down.") or n.startswith("up."):
                parts = n.split(".")
                if parts[0] == "up":  # our up levels are named by level index l, in reverse order
                    parts[1] = str(L - 1 - int(parts[1]))
                n = ".".join(parts)
            if n.startswith("upsample."):
                parts = n.split(".")
                parts[1] = str(L - 1 - int(parts[1]))
                n = ".".join(parts)
            out[n] = p
        return out

    def forward(self, x, feats, labels):
        c = self.c
        emb = self.noise.lin2(F.silu(self.noise.lin1(feats)))
        if self.label is not None:
            emb = emb + self.label(labels)
        e = F.silu(emb)
        h = self.stem(x)
        skips = [h]
        L = len(c["channels"])
        for l, level in enumerate(self.down):
            for i, r in enumerate(level.res):
                h = r(h, e)
                if level.attn is not None:
                    h = level.attn[i](h)
                skips.append(h)
            if l < L - 1:
                h = self.downsample[l](h)
                skips.append(h)
        h = self.mid.res2(self.mid.attn(self.mid.res1(h, e)), e)
        for j, level in enumerate(self.up):
            for i, r in enumerate(level.res):
                h = r(torch.cat([h, skips.pop()], dim=1), e)
                if level.attn is not None:
                    h = level.attn[i](h)
            if j < L - 1:
                h = self.upsample[j](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out.conv(F.silu(self.out.norm(h)))


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    spec = json.load(open(sys.argv[1]))
    blob = open(sys.argv[2], "rb").read()
    arr = lambda e: torch.from_numpy(np.frombuffer(blob, dtype=np.float32, count=e["size"], offset=e["offset"]).copy()).reshape(e["shape"])
    cfg = spec["config"]
    torch.manual_seed(0)
    net = UNet(cfg)
    lib = net.named_library_parameters()
    count = sum(p.numel() for p in net.parameters())
    names = {e["name"] for e in spec["params"]}
    missing = sorted(set(lib) - names)
    extra = sorted(names - set(lib))
    if missing or extra:
        print(json.dumps({"error": "parameter names differ", "missing_in_ours": missing[:10], "extra_in_ours": extra[:10]}))
        sys.exit(1)
    with torch.no_grad():
        for e in spec["params"]:
            lib[e["name"]].copy_(arr(e))
    inputs = {k: arr(v) for k, v in spec["inputs"].items()}
    labels = inputs["labels"].to(torch.int64)
    result = {"torch": torch.__version__, "parameters": count, "blas": torch.__config__.show(), "rows": []}
    with torch.no_grad():
        y = net(inputs["x"], inputs["feats"], labels)
    ref = inputs["ours"]
    result["forward_rel_err"] = float((y - ref).abs().max() / ref.abs().max())
    rounds = spec["rounds"]
    for threads in spec["threads"]:
        torch.set_num_threads(threads)
        # training step at the training batch: the first Bt items of the inputs
        Bt = spec["trainBatch"]
        xt, ft, lt, tt = inputs["x"][:Bt], inputs["feats"][:Bt], labels[:Bt], inputs["target"][:Bt]
        opt = torch.optim.Adam(net.parameters(), lr=1e-5)
        def step():
            opt.zero_grad(set_to_none=False)
            loss = F.mse_loss(net(xt, ft, lt), tt)
            loss.backward()
            opt.step()
        for _ in range(2):
            step()
        ts = []
        for _ in range(rounds):
            t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
        result["rows"].append({"work": "train", "batch": Bt, "threads": threads, "seconds": median(ts)})
        with torch.no_grad():
            for _ in range(2):
                net(inputs["x"], inputs["feats"], labels)
            ts = []
            for _ in range(rounds):
                t = time.perf_counter(); net(inputs["x"], inputs["feats"], labels); ts.append(time.perf_counter() - t)
        result["rows"].append({"work": "infer", "batch": inputs["x"].shape[0], "threads": threads, "seconds": median(ts)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
