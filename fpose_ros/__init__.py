"""fpose_ros: 6D pose estimation and tracking of a known object in RGB-D, FoundationPose-style.

The generated ROS interfaces (``fpose_ros.msg``) are installed in another directory than
this hand-written package (as in any ROS 2 package that has both); ``extend_path`` makes
both halves one package.
"""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
__version__ = "0.1.0"
