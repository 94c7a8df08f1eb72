#!/usr/bin/env python3
"""The plain way to do what `meterscope analyze` does, as a yardstick.

Reads a capture with the `comtrade` package, cuts it into fixed windows of
10 nominal cycles, and for each window computes the RMS of every channel,
the active power of each phase (channels 1-3 voltages, 4-6 currents) and
an FFT of every channel, from which the harmonics and THD follow.

usage: reference_analysis.py CAPTURE.cfg
"""
import sys

import comtrade
import numpy as np


def main(path):
    record = comtrade.load(path)
    samples = np.array(record.analog, dtype=np.float64)
    frequency = record.frequency or 50.0
    rate = record.cfg.sample_rates[0][0]
    n = int(round(10 * rate / frequency))
    windows = samples.shape[1] // n
    thd_a = []
    for k in range(windows):
        w = samples[:, k * n:(k + 1) * n]
        rms = np.sqrt(np.mean(w * w, axis=1))
        power = np.mean(w[0:3] * w[3:6], axis=1)
        spectrum = np.abs(np.fft.rfft(w, axis=1)) * np.sqrt(2) / n
        harmonics = spectrum[:, 10:10 * 51:10]
        thd = 100 * np.sqrt(np.sum(harmonics[:, 1:] ** 2, axis=1)) / harmonics[:, 0]
        thd_a.append((rms[0], power[0], thd[0]))
    last = thd_a[-1] if thd_a else (0, 0, 0)
    print(f"{windows} windows; last: VA {last[0]:.3f} V, PA {last[1]:.1f} W, THD VA {last[2]:.3f} %")


if __name__ == "__main__":
    main(sys.argv[1])
