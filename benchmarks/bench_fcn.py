"""Dense classification three ways, on the same canvas and the same output grid (stride 4).

Run:  python benchmarks/bench_fcn.py [--size 128] [--repeat 5] [--iterations 300]
Threads: ``MLSEG_THREADS`` (default: all cores), as everywhere in mlseg.

A LeNet with an eleventh class "no digit" is trained briefly on the digits (``--iterations``;
0 keeps the seeded initial weights, which is enough for the timing). On a ``size``×``size``
canvas of held-out digits, every 32×32 window at a stride of 4 pixels is classified by

1. FCLeNet, the same weights made fully convolutional (``fully_convolutional``): one pass;
2. LeNet, window by window in a Python loop (what the lecture's "sliding window" means);
3. LeNet on all windows at once, cut out with ``unfold`` and sent as one batch.

The three must give the same log-probabilities (to 1e-4) and the same class map. Times are the
best of ``--repeat`` runs after a warm-up, under ``torch.inference_mode``. Goals (issue 10):
FCLeNet at least 50× faster than the loop and 5× faster than the batched windows (measured
while designing the chapter: about 115× and 12.5× on a 2-core laptop CPU).
"""

from __future__ import annotations

import argparse
import time

import torch

from mlseg import digits, training
from mlseg.models import LeNet, fully_convolutional

STRIDE, WINDOW = 4, 32


def best_time(fn, repeat):
    fn()  # warm-up
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def window_loop(lenet, x):
    """(1, 1, H, W) → (classes, H', W'): LeNet on one window at a time."""
    rows = (x.shape[-2] - WINDOW) // STRIDE + 1
    cols = (x.shape[-1] - WINDOW) // STRIDE + 1
    out = torch.empty(lenet.fc3.out_features, rows, cols)
    for i in range(rows):
        for j in range(cols):
            window = x[:, :, STRIDE * i:STRIDE * i + WINDOW, STRIDE * j:STRIDE * j + WINDOW]
            out[:, i, j] = lenet(window)[0]
    return out


def window_batch(lenet, x):
    """(1, 1, H, W) → (classes, H', W'): all windows cut out by unfold, one LeNet batch."""
    windows = x.unfold(2, WINDOW, STRIDE).unfold(3, WINDOW, STRIDE)  # (1, 1, H', W', 32, 32)
    rows, cols = windows.shape[2:4]
    out = lenet(windows.reshape(rows * cols, 1, WINDOW, WINDOW))  # (H' W', classes)
    return out.T.reshape(-1, rows, cols)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = training.set_threads()

    x_train, y_train, x_test, y_test = digits.split(no_digit=1.0, rng=args.seed)
    lenet = LeNet(num_classes=11, seed=args.seed)
    if args.iterations:
        history = training.fit(lenet, digits.sampler(x_train, y_train, jitter=2),
                               iterations=args.iterations, batch_size=64, lr=5e-3,
                               seed=args.seed, progress=False)
        accuracy = (training.predict(lenet, x_test[:, None]).argmax(1) == y_test).mean()
        print(f"trained LeNet (11 classes): {args.iterations} iterations of 64 in "
              f"{history.total_seconds:.1f} s, test accuracy {accuracy:.3f}")
    lenet = lenet.cpu().to(memory_format=torch.contiguous_format).eval()
    fcn = fully_convolutional(lenet).eval()

    on_digit = y_test != digits.NO_DIGIT
    image, _, corners, classes = digits.canvas(x_test[on_digit], y_test[on_digit],
                                               shape=(args.size, args.size), n=5, rng=args.seed)
    x = torch.from_numpy(image)[None, None]

    with torch.inference_mode():
        t_fcn, dense = best_time(lambda: fcn(x)[0], args.repeat)
        t_loop, looped = best_time(lambda: window_loop(lenet, x), args.repeat)
        t_batch, batched = best_time(lambda: window_batch(lenet, x), args.repeat)

    rows, cols = dense.shape[1:]
    gap = max((dense - looped).abs().max().item(), (dense - batched).abs().max().item())
    same_map = bool((dense.argmax(0) == looped.argmax(0)).all()
                    and (dense.argmax(0) == batched.argmax(0)).all())
    print(f"canvas {args.size}x{args.size}, {rows}x{cols} windows of 32x32 at stride 4, "
          f"{threads} thread(s), torch {torch.__version__}")
    print(f"largest log-probability difference {gap:.1e} (must be <= 1e-4); "
          f"class maps identical: {same_map}")
    class_map = dense.argmax(0).numpy()
    hits = [int(class_map[round(r / STRIDE), round(c / STRIDE)]) == k
            for (r, c), k in zip(corners, classes)]
    print(f"digits recognised at their nearest output pixel: {sum(hits)}/{len(hits)}; "
          f"output pixels saying 'digit': {int((class_map != digits.NO_DIGIT).sum())}")
    print()
    print(f"{'method':<36}{'time (ms)':>11}{'FCLeNet faster by':>20}")
    for name, seconds in [("FCLeNet, one pass", t_fcn),
                          (f"LeNet, loop over {rows * cols} windows", t_loop),
                          ("LeNet, all windows in one batch", t_batch)]:
        print(f"{name:<36}{seconds * 1e3:>11.2f}{seconds / t_fcn:>19.1f}x")
    print()
    loop_ratio, batch_ratio = t_loop / t_fcn, t_batch / t_fcn
    print(f"goal: >= 50x over the loop    -> {loop_ratio:6.1f}x  "
          f"{'met' if loop_ratio >= 50 else 'NOT met'} (research: ~115x)")
    print(f"goal: >= 5x over the batch    -> {batch_ratio:6.1f}x  "
          f"{'met' if batch_ratio >= 5 else 'NOT met'} (research: ~12.5x)")
    if gap > 1e-4 or not same_map:
        raise SystemExit("the three methods disagree")


if __name__ == "__main__":
    main()
