#!/usr/bin/env bash
# Usage: setup_env.sh [DISTRO [VENV]]  (the Makefile passes ROS_DISTRO and its venv folder)
# Sets up a venv in the repository (.venv for Kilted, the default; .venv-jazzy for Jazzy): ROS 2
# (rclpy + Fast DDS) from PyPI, CPU torch, the package editable, the ROS interfaces (msg/) built with
# the rosidl toolchain, and colcon in a venv of its own (<venv>/tools/colcon) for the workspace check.
# Idempotent: a stamp keyed on the inputs' hash makes a second run return in about a second.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
distro=${1:-kilted}
venv="$repo/${2:-.venv}"
py_version=3.11
ros_requirements="requirements-ros-$distro.txt"
if [[ ! -f "$ros_requirements" ]]; then
  echo "[setup] ROS_DISTRO=$distro: no $ros_requirements; supported: kilted (default), jazzy" >&2
  exit 1
fi

inputs=(requirements.txt requirements-dev.txt "$ros_requirements" requirements-colcon.txt setup.py pyproject.toml
        package.xml CMakeLists.txt
        scripts/setup_env.sh msg/*.msg scripts/fallback_interfaces/*/CMakeLists.txt
        scripts/fallback_interfaces/*/package.xml scripts/fallback_interfaces/*/msg/*.msg)
stamp_value=$(cat "${inputs[@]}" | sha256sum | cut -c1-16)
stamp_file="$venv/.fpose_setup_stamp"
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp_value" ]]; then
  exit 0
fi

log() { printf '[setup] %s\n' "$*"; }

python=$(command -v "python$py_version" || command -v python3 || true)
if [[ -z "$python" ]] || ! "$python" -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))"; then
  echo "[setup] Python $py_version is required (the ROS 2 wheels are built for it); found: ${python:-none}" >&2
  exit 1
fi
[[ -x "$venv/bin/python" ]] || { log "creating $venv"; "$python" -m venv "$venv"; }
vpy="$venv/bin/python"
site=$("$vpy" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")

log "installing Python packages (first time: a few minutes)"
"$vpy" -m pip install -q --upgrade pip
"$vpy" -m pip install -q -r requirements.txt -r requirements-dev.txt -r "$ros_requirements"

# The ROS wheels' exported CMake files name their build machine's Python and numpy include
# directories; point them at this venv's, or CMake refuses them.
py_include=$("$vpy" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
np_include=$("$vpy" -c "import numpy; print(numpy.get_include())")
{ grep -rlZ "/opt/python/cp311-cp311" "$venv/share" --include='*.cmake' || true; } \
  | xargs -0 -r sed -i "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_include#g;
                        s#/opt/python/cp311-cp311/include/python3.11#$py_include#g"

# build_interfaces NAME SOURCE_DIR: build a rosidl package into $venv/interfaces/NAME.
build_interfaces() {
  local name=$1 src=$2
  # Per venv, so that two distros' setups can run at once (.ci/run does).
  local venv_name
  venv_name=$(basename "$venv")
  local prefix="$venv/interfaces/$name" work="$repo/build/interfaces-${venv_name#.}/$name"
  log "building ROS interfaces: $name"
  rm -rf "$prefix" "$work"
  # CMake refuses include paths inside the source tree, and the venv's numpy lives inside
  # this repository: build from a copy of the sources outside it.
  mkdir -p "$work/src"
  cp -r "$src"/CMakeLists.txt "$src"/package.xml "$src"/msg "$work/src/"
  AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH" \
    cmake -S "$work/src" -B "$work/build" -G Ninja -DBUILD_TESTING=OFF -DFPOSE_ROS_INTERFACES_ONLY=ON \
      -DPython3_EXECUTABLE="$vpy" -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/cmake.log" 2>&1 \
    || { cat "$work/cmake.log" >&2; return 1; }
  ninja -C "$work/build" install >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; return 1; }
  local prefix_site="$prefix/lib/python$py_version/site-packages"
  rm -rf "$prefix_site"/*.egg-info
  echo "$prefix_site" >"$site/fpose_interfaces_$name.pth"
  # rcutils dlopens type supports by file name; the ROS wheels' bootstrapper puts $venv/lib on
  # LD_LIBRARY_PATH for every process of this venv, so the libraries are linked there.
  ln -sf "$prefix"/lib/*.so "$venv/lib/"
}

build_interfaces fpose_ros "$repo"
# The hand-written package (editable) owns fpose_ros/__init__.py; the generated half must be a
# plain directory that the package's extend_path() picks up.
rm -f "$venv/interfaces/fpose_ros/lib/python$py_version/site-packages/fpose_ros/__init__.py"

# tf2_msgs and vision_msgs are on no registry; build a stand-in only where no real one is importable.
for name in tf2_msgs vision_msgs; do
  rm -f "$site/fpose_interfaces_$name.pth"
  if "$vpy" -c "import $name.msg" >/dev/null 2>&1; then
    log "using the installed $name"
  else
    build_interfaces "$name" "$repo/scripts/fallback_interfaces/$name"
  fi
done

# A process started from another venv that uses the ROS wheels inherits their bootstrap guard
# (_ROS_WHEELS_BOOTSTRAP_COMPLETE) and that venv's LD_LIBRARY_PATH; the bootstrapper would then
# not add this venv's lib/, and the interfaces linked there would not load. Read before
# ros_wheels_bootstrapper.pth (.pth files run in name order): drop the guard when this venv's
# lib/ is missing, so the bootstrapper re-executes with it (once: afterwards it is there).
cat >"$site/fpose_library_path.pth" <<'PTH'
import os, sys; os.path.join(sys.prefix, "lib") in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) or os.environ.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
PTH

log "installing fpose_ros (editable)"
# compat mode puts the repository itself on sys.path, which extend_path() needs.
# Both distros' editable installs write the repository's fpose_ros.egg-info: one at a time.
mkdir -p "$repo/build"
flock "$repo/build/.editable-install.lock" \
  "$vpy" -m pip install -q --no-deps -e . --config-settings editable_mode=compat

log "installing colcon (its own venv: $venv/tools/colcon)"
[[ -x "$venv/tools/colcon/bin/python" ]] || "$python" -m venv "$venv/tools/colcon"
"$venv/tools/colcon/bin/python" -m pip install -q -r requirements-colcon.txt

(cd / && "$vpy" -c "import rclpy, fpose_ros.core; from fpose_ros.msg import TrackingStatus; from tf2_msgs.msg import TFMessage; from vision_msgs.msg import Detection2DArray, Detection3DArray") \
  || { echo "[setup] the environment does not import; see the messages above" >&2; exit 1; }
echo "$stamp_value" >"$stamp_file"
log "ready: $venv (ROS 2 $distro)"
