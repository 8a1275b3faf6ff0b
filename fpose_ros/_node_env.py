"""Process settings the node needs before torch loads; imported by :mod:`fpose_ros.node` ahead of torch.

OpenMP threads (torch's intra-op pool) spin-wait between parallel regions by default. On a 2-core
machine that also runs the node's executor, DDS and the camera, the spinning threads take the cores
from the thread that has work: measured on a shared 2-core machine (load ~6), a registration took
8-9 s and a tracked frame 150 ms with the default policy, against 1.0 s and 30 ms with
``OMP_WAIT_POLICY=PASSIVE`` (the same with one thread). libgomp reads the variable once, when it
is loaded, so it is set here, before the first ``import torch``; a value the user set is kept.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
