"""fpose_ros: 6D pose estimation and tracking of a known object in RGB-D, FoundationPose-style.

A colcon build installs the generated ROS interfaces (``fpose_ros.msg``) and this hand-written
package into one directory (CMakeLists.txt). In the venv workflow (``make setup``) the generated
half lies in another directory than this editable package; ``extend_path`` makes both halves one
package.
"""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
__version__ = "0.1.0"
