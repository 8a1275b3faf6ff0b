"""Editable install of the hand-written Python package (the venv workflow, `make setup`).

In a colcon workspace, CMakeLists.txt installs the package instead, into the same directory as the
generated fpose_ros.msg.
"""

from setuptools import find_packages, setup

setup(
    name="fpose_ros",
    version="0.1.0",
    description="6D object pose estimation and tracking in RGB-D for ROS 2, real time on a CPU",
    license="Apache-2.0",
    packages=find_packages(include=["fpose_ros", "fpose_ros.*"]),
    # PEP 561: the package ships its type hints; type checkers of users' code read them.
    package_data={"fpose_ros": ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/fpose_ros"]),
        ("share/fpose_ros", ["package.xml"]),
    ],
    python_requires=">=3.10",
    # torch is pinned by requirements.txt (the CPU build); listing it here would let pip pull a CUDA build.
    install_requires=["numpy", "scipy", "trimesh", "rosbags", "opencv-python-headless", "matplotlib", "pyyaml"],
    entry_points={
        "console_scripts": [
            "fpose_node = fpose_ros.node:main",
            "fpose-replay = fpose_ros.replay:main",
            "fpose-bench = fpose_ros.bench:main",
        ],
    },
)
