"""A hand-written PyTorch loop: what a careful torch user writes for the same model (eager or torch.compile).

Data lives on the device once; each epoch permutes it with one index_select and takes slices; loss and
accuracy accumulate on the device and are read once per epoch. RMSprop with Keras's defaults (foreach).
"""

from harness import (  # noqa: I001 - harness fixes sys.path
    data_for, first_step_done, parse_args, report, time_runs)

import torch
import torch.nn.functional as F

from bench.models import SPECS

EPS = 1e-7


def loss_fn(kind: str):
    if kind == "sparse_categorical_crossentropy":
        return lambda p, y: F.nll_loss(torch.log(p.clamp(EPS, 1 - EPS)), y)
    if kind == "categorical_crossentropy":
        return lambda p, y: -(y * torch.log(p.clamp(EPS, 1 - EPS))).sum(-1).mean()
    return lambda p, y: F.binary_cross_entropy(p.clamp(EPS, 1 - EPS), y)


def correct_fn(kind: str):
    if kind == "sparse_categorical_crossentropy":
        return lambda p, y: (p.argmax(-1) == y).sum()
    if kind == "categorical_crossentropy":
        return lambda p, y: (p.argmax(-1) == y.argmax(-1)).sum()
    return lambda p, y: ((p > 0.5).float() == y).sum()


def main() -> None:
    args = parse_args("torch")
    spec = SPECS[args.model]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n, x, y = data_for(spec, args.quick)
    torch.manual_seed(0)
    net = spec.torch_build().to(device)
    xs = [torch.from_numpy(a).to(device).long() if a.dtype.kind == "i" else torch.from_numpy(a).to(device)
          for a in x]
    ys = torch.from_numpy(y).to(device)
    ys = ys.long() if ys.dtype in (torch.int32, torch.int64) else ys
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, foreach=True)
    loss_of, correct_of = loss_fn(spec.loss), correct_fn(spec.loss)
    bs = spec.batch_size

    def train_step(batch_x, batch_y):
        p = net(*batch_x)
        loss = loss_of(p, batch_y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach(), correct_of(p.detach(), batch_y)

    def forward(batch_x):
        return net(*batch_x)
    if args.compile:
        train_step, forward = torch.compile(train_step), torch.compile(forward)

    def epoch(mark_first=False):
        net.train()
        perm = torch.randperm(n, device=device)
        parts_x = [t.index_select(0, perm).split(bs) for t in xs]
        parts_y = ys.index_select(0, perm).split(bs)
        total = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for *batch_x, batch_y in zip(*parts_x, parts_y):
            loss, hits = train_step(batch_x, batch_y)
            total += loss * batch_y.shape[0]
            correct += hits
            if mark_first:  # the warm-up epoch: time to first step
                if device.type == "cuda":
                    torch.cuda.synchronize()
                first_step_done()
                mark_first = False
        return float(total) / n, int(correct) / n

    def predict():
        net.eval()
        with torch.no_grad():
            outs = [forward(batch) for batch in zip(*[t.split(bs) for t in xs])]
        return torch.cat(outs).cpu().numpy()

    epoch(mark_first=True)
    predict()
    repeats = 2 if args.quick else args.repeats
    report("torch loop" + (" (compile)" if args.compile else ""), spec, n, time_runs(epoch, repeats),
           time_runs(predict, repeats), str(device))


if __name__ == "__main__":
    main()
