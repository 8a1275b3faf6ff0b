"""The thin ROS 2 layer around the pose engine (``fpose_ros.core``).

Each module does one ROS job (image conversion, time synchronization, ``/tf`` publishing,
parameters, ...). Where the ROS 2 distro's own package exists (cv_bridge, message_filters,
tf2_ros) it is used; otherwise the module's own small equivalent with the same behaviour is.
No pose algorithm lives here.
"""
