#!/usr/bin/env python3
"""Delivery latency of 640x480 rgb8 images over DDS into rclpy's executors, as the node receives them.

``.venv/bin/python scripts/bench_executor_latency.py [--seconds 10] [--rate 30]``

A publisher process sends one image per frame period (reliable QoS, like a RealSense) with its wall-clock
send time as the header stamp; a subscriber process (sensor-data QoS, like the node) records receive time
minus stamp. The subscriber spins each executor in turn: ``SingleThreadedExecutor`` (what ``fpose_node``
uses) and ``MultiThreadedExecutor(4)`` (what it used before), idle and with a busy worker thread that runs
small torch operations the way the engine does. Prints one row per case: images received, latency median,
p90 and max. Both processes load the project's Fast DDS profile (``config/fastdds_large_images.xml``),
without which 640x480 images do not fit Fast DDS's shared memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from fpose_ros.ros.launch_environment import set_fastdds_profile

REPO = Path(__file__).resolve().parents[1]
TOPIC = "executor_latency_image"
CASES = (("single", False), ("single", True), ("multi", False), ("multi", True))


def publish(seconds: float, rate: float) -> None:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("executor_latency_publisher")
    publisher = node.create_publisher(Image, TOPIC, QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
    msg = Image(height=480, width=640, encoding="rgb8", step=1920, data=bytes(640 * 480 * 3))
    time.sleep(1.5)  # discovery
    end = time.time() + seconds
    while time.time() < end:
        now = time.time()
        msg.header.stamp.sec, msg.header.stamp.nanosec = int(now), int((now % 1) * 1e9)
        publisher.publish(msg)
        time.sleep(max(0.0, 1.0 / rate - (time.time() - now)))
    rclpy.shutdown()


def busy_worker(stop: threading.Event) -> None:
    """Many small torch operations with short pauses, like the engine's worker thread."""
    import torch

    a = torch.randn(200, 200)
    while not stop.is_set():
        for _ in range(50):
            a = torch.tanh(a @ a * 0.01)
        time.sleep(0.02)


def subscribe(executor_kind: str, busy: bool, seconds: float) -> list[float]:
    """Receive for ``seconds``; returns latencies (ms) after the first 20 images."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    sys.setswitchinterval(0.0005)  # as fpose_node
    rclpy.init()
    node = rclpy.create_node("executor_latency_subscriber")
    latencies: list[float] = []
    node.create_subscription(
        Image, TOPIC, lambda m: latencies.append(time.time() - m.header.stamp.sec - m.header.stamp.nanosec * 1e-9),
        qos_profile_sensor_data)
    node.create_timer(1.0, lambda: None)  # the node's 1 Hz diagnostics timer
    stop = threading.Event()
    if busy:
        threading.Thread(target=busy_worker, args=(stop,), daemon=True).start()
    executor = SingleThreadedExecutor() if executor_kind == "single" else MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    time.sleep(seconds)
    stop.set()
    executor.shutdown()
    rclpy.shutdown()
    return [1e3 * x for x in latencies[20:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time per case")
    parser.add_argument("--rate", type=float, default=30.0, help="images per second")
    parser.add_argument("--role", choices=("publisher",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "publisher":
        publish(args.seconds, args.rate)
        return
    set_fastdds_profile(os.environ, str(REPO / "config" / "fastdds_large_images.xml"))
    sent = int(args.seconds * args.rate)
    print(f"{'executor':10s} {'worker':6s} {'received':>10s} {'median ms':>10s} {'p90 ms':>8s} {'max ms':>8s}")
    for kind, busy in CASES:
        publisher = subprocess.Popen([sys.executable, __file__, "--role", "publisher", "--seconds", str(args.seconds),
                                      "--rate", str(args.rate)], stderr=subprocess.DEVNULL)
        latencies = np.array(subscribe(kind, busy, args.seconds + 3.0))
        publisher.wait()
        if latencies.size == 0:
            print(f"{kind:10s} {'busy' if busy else 'idle':6s} {'0':>10s}")
            continue
        print(f"{kind:10s} {'busy' if busy else 'idle':6s} {latencies.size + 20:>5d} / {sent:<4d}"
              f"{np.median(latencies):10.1f} {np.percentile(latencies, 90):8.1f} {latencies.max():8.1f}", flush=True)


if __name__ == "__main__":
    main()
